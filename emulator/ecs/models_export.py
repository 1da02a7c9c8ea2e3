"""ExportImage, DescribeTaskAttribute, DescribeTasks and CancelTask on the virtual clock; files go to OSS.

An export takes ``total disk GiB / export_gib_per_minute`` minutes (rate read at start) and needs one of the
region's ``export_slots``: exports do not queue, a full region refuses with 403
``ConcurrentQuotaExceed.ExportImage``. When it completes, ``settle`` writes one object per disk through the
in-process ``OssBackend`` with ``forbid_overwrite`` and ``declared_size`` = the disk size in bytes (the body
is a short placeholder; see ``emulator.oss.models``).

UNCONFIRMED choices:

* rule order: region, OSSPrefix, ImageFormat, image exists (404 ``InvalidImageId.NotFound``), owner
  (403 ``Forbidden`` for another account's image), Available (400 ``IncorrectImageStatus``), already
  exporting (403 ``ImageIsExporting``), encrypted snapshots (400 ``ImageNotSupported``), Windows
  (403 ``ImageNotSupported``), Marketplace-derived (seed ``marketplace: true`` or a ``product_code``;
  403 ``ImageNotSupported``), data disks (one > 2,048 GiB: 400 ``InvalidImage.DiskAmountOrSize``; see below),
  bucket (missing **or in another region**: 400 ``InvalidOSSBucket.NotFound``), slots, DryRun;
* ``OSSPrefix`` must be 1–30 ASCII letters/digits, else 400 ``InvalidOSSPrefix.Malformed``; without a
  prefix the object names start with the image id;
* ``ImageFormat`` is case-insensitive ``raw|vhd|qcow2|vdi|vmdk`` (default raw), else 400
  ``InvalidImageFormat.NotSupported`` (checked in every region). It is **honoured only in the regions the
  ExportImage API reference lists** (usage notes, https://www.alibabacloud.com/help/en/ecs/api-exportimage,
  updated 2026-01: Tokyo, Jakarta, Frankfurt, Dubai, Virginia, London, Singapore, Kuala Lumpur, Silicon
  Valley; earlier revisions also listed Mumbai and Sydney): ``FORMAT_REGIONS``. Elsewhere "custom images are
  exported in the RAW format": the task, its ``ImageFormat`` related item and the file extensions say ``raw``
  (UNCONFIRMED: whether DescribeTaskAttribute echoes the requested or the produced format; the produced one
  is reported);
* data disks: the export guide ("Export a custom image", requirements) allows each data disk up to
  2,048 GiB; the "at most 4 data disks of at most 500 GiB" rule came from Terraform's ``alicloud_image_export``
  page, not from ECS. A data disk over 2,048 GiB → 400 ``InvalidImage.DiskAmountOrSize``; no limit on the
  number of data disks (UNCONFIRMED: the guide revision found gives no number);
* ``RoleName`` defaults to ``AliyunECSImageExportDefaultRole``; any name is accepted and recorded (no RAM);
* object names: an image with a single disk gets ``<OSSPrefix>_<ImageId>_<TaskId>.<fmt>`` (the doc sample);
  an image with data disks gets ``<OSSPrefix>_<ImageId>_<TaskId>_system.<fmt>`` for the system disk and
  ``…_data_<device basename, e.g. xvdb>.<fmt>`` per data disk. The names are listed as ``OSSObject``
  related items from the start (also while Processing);
* completion is all-or-nothing: if any target name exists, nothing is written and the task ends
  ``Failed`` with ``ErrorCode`` ``IMAGE_ALREADY_EXIST`` (the existing object is untouched); a bucket gone
  meanwhile fails with ``InvalidOSSBucket.NotFound``;
* statuses: ``Processing`` → ``Finished`` | ``Failed`` | ``Cancelled`` (CancelTask). OperationStatus is
  ``Processing``, ``Success``, ``Failed`` or ``Cancelled``; ``TaskProcess`` is the floor percent, "100%"
  when Finished or Failed, the reached percent when Cancelled;
* CancelTask on a task that is not Processing → 403 ``IncorrectTaskStatus``; a cancelled export writes
  nothing and frees its slot at once;
* DescribeTasks lists newest first; ``TaskStatus`` matches exactly (``Cancelled`` works too);
  ``StartTime``/``EndTime`` bound the creation time (inclusive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.core.errors import DryRunOperationError
from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, ExportTask, Image, new_resource_id
from emulator.oss.exceptions import OssError

FORMATS = ("raw", "vhd", "qcow2", "vdi", "vmdk")
DEFAULT_ROLE = "AliyunECSImageExportDefaultRole"
MAX_DATA_DISK_GIB = 2048
# Regions where ExportImage honours ImageFormat (API reference usage notes); elsewhere the export is RAW.
FORMAT_REGIONS = frozenset(
    {"ap-northeast-1", "ap-southeast-5", "eu-central-1", "me-east-1", "us-east-1", "eu-west-1", "ap-southeast-1",
     "ap-southeast-3", "us-west-1"}
)
GIB = 1 << 30
_PREFIX = re.compile(r"^[A-Za-z0-9]{1,30}$")


@dataclass
class ExportRequest:
    """ExportImage parameters, already parsed from the wire."""

    region: str
    image_id: str
    bucket: str
    prefix: str | None = None
    image_format: str | None = None
    role_name: str | None = None
    dry_run: bool = False


@dataclass
class TaskFilter:
    """DescribeTasks filters."""

    region: str
    task_ids: list[str] | None = None
    action: str | None = None
    status: str | None = None
    resource_ids: list[str] | None = None
    start: float | None = None
    end: float | None = None


def object_names(prefix: str, image: Image, task_id: str, fmt: str) -> list[tuple[str, int]]:
    """Return ``(object key, size in bytes)`` per disk, system disk first."""
    base = f"{prefix}_{image.image_id}_{task_id}" if prefix else f"{image.image_id}_{task_id}"
    disks = sorted(image.disks, key=lambda d: (d.type != "system", d.device))
    if len(disks) <= 1:
        size = disks[0].size_gib if disks else image.size_gib
        return [(f"{base}.{fmt}", size * GIB)]
    names: list[tuple[str, int]] = []
    for d in disks:
        suffix = "system" if d.type == "system" else f"data_{d.device.rstrip('/').rsplit('/', 1)[-1]}"
        names.append((f"{base}_{suffix}.{fmt}", d.size_gib * GIB))
    return names


class ExportMixin(BackendBase):
    """ExportImage and the task actions."""

    def export_image(self, req: ExportRequest) -> ExportTask:
        """Validate and start an export; return the new task."""
        self.check_region(req.region)
        prefix = req.prefix or ""
        if req.prefix is not None and not _PREFIX.match(req.prefix):
            raise exc.InvalidOssPrefixMalformedError()
        fmt = (req.image_format or "raw").lower()
        if fmt not in FORMATS:
            raise exc.InvalidImageFormatNotSupportedError()
        if req.region not in FORMAT_REGIONS:
            fmt = "raw"
        image = self._exportable(req.region, req.image_id)
        if self.oss is None or self.oss.bucket_region(req.bucket) != req.region:
            raise exc.InvalidOssBucketNotFoundError()
        running = sum(1 for t in self.tasks.values() if t.region == req.region and t.status == "Processing")
        if running >= self.state.config.export_slots:
            raise exc.ConcurrentQuotaExceedExportImageError()
        if req.dry_run:
            raise DryRunOperationError()
        task_id = new_resource_id("t", req.region)
        total_gib = sum(d.size_gib for d in image.disks) or image.size_gib
        task = ExportTask(
            task_id=task_id,
            region=req.region,
            image_id=image.image_id,
            bucket=req.bucket,
            prefix=prefix,
            image_format=fmt,
            role_name=req.role_name or DEFAULT_ROLE,
            objects=object_names(prefix, image, task_id, fmt),
            creation_time=self.now,
            seq=self.next_seq(),
            duration=total_gib / self.state.config.export_gib_per_minute * 60.0,
        )
        self.tasks[task_id] = task
        return task

    def _exportable(self, region: str, image_id: str) -> Image:
        """Run the image rules in order; return the image."""
        image = self.image_in(region, image_id)
        if image is None:
            raise exc.InvalidImageIdNotFoundError()
        if image.owner_id != self.state.current_account:
            raise exc.ForbiddenError()
        if image.status != "Available":
            raise exc.IncorrectImageStatusError()
        if self.exporting(image):
            raise exc.ImageIsExportingError()
        if any(d.encrypted for d in image.disks) or image.kms_key_id:
            raise exc.ImageNotSupportedError(message="The specified image contains encrypted snapshots.")
        if image.os_type == "windows":
            raise exc.ImageNotSupportedError(status=403, message="Images of Windows Server cannot be exported.")
        if image.marketplace or image.product_code or image.owner_alias == "marketplace":
            raise exc.ImageNotSupportedError(
                status=403, message="Images derived from Alibaba Cloud Marketplace cannot be exported."
            )
        data = [d for d in image.disks if d.type == "data"]
        if any(d.size_gib > MAX_DATA_DISK_GIB for d in data):
            raise exc.InvalidImageDiskAmountOrSizeError()
        return image

    # --- tasks -----------------------------------------------------------------------------------------

    def task_in(self, region: str, task_id: str) -> ExportTask:
        """Return the task of ``region`` or raise ``InvalidTaskId.NotFound``."""
        self.check_region(region)
        task = self.tasks.get(task_id)
        if task is None or task.region != region:
            raise exc.InvalidTaskIdNotFoundError()
        return task

    def describe_tasks(self, f: TaskFilter) -> list[ExportTask]:
        """Return the region's tasks matching every filter, newest first."""
        self.check_region(f.region)
        found = [
            t
            for t in self.tasks.values()
            if t.region == f.region
            and (f.task_ids is None or t.task_id in f.task_ids)
            and (f.action is None or f.action == "ExportImage")
            and (f.status is None or t.status == f.status)
            and (not f.resource_ids or t.image_id in f.resource_ids)
            and (f.start is None or t.creation_time >= f.start)
            and (f.end is None or t.creation_time <= f.end)
        ]
        return sorted(found, key=lambda t: (t.creation_time, t.seq), reverse=True)

    def cancel_task(self, region: str, task_id: str) -> None:
        """Cancel a Processing export: nothing is written, the slot is free at once."""
        task = self.task_in(region, task_id)
        if task.status != "Processing":
            raise exc.IncorrectTaskStatusError()
        task.status = "Cancelled"
        task.finished_time = self.now

    def settle_exports(self, now: float) -> None:
        """Finish every Processing export whose end is at or before ``now``, in end order."""
        due = sorted(
            (t for t in self.tasks.values() if t.status == "Processing" and t.end <= now), key=lambda t: (t.end, t.seq)
        )
        for task in due:
            self._finish(task)

    def _finish(self, task: ExportTask) -> None:
        """Write the files (all or nothing) and close the task."""
        task.finished_time = task.end
        oss = self.oss
        if oss is None or oss.bucket_region(task.bucket) is None:
            self._fail(task, "InvalidOSSBucket.NotFound", f"The OSS bucket {task.bucket} does not exist.")
            return
        taken = [key for key, _ in task.objects if oss.exists(task.bucket, key)]
        if taken:
            self._fail(task, "IMAGE_ALREADY_EXIST", f"The OSS object {taken[0]} already exists.")
            return
        try:
            for key, size in task.objects:
                body = f"emulated {task.image_format} export of {task.image_id} ({size} bytes)\n".encode()
                oss.put_object(task.bucket, key, body, forbid_overwrite=True, declared_size=size)
        except OssError as error:
            self._fail(task, "IMAGE_ALREADY_EXIST" if error.status == 409 else error.code, error.message)
            return
        task.status = "Finished"

    def _fail(self, task: ExportTask, code: str, message: str) -> None:
        """End the task Failed with an ErrorCode."""
        task.status = "Failed"
        task.error_code = code
        task.error_msg = message
