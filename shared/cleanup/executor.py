"""Apply a cleanup plan (one DeleteImage per delete decision, never `Force`), or render it.

Each delete goes through the ledger under `cleanup/<region>/<image-id>`: PENDING → STARTED (claimed
by compare-and-set, so two overlapping runs do not both act) → DONE with the plan's reason, or
FAILED with the error. ECS's own in-use refusals are the second guard of invariant 3: when it
answers `ImageUsingByInstance`, `ImageUseShared`, `OperationDenied.ImageCopying`,
`ImageIsExporting` or `ImageIsImporting`, the image is recorded as kept, with that reason, and the
run goes on. Keep decisions are reported, not written to the ledger: the report carries them, and
a daily write per kept image would only churn the store.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.apply import StaleStepError, apply_all
from shared.cleanup.model import CleanupPlan, Decision
from shared.errors import CloudError
from shared.ledger import Ledger
from shared.ledger.keys import cleanup_key
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.runtime import Deadline

log = get_logger(__name__)

#: DeleteImage refusals that mean "ECS says this image is still needed" (alibaba-api.md §1.4).
KEPT_BY_ECS = frozenset({"ImageUsingByInstance", "ImageUseShared", "OperationDenied.ImageCopying",
                         "ImageIsExporting", "ImageIsImporting"})


class CleanupEcs(Protocol):
    """The slice of `EcsGateway` the executor needs."""

    def delete_image(self, region: str, image_id: str, *, force: bool = False) -> None: ...


@dataclass(frozen=True)
class _Deletion:
    """One delete decision as the kernel's loop applies it, with the report row it fills."""

    key: str
    decision: Decision
    row: dict[str, Any] = field(compare=False)


class CleanupExecutor:
    """Deletes what the plan says; `outcomes` counts deleted / kept_by_ecs / failed / lost_race / stale / deferred.

    A delete bound to a record version (`Decision.record_version`) is skipped as `stale` when another run
    moved the image's cleanup record since this run read the ledger (invariant 7).
    """

    def __init__(self, ecs: CleanupEcs, ledger: Ledger, *, now: Callable[[], dt.datetime],
                 deadline: Deadline | None = None) -> None:
        self.ecs = ecs
        self.ledger = ledger
        self.now = now
        self.deadline = deadline
        self.outcomes: Counter[str] = Counter()

    def apply(self, plan: CleanupPlan) -> list[dict[str, Any]]:
        """Every decision as a report row; delete rows gain `outcome` (and the final `reason`).

        Deletes run through the kernel's loop (`shared.apply.apply_all`): the deadline, a stale plan, a lost
        claim and a refused transition are counted and reported the same way as for every feature.
        """
        rows: list[dict[str, Any]] = []
        deletes: list[_Deletion] = []
        for decision in plan.decisions:
            row = decision.to_dict()
            rows.append(row)
            if decision.action == "delete":
                deletes.append(_Deletion(cleanup_key(decision.region, decision.image_id), decision, row))
            else:
                row["outcome"] = "kept"
        apply_all(deletes, lambda d: d.row.update(self._delete(d.decision)), self.outcomes, self.deadline,
                  kind="cleanup", on_skip=lambda d, outcome: d.row.update({"outcome": outcome}))
        return rows

    def _delete(self, decision: Decision) -> dict[str, Any]:
        record = self._claim(decision)  # StaleStepError / LedgerConflictError: counted by apply_all
        try:
            self.ecs.delete_image(decision.region, decision.image_id, force=False)
        except CloudError as exc:
            return self._refused(record, decision, exc)
        self.finish(record, State.DONE, "deleted", decision.reason)
        log.info("image.deleted", extra={"region": decision.region, "image_id": decision.image_id,
                                         "reason": decision.reason})
        return {"outcome": "deleted"}

    def _refused(self, record: Record, decision: Decision, exc: CloudError) -> dict[str, Any]:
        if exc.code in KEPT_BY_ECS:
            reason = f"kept: DeleteImage refused by ECS ({exc.code})"
            self.finish(record, State.DONE, "kept_by_ecs", reason)
            return {"outcome": "kept_by_ecs", "action": "keep", "reason": reason}
        reason = f"DeleteImage failed: {exc}"
        self.finish(record, State.FAILED, "failed", reason, retryable=exc.retryable)
        log.warning("cleanup.delete_failed", extra={"image_id": decision.image_id, **exc.log_fields()})
        return {"outcome": "failed", "reason": reason}

    def _claim(self, decision: Decision) -> Record:
        now = self.now()
        fresh = Record(key=cleanup_key(decision.region, decision.image_id), kind="cleanup", created_at=now,
                       updated_at=now, data={"region": decision.region, "image_id": decision.image_id,
                                             "name": decision.name, "rule": decision.rule})
        record, created = self.ledger.ensure(fresh)
        planned = decision.record_version
        if planned is not None and not created and record.version != planned:
            # Another run acted on this image since this run read the ledger: its plan is stale here.
            raise StaleStepError(f"{record.key}: planned at version {planned}, now at {record.version} "
                                 f"({record.state.value})")
        if record.state is not State.PENDING and record.state is not State.STARTED:
            # A previous run kept it (ECS refused) or failed: this run's plan decides afresh.
            record = self.ledger.transition(record.key, record, state=State.PENDING, force=True)
        return self.ledger.transition(record.key, record, state=State.STARTED, reason=decision.reason,
                                      data={**record.data, "planned_reason": decision.reason})

    def finish(self, record: Record, state: State, outcome: str, reason: str, *, retryable: bool = False) -> None:
        self.outcomes[outcome] += 1
        self.ledger.transition(record.key, record, state=state, reason=reason, retryable=retryable,
                               data={**record.data, "outcome": outcome, "at": self.now().isoformat()})


def render(plan: CleanupPlan) -> list[dict[str, Any]]:
    """The dry-run renderer: the same decisions as report rows, nothing applied."""
    return [{**d.to_dict(), "outcome": "would_delete" if d.action == "delete" else "kept"} for d in plan.decisions]
