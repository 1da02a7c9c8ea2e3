"""Apply export actions: at most a few cloud calls and one compare-and-set per action.

ExportImage has no ClientToken, so exactly-once rests on the ledger claim (PENDING → STARTED by
compare-and-set) and, after a crash between the claim and the recorded TaskId, on looking for the
image's running export (DescribeTasks by ResourceId) before calling ExportImage again. A failing
action never aborts the batch: the record stays where it was and the next tick decides again.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from shared.apply import RecordExecutor
from shared.clouds.ecs_types import ExportImageSpec, ExportTask
from shared.clouds.oss_types import ObjectInfo
from shared.errors import CloudError
from shared.exports.manifest import build_manifest, failure_reason, manifest_key, manifest_summary
from shared.exports.planner import (
    ConcludeExport,
    ExportAction,
    FailExport,
    RecordExport,
    RecoverExport,
    StartExport,
    TrackExport,
)
from shared.exports.targets import ExportTarget, produced_format
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.runtime import Deadline

log = get_logger(__name__)

#: ExportImage refusals that mean "not now" rather than "never".
_REQUEUE = {"ConcurrentQuotaExceed.ExportImage", "IncorrectImageStatus", "WeeklyQuotaExceed.ExportImage"}
_HINTS = {
    "InvalidOSSBucket.NotFound": "bucket {bucket} does not exist in {region}: fix bucket.{region} of rule {rule}",
    "NoSetRoletoECSServiceAcount": "ECS has no role {role} to write to OSS: create and authorise it",
    "ImageNotSupported": "ECS refuses to export this image",
    "InvalidImage.DiskAmountOrSize": "the image's data disks exceed ECS's export limits",
}


class ExportEcs(Protocol):
    """The slice of the ECS adapter exports need."""

    def export_image(self, spec: ExportImageSpec) -> str: ...

    def describe_export(self, region: str, task_id: str) -> ExportTask: ...

    def iter_export_tasks(self, region: str, *, task_ids: list[str] | None = None,
                          image_id: str | None = None) -> Iterator[ExportTask]: ...

    def cancel_task(self, region: str, task_id: str) -> None: ...


class ExportOss(Protocol):
    """The slice of the OSS adapter exports need."""

    def head(self, region: str, bucket: str, key: str) -> ObjectInfo | None: ...

    def put_if_absent(self, region: str, bucket: str, key: str, body: bytes,
                      content_type: str = "application/json") -> bool: ...

    def iter_objects(self, region: str, bucket: str, prefix: str, delimiter: str = "") -> Iterator[ObjectInfo]: ...


def new_export_record(action: RecordExport, now: dt.datetime) -> Record:
    """The record an intent, a skip, or an export found in OSS starts as."""
    data: dict[str, Any] = {"target": action.target.to_data(), "process": 0}
    if action.skip_reason:
        return Record(key=action.key, kind="export", state=State.FAILED, reason=f"skipped: {action.skip_reason}",
                      created_at=now, updated_at=now, data={**data, "skipped": True})
    if action.manifest:
        return Record(key=action.key, kind="export", state=State.DONE, created_at=now, updated_at=now,
                      data={**data, "manifest": action.manifest, "found_in_oss": True})
    return Record(key=action.key, kind="export", created_at=now, updated_at=now, data=data)


class ExportExecutor(RecordExecutor[ExportAction]):
    """Runs export actions; `outcomes` counts what happened, for the summary."""

    kind = "export"

    def __init__(self, ecs: ExportEcs, oss: ExportOss, ledger: Ledger, *, now: Callable[[], dt.datetime],
                 owner: str = "", deadline: Deadline | None = None) -> None:
        super().__init__(ledger, now=now, deadline=deadline)
        self.ecs = ecs
        self.oss = oss
        self.owner = owner

    def _apply_one(self, action: ExportAction) -> None:
        if isinstance(action, RecordExport):
            _, created = self.ledger.ensure(new_export_record(action, self.now()))
            self.outcomes[("skipped" if action.skip_reason else "found_in_oss" if action.manifest else "recorded")
                          if created else "already_recorded"] += 1
            return
        super()._apply_one(action)

    def _apply_to(self, record: Record, action: ExportAction) -> None:
        if isinstance(action, StartExport):
            if record.state is State.PENDING:
                self.start(record, action.target)
        elif isinstance(action, RecoverExport):
            self._recover(record, action.target)
        elif isinstance(action, TrackExport):
            self._move(record, "tracked", process=action.process)
        elif isinstance(action, ConcludeExport):
            self._conclude(record, action.target, action.task_id)
        elif isinstance(action, FailExport):
            if action.cancelled:
                self._move(record, "cancelled", state=State.CANCELLED, reason=action.reason)
            else:
                self._fail(record, action.reason)

    def start(self, record: Record, target: ExportTarget) -> Record:
        """Claim a PENDING record and call ExportImage (also used for a manual "export now")."""
        claimed = self._move(record, "claimed", state=State.STARTED, cloud_id=None,
                             claimed_at=self.now().isoformat(), claimed_by=self.owner)
        try:
            task_id = self.ecs.export_image(target.spec())
        except CloudError as exc:
            return self._refused(claimed, target, exc)
        log.info("export.started", extra={"key": record.key, "task_id": task_id})
        return self._move(claimed, "started", cloud_id=task_id, process=0, started_at=self.now().isoformat())

    def _refused(self, record: Record, target: ExportTarget, exc: CloudError) -> Record:
        if exc.retryable or exc.code in _REQUEUE:
            return self._move(record, "requeued", state=State.PENDING, attempt=record.attempt)
        if exc.code == "ImageIsExporting":
            return self._recover(record, target)
        hint = _HINTS.get(exc.code or "", "ExportImage refused: {message}").format(
            bucket=target.bucket, region=target.region, rule=target.rule, role=target.role_name, message=exc.message)
        return self._fail(record, f"{hint} [{exc.code}]")

    def _recover(self, record: Record, target: ExportTarget) -> Record:
        """Adopt this target's export if one exists, else requeue; the CAS makes racers harmless.

        A running task of the image is ours when its format is the one this target produces (RAW where
        ImageFormat is not honoured); a finished one only when its
        objects sit in our bucket under our prefix (a task of another rule or format is not adopted).
        """
        for task in self.ecs.iter_export_tasks(target.region, image_id=target.image_id):
            if task.running and self.ecs.describe_export(target.region, task.task_id).image_format.lower() in (
                    "", produced_format(target.region, target.image_format)):
                return self._move(record, "adopted", state=State.STARTED, cloud_id=task.task_id)
            if task.status == "Finished" and any(
                    True for _ in self.oss.iter_objects(target.region, target.bucket,
                                                        f"{target.object_prefix}{task.task_id}")):
                return self._move(record, "adopted", state=State.STARTED, cloud_id=task.task_id)
        return self._move(record, "requeued", state=State.PENDING, attempt=record.attempt)

    def _conclude(self, record: Record, target: ExportTarget, task_id: str) -> None:
        task = self.ecs.describe_export(target.region, task_id)
        if not task.succeeded:
            self._fail(record, failure_reason(target, task))
            return
        sizes = {}
        for name in task.objects:
            info = self.oss.head(target.region, target.bucket, name)
            sizes[name] = info.size if info else 0
        manifest = build_manifest(target, task, sizes, str(record.data.get("started_at") or ""))
        key = manifest_key(target, task_id)
        self.oss.put_if_absent(target.region, target.bucket, key, manifest.to_bytes())
        self._move(record, "done", state=State.DONE, process=100, manifest=key,
                   finished_at=task.finished_time, **manifest_summary(manifest))
        log.info("export.finished", extra={"key": record.key, "task_id": task_id, "manifest": key})
