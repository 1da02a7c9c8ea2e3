"""Apply the release decisions of failed builds' leftovers, exactly once under at-least-once delivery.

Each release goes through the ledger under ``leftover/<region>/<resource-id>`` on the kernel's loop
(`shared.apply.apply_all`), like image deletions: PENDING → STARTED (claimed by compare-and-set, so two
overlapping runs do not both act; a claim at another version than the one the run planned from is `stale`)
→ DONE with the plan's reason, or FAILED with the error. A duplicated timer delivery that runs after the
first finds the resource gone (no decision) or its record DONE at a newer version (stale): no second call.

ECS answers that settle the release without it happening are recorded as kept, with ECS's reason, and the run
goes on: ``IncorrectInstanceStatus*`` (the instance is not in a state to release), ``DependencyViolation*``
(something is still in the network). A 404 (``InvalidInstanceId.NotFound``, ``InvalidVSwitchId.NotFound``,
``InvalidVpcId.NotFound``) means released already: DONE.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from shared.cleanup.executor import LedgerDecisions
from shared.cleanup.leftovers import LeftoverDecision
from shared.errors import CloudError, LedgerConflictError, ResourceNotFoundError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.runtime import Deadline

log = get_logger(__name__)

#: Refusals that mean "not now" (kept, reported with ECS's code), not a failure of image-relay.
KEPT_BY_ECS_PREFIXES = ("IncorrectInstanceStatus", "DependencyViolation", "IncorrectVSwitchStatus",
                        "IncorrectVpcStatus", "InvalidOperation.DeletionProtection")


class ReleaseApi(Protocol):
    """The slice of `ImageBuilderGateway` that releases."""

    def release_instance(self, region: str, instance_id: str) -> None: ...

    def delete_vswitch(self, region: str, vswitch_id: str) -> None: ...

    def delete_vpc(self, region: str, vpc_id: str) -> None: ...


class ReleaseExecutor(LedgerDecisions):
    """Releases what the plan says; `outcomes` counts released / kept_by_ecs / failed / lost_race / stale / deferred."""

    def __init__(self, api: ReleaseApi, ledger: Ledger, *, now: Callable[[], dt.datetime],
                 deadline: Deadline | None = None) -> None:
        super().__init__(ledger, now=now, deadline=deadline)
        self.api = api

    def apply(self, decisions: tuple[LeftoverDecision, ...]) -> list[dict[str, Any]]:
        """Every decision as a report row; release rows gain ``outcome`` (and the final ``reason``)."""
        return self.run(decisions, acts=lambda d: d.action == "release", key=lambda d: d.key,
                        apply_one=self._release, kind="leftover")

    def _release(self, decision: LeftoverDecision) -> dict[str, Any]:
        now = self.now()
        fresh = Record(key=decision.key, kind="leftover", created_at=now, updated_at=now,
                       data={"region": decision.region, "resource_id": decision.resource_id,
                             "resource_type": decision.resource_type, "execution_id": decision.execution_id})
        record = self.claim(fresh, decision.record_version, decision.reason)  # stale / lost race: apply_all counts
        try:
            self._call(decision)
        except ResourceNotFoundError:
            self.finish(record, State.DONE, "released", f"{decision.reason} (already gone)")
            return {"outcome": "released"}
        except CloudError as exc:
            return self.refused(record, exc, kept=exc.code.startswith(KEPT_BY_ECS_PREFIXES), call="release",
                                logger=log, event="leftover.release_failed", resource_id=decision.resource_id)
        self.finish(record, State.DONE, "released", decision.reason)
        log.info("leftover.released", extra={"region": decision.region, "resource_type": decision.resource_type,
                                             "resource_id": decision.resource_id, "reason": decision.reason})
        return {"outcome": "released"}

    def _call(self, decision: LeftoverDecision) -> None:
        if decision.resource_type == "instance":
            self.api.release_instance(decision.region, decision.resource_id)
        elif decision.resource_type == "vswitch":
            self.api.delete_vswitch(decision.region, decision.resource_id)
        else:
            self.api.delete_vpc(decision.region, decision.resource_id)

    def settle_interrupted(self, planned: tuple[LeftoverDecision, ...], seen: set[str]) -> None:
        """Finish records an earlier run left PENDING or STARTED (a crash between the call and the record's end):
        a resource the scans no longer see was released; one they still see and this run does not release
        again is kept (the plan's reason). No API call: the scans already looked."""
        releasing = {d.key for d in planned if d.action == "release"}
        reasons = {d.key: d.reason for d in planned}
        for record in self.ledger.scan("leftover/"):
            if record.state not in (State.PENDING, State.STARTED) or record.key in releasing:
                continue
            try:
                if record.data.get("resource_id", "") not in seen:
                    self.finish(record, State.DONE, "released", "released (confirmed by a later run)")
                else:
                    self.finish(record, State.DONE, "kept", f"kept: {reasons.get(record.key, 'no longer released')}")
            except LedgerConflictError as exc:
                log.warning("leftover.settle_failed", extra={"key": record.key, "error": type(exc).__name__})


def render_leftovers(decisions: tuple[LeftoverDecision, ...]) -> list[dict[str, Any]]:
    """The dry-run rows: the same decisions, nothing applied."""
    return [{**d.to_dict(), "outcome": "would_release" if d.action == "release" else "kept"} for d in decisions]
