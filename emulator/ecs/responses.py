"""ECS wire ↔ python: read RPC parameters, call the backend, shape the exact JSON key trees of §1.

Shapes follow alibaba-api.md §1.3 (``{"Images":{"Image":[…]}}``, ``DiskDeviceMapping.Size`` a string,
``Progress`` ``"37%"``, ``ImageOwnerId`` an int), §1.10 (tags) and §1.11/§1.12.

UNCONFIRMED: PageSize/MaxResults outside 1–100 → 400 ``InvalidParameter.PageSize`` /
``InvalidParameter.MaxResults``; PageNumber < 1 → 400 ``InvalidParameter.PageNumber``; DescribeInstances
``NextToken`` is the decimal offset of the next page; ``ZoneId`` is ``<region>-a``.
"""

from __future__ import annotations

from typing import Any

from emulator.core.params import Params
from emulator.core.regions import region_for
from emulator.core.state import iso_z
from emulator.ecs import exceptions as exc
from emulator.ecs.models import CopyRequest, EcsBackend, Image, ImageFilter, Instance
from emulator.ecs.models_tags import validate_tags

MAX_PAGE = 100


def _page_size(params: Params, name: str, default: int) -> int:
    """Read a page size bounded to 1–100."""
    size = params.get_int(name, default)
    if not 1 <= size <= MAX_PAGE:
        raise exc.PagingParameterError(name, f"must be between 1 and {MAX_PAGE}")
    return size


def _int_owner(owner_id: str) -> int | str:
    """``ImageOwnerId`` is an int in the SDK model; keep odd seeded ids as strings."""
    return int(owner_id) if owner_id.isdigit() else owner_id


def image_to_wire(image: Image, now: float, in_use: bool) -> dict[str, Any]:
    """Render one image as DescribeImages does."""
    progress = f"{image.progress(now)}%"
    remain = image.remain_time(now)
    return {
        "ImageId": image.image_id,
        "ImageName": image.name,
        "ImageFamily": "",
        "ImageVersion": "",
        "Description": image.description,
        "Architecture": image.architecture,
        "OSType": image.os_type,
        "Platform": image.platform,
        "OSName": image.platform,
        "OSNameEn": image.platform,
        "BootMode": "BIOS",
        "Status": image.status,
        "Progress": progress,
        "Size": image.size_gib,
        "CreationTime": iso_z(image.creation_time),
        "ImageOwnerAlias": image.owner_alias,
        "ImageOwnerId": _int_owner(image.owner_id),
        "IsCopied": image.is_copied,
        "IsSelfShared": "True" if image.shared_with else "",
        "IsPublic": image.owner_alias in ("system", "marketplace"),
        "IsSubscribed": False,
        "IsSupportCloudinit": True,
        "IsSupportIoOptimized": True,
        "Usage": "instance" if in_use else "none",
        "Usable": image.status == "Available",
        "ProductCode": "",
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
        "ImageId": instance.image_id,
        "Status": instance.status,
        "RegionId": instance.region,
        "ZoneId": f"{instance.region}-a",
        "CreationTime": iso_z(instance.creation_time),
    }


class EcsResponses:
    """One method per action: ``Params`` in, JSON body (without RequestId) out."""

    def __init__(self, backend: EcsBackend) -> None:
        self.backend = backend

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
        page_number = params.get_int("PageNumber", 1)
        if page_number < 1:
            raise exc.PagingParameterError("PageNumber", "must be at least 1")
        page_size = _page_size(params, "PageSize", 10)
        f = ImageFilter(
            region=region,
            image_ids=params.csv("ImageId"),
            name=params.get_str("ImageName"),
            statuses=params.csv("Status"),
            owner_alias=params.get_str("ImageOwnerAlias"),
            usage=params.get_str("Usage"),
            os_type=params.get_str("OSType"),
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
            "Images": {"Image": [image_to_wire(i, now, self.backend.in_use(i)) for i in page]},
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
        max_results = _page_size(params, "MaxResults", 10)
        try:
            instance_ids = params.json_list("InstanceIds")
        except exc.EmulatorError:
            raise exc.InvalidInstanceIdsMalformedError() from None
        token = params.get_str("NextToken")
        if token is not None and not token.isdigit():
            raise exc.InvalidNextTokenError()
        start = int(token or 0)
        found = self.backend.describe_instances(region, params.get_str("ImageId"), instance_ids)
        page = found[start : start + max_results]
        more = start + max_results < len(found)
        return {
            "NextToken": str(start + max_results) if more else "",
            "TotalCount": len(found),
            "PageNumber": 1,
            "PageSize": max_results,
            "Instances": {"Instance": [instance_to_wire(i) for i in page]},
        }
