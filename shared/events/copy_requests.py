"""A person's copy operations, sent to `image_created` beside the replicate request.

```json
{"action": "cancel_copy", "region": "cn-hangzhou", "image_id": "m-…", "target_region": "cn-beijing"}   # target optional
{"action": "retry_failed", "region": "cn-hangzhou", "image_id": "m-…"}
```
`retry_failed` re-opens only the image's FAILED targets (done and running ones are left alone).
Unknown keys are refused: a typo must not widen what a cancel touches.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from shared.events.envelopes import decode_json, require_object, validate
from shared.events.models import ImageCreated, is_image_id, is_region
from shared.events.parse import parse_image_event


class _ImageOp(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    image_id: str

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not is_region(value):
            raise ValueError(f"not a region id: {value[:80]!r}")
        return value

    @field_validator("image_id")
    @classmethod
    def _image(cls, value: str) -> str:
        if not is_image_id(value):
            raise ValueError(f"not an image id (m-[a-z0-9]+): {value[:80]!r}")
        return value


class CancelCopy(_ImageOp):
    """Cancel the image's running copies (CancelCopyImage) and queued ones (ledger only)."""

    action: Literal["cancel_copy"]
    target_region: str | None = None


class RetryFailed(_ImageOp):
    """Re-open only the image's FAILED targets."""

    action: Literal["retry_failed"]


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
