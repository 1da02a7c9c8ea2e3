"""The pure core of following ACR sync tasks and pacing queued ones: values in, actions out.

One ListRepoSyncTask listing per (source instance, repository) with work in flight serves every
tag and target of that repository: never one call per task per tick.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.acr.targets import SyncTarget
from shared.apply import CLAIM_LEASE, Backoff, Step, at_version
from shared.clouds.acr_types import SyncTask
from shared.ledger.record import Record, State

#: Sync tasks started per invocation at most, so a backfill never floods the service.
DEFAULT_START_BUDGET = 50


@dataclass(frozen=True)
class StartSync(Step):
    """Claim PENDING → STARTED, adopt an existing task to this target or CreateRepoSyncTask."""

    target: SyncTarget


@dataclass(frozen=True)
class TrackSync(Step):
    """The task is still running: remember its status."""

    status: str


@dataclass(frozen=True)
class CompleteSync(Step):
    """The task reached SUCCESS."""


@dataclass(frozen=True)
class FailSync(Step):
    """ERROR, CANCELED or vanished; `retry_at` set means the tag will be synced again then."""

    reason: str
    retry_at: dt.datetime | None = None


@dataclass(frozen=True)
class RequeueSync(Step):
    """Back to PENDING: a retryable failure is due, or a claim outlived its lease without a task id."""


AcrAction = StartSync | TrackSync | CompleteSync | FailSync | RequeueSync


def target_of(record: Record) -> SyncTarget:
    """The sync target a record was written for."""
    return SyncTarget.of(record)


def repo_of(record: Record) -> tuple[str, str, str, str]:
    """(region, instance, namespace, repository) of the record's source."""
    src = target_of(record).source
    return src.region, src.instance_id, src.namespace, src.repository


def plan_acr(records: Iterable[Record], tasks: Mapping[tuple[str, str, str, str], Mapping[str, SyncTask]],
             now: dt.datetime, backoff: Backoff, budget: int = DEFAULT_START_BUDGET) -> list[AcrAction]:
    """One tick: follow started tasks from the per-repository listings, requeue due retries, start
    the oldest queued intents up to `budget`."""
    actions: list[AcrAction] = []
    pending: list[Record] = []
    for record in records:
        if record.state is State.PENDING:
            if record.next_attempt_at is None or record.next_attempt_at <= now:
                pending.append(record)
        elif record.state is State.STARTED and record.cloud_id is None:
            if now - record.updated_at >= CLAIM_LEASE:
                actions.append(RequeueSync(record.key, version=record.version))  # the restart adopts a task the crashed call made
        elif record.state is State.STARTED and repo_of(record) in tasks:
            task = tasks[repo_of(record)].get(record.cloud_id or "")
            action = _follow(record, task, now, backoff)
            if action is not None:
                actions.append(at_version(action, record))
        elif record.state is State.FAILED and record.retryable and (
                record.next_attempt_at is None or record.next_attempt_at <= now):
            actions.append(RequeueSync(record.key, version=record.version))
    for record in sorted(pending, key=lambda r: (r.created_at, r.key))[:budget]:
        actions.append(StartSync(record.key, target_of(record), version=record.version))
    return actions


def _follow(record: Record, task: SyncTask | None, now: dt.datetime, backoff: Backoff) -> AcrAction | None:
    target = target_of(record)
    if task is None:
        return FailSync(record.key, f"sync task {record.cloud_id} is no longer listed in {target.source.instance_id}",
                        retry_at=_retry_at(record, now, backoff))
    if task.status == "SUCCESS":
        return CompleteSync(record.key)
    if task.status in ("ERROR", "CANCELED", "CANCELLED"):
        why = f"sync task {task.sync_task_id} ended {task.status}" + (f": {task.issue}" if task.issue else "")
        retry_at = _retry_at(record, now, backoff) if task.status == "ERROR" else None
        if retry_at is None and task.status == "ERROR":
            why += f" (gave up after {record.attempt} attempts)"
        return FailSync(record.key, why, retry_at=retry_at)
    if task.status != record.data.get("status"):
        return TrackSync(record.key, task.status)
    return None


def _retry_at(record: Record, now: dt.datetime, backoff: Backoff) -> dt.datetime | None:
    if record.attempt >= backoff.max_attempts:
        return None
    return backoff.next_at(record.key, record.attempt, now)
