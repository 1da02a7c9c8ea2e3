"""Where the payload sits: bytes to JSON, envelope detection, and model validation.

Why separate from the shapes (Powertools parser): the same ActionTrail ``data`` could arrive
through another envelope later (an MNS queue, an async FC hop); only this module knows how to
peel an envelope. Every failure becomes ``EventValidationError`` with a dotted field path.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import EventValidationError, field_path

M = TypeVar("M", bound=BaseModel)

EventKind = Literal["cloudevent", "manual", "empty"]


def decode_json(raw: bytes | bytearray | str | dict[str, Any] | None) -> Any:
    """FC hands Python handlers ``bytes``; tests and the CLI may pass a str or dict.

    Empty input decodes to ``{}`` (a manual invocation with no payload).
    """
    if raw is None or isinstance(raw, dict):
        return {} if raw is None else raw
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventValidationError(f"not UTF-8: {exc.reason}", field="event") from None
    if not isinstance(raw, str):
        raise EventValidationError(f"expected bytes, str or dict, got {type(raw).__name__}", field="event")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise EventValidationError(f"not valid JSON: {exc}", field="event") from None


def require_object(doc: Any, field: str = "event") -> dict[str, Any]:
    """The decoded document must be a JSON object."""
    if not isinstance(doc, dict):
        raise EventValidationError(f"expected a JSON object, got {type(doc).__name__}", field=field)
    return doc


def envelope_kind(doc: dict[str, Any]) -> EventKind:
    """Tell a CloudEvent from a manual request by its keys."""
    if not doc:
        return "empty"
    if "action" in doc:
        return "manual"
    if "specversion" in doc or ("type" in doc and "data" in doc):
        return "cloudevent"
    raise EventValidationError(
        "neither a CloudEvent (specversion/type/data) nor a manual request (action)", field="event"
    )


def validate(model: type[M], doc: dict[str, Any], prefix: str = "") -> M:
    """Validate ``doc`` against ``model``; the first error names its field under ``prefix``."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise EventValidationError(first["msg"], field=field_path(tuple(first["loc"]), prefix)) from None
    except RecursionError:
        raise EventValidationError("nested too deeply", field=prefix or "event") from None
