"""FC handler: an ECS image was created (ActionTrail CreateImage) or a person asked to replicate one.

Thin by design: decode and validate the event, wire the adapters, call the use case, encode.
A malformed event raises `EventValidationError` before any adapter exists, so it makes no API call;
raising (rather than answering) lets FC's async retries end in the on-failure destination.
"""
from __future__ import annotations

import json
from typing import Any

from shared.events.parse import parse_image_event
from shared.logs import bind_invocation, get_logger
from shared.replication.service import handle_image_created
from shared.wiring import copy_context

log = get_logger(__name__)


def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/image_created/handler.handler`."""
    with bind_invocation(context):
        request = parse_image_event(event)
        result = handle_image_created(request, copy_context(context))
        return json.dumps(result, default=str)
