"""FC handler: a tag was pushed to a Container Registry EE instance (`cr:Artifact:PushCompleted`),
or a person asks for a backfill or one tag's replication.

Thin by design: decode and validate, wire the CR adapter, call the use case, encode.
"""
from __future__ import annotations

import json
from typing import Any

from shared.acr.service import backfill, handle_push, replicate_tag
from shared.entry import fc_handler
from shared.events.accounts import require_own_account
from shared.events.acr import BackfillRequest, ReplicateTag, parse_acr_request
from shared.wiring import acr_context


@fc_handler
def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/acr_push/handler.handler`."""
    request = parse_acr_request(event)
    if not isinstance(request, (BackfillRequest, ReplicateTag)):
        require_own_account(request.account_id, context, kind="acr_push")  # before any call or write
    ctx = acr_context(context)
    if isinstance(request, BackfillRequest):
        result = backfill(request, ctx)
    elif isinstance(request, ReplicateTag):
        result = replicate_tag(request, ctx)
    else:
        result = handle_push(request, ctx)
    return json.dumps(result, default=str)
