"""FC handler: the off-peak export batch (timer trigger), and a person's export requests.

Its "now" is the timer event's `triggerTime` (the invocation time when absent), so a window decision
is reproducible. Manual requests: export one image now, cancel an export, or dry-run the batch.
"""
from __future__ import annotations

import json
from typing import Any

from shared.entry import fc_handler
from shared.events.exports import BatchRequest, CancelExport, ExportNow, parse_export_request
from shared.exports.service import cancel_export, export_now, run_batch
from shared.wiring import alert_outcomes, export_context


@fc_handler
def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/export_batch/handler.handler`."""
    request = parse_export_request(event)
    ctx = export_context(context, wake=True)
    result: dict[str, Any]
    if isinstance(request, ExportNow):
        result = export_now(ctx, request)
    elif isinstance(request, CancelExport):
        result = cancel_export(ctx, request)
    else:
        assert isinstance(request, BatchRequest)
        result = run_batch(ctx, request)
        if not request.dry_run:
            alerts = alert_outcomes(context, now=request.now)  # skipped exports are outcomes to tell
            if alerts is not None:
                result["alerts"] = alerts
    return json.dumps(result, default=str)
