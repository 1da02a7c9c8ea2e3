"""A person's copy operations, sent to `image_created` beside the replicate request.

```json
{"action": "cancel_copy", "region": "cn-hangzhou", "image_id": "m-…", "target_region": "cn-beijing"}   # target optional
{"action": "retry_failed", "region": "cn-hangzhou", "image_id": "m-…", "target_region": "cn-beijing",
 "include_cancelled": false}   # both optional
```
`retry_failed` re-opens only the image's FAILED targets (done and running ones are left alone), and
with `include_cancelled` its CANCELLED ones too; `target_region` narrows it to one target.
Both take `"account_id": "<16 digits>"` to act on that account target's hops instead (issue #13): the share
and the partner's copies (`target_region` then names a partner region).
Unknown keys are refused: a typo must not widen what a cancel touches.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from shared.events.envelopes import decode_json, require_object, validate
from shared.events.exports import ImageRef
from shared.events.models import ImageCreated
from shared.events.parse import parse_image_event
from shared.policy.accounts import ACCOUNT_ID


class _Targets(ImageRef):
    """The image's copies, or with `account_id` the hops of that account target."""

    target_region: str | None = None
    account_id: str | None = None

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not ACCOUNT_ID.match(value):
            raise ValueError(f"an account id is 16 digits, got {value[:80]!r}")
        return value


class CancelCopy(_Targets):
    """Cancel the image's running copies (CancelCopyImage) and queued ones (ledger only)."""

    action: Literal["cancel_copy"]


class RetryFailed(_Targets):
    """Re-open only the image's FAILED targets (and CANCELLED ones with `include_cancelled`)."""

    action: Literal["retry_failed"]
    include_cancelled: bool = False


CopyRequest = ImageCreated | CancelCopy | RetryFailed


def parse_copy_request(raw: bytes | bytearray | str | dict[str, Any]) -> CopyRequest:
    """What an `image_created` invocation carries: an image event, a replicate, a cancel or a retry."""
    doc = require_object(decode_json(raw))
    action = doc.get("action")
    if action == "cancel_copy":
        return validate(CancelCopy, doc)
    if action == "retry_failed":
        return validate(RetryFailed, doc)
    return parse_image_event(doc)
