"""ECS wire ↔ python for snapshots, CreateImage and image sharing (alibaba-api.md §1.7–§1.9, §1.13).

Shapes follow the SDK models: DescribeSnapshots ``{"Snapshots":{"Snapshot":[…]}}`` with ``SourceDiskSize`` a
string, ``Progress`` ``"37%"``, ``RemainTime``/``RetentionDays`` ints, ``Encrypted``/``Available`` bools;
DescribeImageSharePermission ``{"ImageId","RegionId","TotalCount","PageNumber","PageSize",
"Accounts":{"Account":[{"AliyunId","SharedTime"}]},"ShareGroups":{"ShareGroup":[]}}``.

UNCONFIRMED: a ``DiskDeviceMapping.N.Size`` that is not an integer → 400 ``InvalidParameter``;
``RetentionDays`` not an integer → 400 ``InvalidParameter``.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.core.errors import EmulatorError
from emulator.core.params import Params, token_page
from emulator.core.state import iso_z
from emulator.ecs import exceptions as exc
from emulator.ecs.models import (
    CopySnapshotRequest,
    CreateImageRequest,
    DiskMapping,
    EcsBackend,
    Snapshot,
    SnapshotFilter,
)

MAX_PAGE = 100
_MAPPING = re.compile(r"^DiskDeviceMapping\.(\d+)\.(SnapshotId|Size|Device|DiskType)$")


def _fingerprint(params: Params) -> dict[str, str]:
    """The parameters a ClientToken replay must repeat (everything but ClientToken and DryRun)."""
    return {k: v for k, v in params.business().items() if k not in ("ClientToken", "DryRun")}


def _mappings(params: Params) -> list[DiskMapping]:
    """Parse ``DiskDeviceMapping.N.{SnapshotId,Size,Device,DiskType}`` in index order."""
    slots: dict[int, dict[str, str]] = {}
    for key, value in params.raw.items():
        if (m := _MAPPING.match(key)) and value != "":
            slots.setdefault(int(m.group(1)), {})[m.group(2)] = value
    out: list[DiskMapping] = []
    for n, slot in sorted(slots.items()):
        size = slot.get("Size")
        if size is not None and not size.isdigit():
            raise EmulatorError("InvalidParameter", 400, f"DiskDeviceMapping.{n}.Size must be an integer.")
        out.append(
            DiskMapping(
                snapshot_id=slot.get("SnapshotId"),
                size_gib=int(size) if size is not None else None,
                device=slot.get("Device"),
                disk_type=slot.get("DiskType"),
            )
        )
    return out


class SnapshotResponses:
    """Response methods of the snapshot, CreateImage and sharing actions (mixed into ``EcsResponses``)."""

    def __init__(self, backend: EcsBackend) -> None:
        self.backend = backend

    def snapshot_to_wire(self, snap: Snapshot) -> dict[str, Any]:
        """Render one snapshot as DescribeSnapshots does."""
        status, progress, remain = self.backend.snapshot_state(snap)
        wire: dict[str, Any] = {
            "SnapshotId": snap.snapshot_id,
            "SnapshotName": snap.name,
            "Description": snap.description,
            "Status": status,
            "Progress": f"{progress}%",
            "RemainTime": remain,
            "Available": status == "accomplished",
            "SourceDiskId": "",
            "SourceDiskSize": str(snap.size_gib),
            "SourceDiskType": snap.disk_type,
            "SourceRegionId": snap.source_region,
            "SourceSnapshotId": snap.source_snapshot_id,
            "SourceStorageType": "disk",
            "Encrypted": snap.encrypted,
            "KMSKeyId": snap.kms_key_id,
            "Usage": self.backend.snapshot_usage(snap),
            "Category": "standard",
            "SnapshotType": "user",
            "InstantAccess": False,
            "ProductCode": "",
            "RegionId": snap.region,
            "ResourceGroupId": "",
            "CreationTime": iso_z(snap.creation_time),
            "LastModifiedTime": iso_z(snap.creation_time),
            "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in snap.tags.items()]},
        }
        if snap.retention_days is not None:
            wire["RetentionDays"] = snap.retention_days
        return wire

    def copy_snapshot(self, params: Params) -> dict[str, Any]:
        """CopySnapshot: the copy exists at once in the destination as ``progressing``."""
        retention = params.get_str("RetentionDays")
        req = CopySnapshotRequest(
            source_region=params.required("RegionId"),
            snapshot_id=params.get_str("SnapshotId"),
            destination_region=params.get_str("DestinationRegionId"),
            name=params.get_str("DestinationSnapshotName"),
            description=params.get_str("DestinationSnapshotDescription"),
            encrypted=params.get_bool("Encrypted"),
            kms_key_id=params.get_str("KMSKeyId"),
            retention_days=params.get_int("RetentionDays", 0) if retention is not None else None,
            tags=params.tags("Tag"),
            client_token=params.get_str("ClientToken"),
            fingerprint=_fingerprint(params),
        )
        return {"SnapshotId": self.backend.copy_snapshot(req)}

    def describe_snapshots(self, params: Params) -> dict[str, Any]:
        """DescribeSnapshots with MaxResults + NextToken paging."""
        region = params.required("RegionId")
        max_results = params.page_size("MaxResults", 10, MAX_PAGE)
        try:
            ids = params.json_list("SnapshotIds")
        except EmulatorError:
            raise exc.InvalidSnapshotIdsMalformedError() from None
        start = params.token_offset(exc.InvalidNextTokenError)
        encrypted = params.get_str("Encrypted")
        f = SnapshotFilter(
            region=region,
            snapshot_ids=ids,
            status=params.get_str("Status"),
            name=params.get_str("SnapshotName"),
            usage=params.get_str("Usage"),
            encrypted=params.get_bool("Encrypted") if encrypted is not None else None,
            tags=params.tags("Tag"),
        )
        found = self.backend.describe_snapshots(f)
        page, paging = token_page(found, start, max_results)
        return {**paging, "Snapshots": {"Snapshot": [self.snapshot_to_wire(s) for s in page]}}

    def delete_snapshot(self, params: Params) -> dict[str, Any]:
        """DeleteSnapshot (no RegionId in the SDK request)."""
        self.backend.delete_snapshot(
            params.get_str("RegionId"), params.required("SnapshotId"), force=params.get_bool("Force")
        )
        return {}

    def create_image(self, params: Params) -> dict[str, Any]:
        """CreateImage from snapshots: the image exists at once as ``Creating``."""
        req = CreateImageRequest(
            region=params.required("RegionId"),
            mappings=_mappings(params),
            snapshot_id=params.get_str("SnapshotId"),
            instance_id=params.get_str("InstanceId"),
            name=params.get_str("ImageName"),
            description=params.get_str("Description"),
            platform=params.get_str("Platform"),
            architecture=params.get_str("Architecture"),
            boot_mode=params.get_str("BootMode"),
            family=params.get_str("ImageFamily"),
            tags=params.tags("Tag"),
            client_token=params.get_str("ClientToken"),
            dry_run=params.get_bool("DryRun"),
            fingerprint=_fingerprint(params),
        )
        return {"ImageId": self.backend.create_image(req)}

    def modify_image_share_permission(self, params: Params) -> dict[str, Any]:
        """ModifyImageSharePermission with AddAccount.N / RemoveAccount.N."""
        self.backend.modify_image_share_permission(
            params.required("RegionId"),
            params.required("ImageId"),
            params.indexed("AddAccount"),
            params.indexed("RemoveAccount"),
            dry_run=params.get_bool("DryRun"),
        )
        return {}

    def describe_image_share_permission(self, params: Params) -> dict[str, Any]:
        """DescribeImageSharePermission with PageNumber / PageSize paging."""
        region = params.required("RegionId")
        page_number, page_size = params.page(MAX_PAGE)
        image, accounts = self.backend.image_share_permission(region, params.required("ImageId"))
        page = accounts[(page_number - 1) * page_size : page_number * page_size]
        return {
            "ImageId": image.image_id,
            "RegionId": image.region,
            "TotalCount": len(accounts),
            "PageNumber": page_number,
            "PageSize": page_size,
            "Accounts": {"Account": [{"AliyunId": a, "SharedTime": iso_z(t)} for a, t in page]},
            "ShareGroups": {"ShareGroup": []},
        }
