"""The ECS adapter: typed methods over `alibabacloud_ecs20140526`, paging and retries included.

Why it looks like this:
- Status comes from paged region scans (`PageSize=100`, the service maximum), never one describe
  per image per tick (design.md, performance habits).
- `Status` is always sent explicitly: the service default is `Available` only, which hides running
  copies (alibaba-api.md §1.3).
- Every SDK error is translated once, in `_call`, into `shared.errors`.
- `calls` counts API calls (retries included), for summaries and the benchmark.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient

from shared.clouds._clients import openapi_config
from shared.clouds._gateway import RpcGateway, items_at
from shared.clouds.ecs_types import (
    ALL_IMAGE_STATUSES,
    CopyImageSpec,
    ExportImageSpec,
    ExportTask,
    Image,
    ImageFromSnapshotsSpec,
    Instance,
    LaunchTemplateVersion,
    Snapshot,
    SnapshotCopySpec,
)
from shared.config import Credentials
from shared.errors import ResourceNotFoundError

PAGE_SIZE = 100
#: The launch-template actions page at most 50 (UNCONFIRMED; the SDK doc-comments give only the default, 10).
TEMPLATE_PAGE_SIZE = 50


def _tags(tags: dict[str, str] | None, cls: Any) -> list[Any] | None:
    return [cls(key=k, value=v) for k, v in sorted((tags or {}).items())] or None


class EcsGateway(RpcGateway):
    """ECS for one set of credentials; `client_for(region)` is injectable for tests."""

    API_VERSION = "2014-05-26"
    RAW_METHODS = frozenset({"describe_images", "describe_snapshots", "describe_tasks"})

    SERVICE = "ecs"

    @classmethod
    def sdk_client(cls, region: str, credentials: Credentials, endpoint: str | None) -> Any:
        """The official SDK client of `region` (`connect`, inherited, caches one per region and credentials)."""
        return EcsClient(openapi_config(region, credentials, endpoint))

    # -- regions and images -------------------------------------------------------------------------

    def regions(self, region: str = "cn-hangzhou") -> list[str]:
        """Region ids the account can use."""
        body = self._call(region, "describe_regions", ecs_models.DescribeRegionsRequest(accept_language="en-US"))
        return [r["RegionId"] for r in (body.get("Regions") or {}).get("Region") or []]

    def iter_images(
        self,
        region: str,
        *,
        statuses: tuple[str, ...] = ALL_IMAGE_STATUSES,
        image_id: str | None = None,
        tags: dict[str, str] | None = None,
        owner_alias: str | None = "self",
        usage: str | None = None,
        name: str | None = None,
    ) -> Iterator[Image]:
        """Every image in `region` matching the filters, 100 a page (`name` is ECS's fuzzy match)."""
        def request(page: int) -> Any:
            return ecs_models.DescribeImagesRequest(
                region_id=region,
                status=",".join(statuses),
                image_id=image_id,
                image_owner_alias=owner_alias,
                usage=usage,
                image_name=name,
                tag=_tags(tags, ecs_models.DescribeImagesRequestTag),
                page_number=page,
                page_size=PAGE_SIZE,
            )

        for raw in self._paged(region, "describe_images", ("Images", "Image"), request, size=PAGE_SIZE):
            yield Image.from_wire(region, raw)

    def list_images(self, region: str, **filters: Any) -> list[Image]:
        """`iter_images` as a list."""
        return list(self.iter_images(region, **filters))

    def get_image(self, region: str, image_id: str) -> Image | None:
        """One image by id in any status, or None when it does not exist."""
        for image in self.iter_images(region, image_id=image_id, owner_alias=None):
            if image.image_id == image_id:
                return image
        return None

    def share_image(self, region: str, image_id: str, *, add: list[str] | None = None,
                    remove: list[str] | None = None) -> None:
        """ModifyImageSharePermission: share the image with `add`, stop sharing it with `remove` (≤10 each;
        ECS silently ignores the rest, so more is refused here). Adding an account already shared, or
        removing one that is not, changes nothing: the call is safe to repeat."""
        if len(add or []) > 10 or len(remove or []) > 10:
            raise ValueError("ModifyImageSharePermission takes at most 10 accounts to add and 10 to remove")
        request = ecs_models.ModifyImageSharePermissionRequest(
            region_id=region, image_id=image_id, add_account=add or None, remove_account=remove or None
        )
        self._call(region, "modify_image_share_permission", request)

    def image_share_accounts(self, region: str, image_id: str) -> list[str]:
        """Who the image is shared with (DescribeImageSharePermission), 100 a page.

        Account ids (`AliyunId`) first, then `group:<name>` for each share group (`group:all` marks a
        public image), so an empty list means "shared with nobody".
        """
        def request(page: int) -> Any:
            return ecs_models.DescribeImageSharePermissionRequest(
                region_id=region, image_id=image_id, page_number=page, page_size=PAGE_SIZE
            )

        found: list[str] = []
        pages = self._pages(region, "describe_image_share_permission", ("Accounts", "Account"), request,
                            size=PAGE_SIZE)
        for page, (body, accounts) in enumerate(pages, 1):
            found += [str(a.get("AliyunId") or "") for a in accounts if a.get("AliyunId")]
            if page == 1:
                found += [f"group:{g['Group']}" for g in items_at(body, ("ShareGroups", "ShareGroup"))
                          if g.get("Group")]
        return found

    def copy_image(self, spec: CopyImageSpec) -> str:
        """Start a copy; the new ImageId exists at once in the destination (Waiting or Creating)."""
        request = ecs_models.CopyImageRequest(
            region_id=spec.source_region,
            image_id=spec.image_id,
            destination_region_id=spec.destination_region,
            destination_image_name=spec.name,
            destination_description=spec.description or None,
            encrypted=True if spec.encrypted else None,
            kmskey_id=spec.kms_key_id,
            tag=_tags(spec.tags, ecs_models.CopyImageRequestTag),
            client_token=spec.client_token,
        )
        return str(self._call(spec.source_region, "copy_image", request)["ImageId"])

    def cancel_copy(self, destination_region: str, image_id: str) -> None:
        """Cancel a running copy (RegionId is the destination, ImageId the copy)."""
        request = ecs_models.CancelCopyImageRequest(region_id=destination_region, image_id=image_id)
        self._call(destination_region, "cancel_copy_image", request)

    def delete_image(self, region: str, image_id: str, *, force: bool = False) -> None:
        """Delete an image; a missing image is ignored by the service, so this is idempotent."""
        request = ecs_models.DeleteImageRequest(region_id=region, image_id=image_id, force=True if force else None)
        self._call(region, "delete_image", request)

    def iter_instances(self, region: str, *, image_id: str | None = None) -> Iterator[Instance]:
        """Instances in `region`, optionally only those running `image_id` (MaxResults/NextToken paging)."""
        def request(token: str | None) -> Any:
            return ecs_models.DescribeInstancesRequest(
                region_id=region, image_id=image_id, max_results=PAGE_SIZE, next_token=token
            )

        for raw in self._token_pages(region, "describe_instances", ("Instances", "Instance"), request):
            vpc = raw.get("VpcAttributes") or {}
            yield Instance(
                region=region,
                instance_id=raw["InstanceId"],
                image_id=raw.get("ImageId") or "",
                status=raw.get("Status") or "",
                vpc_id=vpc.get("VpcId") or "",
                vswitch_id=vpc.get("VSwitchId") or "",
            )

    # -- what else can name an image (the cleanup's guards) ----------------------------------------------

    def iter_launch_template_versions(self, region: str) -> Iterator[LaunchTemplateVersion]:
        """Every version of every launch template of `region` (not only the default one): the templates
        50 a page, then each template's versions 50 a page."""
        templates = self._paged(region, "describe_launch_templates", ("LaunchTemplateSets", "LaunchTemplateSet"),
                                lambda page: ecs_models.DescribeLaunchTemplatesRequest(
                                    region_id=region, page_number=page, page_size=TEMPLATE_PAGE_SIZE),
                                size=TEMPLATE_PAGE_SIZE)
        for raw in templates:
            yield from self._template_versions(region, str(raw.get("LaunchTemplateId") or ""))

    def _template_versions(self, region: str, template_id: str) -> Iterator[LaunchTemplateVersion]:
        def request(page: int) -> Any:
            return ecs_models.DescribeLaunchTemplateVersionsRequest(
                region_id=region, launch_template_id=template_id, detail_flag=True,
                page_number=page, page_size=TEMPLATE_PAGE_SIZE)

        keys = ("LaunchTemplateVersionSets", "LaunchTemplateVersionSet")
        for raw in self._paged(region, "describe_launch_template_versions", keys, request, size=TEMPLATE_PAGE_SIZE):
            data = raw.get("LaunchTemplateData") or {}
            yield LaunchTemplateVersion(
                region=region, template_id=template_id, template_name=raw.get("LaunchTemplateName") or "",
                version=int(raw.get("VersionNumber") or 0), image_id=data.get("ImageId") or "")

    def image_from_family(self, region: str, family: str) -> Image | None:
        """The image ECS launches for `family` (its newest Available one), or None when it has none."""
        request = ecs_models.DescribeImageFromFamilyRequest(region_id=region, image_family=family)
        raw = self._call(region, "describe_image_from_family", request).get("Image") or {}
        return Image.from_wire(region, raw) if raw.get("ImageId") else None

    # -- exports --------------------------------------------------------------------------------------

    def export_image(self, spec: ExportImageSpec) -> str:
        """Start an export to a same-region bucket; returns the TaskId."""
        request = ecs_models.ExportImageRequest(
            region_id=spec.region,
            image_id=spec.image_id,
            ossbucket=spec.bucket,
            ossprefix=spec.oss_prefix,
            image_format=spec.image_format,
            role_name=spec.role_name,
        )
        return str(self._call(spec.region, "export_image", request)["TaskId"])

    def describe_export(self, region: str, task_id: str) -> ExportTask:
        """One export task with its OSS object names (DescribeTaskAttribute)."""
        request = ecs_models.DescribeTaskAttributeRequest(region_id=region, task_id=task_id)
        return ExportTask.from_attribute(region, self._call(region, "describe_task_attribute", request))

    def iter_export_tasks(
        self, region: str, *, task_ids: list[str] | None = None, image_id: str | None = None
    ) -> Iterator[ExportTask]:
        """ExportImage tasks of a region, 100 a page; `task_ids` are sent 100 at a time (the API's limit)."""
        batches: list[list[str] | None] = (
            [task_ids[i : i + PAGE_SIZE] for i in range(0, len(task_ids), PAGE_SIZE)] if task_ids else [None]
        )
        for batch in batches:
            def request(page: int, batch: list[str] | None = batch) -> Any:
                return ecs_models.DescribeTasksRequest(
                    region_id=region,
                    task_action="ExportImage",
                    task_ids=",".join(batch) if batch else None,
                    resource_ids=[image_id] if image_id else None,
                    page_number=page,
                    page_size=PAGE_SIZE,
                )

            for raw in self._paged(region, "describe_tasks", ("TaskSet", "Task"), request, size=PAGE_SIZE):
                yield ExportTask(
                    region=region,
                    task_id=raw["TaskId"],
                    status=raw.get("TaskStatus") or "",
                    image_id=raw.get("ResourceId") or "",
                    # TaskProcess when the listing carries it (the emulator does; the SDK's response
                    # model has no such field, UNCONFIRMED for real ECS): 0 otherwise
                    process=int(float(str(raw.get("TaskProcess") or "0").rstrip("%") or "0")),
                    creation_time=raw.get("CreationTime") or "",
                    finished_time=raw.get("FinishedTime") or "",
                )

    def cancel_task(self, region: str, task_id: str) -> None:
        """Cancel a running export (CancelTask)."""
        self._call(region, "cancel_task", ecs_models.CancelTaskRequest(region_id=region, task_id=task_id))

    # -- snapshots (the path for images above 2 TiB) --------------------------------------------------

    def copy_snapshot(self, spec: SnapshotCopySpec) -> str:
        """Copy one disk's snapshot to another region; returns the new SnapshotId."""
        request = ecs_models.CopySnapshotRequest(
            region_id=spec.source_region,
            snapshot_id=spec.snapshot_id,
            destination_region_id=spec.destination_region,
            destination_snapshot_name=spec.name,
            destination_snapshot_description=spec.description,
            encrypted=True if spec.encrypted else None,
            kmskey_id=spec.kms_key_id,
            tag=_tags(spec.tags, ecs_models.CopySnapshotRequestTag),
            client_token=spec.client_token,
        )
        return str(self._call(spec.source_region, "copy_snapshot", request)["SnapshotId"])

    def iter_snapshots(self, region: str, *, tags: dict[str, str] | None = None) -> Iterator[Snapshot]:
        """Every snapshot of a region with these tags, in any status (MaxResults/NextToken paging)."""
        def request(token: str | None) -> Any:
            return ecs_models.DescribeSnapshotsRequest(
                region_id=region, status="all", tag=_tags(tags, ecs_models.DescribeSnapshotsRequestTag),
                max_results=PAGE_SIZE, next_token=token)

        for raw in self._token_pages(region, "describe_snapshots", ("Snapshots", "Snapshot"), request):
            yield Snapshot.from_wire(region, raw)

    def snapshots_by_id(self, region: str, snapshot_ids: list[str]) -> dict[str, Snapshot]:
        """The snapshots with these ids (≤100, DescribeSnapshots SnapshotIds), by id; absent ones are left out.

        Why: DescribeImages says only whether an image disk is encrypted, not with which key; its snapshot's
        `KMSKeyId` does (§1.3, §1.9), and sharing depends on the key (a service key cannot be shared)."""
        if not snapshot_ids:
            return {}
        if len(snapshot_ids) > PAGE_SIZE:
            raise ValueError(f"at most {PAGE_SIZE} snapshot ids per call, got {len(snapshot_ids)}")
        request = ecs_models.DescribeSnapshotsRequest(
            region_id=region, snapshot_ids=json.dumps(snapshot_ids), status="all", max_results=PAGE_SIZE)
        body = self._call(region, "describe_snapshots", request)
        found = (Snapshot.from_wire(region, raw) for raw in items_at(body, ("Snapshots", "Snapshot")))
        return {snap.snapshot_id: snap for snap in found}

    def create_image_from_snapshots(self, spec: ImageFromSnapshotsSpec) -> str:
        """CreateImage from copied snapshots (system disk first); returns the new ImageId."""
        mappings = [
            ecs_models.CreateImageRequestDiskDeviceMapping(device=device, disk_type=kind, size=size, snapshot_id=sid)
            for device, kind, size, sid in spec.disks
        ]
        request = ecs_models.CreateImageRequest(
            region_id=spec.region, image_name=spec.name, description=spec.description or None,
            disk_device_mapping=mappings, platform=spec.platform or None,
            tag=_tags(spec.tags, ecs_models.CreateImageRequestTag), client_token=spec.client_token)
        return str(self._call(spec.region, "create_image", request)["ImageId"])

    def delete_snapshot(self, region: str, snapshot_id: str) -> None:
        """Delete a snapshot; a missing one is treated as deleted.

        DeleteSnapshot takes no RegionId (the SDK model has none): the region is the client's endpoint.
        """
        try:
            self._call(region, "delete_snapshot", ecs_models.DeleteSnapshotRequest(snapshot_id=snapshot_id))
        except ResourceNotFoundError:
            return
