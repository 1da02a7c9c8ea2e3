"""Image Builder wire ↔ python: CreateImagePipeline, StartImagePipelineExecution, DescribeImagePipelines,
DescribeImagePipelineExecutions, CancelImagePipelineExecution, DeleteImagePipeline; plus DescribeVpcs and
DescribeVSwitches (so a build's temporary network can be seen) and what releases a failed build's leftovers:
DeleteInstance(s), DeleteVSwitch, DeleteVpc (rules in ``models_instances``). ECS's DescribeVpcs /
DescribeVSwitches answers carry no tags (SDK models), so a temporary network is known by its name
(``ImageBuilder_<ExecutionId>``, UNCONFIRMED) and the build task it names.

Shapes follow the SDK models (``alibabacloud_ecs20140526``): ``{"ImagePipeline":{"ImagePipelineSet":[…]}}``
with ``ToRegionIds.ToRegionId`` / ``AddAccounts.AddAccount`` string lists and ``Tags.Tag[{TagKey,TagValue}]``;
``{"ImagePipelineExecution":{"ImagePipelineExecutionSet":[…]}}`` with ``ErrorCode``/``ErrorInfo``; both with
``NextToken``, ``TotalCount`` and ``MaxResults`` (1–500, default 50, per the API reference). The SDK
flattens ``ImageOptions`` to ``ImageOptions.ImageName`` etc. and lists to ``ToRegionId.1``….

UNCONFIRMED: ``NextToken`` is an opaque token of ours (base64 of the next offset), "" on the last page;
MaxResults outside 1–500 → 400 ``InvalidParameter.MaxResults``; DescribeVpcs / DescribeVSwitches page with
PageNumber / PageSize (1–50, default 10), ``Status`` ``Available``, CIDR ``192.168.0.0/16`` / ``192.168.0.0/24``.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from emulator.core.params import Params
from emulator.core.state import iso_z
from emulator.ecs import exceptions as exc
from emulator.ecs import exceptions_pipelines as pexc
from emulator.ecs.models_builds import Execution, Network, Pipeline
from emulator.ecs.models_pipelines import PipelineSpec
from emulator.ecs.models_tags import validate_tags

if TYPE_CHECKING:
    from emulator.ecs.models import EcsBackend

MAX_RESULTS = 500
NETWORK_PAGE = 50


def _max_results(params: Params) -> int:
    value = params.get_int("MaxResults", 50)
    if not 1 <= value <= MAX_RESULTS:
        raise exc.PagingParameterError("MaxResults", f"must be between 1 and {MAX_RESULTS}")
    return value


def _offset(token: str | None) -> int:
    """Decode a NextToken we handed out; anything else → 403 ``Invalid.NextToken``."""
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise pexc.InvalidNextTokenPipelineError() from None
    if not text.startswith("offset:") or not text[7:].isdigit():
        raise pexc.InvalidNextTokenPipelineError()
    return int(text[7:])


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _page(items: list[Any], params: Params) -> tuple[list[Any], dict[str, Any]]:
    """One MaxResults/NextToken page and the paging keys of the answer."""
    size = _max_results(params)
    start = _offset(params.get_str("NextToken"))
    more = start + size < len(items)
    return items[start : start + size], {
        "NextToken": _token(start + size) if more else "", "TotalCount": len(items), "MaxResults": size,
    }


def _tags_wire(tags: dict[str, str]) -> dict[str, Any]:
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in tags.items()]}


def pipeline_to_wire(p: Pipeline) -> dict[str, Any]:
    """One ImagePipelineSet entry."""
    return {
        "ImagePipelineId": p.pipeline_id, "Name": p.name, "Description": p.description,
        "CreationTime": iso_z(p.creation_time), "BaseImageType": p.base_image_type, "BaseImage": p.base_image,
        "ImageName": p.image_name, "ImageFamily": p.image_family, "VSwitchId": p.vswitch_id,
        "InstanceType": p.instance_type, "SystemDiskSize": p.system_disk_size,
        "InternetMaxBandwidthOut": p.internet_max_bandwidth_out, "DeleteInstanceOnFailure": p.delete_instance_on_failure,
        "BuildContent": p.build_content, "TestContent": p.test_content, "RepairMode": p.repair_mode,
        "ResourceGroupId": "", "NvmeSupport": "auto",
        "ToRegionIds": {"ToRegionId": list(p.to_regions)}, "AddAccounts": {"AddAccount": list(p.add_accounts)},
        "Tags": _tags_wire(p.tags),
        "ImageOptions": {
            "ImageName": p.image_name, "ImageFamily": p.image_family, "Description": p.image_description,
            "ImageFeatures": {"NvmeSupport": "auto"},
            "ImageTags": {"ImageTag": [{"TagKey": k, "TagValue": v} for k, v in p.image_tags.items()]},
        },
        "AdvancedOptions": {"RetainCloudAssistant": False, "ImageNameSuffix": ""},
    }


def execution_to_wire(e: Execution) -> dict[str, Any]:
    """One ImagePipelineExecutionSet entry."""
    return {
        "ExecutionId": e.execution_id, "ImagePipelineId": e.pipeline_id, "Status": e.status,
        "ImageId": e.image_id, "Message": e.message, "ErrorCode": e.error_code, "ErrorInfo": e.error_info,
        "CreationTime": iso_z(e.creation_time), "ModifiedTime": iso_z(e.modified_time), "ResourceGroupId": "",
        "Tags": _tags_wire(e.tags),
    }


def _spec(params: Params) -> PipelineSpec:
    """Read CreateImagePipeline parameters (ImageOptions flattened by the SDK)."""
    image_tags = validate_tags(params.tags("ImageOptions.ImageTags"))
    return PipelineSpec(
        region=params.required("RegionId"),
        base_image_type=params.get_str("BaseImageType"),
        base_image=params.get_str("BaseImage") or "",
        name=params.get_str("Name"),
        description=params.get_str("Description"),
        image_name=params.get_str("ImageOptions.ImageName") or params.get_str("ImageName"),
        image_family=params.get_str("ImageOptions.ImageFamily") or params.get_str("ImageFamily") or "",
        image_description=params.get_str("ImageOptions.Description") or "",
        image_tags=image_tags,
        to_regions=params.indexed("ToRegionId"),
        add_accounts=params.indexed("AddAccount"),
        delete_instance_on_failure=params.get_bool("DeleteInstanceOnFailure", True),
        vswitch_id=params.get_str("VSwitchId") or "",
        instance_type=params.get_str("InstanceType") or "",
        system_disk_size=params.get_int("SystemDiskSize", 40),
        internet_max_bandwidth_out=params.get_int("InternetMaxBandwidthOut", 0),
        repair_mode=params.get_str("RepairMode") or "",
        build_content=params.get_str("BuildContent") or "",
        test_content=params.get_str("TestContent") or "",
        tags=validate_tags(params.tags("Tag")),
        client_token=params.get_str("ClientToken"),
        fingerprint={k: v for k, v in params.business().items() if k != "ClientToken"},
    )


def _vpc_to_wire(vpc: Network, vswitch_ids: list[str]) -> dict[str, Any]:
    return {
        "VpcId": vpc.resource_id, "RegionId": vpc.region, "VpcName": vpc.name, "Status": "Available",
        "CidrBlock": "192.168.0.0/16", "CreationTime": iso_z(vpc.creation_time), "Description": "",
        "IsDefault": False, "VRouterId": "", "VSwitchIds": {"VSwitchId": vswitch_ids}, "UserCidrs": {"UserCidr": []},
    }


def _vswitch_to_wire(vsw: Network) -> dict[str, Any]:
    return {
        "VSwitchId": vsw.resource_id, "VpcId": vsw.vpc_id, "VSwitchName": vsw.name, "Status": "Available",
        "ZoneId": f"{vsw.region}-a", "CidrBlock": "192.168.0.0/24", "CreationTime": iso_z(vsw.creation_time),
        "Description": "", "IsDefault": False, "AvailableIpAddressCount": 250, "ResourceGroupId": "",
    }


class PipelineResponses:
    """Response methods of Image Builder and the network reads (mixed into ``EcsResponses``)."""

    backend: EcsBackend

    def create_image_pipeline(self, params: Params) -> dict[str, Any]:
        """CreateImagePipeline → ``{"ImagePipelineId"}``."""
        return {"ImagePipelineId": self.backend.create_image_pipeline(_spec(params))}

    def start_image_pipeline_execution(self, params: Params) -> dict[str, Any]:
        """StartImagePipelineExecution → ``{"ExecutionId"}`` (ClientToken replays return the same id)."""
        tags = validate_tags(params.tags("Tag"))
        execution_id = self.backend.start_image_pipeline_execution(
            params.required("RegionId"), params.required("ImagePipelineId"), tags, params.get_str("ClientToken"),
            {k: v for k, v in params.business().items() if k != "ClientToken"},
        )
        return {"ExecutionId": execution_id}

    def describe_image_pipelines(self, params: Params) -> dict[str, Any]:
        """DescribeImagePipelines with ImagePipelineId.N / Name / Tag.N filters and NextToken paging."""
        found = self.backend.describe_image_pipelines(
            params.required("RegionId"), params.indexed("ImagePipelineId"), params.get_str("Name"), params.tags("Tag")
        )
        page, paging = _page(found, params)
        return {**paging, "ImagePipeline": {"ImagePipelineSet": [pipeline_to_wire(p) for p in page]}}

    def describe_image_pipeline_executions(self, params: Params) -> dict[str, Any]:
        """DescribeImagePipelineExecutions by template and/or ExecutionId list, Status filter, NextToken paging."""
        found = self.backend.describe_image_pipeline_executions(
            params.required("RegionId"), params.get_str("ImagePipelineId"), params.csv("ExecutionId"),
            params.csv("Status"), params.tags("Tag"),
        )
        page, paging = _page(found, params)
        return {**paging, "ImagePipelineExecution": {"ImagePipelineExecutionSet": [execution_to_wire(e) for e in page]}}

    def cancel_image_pipeline_execution(self, params: Params) -> dict[str, Any]:
        """CancelImagePipelineExecution (only while PREPARING, REPAIRING or BUILDING)."""
        self.backend.cancel_image_pipeline_execution(params.required("RegionId"), params.required("ExecutionId"))
        return {}

    def delete_image_pipeline(self, params: Params) -> dict[str, Any]:
        """DeleteImagePipeline (refused while a task of the template runs)."""
        self.backend.delete_image_pipeline(params.required("RegionId"), params.required("ImagePipelineId"))
        return {}

    def describe_vpcs(self, params: Params) -> dict[str, Any]:
        """DescribeVpcs of a region (``VpcId`` filter), PageNumber / PageSize paging."""
        region = self.backend.check_region(params.required("RegionId"))
        vpc_id = params.get_str("VpcId")
        vpcs = sorted((v for v in self.backend.vpcs.values() if v.region == region
                       and (vpc_id is None or v.resource_id == vpc_id)), key=lambda v: v.resource_id)
        page, number, size = self._network_page(vpcs, params)
        return {
            "TotalCount": len(vpcs), "PageNumber": number, "PageSize": size,
            "Vpcs": {"Vpc": [_vpc_to_wire(v, sorted(s.resource_id for s in self.backend.vswitches.values()
                                                    if s.vpc_id == v.resource_id)) for v in page]},
        }

    def describe_vswitches(self, params: Params) -> dict[str, Any]:
        """DescribeVSwitches of a region (``VpcId`` / ``VSwitchId`` filters), PageNumber / PageSize paging."""
        region = self.backend.check_region(params.required("RegionId"))
        vpc_id, vsw_id = params.get_str("VpcId"), params.get_str("VSwitchId")
        found = sorted((s for s in self.backend.vswitches.values() if s.region == region
                        and (vpc_id is None or s.vpc_id == vpc_id) and (vsw_id is None or s.resource_id == vsw_id)),
                       key=lambda s: s.resource_id)
        page, number, size = self._network_page(found, params)
        return {"TotalCount": len(found), "PageNumber": number, "PageSize": size,
                "VSwitches": {"VSwitch": [_vswitch_to_wire(s) for s in page]}}

    def delete_instance(self, params: Params) -> dict[str, Any]:
        """DeleteInstance (no RegionId: the instance is found by id); ``Force`` releases a Running one."""
        self.backend.delete_instance(params.required("InstanceId"), force=params.get_bool("Force"),
                                     dry_run=params.get_bool("DryRun"))
        return {}

    def delete_instances(self, params: Params) -> dict[str, Any]:
        """DeleteInstances: 1–100 ``InstanceId.N`` of ``RegionId``, all or nothing."""
        self.backend.delete_instances(params.required("RegionId"), params.indexed("InstanceId"),
                                      force=params.get_bool("Force"), dry_run=params.get_bool("DryRun"))
        return {}

    def delete_vswitch(self, params: Params) -> dict[str, Any]:
        """DeleteVSwitch (ECS 2014-05-26 twin of VPC's): refused while an instance is in it."""
        self.backend.delete_vswitch(params.required("RegionId"), params.required("VSwitchId"))
        return {}

    def delete_vpc(self, params: Params) -> dict[str, Any]:
        """DeleteVpc (ECS 2014-05-26 twin of VPC's): refused while it holds a vSwitch or an instance."""
        self.backend.delete_vpc(params.required("RegionId"), params.required("VpcId"))
        return {}

    @staticmethod
    def _network_page(items: list[Network], params: Params) -> tuple[list[Network], int, int]:
        number, size = params.page(NETWORK_PAGE)
        return items[(number - 1) * size : number * size], number, size
