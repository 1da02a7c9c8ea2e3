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

    model_config = ConfigDict(frozen=True)

    device: str = ""
    type: str = "system"
    size_gib: int = 0
    snapshot_id: str = ""
    encrypted: bool = False


class Image(BaseModel):
    """An ECS image as DescribeImages reports it, in one region."""

    model_config = ConfigDict(frozen=True)

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
    creation_time: datetime | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    disks: tuple[Disk, ...] = ()

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
            creation_time=raw.get("CreationTime") or None,
            tags=tags,
            disks=disks,
        )


class Instance(BaseModel):
    """An ECS instance, reduced to what the in-use checks need."""

    model_config = ConfigDict(frozen=True)

    region: str
    instance_id: str
    image_id: str = ""
    status: str = ""


class CopyImageSpec(BaseModel):
    """Everything one CopyImage call sends; the ClientToken makes a repeat harmless."""

    model_config = ConfigDict(frozen=True)

    source_region: str
    image_id: str
    destination_region: str
    name: str
    description: str = ""
    encrypted: bool = False
    kms_key_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    client_token: str
