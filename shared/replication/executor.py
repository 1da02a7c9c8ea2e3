"""Apply a plan: each action is at most one cloud call plus one compare-and-set on the ledger.

Exactly-once comes from three guards, in order:
1. the ledger claim: PENDING → STARTED by compare-and-set, so of N racers only one calls CopyImage;
2. the ClientToken derived from (key, attempt): a repeat after a crash returns the same ImageId;
3. provenance tags: a copy whose ledger write was lost is found by the region scan and adopted.
A failing action never aborts the tick; the record stays where it was and the next tick resumes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from shared.apply import Backoff, RecordExecutor, client_token
from shared.clouds.ecs_types import CopyImageSpec, Image, ImageFromSnapshotsSpec, SnapshotCopySpec
from shared.errors import CloudError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.policy import CopyLimits
from shared.replication.planner import (
    Action,
    Adopt,
    BuildImage,
    Complete,
    Fail,
    Progress,
    RecordIntent,
    ResumeCopy,
    Retry,
    StartCopy,
)
from shared.replication.reasons import explain
from shared.replication.slots import RegionSlots
from shared.replication.targets import CopyTarget
from shared.runtime import Deadline

log = get_logger(__name__)


#: CopyImage refuses images above this; they take the snapshot path (alibaba-api.md §1.1).
COPY_IMAGE_MAX_GIB = 2048


class CopyApi(Protocol):
    """The slice of the ECS adapter the executor needs."""

    def copy_image(self, spec: CopyImageSpec) -> str: ...

    def delete_image(self, region: str, image_id: str, *, force: bool = False) -> None: ...

    def get_image(self, region: str, image_id: str) -> Image | None: ...

    def copy_snapshot(self, spec: SnapshotCopySpec) -> str: ...

    def create_image_from_snapshots(self, spec: ImageFromSnapshotsSpec) -> str: ...

    def delete_snapshot(self, region: str, snapshot_id: str) -> None: ...

    def share_image(self, region: str, image_id: str, *, add: list[str] | None = None,
                    remove: list[str] | None = None) -> None: ...


def new_record(target: CopyTarget, now: dt.datetime, source_status: str | None = None) -> Record:
    """The PENDING intent for one target; `source_status` is the source image's status when it was seen
    (an intent whose source was Available may start in a tick that does not list the source region)."""
    data: dict[str, Any] = {"target": target.to_data(), "status": None, "progress": 0}
    if source_status is not None:
        data["source_status"] = source_status
    return Record(key=target.key, kind="copy", created_at=now, updated_at=now, data=data)


class CopyExecutor(RecordExecutor[Action]):
    """Runs actions against ECS and the ledger; `outcomes` counts what happened, for the summary."""

    kind = "copy"

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
        super().__init__(ledger, now=now, deadline=deadline)
        self.ecs = ecs
        self.backoff = backoff or Backoff()
        self.limits = limits or CopyLimits()
        self.slots = RegionSlots(ledger, now)
        # (region, large) found full in this invocation: later starts there stay queued without a ledger
        # read (a tick with thousands queued behind 5 slots would read and re-read the slot record for
        # each). A slot this invocation frees clears its region; one freed elsewhere waits a tick.
        self._full: set[tuple[str, bool]] = set()
        self.written: set[str] = set()  # keys of copy records this executor wrote (a tick re-reads only those)

    # -- one action ---------------------------------------------------------------------------------

    def _apply_one(self, action: Action) -> None:
        if isinstance(action, RecordIntent):
            self.written.add(action.key)
            _, created = self.ledger.ensure(new_record(action.target, self.now(), action.source_status))
            self.outcomes["recorded" if created else "already_recorded"] += 1
            return
        if isinstance(action, StartCopy) and self._known_full(action.target):
            self.outcomes["queued"] += 1
            return
        super()._apply_one(action)

    def _apply_to(self, record: Record, action: Action) -> None:
        if isinstance(action, StartCopy):
            self.start(record, action.target, action.attempt)
        elif isinstance(action, ResumeCopy):
            self._copy(record, action.target, action.attempt)
        elif isinstance(action, Adopt):
            self._move(record, "adopted", state=State.STARTED, cloud_id=action.image_id, status=action.status)
        elif isinstance(action, BuildImage):
            self._build_image(record, action.target, action.attempt)
        elif isinstance(action, Progress):
            self._move(record, "progressed", status=action.status, progress=action.progress)
        elif isinstance(action, Complete):
            if not self._share(record, action):
                return
            self._move(record, "done", state=State.DONE, cloud_id=action.image_id, status="Available", progress=100,
                       done_at=self.now().isoformat())
            self._release(record)
        elif isinstance(action, Fail):
            self._record_failure(record, action)
        elif isinstance(action, Retry):
            if action.failed_copy:
                target = CopyTarget.of(record)
                self.ecs.delete_image(target.target_region, action.failed_copy)
            self._discard_snapshots(record)
            # The attempt number moves on only when the copy is started again (StartCopy), not here.
            self._move(record, "requeued", state=State.PENDING, attempt=record.attempt, cloud_id=None,
                       retryable=False, reason=None, failed_copy=None, next_attempt_at=None,
                       snapshots=None, path=None, force=action.by_person)

    def start(self, record: Record, target: CopyTarget, attempt: int) -> None:
        """Take a slot in the destination region, claim the PENDING record and start its copy.

        A full region leaves the record PENDING (queued); a lost claim gives the slot back.
        """
        large = target.size_gib > self.limits.large_image_gib
        if not self.slots.acquire(target.target_region, record.key, limit=self.limits.per_region, large=large,
                                  large_limit=self.limits.large_per_region):
            self._full.add((target.target_region, large))
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
        regions = {CopyTarget.of(r).target_region for r in records}
        for region in sorted(regions):
            healed = self.slots.heal(region, by_key, self.now())
            if healed:
                self._full -= {(region, False), (region, True)}
            self.outcomes["slots_healed"] += healed

    def _known_full(self, target: CopyTarget) -> bool:
        large = target.size_gib > self.limits.large_image_gib
        return (target.target_region, False) in self._full or (target.target_region, large) in self._full

    def _copy(self, record: Record, target: CopyTarget, attempt: int) -> None:
        if target.size_gib > COPY_IMAGE_MAX_GIB or record.data.get("path") == "snapshot":
            self._copy_snapshots(record, target, attempt)
            return
        try:
            image_id = self.ecs.copy_image(target.spec(attempt))
        except CloudError as exc:
            if exc.code == "SizeExceed.Image":
                self._copy_snapshots(record, target, attempt)
                return
            if exc.retryable:
                raise  # stays STARTED without an ImageId: the next tick repeats the call with the same token
            reason, retry_in = explain(exc, target)
            if retry_in is not None and attempt >= self.backoff.max_attempts:
                reason, retry_in = f"{reason} (gave up after {attempt} attempts)", None
            retry_at = self.now() + dt.timedelta(seconds=retry_in) if retry_in is not None else None
            self._record_failure(record, Fail(record.key, reason, retry_at=retry_at))
            return
        self._move(record, "started", cloud_id=image_id, status="Waiting", progress=0)
        log.info("copy.started", extra={"key": record.key, "copy_image_id": image_id, "attempt": attempt})

    def _copy_snapshots(self, record: Record, target: CopyTarget, attempt: int) -> None:
        """Snapshot path: CopySnapshot per disk, each encrypted with the target region's key when asked.

        Tokens are per (key, device, attempt), so a repeat after a crash returns the same copies.
        """
        source = self.ecs.get_image(target.source_region, target.image_id)
        if source is None or not source.disks:
            self._record_failure(record, Fail(record.key, f"source image {target.image_id} or its disks are gone"))
            return
        copies = []
        for disk in source.disks:
            device = disk.device or disk.type
            snapshot_id = self.ecs.copy_snapshot(SnapshotCopySpec(
                source_region=target.source_region, snapshot_id=disk.snapshot_id,
                destination_region=target.target_region,
                name=f"{target.name}-{device.rsplit('/', 1)[-1]}"[:128],
                description=f"image-relay snapshot of {target.image_id} {device} for {target.key}"[:256],
                encrypted=target.encrypted, kms_key_id=target.kms_key_id,
                tags={**target.tags, "image-relay:device": device},
                client_token=client_token(f"{record.key}#{device}", attempt)))
            copies.append({"device": device, "type": disk.type, "size_gib": disk.size_gib,
                           "source": disk.snapshot_id, "copy": snapshot_id})
        self._move(record, "snapshots_started", path="snapshot", snapshots=copies, status="CopyingSnapshots",
                   progress=0)
        log.info("copy.snapshot_path", extra={"key": record.key, "disks": len(copies), "attempt": attempt})

    def _build_image(self, record: Record, target: CopyTarget, attempt: int) -> None:
        """Snapshot path: CreateImage from the accomplished copies, system disk first."""
        disks = sorted(record.data["snapshots"], key=lambda d: (d["type"] != "system", d["device"]))
        try:
            image_id = self.ecs.create_image_from_snapshots(ImageFromSnapshotsSpec(
                region=target.target_region, name=target.name, description=target.description,
                disks=tuple((d["device"], d["type"], int(d["size_gib"]), d["copy"]) for d in disks),
                tags=target.tags, client_token=client_token(f"{record.key}#image", attempt)))
        except CloudError as exc:
            if exc.retryable:
                raise
            self._discard_snapshots(record)
            self._record_failure(record, Fail(record.key, f"CreateImage from the copied snapshots refused [{exc.code}]: "
                                                f"{exc.message}"))
            return
        self._move(record, "image_built", cloud_id=image_id, status="Creating", progress=0)

    def _share(self, record: Record, action: Complete) -> bool:
        """Share the Available copy with its target's accounts before the record is DONE (False: refused, the
        record FAILED). ModifyImageSharePermission takes 10 accounts a call and adding an account twice changes
        nothing, so a crash between the share and the DONE write only repeats the share; a retryable error
        leaves the record STARTED for the next tick."""
        accounts = list(action.share_accounts)
        try:
            for i in range(0, len(accounts), 10):
                self.ecs.share_image(CopyTarget.of(record).target_region, action.image_id, add=accounts[i:i + 10])
        except CloudError as exc:
            if exc.retryable:
                raise
            self._record_failure(record, Fail(record.key, f"sharing copy {action.image_id} with "
                                                          f"{', '.join(accounts)} refused [{exc.code}]: {exc.message}"))
            return False
        if accounts:
            self.outcomes["shared"] += 1
            log.info("copy.shared", extra={"key": record.key, "copy_image_id": action.image_id,
                                           "accounts": accounts})
        return True

    def _discard_snapshots(self, record: Record) -> None:
        """Delete a failed attempt's snapshot copies (a failed CreateImage must not leave them billed)."""
        target = CopyTarget.of(record)
        for item in record.data.get("snapshots") or []:
            self.ecs.delete_snapshot(target.target_region, item["copy"])

    def _record_failure(self, record: Record, action: Fail) -> None:
        retryable = action.retry_at is not None
        if record.data.get("snapshots"):
            # a failed attempt on the snapshot path cleans up at once (snapshots are billed);
            # the failed image first, since it holds the snapshots
            if action.failed_copy:
                self.ecs.delete_image(CopyTarget.of(record).target_region,
                                      action.failed_copy)
            self._discard_snapshots(record)
        self._fail(record, action.reason, retry_at=action.retry_at, failed_copy=action.failed_copy)
        self._release(record)
        log.warning("copy.failed", extra={"key": record.key, "reason": action.reason, "retryable": retryable})

    def _release(self, record: Record) -> None:
        region = CopyTarget.of(record).target_region
        self.slots.release(region, [record.key])
        self._full -= {(region, False), (region, True)}

    def _move(self, record: Record, outcome: str, **changes: Any) -> Record:
        self.written.add(record.key)  # the tick re-reads only the records written here
        return super()._move(record, outcome, **changes)
