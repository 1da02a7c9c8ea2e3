"""The base of every feature's injected context, and of its typed record payload (house-style §12).

Why one base: every use case needs the same four things (the policy, the ledger, a clock, the invocation's
deadline) plus its own adapters; ``shared.wiring.wire`` builds any context from ``adapters`` (field name →
adapter kind), so a new feature declares its adapters instead of writing a fifth wiring function.

Every pydantic model of the package is declared with ``defer_build=True``: its validator is built when it is
first used, not when its module is imported, so a cold start pays only for the models its first call touches
(issue #16; about half the model-building time of a handler's import).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from shared.ledger import Ledger
    from shared.ledger.record import Record
    from shared.policy import Policy
    from shared.runtime import Deadline

P = TypeVar("P", bound="Payload")

@dataclass(kw_only=True)
class FeatureContext:
    """Policy, ledger, clock and deadline; a subclass adds its adapters and names them in ``adapters``."""

    #: field name → adapter kind ("ecs", "image_builder", "oss", "cr", "ess") that wiring connects.
    adapters: ClassVar[dict[str, str]] = {}

    policy: Policy
    ledger: Ledger
    now: Callable[[], dt.datetime]
    deadline: Deadline | None = None


class Payload(BaseModel):
    """A record kind's typed payload, stored as the record's ``data["target"]`` (JSON)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    @classmethod
    def of(cls: type[P], record: Record) -> P:
        """The payload of ``record``, validated once per record and class: a tick asks for the payload of each
        of its 10,000 records several times (grouping, planning, queue order). The record keeps it
        (``Record.cached``, checked against the identity of its target dict), so it lives as long as the
        record and no longer: a process-wide cache kept every tick's payloads alive for the garbage
        collector's full passes to walk."""
        raw = record.data["target"]
        return record.cached(cls, raw, lambda: cls.model_validate(raw))

    def to_data(self) -> dict[str, Any]:
        """The JSON form kept in ``data["target"]``."""
        return self.model_dump(mode="json")
