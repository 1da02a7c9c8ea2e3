"""Apply ACR actions: at most one cloud call and one compare-and-set per action.

CreateRepoSyncTask has no ClientToken, so exactly-once rests on the ledger claim (PENDING → STARTED
by compare-and-set) and, before creating, on ListRepoSyncTask: a live task to the same target is
adopted rather than duplicated (design.md, cloud-side dedupe as a second guard).

Account targets (issue #13): the task carries ``TargetUserId``; the source's ListRepoSyncTask lists it with
``CrossUser`` true, which the adoption matches too. A target that is the account running the relay is
refused before any call; the service's refusals get a reason a person can act on (the partner has not
authorised this account, or has no such instance in that region).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Protocol

from shared.acr.planner import AcrAction, CompleteSync, FailSync, RequeueSync, StartSync, TrackSync
from shared.acr.targets import SyncTarget
from shared.apply import RecordExecutor
from shared.clouds.acr_types import SYNC_ALIVE, AcrInstance, SyncTask, SyncTaskSpec
from shared.errors import CloudError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.runtime import Deadline

log = get_logger(__name__)
ADVANCED = "Enterprise_Advanced"
_ACCOUNT_REFUSALS = {
    "NoPrivilege": "account {account} has not authorised account {source} to sync into its instances: the partner "
                   "must create the RAM role of the README's ACR partner setup (CreateRepoSyncTask: NoPrivilege)",
    "INSTANCE_NOT_EXIST": "account {account} has no instance {instance} in region {region} "
                          "(CreateRepoSyncTask: INSTANCE_NOT_EXIST): check rule {rule}",
}


class SyncApi(Protocol):
    """The slice of the CR adapter the executor needs."""

    def get_instance(self, region: str, instance_id: str) -> AcrInstance: ...

    def create_sync_task(self, spec: SyncTaskSpec) -> str: ...

    def iter_sync_tasks(self, region: str, instance_id: str, *, namespace: str | None = None,
                        repository: str | None = None, tag: str | None = None) -> Iterator[SyncTask]: ...


def new_sync_record(target: SyncTarget, now: dt.datetime) -> Record:
    """The PENDING intent for one target."""
    return Record(key=target.key, kind="acr", created_at=now, updated_at=now,
                  data={"target": target.to_data(), "status": None})


class SyncExecutor(RecordExecutor[AcrAction]):
    """Runs ACR actions; `outcomes` counts what happened. Instance editions are looked up once each."""

    kind = "acr"

    def __init__(self, cr: SyncApi, ledger: Ledger, *, now: Callable[[], dt.datetime],
                 deadline: Deadline | None = None, source_account: str | None = None) -> None:
        super().__init__(ledger, now=now, deadline=deadline)
        self.cr = cr
        self.source_account = source_account
        self._editions: dict[str, str] = {}
        self._listed: dict[tuple[str, str, str, str, str], list[SyncTask]] = {}

    def _apply_to(self, record: Record, action: AcrAction) -> None:
        if isinstance(action, StartSync):
            if record.state is State.PENDING:
                self.start(record, action.target)
        elif isinstance(action, TrackSync):
            self._move(record, "tracked", status=action.status)
        elif isinstance(action, CompleteSync):
            self._move(record, "done", state=State.DONE, status="SUCCESS")
        elif isinstance(action, FailSync):
            self._fail(record, action.reason, retry_at=action.retry_at)
        elif isinstance(action, RequeueSync):
            self._move(record, "requeued", state=State.PENDING, attempt=record.attempt, next_attempt_at=None)

    def start(self, record: Record, target: SyncTarget) -> Record:
        """Claim, check the source edition, adopt a live task to this target or create one."""
        if target.target_account is not None and target.target_account == self.source_account:
            return self._fail(record, f"account {target.target_account} is the source account itself; an account "
                                      f"target must be another account: fix rule {target.rule}")
        if not self._is_advanced(target):
            return self._fail(record, (
                f"source instance {target.source.instance_id} is {self._editions[target.source.instance_id]}; "
                "only Enterprise_Advanced instances can replicate: upgrade it or change rule " + target.rule))
        claimed = self._move(record, "claimed", state=State.STARTED, attempt=record.attempt + 1, cloud_id=None)
        for task in self._existing(target):
            if task.status in SYNC_ALIVE and target.is_task_for(task):
                return self._move(claimed, "adopted", cloud_id=task.sync_task_id, status=task.status)
        try:
            task_id = self.cr.create_sync_task(target.spec())
        except CloudError as exc:
            if exc.retryable:
                return self._move(claimed, "requeued", state=State.PENDING, attempt=claimed.attempt)
            return self._fail(claimed, self._refusal(target, exc))
        log.info("acr.sync_started", extra={"key": record.key, "sync_task_id": task_id})
        return self._move(claimed, "started", cloud_id=task_id, status="PENDING")

    def _refusal(self, target: SyncTarget, exc: CloudError) -> str:
        """The reason a person reads when CreateRepoSyncTask refused."""
        if target.target_account is not None and exc.code in _ACCOUNT_REFUSALS:
            return _ACCOUNT_REFUSALS[exc.code].format(
                account=target.target_account, source=self.source_account or "this account",
                instance=target.target_instance, region=target.target_region, rule=target.rule)
        return f"CreateRepoSyncTask refused [{exc.code}]: {exc.message}"

    def _is_advanced(self, target: SyncTarget) -> bool:
        instance = target.source.instance_id
        if instance not in self._editions:
            self._editions[instance] = self.cr.get_instance(target.source.region, instance).specification
        return self._editions[instance] == ADVANCED

    def _existing(self, target: SyncTarget) -> list[SyncTask]:
        """The tag's sync tasks, listed once per (repository, tag) for all its targets."""
        src = target.source
        key = (src.region, src.instance_id, src.namespace, src.repository, src.tag)
        if key not in self._listed:
            self._listed[key] = list(self.cr.iter_sync_tasks(src.region, src.instance_id, namespace=src.namespace,
                                                             repository=src.repository, tag=src.tag))
        return self._listed[key]
