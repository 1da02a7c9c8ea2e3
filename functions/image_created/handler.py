"""FC handler: an ECS image was created (ActionTrail CreateImage), or a person asks to replicate one,
cancel its copies, or retry only its failed targets.

Thin by design: decode and validate the event, wire the adapters, call the use case, encode.
A malformed event, or an ActionTrail event from another account, raises `EventValidationError` before
any adapter exists, so it makes no API call; raising (rather than answering) lets FC's async retries end
in the on-failure destination. `fc_handler` redacts whatever escapes.
"""
from __future__ import annotations

import json
from typing import Any

from shared.entry import fc_handler
from shared.events.accounts import require_own_account
from shared.events.copy_requests import CancelCopy, RetryFailed, parse_copy_request
from shared.logs import get_logger
from shared.replication.service import cancel_copies, handle_image_created, retry_failed
from shared.wiring import copy_context

log = get_logger(__name__)


@fc_handler
def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/image_created/handler.handler`."""
    request = parse_copy_request(event)
    if not isinstance(request, (CancelCopy, RetryFailed)) and request.source == "actiontrail":
        require_own_account(request.account_id, context, kind="image_created")
    ctx = copy_context(context)
    if isinstance(request, CancelCopy):
        result = cancel_copies(request, ctx)
    elif isinstance(request, RetryFailed):
        result = retry_failed(request, ctx)
    else:
        result = handle_image_created(request, ctx)
    return json.dumps(result, default=str)
