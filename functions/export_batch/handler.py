"""FC handler: the off-peak export batch (timer trigger), and a person's export requests.

Its "now" is the timer event's `triggerTime` (the invocation time when absent), so a window decision is
reproducible. Manual requests: export one image now, cancel an export, or dry-run the batch
(`shared.dispatch.answer_export_request`).
"""
from __future__ import annotations

import json
from typing import Any

from shared.dispatch import answer_export_request
from shared.entry import fc_handler
from shared.events.exports import parse_export_request


@fc_handler
def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/export_batch/handler.handler`."""
    return json.dumps(answer_export_request(parse_export_request(event), context), default=str)
