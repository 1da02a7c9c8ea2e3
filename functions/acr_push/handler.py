"""FC handler: a tag was pushed to a Container Registry EE instance (`cr:Artifact:PushCompleted`), or a person
asks for a backfill or one tag's replication.

Thin by design: decode and validate, let `shared.dispatch` check the account, wire and run the use case, encode.
"""
from __future__ import annotations

import json
from typing import Any

from shared.dispatch import answer_acr_request
from shared.entry import fc_handler
from shared.events.acr import parse_acr_request


@fc_handler
def handler(event: bytes, context: Any) -> str:
    """Entry point named in template.yml: `functions/acr_push/handler.handler`."""
    return json.dumps(answer_acr_request(parse_acr_request(event), context), default=str)
