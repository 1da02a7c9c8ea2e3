"""FC handler: the daily cleanup (timer trigger), or a person's run, dry-run by default.

A timer run applies unless its payload says `{"dry_run": true}`; a manual `{"action": "cleanup"}`
is a dry run unless it says `"dry_run": false` (see shared/cleanup/request.py). It returns the JSON
report: status (planned | ok | refused | disabled), counts, and every decision with its reason.
"""
from __future__ import annotations

import json
from typing import Any

from shared.cleanup.request import parse_cleanup_request
from shared.cleanup.service import run_cleanup
from shared.entry import fc_handler
from shared.wiring import alert_outcomes, cleanup_context


@fc_handler
def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/cleanup/handler.handler`."""
    request = parse_cleanup_request(event)
    ctx = cleanup_context(context)
    report = run_cleanup(ctx, request)
    alerts = alert_outcomes(context, cleanup_report=report)  # a refused run is an outcome to tell
    if alerts is not None:
        report["alerts"] = alerts
    return json.dumps(report, default=str)
