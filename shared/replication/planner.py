"""The pure core of a reconcile tick: (ledger records, observed cloud, policy, now) → Plan.

No I/O here: inputs are values and time is an argument, so a plan can be printed instead of
applied and every decision is unit-testable. The executor turns each action into at most one
cloud call and one compare-and-set on the ledger.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.apply import Backoff, Step, at_version
from shared.clouds.ecs_types import Image, Snapshot
from shared.ledger.record import Record, State
from shared.policy import Policy
from shared.replication.provenance import TAG_KEY
from shared.replication.targets import CopyTarget, refresh, targets_for

FAILED_SOURCE_STATUSES = frozenset({"CreateFailed", "UnAvailable", "Deprecated"})


@dataclass(frozen=True)
class RecordIntent(Step):
    """A matching image has no record yet (missed event): write a PENDING intent."""

    target: CopyTarget
    source_status: str | None = None


@dataclass(frozen=True)
class StartCopy(Step):
    """Claim the record (PENDING → STARTED, attempt+1) and call CopyImage."""

    target: CopyTarget
    attempt: int


@dataclass(frozen=True)
class ResumeCopy(Step):
    """STARTED but no ImageId recorded (crash after the claim): repeat CopyImage with the same token."""

    target: CopyTarget
    attempt: int


@dataclass(frozen=True)
class Adopt(Step):
    """A copy carrying this key's provenance tag exists: record its ImageId instead of copying."""

    image_id: str
    status: str


@dataclass(frozen=True)
class BuildImage(Step):
    """Snapshot path: every disk's snapshot copy is accomplished; CreateImage from them."""

    target: CopyTarget
    attempt: int


@dataclass(frozen=True)
class Progress(Step):
    """The copy is still running; remember its status and progress for `status` output."""

    status: str
    progress: int


@dataclass(frozen=True)
class Complete(Step):
    """The copy is Available: share it with `share_accounts` (if any), then DONE."""

    image_id: str
    share_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fail(Step):
    """Record a failure with a reason a person can act on; `retry_at` set means it will be retried."""

    reason: str
    retry_at: dt.datetime | None = None
    failed_copy: str | None = None


@dataclass(frozen=True)
class Retry(Step):
    """A failure is to be retried: delete the failed copy (if any) and go back to PENDING.

    `by_person` marks an explicit request (a manual replicate), which may re-open a final failure.
    """

    failed_copy: str | None
    by_person: bool = False


Action = RecordIntent | StartCopy | ResumeCopy | Adopt | BuildImage | Progress | Complete | Fail | Retry


@dataclass(frozen=True)
class Observed:
    """What the region scans saw this tick.

    `sources` maps (region, image_id) → Image for every scanned source region (None is never
    stored: absence means "not found" only for regions listed in `scanned_sources`).
    `copies` maps destination region → {image_id: Image} of managed copies.
    """

    sources: Mapping[tuple[str, str], Image] = field(default_factory=dict)
    scanned_sources: frozenset[str] = frozenset()
    copies: Mapping[str, Mapping[str, Image]] = field(default_factory=dict)
    snapshots: Mapping[str, Mapping[str, Snapshot]] = field(default_factory=dict)
    # True: a PENDING record starts only once its source was listed in this tick (the plain timer tick)
    sources_required: bool = True

    def copy_by_key(self, region: str, key: str) -> Image | None:
        """A live managed copy in `region` whose provenance names `key`."""
        for image in self.copies.get(region, {}).values():
            if image.tags.get(TAG_KEY) == key and image.status != "CreateFailed":
                return image
        return None


def _target(record: Record) -> CopyTarget:
    return CopyTarget.of(record)


def plan_record(record: Record, observed: Observed, now: dt.datetime, backoff: Backoff) -> Action | None:
    """The one next step for one copy record (bound to the record's version), or None when it must wait."""
    step = _next_step(record, observed, now, backoff)
    return None if step is None else at_version(step, record)


def _next_step(record: Record, observed: Observed, now: dt.datetime, backoff: Backoff) -> Action | None:
    target = _target(record)
    if record.state is State.PENDING:
        if record.next_attempt_at and record.next_attempt_at > now:
            return None
        if target.source_region not in observed.scanned_sources:
            if record.data.get("source_status") == "Available" and not observed.sources_required:
                # A wake or partition tick does not list sources: the source was Available when the intent
                # was written, and CopyImage itself refuses a source that is gone (the copy then fails).
                return StartCopy(record.key, target, record.attempt + 1)
            return None
        source = observed.sources.get((target.source_region, target.image_id))
        if source is None:
            return Fail(record.key, f"source image {target.image_id} no longer exists in {target.source_region}")
        if source.status in FAILED_SOURCE_STATUSES:
            return Fail(record.key, f"source image {target.image_id} is {source.status}; nothing to copy")
        if source.status != "Available":
            return None
        return StartCopy(record.key, target, record.attempt + 1)
    if record.state is State.STARTED:
        if target.target_region not in observed.copies:
            return None
        if record.cloud_id is None and record.data.get("snapshots"):
            return _plan_snapshots(record, target, observed, now, backoff)
        if record.cloud_id is None:
            found = observed.copy_by_key(target.target_region, record.key)
            if found is not None:
                return Adopt(record.key, found.image_id, found.status)
            return ResumeCopy(record.key, target, max(record.attempt, 1))
        copy = observed.copies[target.target_region].get(record.cloud_id)
        if copy is None:
            return Fail(
                record.key,
                f"copy {record.cloud_id} vanished from {target.target_region} (cancelled or deleted outside "
                f"image-relay); send a replicate request for {target.image_id} to copy again",
            )
        if copy.status == "Available":
            return Complete(record.key, copy.image_id, target.share_accounts)
        if copy.status == "CreateFailed":
            if record.attempt >= backoff.max_attempts:
                return Fail(
                    record.key,
                    f"copy into {target.target_region} failed {record.attempt} times (last {copy.image_id}); "
                    "check the region's quotas and the source image, then retry",
                    failed_copy=copy.image_id,
                )
            return Fail(
                record.key,
                f"copy {copy.image_id} into {target.target_region} ended CreateFailed; retrying",
                retry_at=backoff.next_at(record.key, record.attempt, now),
                failed_copy=copy.image_id,
            )
        if copy.status != record.data.get("status") or copy.progress != record.data.get("progress"):
            return Progress(record.key, copy.status, copy.progress)
        return None
    if record.state is State.FAILED and record.retryable:
        if record.next_attempt_at is None or record.next_attempt_at <= now:
            return Retry(record.key, record.data.get("failed_copy"))
    return None


def _plan_snapshots(record: Record, target: CopyTarget, observed: Observed, now: dt.datetime,
                    backoff: Backoff) -> Action | None:
    """Snapshot path: wait for every disk's snapshot copy, then build the image; a failed or vanished
    copy fails the attempt (its snapshot copies are deleted before a retry)."""
    if target.target_region not in observed.snapshots:
        return None
    seen = observed.snapshots[target.target_region]
    copies = [seen.get(item["copy"]) for item in record.data["snapshots"]]
    if any(c is None or c.status == "failed" for c in copies):
        retry_at = backoff.next_at(record.key, record.attempt, now) if record.attempt < backoff.max_attempts else None
        return Fail(record.key, f"a snapshot copy into {target.target_region} failed or vanished", retry_at=retry_at)
    if all(c is not None and c.status == "accomplished" for c in copies):
        return BuildImage(record.key, target, record.attempt)
    progress = sum(c.progress for c in copies if c is not None) // max(len(copies), 1)
    if progress != record.data.get("progress"):
        return Progress(record.key, "CopyingSnapshots", progress)
    return None


def sweep(policy: Policy, observed: Observed, known_keys: set[str]) -> list[RecordIntent]:
    """Intents for matching source images that never produced an event (or whose event was lost)."""
    intents: list[RecordIntent] = []
    for (region, _), image in sorted(observed.sources.items()):
        if region not in observed.scanned_sources or image.status in FAILED_SOURCE_STATUSES:
            continue
        intents += [RecordIntent(t.key, t, image.status) for t in targets_for(policy, image, known=known_keys)]
    return intents


def plan_tick(
    records: Iterable[Record],
    observed: Observed,
    policy: Policy,
    now: dt.datetime,
    backoff: Backoff | None = None,
    *,
    sweep_sources: bool = True,
    known_keys: set[str] | None = None,
) -> list[Action]:
    """Every action of one reconcile tick, new intents first (no sweep in a fanned-out partition).

    `known_keys`: keys of records the tick did not read (finished ones), so the sweep leaves them alone."""
    backoff = backoff or Backoff()
    records = list(records)
    known = {r.key for r in records} | (known_keys or set())
    actions: list[Action] = list(sweep(policy, observed, known)) if sweep_sources else []
    planned = [(record, plan_record(record, observed, now, backoff)) for record in records]
    actions += [a for _, a in planned if a is not None and not isinstance(a, StartCopy)]
    return actions + order_starts([(r, a) for r, a in planned if isinstance(a, StartCopy)], policy, now)


def order_starts(starts: list[tuple[Record, Action | None]], policy: Policy, now: dt.datetime) -> list[Action]:
    """StartCopy actions in queue order, without those whose off-peak window is closed (they carry over)."""
    from shared.replication.queue import fairness_order, window_closed

    by_key = {r.key: a for r, a in starts if isinstance(a, StartCopy)}
    ready = [r for r, a in starts if isinstance(a, StartCopy) and window_closed(policy, a.target.rule, now) is None]
    ordered = [by_key[r.key] for r in fairness_order(ready, policy)]
    return [StartCopy(a.key, refresh(a.target, policy), a.attempt, version=a.version) for a in ordered
            if isinstance(a, StartCopy)]


def regions_to_scan(records: Iterable[Record], policy: Policy) -> tuple[set[str], set[str]]:
    """(source regions, destination regions) a tick must scan: rule sources plus what records need."""
    sources = {region for rule in policy.copy_rules for region in rule.source_regions}
    destinations: set[str] = set()
    for record in records:
        target = _target(record)
        if record.state is State.PENDING:
            sources.add(target.source_region)
        elif record.state is State.STARTED:
            destinations.add(target.target_region)
    return sources, destinations
