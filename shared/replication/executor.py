"""Apply a plan: each action is at most one cloud call plus one compare-and-set on the ledger.

Exactly-once comes from three guards, in order:
1. the ledger claim: PENDING → STARTED by compare-and-set, so of N racers only one calls CopyImage;
2. the ClientToken derived from (key, attempt): a repeat after a crash returns the same ImageId;
3. provenance tags: a copy whose ledger write was lost is found by the region scan and adopted.
A failing action never aborts the tick; the record stays where it was and the next tick resumes.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from shared.clouds.ecs_types import CopyImageSpec
from shared.errors import CloudError, DeadlineExceededError, LedgerConflictError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.replication.planner import (
    Action,
    Adopt,
    Backoff,
    Complete,
    Fail,
    Progress,
    RecordIntent,
    ResumeCopy,
    Retry,
    StartCopy,
)
from shared.policy import CopyLimits
from shared.replication.reasons import explain
from shared.replication.slots import RegionSlots
from shared.replication.targets import CopyTarget
from shared.runtime import Deadline

log = get_logger(__name__)


class CopyApi(Protocol):
    """The slice of the ECS adapter the executor needs."""

    def copy_image(self, spec: CopyImageSpec) -> str: ...

    def delete_image(self, region: str, image_id: str, *, force: bool = False) -> None: ...


def new_record(target: CopyTarget, now: dt.datetime) -> Record:
    """The PENDING intent for one target."""
    return Record(
        key=target.key,
        kind="copy",
        created_at=now,
        updated_at=now,
        data={"target": target.model_dump(mode="json"), "status": None, "progress": 0},
    )


class CopyExecutor:
    """Runs actions against ECS and the ledger; `outcomes` counts what happened, for the summary."""

    def __init__(
        self,
        ecs: CopyApi,
        ledger: Ledger,
        *,
        now: Callable[[], dt.datetime],
        backoff: Backoff | None = None,
        deadline: Deadline | None = None,
        limits: CopyLimits | None = None,
    ) -> None:
        self.ecs = ecs
        self.ledger = ledger
        self.now = now
        self.backoff = backoff or Backoff()
        self.deadline = deadline
        self.limits = limits or CopyLimits()
        self.slots = RegionSlots(ledger, now)
        self.outcomes: Counter[str] = Counter()

    def apply(self, actions: Iterable[Action]) -> Counter[str]:
        """Apply every action until the deadline; what is left waits for the next tick."""
        for action in actions:
            if self.deadline is not None and self.deadline.expired():
                self.outcomes["deferred"] += 1
                continue
            try:
                self._apply_one(action)
            except LedgerConflictError:
                self.outcomes["lost_race"] += 1
            except DeadlineExceededError:
                self.outcomes["deferred"] += 1
            except CloudError as exc:
                self.outcomes["cloud_error"] += 1
                log.warning("action.failed", extra={"key": action.key, "action": type(action).__name__, **exc.log_fields()})
        return self.outcomes

    # -- one action ---------------------------------------------------------------------------------

    def _apply_one(self, action: Action) -> None:
        if isinstance(action, RecordIntent):
            _, created = self.ledger.ensure(new_record(action.target, self.now()))
            self.outcomes["recorded" if created else "already_recorded"] += 1
            return
        record = self.ledger.get(action.key)
        if record is None:
            return
        if isinstance(action, StartCopy):
            self.start(record, action.target, action.attempt)
        elif isinstance(action, ResumeCopy):
            self._copy(record, action.target, action.attempt)
        elif isinstance(action, Adopt):
            self._move(record, "adopted", state=State.STARTED, cloud_id=action.image_id, status=action.status)
        elif isinstance(action, Progress):
            self._move(record, "progressed", status=action.status, progress=action.progress)
        elif isinstance(action, Complete):
            self._move(record, "done", state=State.DONE, cloud_id=action.image_id, status="Available", progress=100,
                       done_at=self.now().isoformat())
            self._release(record)
        elif isinstance(action, Fail):
            self._fail(record, action)
        elif isinstance(action, Retry):
            if action.failed_copy:
                target = CopyTarget.model_validate(record.data["target"])
                self.ecs.delete_image(target.target_region, action.failed_copy)
            # The attempt number moves on only when the copy is started again (StartCopy), not here.
            self._move(record, "requeued", state=State.PENDING, attempt=record.attempt, cloud_id=None,
                       retryable=False, reason=None, failed_copy=None, next_attempt_at=None,
                       force=action.by_person)

    def start(self, record: Record, target: CopyTarget, attempt: int) -> None:
        """Take a slot in the destination region, claim the PENDING record and start its copy.

        A full region leaves the record PENDING (queued); a lost claim gives the slot back.
        """
        large = target.size_gib > self.limits.large_image_gib
        if not self.slots.acquire(target.target_region, record.key, limit=self.limits.per_region, large=large,
                                  large_limit=self.limits.large_per_region):
            self.outcomes["queued"] += 1
            return
        try:
            claimed = self._move(record, "claimed", state=State.STARTED, attempt=attempt, cloud_id=None,
                                 started_at=self.now().isoformat(), target=target.model_dump(mode="json"))
        except BaseException:
            self.slots.release(target.target_region, [record.key])
            raise
        self._copy(claimed, target, attempt)

    def cancel(self, record: Record) -> Record:
        """Mark a queued or running copy CANCELLED and give back its slot (the caller cancels in ECS)."""
        cancelled = self._move(record, "cancelled", state=State.CANCELLED, reason="cancelled by request")
        self._release(record)
        return cancelled

    def heal_slots(self, records: list[Record]) -> None:
        """Free slots whose copy already ended (see `RegionSlots.heal`)."""
        by_key = {r.key: r for r in records}
        regions = {CopyTarget.model_validate(r.data["target"]).target_region for r in records}
        for region in sorted(regions):
            self.outcomes["slots_healed"] += self.slots.heal(region, by_key, self.now())

    def _copy(self, record: Record, target: CopyTarget, attempt: int) -> None:
        try:
            image_id = self.ecs.copy_image(target.spec(attempt))
        except CloudError as exc:
            if exc.retryable:
                raise  # stays STARTED without an ImageId: the next tick repeats the call with the same token
            reason, retry_in = explain(exc, target)
            if retry_in is not None and attempt >= self.backoff.max_attempts:
                reason, retry_in = f"{reason} (gave up after {attempt} attempts)", None
            retry_at = self.now() + dt.timedelta(seconds=retry_in) if retry_in is not None else None
            self._fail(record, Fail(record.key, reason, retry_at=retry_at))
            return
        self._move(record, "started", cloud_id=image_id, status="Waiting", progress=0)
        log.info("copy.started", extra={"key": record.key, "copy_image_id": image_id, "attempt": attempt})

    def _fail(self, record: Record, action: Fail) -> None:
        retryable = action.retry_at is not None
        self._move(
            record,
            "failed_retryable" if retryable else "failed",
            state=State.FAILED,
            reason=action.reason,
            retryable=retryable,
            next_attempt_at=action.retry_at,
            failed_copy=action.failed_copy,
        )
        self._release(record)
        log.warning("copy.failed", extra={"key": record.key, "reason": action.reason, "retryable": retryable})

    def _release(self, record: Record) -> None:
        self.slots.release(CopyTarget.model_validate(record.data["target"]).target_region, [record.key])

    def _move(self, record: Record, outcome: str, **changes: Any) -> Record:
        """Compare-and-set `record`; data keys (status, progress, timestamps, failed_copy) go into `data`."""
        data_keys = {"status", "progress", "failed_copy", "started_at", "done_at", "target"}
        data = dict(record.data)
        for name in data_keys & changes.keys():
            data[name] = changes.pop(name)
        updated = self.ledger.transition(record.key, record, data=data, updated_at=self.now(), **changes)
        self.outcomes[outcome] += 1
        return updated
