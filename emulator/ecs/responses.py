"""ECS wire ↔ python: read RPC parameters, call the backend, shape the exact JSON key trees of §1.

Shapes follow alibaba-api.md §1.3 (``{"Images":{"Image":[…]}}``, ``DiskDeviceMapping.Size`` a string,
``Progress`` ``"37%"``, ``ImageOwnerId`` an int), §1.10 (tags) and §1.11/§1.12.

UNCONFIRMED: PageSize/MaxResults outside 1–100 → 400 ``InvalidParameter.PageSize`` /
``InvalidParameter.MaxResults``; PageNumber < 1 → 400 ``InvalidParameter.PageNumber``; DescribeInstances
``NextToken`` is the decimal offset of the next page; ``ZoneId`` is ``<region>-a``; DescribeInstances
``InstanceName`` matches with ``*`` wildcards, ``Tag.N`` with only a Key matches any value.
"""

from __future__ import annotations

from typing import Any

from emulator.core.errors import InvalidParameterError, MissingParameterError
from emulator.core.params import Params, token_page
from emulator.core.regions import region_for
from emulator.core.state import iso_z, parse_iso
from emulator.ecs import exceptions as exc
from emulator.ecs.models import (
    CopyRequest,
    ExportRequest,
    ExportTask,
    Image,
    ImageFilter,
    Instance,
    LaunchTemplate,
    TaskFilter,
)
from emulator.ecs.models_tags import validate_tags
from emulator.ecs.responses_pipelines import PipelineResponses
from emulator.ecs.responses_snapshots import SnapshotResponses

MAX_PAGE = 100


#: PageSize limit of the launch-template actions (UNCONFIRMED, see ``models_templates``).
TEMPLATE_PAGE = 50


def template_to_wire(t: LaunchTemplate) -> dict[str, Any]:
    """One LaunchTemplateSet entry of DescribeLaunchTemplates."""
    return {
        "LaunchTemplateId": t.template_id,
        "LaunchTemplateName": t.name,
        "DefaultVersionNumber": t.default_version,
        "LatestVersionNumber": t.latest_version,
        "CreateTime": iso_z(t.creation_time),
        "ModifiedTime": iso_z(t.creation_time),
        "CreatedBy": "",
        "ResourceGroupId": "",
        "Tags": {"Tag": []},
    }


def _int_owner(owner_id: str) -> int | str:
    """``ImageOwnerId`` is an int in the SDK model; keep odd seeded ids as strings."""
    return int(owner_id) if owner_id.isdigit() else owner_id


def image_to_wire(image: Image, now: float, in_use: bool, alias: str, self_shared: bool) -> dict[str, Any]:
    """Render one image as DescribeImages does (``alias`` and ``self_shared`` as the calling account sees it)."""
    progress = f"{image.progress(now)}%"
    remain = image.remain_time(now)
    return {
        "ImageId": image.image_id,
        "ImageName": image.name,
        "ImageFamily": image.family,
        "ImageVersion": "",
        "Description": image.description,
        "Architecture": image.architecture,
        "OSType": image.os_type,
        "Platform": image.platform,
        "OSName": image.platform,
        "OSNameEn": image.platform,
        "BootMode": image.boot_mode,
        "Status": image.status,
        "Progress": progress,
        "Size": image.size_gib,
        "CreationTime": iso_z(image.creation_time),
        "ImageOwnerAlias": alias,
        "ImageOwnerId": _int_owner(image.owner_id),
        "IsCopied": image.is_copied,
        "IsSelfShared": "True" if self_shared else "",
        "IsPublic": image.owner_alias in ("system", "marketplace"),
        "IsSubscribed": False,
        "IsSupportCloudinit": True,
        "IsSupportIoOptimized": True,
        "Usage": "instance" if in_use else "none",
        "Usable": image.status == "Available",
        "ProductCode": image.product_code,
        "ResourceGroupId": "",
        "LicenseType": "",
        "LoginAsNonRootSupported": False,
        "DiskDeviceMappings": {
            "DiskDeviceMapping": [
                {
                    "Device": d.device,
                    "Type": d.type,
                    "Size": str(d.size_gib),
                    "SnapshotId": d.snapshot_id,
                    "Format": "",
                    "Encrypted": d.encrypted,
                    "KMSKeyId": d.kms_key_id,
                    "Progress": progress,
                    "RemainTime": remain,
                    "ImportOSSBucket": "",
                    "ImportOSSObject": "",
                }
                for d in image.disks
            ]
        },
        "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in image.tags.items()]},
        "Features": {"NvmeSupport": "supported", "ImdsSupport": "v2"},
        "DetectionOptions": {"Status": "", "Items": {"Item": []}},
        "SecureBootOptions": {"SecureBootSupport": "unsupported"},
    }


def instance_to_wire(instance: Instance) -> dict[str, Any]:
    """Render one instance as DescribeInstances does (only the fields the project reads, plus a few)."""
    return {
        "InstanceId": instance.instance_id,
        "InstanceName": instance.name,
        "Description": instance.description,
        "ImageId": instance.image_id,
        "Status": instance.status,
        "RegionId": instance.region,
        "ZoneId": f"{instance.region}-a",
        "CreationTime": iso_z(instance.creation_time),
        "InstanceType": instance.instance_type,
        "InstanceChargeType": instance.charge_type,
        "VpcAttributes": {"VpcId": instance.vpc_id, "VSwitchId": instance.vswitch_id},
        "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in instance.tags.items()]},
    }


def task_minute(epoch: float | None) -> str:
    """Task times are ``yyyy-MM-ddTHH:mmZ`` (alibaba-api.md §1.6); "" when absent."""
    return "" if epoch is None else iso_z(epoch)[:16] + "Z"


_OPERATION_STATUS = {"Processing": "Processing", "Finished": "Success", "Failed": "Failed", "Cancelled": "Cancelled"}


def task_to_wire(task: ExportTask, now: float) -> dict[str, Any]:
    """Render DescribeTaskAttribute for an export task."""
    items = [{"Name": "OSSBucket", "Value": task.bucket}]
    items += [{"Name": "OSSObject", "Value": key} for key, _ in task.objects]
    items.append({"Name": "ImageFormat", "Value": task.image_format})
    return {
        "RegionId": task.region,
        "TaskId": task.task_id,
        "TaskAction": "ExportImage",
        "TaskStatus": task.status,
        "TaskProcess": f"{task.progress(now)}%",
        "SupportCancel": "true" if task.status == "Processing" else "false",
        "TotalCount": 1,
        "SuccessCount": 1 if task.status == "Finished" else 0,
        "FailedCount": 1 if task.status == "Failed" else 0,
        "CreationTime": task_minute(task.creation_time),
        "FinishedTime": task_minute(task.finished_time),
        "OperationProgressSet": {
            "OperationProgress": [
                {
                    "OperationStatus": _OPERATION_STATUS[task.status],
                    "ErrorCode": task.error_code,
                    "ErrorMsg": task.error_msg,
                    "RelatedItemSet": {"RelatedItem": items},
                }
            ]
        },
    }


def _time_param(params: Params, name: str) -> float | None:
    """Parse an ISO-8601 UTC time parameter."""
    value = params.get_str(name)
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise InvalidParameterError(name, "must be an ISO-8601 UTC time") from None


class EcsResponses(PipelineResponses, SnapshotResponses):
    """One method per action: ``Params`` in, JSON body (without RequestId) out."""

    def _image(self, image: Image, now: float) -> dict[str, Any]:
        """One image as the calling account sees it (its alias, IsSelfShared only for its own images)."""
        b = self.backend
        own = image.owner_id == b.state.current_account
        return image_to_wire(image, now, b.in_use(image), b.alias_for(image), own and bool(image.shared_with))

    def describe_regions(self, params: Params) -> dict[str, Any]:
        """DescribeRegions: the enabled regions with LocalName in ``AcceptLanguage`` (zh-CN default)."""
        lang = params.get_str("AcceptLanguage", "zh-CN") or "zh-CN"
        regions = [region_for(r) for r in self.backend.state.regions]
        return {
            "Regions": {
                "Region": [
                    {
                        "RegionId": r.region_id,
                        "LocalName": r.local_name(lang),
                        "RegionEndpoint": r.ecs_endpoint,
                        "Status": "available",
                    }
                    for r in regions
                ]
            }
        }

    def describe_images(self, params: Params) -> dict[str, Any]:
        """DescribeImages with PageNumber/PageSize paging (no NextToken, §0)."""
        region = params.required("RegionId")
        page_number, page_size = params.page(MAX_PAGE)
        f = ImageFilter(
            region=region,
            image_ids=params.csv("ImageId"),
            name=params.get_str("ImageName"),
            statuses=params.csv("Status"),
            owner_alias=params.get_str("ImageOwnerAlias"),
            usage=params.get_str("Usage"),
            os_type=params.get_str("OSType"),
            family=params.get_str("ImageFamily"),
            tags=params.tags("Tag"),
        )
        images = self.backend.describe_images(f)
        page = images[(page_number - 1) * page_size : page_number * page_size]
        now = self.backend.now
        return {
            "RegionId": region,
            "TotalCount": len(images),
            "PageNumber": page_number,
            "PageSize": page_size,
            "Images": {"Image": [self._image(i, now) for i in page]},
        }

    def copy_image(self, params: Params) -> dict[str, Any]:
        """CopyImage: returns the new ImageId at once; the copy runs on the virtual clock."""
        req = CopyRequest(
            source_region=params.required("RegionId"),
            image_id=params.required("ImageId"),
            destination_region=params.required("DestinationRegionId"),
            name=params.get_str("DestinationImageName"),
            description=params.get_str("DestinationDescription"),
            encrypted=params.get_bool("Encrypted"),
            kms_key_id=params.get_str("KMSKeyId"),
            tags=params.tags("Tag"),
            client_token=params.get_str("ClientToken"),
            dry_run=params.get_bool("DryRun"),
            fingerprint={k: v for k, v in params.business().items() if k not in ("ClientToken", "DryRun")},
        )
        return {"ImageId": self.backend.copy_image(req)}

    def cancel_copy_image(self, params: Params) -> dict[str, Any]:
        """CancelCopyImage: RegionId is the destination, ImageId the copy."""
        self.backend.cancel_copy_image(params.required("RegionId"), params.required("ImageId"))
        return {}

    def delete_image(self, params: Params) -> dict[str, Any]:
        """DeleteImage (missing image ignored)."""
        self.backend.delete_image(
            params.required("RegionId"),
            params.required("ImageId"),
            force=params.get_bool("Force"),
            dry_run=params.get_bool("DryRun"),
        )
        return {}

    def tag_resources(self, params: Params) -> dict[str, Any]:
        """TagResources on images."""
        self.backend.tag_resources(
            params.required("RegionId"),
            params.required("ResourceType"),
            params.indexed("ResourceId"),
            validate_tags(params.tags("Tag")),
        )
        return {}

    def untag_resources(self, params: Params) -> dict[str, Any]:
        """UntagResources by TagKey.N or All."""
        self.backend.untag_resources(
            params.required("RegionId"),
            params.required("ResourceType"),
            params.indexed("ResourceId"),
            params.indexed("TagKey"),
            params.get_bool("All"),
        )
        return {}

    def list_tag_resources(self, params: Params) -> dict[str, Any]:
        """ListTagResources with NextToken paging."""
        rows, next_token = self.backend.list_tag_resources(
            params.required("RegionId"),
            params.required("ResourceType"),
            params.indexed("ResourceId"),
            params.tags("Tag"),
            params.get_str("NextToken"),
        )
        return {
            "NextToken": next_token,
            "TagResources": {
                "TagResource": [
                    {"ResourceId": rid, "ResourceType": "image", "TagKey": k, "TagValue": v} for rid, k, v in rows
                ]
            },
        }

    def describe_instances(self, params: Params) -> dict[str, Any]:
        """DescribeInstances with ImageId / InstanceIds filters and MaxResults + NextToken paging."""
        region = params.required("RegionId")
        max_results = params.page_size("MaxResults", 10, MAX_PAGE)
        try:
            instance_ids = params.json_list("InstanceIds")
        except exc.EmulatorError:
            raise exc.InvalidInstanceIdsMalformedError() from None
        start = params.token_offset(exc.InvalidNextTokenError)
        found = self.backend.describe_instances(
            region, params.get_str("ImageId"), instance_ids, params.tags("Tag"), params.get_str("InstanceName")
        )
        page, paging = token_page(found, start, max_results)
        return {**paging, "Instances": {"Instance": [instance_to_wire(i) for i in page]}}

    def export_image(self, params: Params) -> dict[str, Any]:
        """ExportImage: a task ``t-…`` that writes one object per disk into the bucket when it finishes."""
        req = ExportRequest(
            region=params.required("RegionId"),
            image_id=params.required("ImageId"),
            bucket=params.required("OSSBucket"),
            prefix=params.get_str("OSSPrefix"),
            image_format=params.get_str("ImageFormat"),
            role_name=params.get_str("RoleName"),
            dry_run=params.get_bool("DryRun"),
        )
        task = self.backend.export_image(req)
        return {"RegionId": task.region, "TaskId": task.task_id}

    def describe_task_attribute(self, params: Params) -> dict[str, Any]:
        """DescribeTaskAttribute of an export task."""
        task = self.backend.task_in(params.required("RegionId"), params.required("TaskId"))
        return task_to_wire(task, self.backend.now)

    def describe_tasks(self, params: Params) -> dict[str, Any]:
        """DescribeTasks with TaskIds / TaskAction / TaskStatus / ResourceIds.N / time filters and paging."""
        region = params.required("RegionId")
        page_number, page_size = params.page(MAX_PAGE)
        f = TaskFilter(
            region=region,
            task_ids=params.csv("TaskIds"),
            action=params.get_str("TaskAction"),
            status=params.get_str("TaskStatus"),
            resource_ids=params.indexed("ResourceIds") or None,
            start=_time_param(params, "StartTime"),
            end=_time_param(params, "EndTime"),
        )
        tasks = self.backend.describe_tasks(f)
        page = tasks[(page_number - 1) * page_size : page_number * page_size]
        now = self.backend.now
        return {
            "RegionId": region,
            "TotalCount": len(tasks),
            "PageNumber": page_number,
            "PageSize": page_size,
            "TaskSet": {
                "Task": [
                    {
                        "TaskId": t.task_id,
                        "TaskAction": "ExportImage",
                        "TaskStatus": t.status,
                        "TaskProcess": f"{t.progress(now)}%",
                        "SupportCancel": "true" if t.status == "Processing" else "false",
                        "CreationTime": task_minute(t.creation_time),
                        "FinishedTime": task_minute(t.finished_time),
                        "ResourceId": t.image_id,
                    }
                    for t in page
                ]
            },
        }

    def describe_launch_templates(self, params: Params) -> dict[str, Any]:
        """DescribeLaunchTemplates with LaunchTemplateId.N / LaunchTemplateName.N and PageNumber/PageSize."""
        region = params.required("RegionId")
        number, size = params.page(TEMPLATE_PAGE)
        found = self.backend.describe_launch_templates(
            region, params.indexed("LaunchTemplateId") or None, params.indexed("LaunchTemplateName") or None
        )
        page = found[(number - 1) * size : number * size]
        return {
            "TotalCount": len(found),
            "PageNumber": number,
            "PageSize": size,
            "LaunchTemplateSets": {"LaunchTemplateSet": [template_to_wire(t) for t in page]},
        }

    def describe_launch_template_versions(self, params: Params) -> dict[str, Any]:
        """DescribeLaunchTemplateVersions of one template (by id or name), every version unless filtered."""
        region = params.required("RegionId")
        number, size = params.page(TEMPLATE_PAGE)
        template_id, name = params.get_str("LaunchTemplateId"), params.get_str("LaunchTemplateName")
        if not template_id and not name:
            raise MissingParameterError("LaunchTemplateId")
        t = self.backend.find_launch_template(region, template_id, name)
        wanted = {int(v) for v in params.indexed("LaunchTemplateVersion") if v.isdigit()}
        low, high = params.get_int("MinVersion", 0), params.get_int("MaxVersion", 0)
        versions = [
            v for n, v in sorted(t.versions.items())
            if (not wanted or n in wanted) and n >= low and (not high or n <= high)
            and (not params.get_bool("DefaultVersion") or n == t.default_version)
        ]
        page = versions[(number - 1) * size : number * size]
        detail = params.get_bool("DetailFlag", True)
        return {
            "TotalCount": len(versions),
            "PageNumber": number,
            "PageSize": size,
            "LaunchTemplateVersionSets": {
                "LaunchTemplateVersionSet": [
                    {
                        "LaunchTemplateId": t.template_id,
                        "LaunchTemplateName": t.name,
                        "VersionNumber": v.number,
                        "DefaultVersion": v.number == t.default_version,
                        "VersionDescription": v.description,
                        "CreateTime": iso_z(v.creation_time),
                        "ModifiedTime": iso_z(v.creation_time),
                        "CreatedBy": "",
                        **({"LaunchTemplateData": {"ImageId": v.image_id, "ImageOwnerAlias": ""}} if detail else {}),
                    }
                    for v in page
                ]
            },
        }

    def describe_image_from_family(self, params: Params) -> dict[str, Any]:
        """DescribeImageFromFamily: the family's newest Available image of ours, ``{"Image": {}}`` when none."""
        image = self.backend.image_from_family(params.required("RegionId"), params.required("ImageFamily"))
        if image is None:
            return {"Image": {}}
        return {"Image": self._image(image, self.backend.now)}

    def modify_image_attribute(self, params: Params) -> dict[str, Any]:
        """ModifyImageAttribute: ImageFamily, ImageName, Description, Status (Deprecated | Available)."""
        self.backend.modify_image_attribute(
            params.required("RegionId"),
            params.required("ImageId"),
            family=params.get_str("ImageFamily"),
            name=params.get_str("ImageName"),
            description=params.get_str("Description"),
            status=params.get_str("Status"),
        )
        return {}

    def cancel_task(self, params: Params) -> dict[str, Any]:
        """CancelTask of a Processing export."""
        self.backend.cancel_task(params.required("RegionId"), params.required("TaskId"))
        return {}
