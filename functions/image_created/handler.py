"""FC handler: an ECS image was created (ActionTrail CreateImage), or a person asks to replicate one, cancel its
copies, or retry only its failed targets (of the image's own copies, or with `account_id` of one account target).

Thin by design: decode and validate the event, let `shared.dispatch` check the account, wire and run the use
case, encode. A malformed or foreign-account event raises before any adapter exists (no call, no write);
raising lets FC's async retries end in the on-failure destination. `fc_handler` redacts whatever escapes.
"""
from __future__ import annotations

import json
from typing import Any

from shared.dispatch import answer_copy_request
from shared.entry import fc_handler
from shared.events.copy_requests import parse_copy_request


@fc_handler
def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/image_created/handler.handler`."""
    return json.dumps(answer_copy_request(parse_copy_request(event), context), default=str)
