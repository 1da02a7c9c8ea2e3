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
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from shared.apply import StaleStepError, apply_all
from shared.cleanup.model import CleanupPlan, Decision
from shared.errors import CloudError
from shared.ledger import Ledger
from shared.ledger.keys import cleanup_key
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.runtime import Deadline

log = get_logger(__name__)
D = TypeVar("D", bound="_Reportable")

#: DeleteImage refusals that mean "ECS says this image is still needed" (alibaba-api.md §1.4).
KEPT_BY_ECS = frozenset({"ImageUsingByInstance", "ImageUseShared", "OperationDenied.ImageCopying",
                         "ImageIsExporting", "ImageIsImporting"})


class _Reportable(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class CleanupEcs(Protocol):
    """The slice of `EcsGateway` the executor needs."""

    def delete_image(self, region: str, image_id: str, *, force: bool = False) -> None: ...


@dataclass(frozen=True)
class _Pending:
    """One decision the kernel's loop applies, with the report row it fills."""

    key: str
    decision: Any
    row: dict[str, Any] = field(compare=False)


class LedgerDecisions:
    """What the cleanup's executors share: a report row per decision, the acting ones applied on the kernel's
    loop (`shared.apply.apply_all`: the deadline, a stale plan, a lost claim and a refused transition are
    counted and reported the same way as for every feature), each claimed in the ledger first and finished
    with the outcome the report shows."""

    def __init__(self, ledger: Ledger, *, now: Callable[[], dt.datetime], deadline: Deadline | None = None) -> None:
        self.ledger = ledger
        self.now = now
        self.deadline = deadline
        self.outcomes: Counter[str] = Counter()

    def run(self, decisions: Iterable[D], *, acts: Callable[[D], bool], key: Callable[[D], str],
            apply_one: Callable[[D], dict[str, Any]], kind: str) -> list[dict[str, Any]]:
        """Every decision as a report row; the rows of acting ones gain `outcome` (and the final `reason`)."""
        rows: list[dict[str, Any]] = []
        pending: list[_Pending] = []
        for decision in decisions:
            row = decision.to_dict()
            rows.append(row)
            if acts(decision):
                pending.append(_Pending(key(decision), decision, row))
            else:
                row["outcome"] = "kept"
        apply_all(pending, lambda p: p.row.update(apply_one(p.decision)), self.outcomes, self.deadline,
                  kind=kind, on_skip=lambda p, outcome: p.row.update({"outcome": outcome}))
        return rows

    def claim(self, fresh: Record, planned: int | None, reason: str) -> Record:
        """Ensure `fresh`'s record and move it to STARTED; `StaleStepError` when another run moved it since this
        run read the ledger at version `planned` (invariant 7)."""
        record, created = self.ledger.ensure(fresh)
        if planned is not None and not created and record.version != planned:
            raise StaleStepError(f"{record.key}: planned at version {planned}, now at {record.version} "
                                 f"({record.state.value})")
        if record.state is not State.PENDING and record.state is not State.STARTED:
            # A previous run kept it (ECS refused) or failed: this run's plan decides afresh.
            record = self.ledger.transition(record.key, record, state=State.PENDING, force=True)
        return self.ledger.transition(record.key, record, state=State.STARTED, reason=reason,
                                      data={**record.data, "planned_reason": reason})

    def finish(self, record: Record, state: State, outcome: str, reason: str, *, retryable: bool = False) -> None:
        """End a claimed record with the outcome the report shows."""
        self.outcomes[outcome] += 1
        self.ledger.transition(record.key, record, state=state, reason=reason, retryable=retryable,
                               data={**record.data, "outcome": outcome, "at": self.now().isoformat()})

    def refused(self, record: Record, exc: CloudError, *, kept: bool, call: str, logger: logging.Logger,
                event: str, **fields: Any) -> dict[str, Any]:
        """End a claimed record whose ``call`` ECS answered with ``exc``: DONE as ``kept_by_ecs`` (ECS's code is
        the reason) when ``kept``, else FAILED, retryable as the error says, logged as ``event`` with ``fields``.
        The report row's additions."""
        if kept:
            reason = f"kept: {call} refused by ECS ({exc.code})"
            self.finish(record, State.DONE, "kept_by_ecs", reason)
            return {"outcome": "kept_by_ecs", "action": "keep", "reason": reason}
        reason = f"{call} failed: {exc}"
        self.finish(record, State.FAILED, "failed", reason, retryable=exc.retryable)
        logger.warning(event, extra={**fields, **exc.log_fields()})
        return {"outcome": "failed", "reason": reason}


class CleanupExecutor(LedgerDecisions):
    """Deletes what the plan says; `outcomes` counts deleted / kept_by_ecs / failed / lost_race / stale / deferred.

    A delete bound to a record version (`Decision.record_version`) is skipped as `stale` when another run
    moved the image's cleanup record since this run read the ledger (invariant 7).
    """

    def __init__(self, ecs: CleanupEcs, ledger: Ledger, *, now: Callable[[], dt.datetime],
                 deadline: Deadline | None = None) -> None:
        super().__init__(ledger, now=now, deadline=deadline)
        self.ecs = ecs

    def apply(self, plan: CleanupPlan) -> list[dict[str, Any]]:
        """Every decision as a report row; delete rows gain `outcome` (and the final `reason`)."""
        return self.run(plan.decisions, acts=lambda d: d.action == "delete",
                        key=lambda d: cleanup_key(d.region, d.image_id), apply_one=self._delete, kind="cleanup")

    def _delete(self, decision: Decision) -> dict[str, Any]:
        now = self.now()
        fresh = Record(key=cleanup_key(decision.region, decision.image_id), kind="cleanup", created_at=now,
                       updated_at=now, data={"region": decision.region, "image_id": decision.image_id,
                                             "name": decision.name, "rule": decision.rule})
        record = self.claim(fresh, decision.record_version, decision.reason)  # stale / lost race: apply_all counts
        try:
            self.ecs.delete_image(decision.region, decision.image_id, force=False)
        except CloudError as exc:
            return self.refused(record, exc, kept=exc.code in KEPT_BY_ECS, call="DeleteImage", logger=log,
                                event="cleanup.delete_failed", image_id=decision.image_id)
        self.finish(record, State.DONE, "deleted", decision.reason)
        log.info("image.deleted", extra={"region": decision.region, "image_id": decision.image_id,
                                         "reason": decision.reason})
        return {"outcome": "deleted"}


def render(plan: CleanupPlan) -> list[dict[str, Any]]:
    """The dry-run renderer: the same decisions as report rows, nothing applied."""
    return [{**d.to_dict(), "outcome": "would_delete" if d.action == "delete" else "kept"} for d in plan.decisions]
