"""Typed ECS results, free of any SDK import so the pure core can use them.

The adapter (`shared.clouds.ecs`) builds these from the wire dictionaries of DescribeImages and
DescribeInstances; field names follow ../shared/docs/alibaba-api.md §1.3 and §1.11.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Every DescribeImages status; the service's default is `Available` only, which hides running copies.
ALL_IMAGE_STATUSES = ("Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated")


class Disk(BaseModel):
    """One entry of `DiskDeviceMappings.DiskDeviceMapping`."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    device: str = ""
    type: str = "system"
    size_gib: int = 0
    snapshot_id: str = ""
    encrypted: bool = False


class Image(BaseModel):
    """An ECS image as DescribeImages reports it, in one region."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    image_id: str
    name: str = ""
    status: str = "Available"
    progress: int = 0
    size_gib: int = 0
    description: str = ""
    os_type: str = ""
    platform: str = ""
    owner_alias: str = "self"
    owner_id: str = ""
    usage: str = "none"
    is_copied: bool = False
    product_code: str = ""
    creation_time: datetime | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    disks: tuple[Disk, ...] = ()
    family: str = ""  # ImageFamily, "" when none

    @property
    def encrypted(self) -> bool:
        """True when every disk is encrypted (ECS has no image-level flag, §1.3)."""
        return bool(self.disks) and all(d.encrypted for d in self.disks)

    @classmethod
    def from_wire(cls, region: str, raw: dict[str, Any]) -> Image:
        """Build from one `Images.Image[]` entry (PascalCase keys, sizes as the SDK types them)."""
        tags = {t.get("TagKey", ""): t.get("TagValue", "") for t in (raw.get("Tags") or {}).get("Tag") or []}
        disks = tuple(
            Disk(
                device=d.get("Device") or "",
                type=d.get("Type") or "system",
                size_gib=int(d.get("Size") or 0),
                snapshot_id=d.get("SnapshotId") or "",
                encrypted=bool(d.get("Encrypted")),
            )
            for d in (raw.get("DiskDeviceMappings") or {}).get("DiskDeviceMapping") or []
        )
        progress = str(raw.get("Progress") or "0").rstrip("%") or "0"
        return cls(
            region=region,
            image_id=raw["ImageId"],
            name=raw.get("ImageName") or "",
            status=raw.get("Status") or "",
            progress=int(float(progress)),
            size_gib=int(raw.get("Size") or 0),
            description=raw.get("Description") or "",
            os_type=raw.get("OSType") or "",
            platform=raw.get("Platform") or "",
            owner_alias=raw.get("ImageOwnerAlias") or "",
            owner_id=str(raw.get("ImageOwnerId") or ""),
            usage=raw.get("Usage") or "none",
            is_copied=bool(raw.get("IsCopied")),
            product_code=raw.get("ProductCode") or "",
            creation_time=raw.get("CreationTime") or None,
            tags=tags,
            disks=disks,
            family=raw.get("ImageFamily") or "",
        )


class Instance(BaseModel):
    """An ECS instance, reduced to what the in-use checks need."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    instance_id: str
    image_id: str = ""
    status: str = ""
    #: The network it runs in: a vSwitch or VPC that still holds an instance is never deleted.
    vpc_id: str = ""
    vswitch_id: str = ""


class LaunchTemplateVersion(BaseModel):
    """One version of a launch template, reduced to the image it launches ("" when it names none)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    template_id: str
    template_name: str = ""
    version: int
    image_id: str = ""


class CopyImageSpec(BaseModel):
    """Everything one CopyImage call sends; the ClientToken makes a repeat harmless."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    source_region: str
    image_id: str
    destination_region: str
    name: str
    description: str = ""
    encrypted: bool = False
    kms_key_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    client_token: str


class ExportTask(BaseModel):
    """An ExportImage task as DescribeTasks / DescribeTaskAttribute report it (§1.6).

    `objects` (the OSS object names) come only from DescribeTaskAttribute.
    """

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    task_id: str
    status: str
    image_id: str = ""
    process: int = 0
    creation_time: str = ""
    finished_time: str = ""
    bucket: str = ""
    objects: tuple[str, ...] = ()
    image_format: str = ""
    error_code: str = ""
    error_message: str = ""

    @property
    def running(self) -> bool:
        """Still using an export slot."""
        return self.status in ("Processing", "Waiting")

    @property
    def succeeded(self) -> bool:
        """Finished with every operation successful."""
        return self.status == "Finished" and not self.error_code

    @classmethod
    def from_attribute(cls, region: str, raw: dict[str, Any]) -> ExportTask:
        """Build from a DescribeTaskAttribute body."""
        bucket, objects, fmt, code, message = "", [], "", "", ""
        for op in (raw.get("OperationProgressSet") or {}).get("OperationProgress") or []:
            code = code or op.get("ErrorCode") or ""
            message = message or op.get("ErrorMsg") or ""
            for item in (op.get("RelatedItemSet") or {}).get("RelatedItem") or []:
                name, value = item.get("Name"), item.get("Value") or ""
                if name == "OSSBucket":
                    bucket = value
                elif name == "OSSObject":
                    objects.append(value)
                elif name == "ImageFormat":
                    fmt = value
        process = str(raw.get("TaskProcess") or "0").rstrip("%") or "0"
        return cls(
            region=region,
            task_id=raw["TaskId"],
            status=raw.get("TaskStatus") or "",
            image_id=raw.get("ResourceId") or "",
            process=int(float(process)),
            creation_time=raw.get("CreationTime") or "",
            finished_time=raw.get("FinishedTime") or "",
            bucket=bucket,
            objects=tuple(objects),
            image_format=fmt,
            error_code=code,
            error_message=message,
        )


class ExportImageSpec(BaseModel):
    """Everything one ExportImage call sends (it has no ClientToken: dedupe is ours)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    image_id: str
    bucket: str
    oss_prefix: str
    image_format: str
    role_name: str = "AliyunECSImageExportDefaultRole"


class Snapshot(BaseModel):
    """A snapshot as DescribeSnapshots reports it (§1.9); used by the >2 TiB copy path."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    snapshot_id: str
    status: str = ""
    progress: int = 0
    remain_seconds: int = 0  # RemainTime: seconds until the snapshot (or its copy) is accomplished
    size_gib: int = 0
    encrypted: bool = False
    kms_key_id: str = ""
    source_snapshot_id: str = ""
    tags: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_wire(cls, region: str, raw: dict[str, Any]) -> Snapshot:
        progress = str(raw.get("Progress") or "0").rstrip("%") or "0"
        tags = {t.get("TagKey", ""): t.get("TagValue", "") for t in (raw.get("Tags") or {}).get("Tag") or []}
        return cls(region=region, snapshot_id=raw["SnapshotId"], status=raw.get("Status") or "",
                   progress=int(float(progress)), remain_seconds=int(raw.get("RemainTime") or 0),
                   size_gib=int(raw.get("SourceDiskSize") or 0),
                   encrypted=bool(raw.get("Encrypted")), kms_key_id=raw.get("KMSKeyId") or "",
                   source_snapshot_id=raw.get("SourceSnapshotId") or "", tags=tags)


class SnapshotCopySpec(BaseModel):
    """One CopySnapshot call (the disk-by-disk path for images above 2 TiB)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    source_region: str
    snapshot_id: str
    destination_region: str
    name: str
    description: str
    encrypted: bool = False
    kms_key_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    client_token: str


class ImageFromSnapshotsSpec(BaseModel):
    """One CreateImage call from copied snapshots; `disks` are (device, type, size GiB, snapshot id)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    name: str
    description: str
    disks: tuple[tuple[str, str, int, str], ...]
    platform: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    client_token: str
