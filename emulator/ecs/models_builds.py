"""Image Builder's data (templates, build tasks, networks) and the resources a build creates and leaves.

Split from ``models_pipelines`` (the API rules and the clock) to keep both small; the choices are written
down there. Resources: the built image and its distributed copies, the intermediate instances (build,
repair, test) and the temporary VPC/vSwitch of a template without ``VSwitchId``, all marked with
``TAG_EXECUTION`` / ``TAG_PIPELINE`` (UNCONFIRMED names, see ``models_pipelines``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from emulator.ecs.models_base import BackendBase, Disk, Image, Instance, new_resource_id
from emulator.ecs.seed_pipelines import PipelineOutcome

TAG_EXECUTION = "acs:ecs:image-builder:execution-id"
TAG_PIPELINE = "acs:ecs:image-builder:pipeline-id"


@dataclass(kw_only=True)
class TemplateSettings:
    """What a template asks of its builds (shared by the stored template and the CreateImagePipeline request)."""

    base_image: str = ""
    image_family: str = ""
    image_description: str = ""
    image_tags: dict[str, str] = field(default_factory=dict)
    to_regions: list[str] = field(default_factory=list)
    add_accounts: list[str] = field(default_factory=list)
    delete_instance_on_failure: bool = True
    vswitch_id: str = ""
    instance_type: str = ""
    system_disk_size: int = 40
    internet_max_bandwidth_out: int = 0
    repair_mode: str = ""
    build_content: str = ""
    test_content: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True)
class Pipeline(TemplateSettings):
    """An image template (``ip-…``) and the outcomes injected for its next builds."""

    region: str
    pipeline_id: str
    name: str
    creation_time: float
    seq: int
    base_image_type: str = "IMAGE"
    description: str = ""
    image_name: str = ""
    outcomes: deque[PipelineOutcome] = field(default_factory=deque)


@dataclass
class Network:
    """A VPC or vSwitch; Image Builder's temporary ones carry its tags."""

    region: str
    resource_id: str
    name: str
    creation_time: float
    vpc_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Execution:
    """A build task (``exec-…``) with its stage plan and the resources it holds."""

    region: str
    execution_id: str
    pipeline_id: str
    creation_time: float
    seq: int
    stages: list[str]
    outcome: str = "SUCCESS"
    failed_regions: list[str] = field(default_factory=list)
    failed_accounts: list[str] = field(default_factory=list)
    stage_index: int = 0
    stage_started: float = 0.0
    status: str = "PREPARING"
    modified_time: float = 0.0
    image_id: str = ""
    message: str = ""
    error_code: str = ""
    error_info: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)  # stage → instance id still held
    network: list[str] = field(default_factory=list)  # temporary vpc and vswitch ids


class BuildResourcesMixin(BackendBase):
    """What a build task creates: temporary network, intermediate instances, the image and its copies."""

    pipelines: dict[str, Pipeline]
    vpcs: dict[str, Network]
    vswitches: dict[str, Network]


    def _builder_marks(self, execution: Execution) -> dict[str, str]:
        return {TAG_EXECUTION: execution.execution_id, TAG_PIPELINE: execution.pipeline_id}

    def _temporary_network(self, execution: Execution, at: float) -> None:
        region, name = execution.region, f"ImageBuilder_{execution.execution_id}"
        vpc = Network(region, new_resource_id("vpc", region), name, at, tags=self._builder_marks(execution))
        vsw = Network(region, new_resource_id("vsw", region), name, at, vpc_id=vpc.resource_id,
                      tags=self._builder_marks(execution))
        self.vpcs[vpc.resource_id], self.vswitches[vsw.resource_id] = vpc, vsw
        execution.network = [vsw.resource_id, vpc.resource_id]
        execution.message = f'Create transition vpc "{vpc.resource_id}" success!'

    def _launch_intermediate(self, execution: Execution, pipeline: Pipeline, kind: str, image_id: str, at: float) -> None:
        vswitch_id = pipeline.vswitch_id or (execution.network[0] if execution.network else "")
        vsw = self.vswitches.get(vswitch_id)
        instance = Instance(
            region=execution.region, instance_id=new_resource_id("i", execution.region), image_id=image_id,
            name=f"ImageBuilder_{kind}_{execution.execution_id}", creation_time=at, tags=self._builder_marks(execution),
            instance_type=pipeline.instance_type or "ecs.g6.large", vswitch_id=vswitch_id,
            vpc_id=vsw.vpc_id if vsw is not None else "", description="Created by Image Builder.",
        )
        self.instances[instance.instance_id] = instance
        execution.instances[kind] = instance.instance_id

    def _release_instances(self, execution: Execution, instance_ids: list[str]) -> None:
        for instance_id in instance_ids:
            self.instances.pop(instance_id, None)

    def _base_image_id(self, pipeline: Pipeline) -> str:
        """The source image id; an IMAGE_FAMILY is not resolved by this emulator (UNCONFIRMED: "")."""
        return pipeline.base_image if pipeline.base_image_type == "IMAGE" else ""

    def _build_image(self, execution: Execution, pipeline: Pipeline, at: float) -> Image:
        """The built image in the template's region, Available, named ``<prefix>_<ExecutionId>``."""
        region = execution.region
        base = self.image_in(region, self._base_image_id(pipeline))
        name = f"{pipeline.image_name}_{execution.execution_id}" if pipeline.image_name else execution.execution_id
        image = Image(
            region=region, image_id=new_resource_id("m", region), name=name, size_gib=pipeline.system_disk_size,
            owner_id=self.state.current_account, owner_alias="self", creation_time=at, seq=self.next_seq(),
            description=pipeline.image_description, platform=base.platform if base else "Customized Linux",
            os_type=base.os_type if base else "linux", architecture=base.architecture if base else "x86_64",
            tags=dict(pipeline.image_tags),
            disks=[Disk("/dev/xvda", "system", pipeline.system_disk_size, new_resource_id("s", region))],
        )
        self.images[image.image_id] = image
        self.add_image_snapshots(image)
        return image

    def _distribute(self, execution: Execution, pipeline: Pipeline, at: float) -> None:
        """Copies in every ToRegionId but the failed ones; sharing with every AddAccount."""
        source = self.images.get(execution.image_id)
        if source is None:
            return
        built = [source]
        for region in pipeline.to_regions:
            if region == source.region or region in execution.failed_regions:
                continue
            copy = Image(
                region=region, image_id=new_resource_id("m", region), name=source.name, size_gib=source.size_gib,
                owner_id=source.owner_id, owner_alias="self", creation_time=at, seq=self.next_seq(),
                description=source.description, platform=source.platform, os_type=source.os_type,
                architecture=source.architecture, tags=dict(source.tags), is_copied=True,
                disks=[Disk(d.device, d.type, d.size_gib, new_resource_id("s", region)) for d in source.disks],
            )
            self.images[copy.image_id] = copy
            self.add_image_snapshots(copy)
            built.append(copy)
        for image in built:
            for account in pipeline.add_accounts:
                if account not in image.shared_with and account not in execution.failed_accounts:
                    image.shared_with.append(account)
                    image.share_times[account] = at
        if execution.failed_regions or execution.failed_accounts:
            execution.error_code = "DistributeImageFailed"
            parts = []
            if execution.failed_regions:
                parts.append(f"Distribute image to {','.join(execution.failed_regions)} failed.")
            if execution.failed_accounts:
                parts.append(f"Share image to {','.join(execution.failed_accounts)} failed.")
            execution.error_info = " ".join(parts)


def stage_key(stage: str) -> str:
    """The instance kind a stage holds (``BUILDING`` → ``Build``)."""
    return {"BUILDING": "Build", "REPAIRING": "Repair", "TESTING": "Test"}[stage]
