"""The Image Builder part of ``POST /_emulator/seed``: ``image_pipelines`` and ``vswitches``.

``image_pipelines`` entries are image templates as CreateImagePipeline would make them (same defaults:
``name`` = the id, ``delete_instance_on_failure`` true, ``system_disk_size`` 40, ``base_image_type`` IMAGE).
``vswitches`` are existing vSwitches a template may name in ``vswitch_id`` (UNCONFIRMED: ``vpc_id`` defaults
to ``vpc-`` + the vSwitch id's tail). Seeded templates run no build until StartImagePipelineExecution.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from emulator.core.state import StrictModel


class SeedPipeline(StrictModel):
    """A seeded image template; only ``region`` and ``pipeline_id`` are required."""

    region: str
    pipeline_id: str = Field(min_length=1)
    name: str | None = None
    description: str = ""
    base_image_type: Literal["IMAGE", "IMAGE_FAMILY"] = "IMAGE"
    base_image: str = ""
    image_name: str = ""
    to_regions: list[str] = Field(default_factory=list, max_length=20)
    add_accounts: list[str] = Field(default_factory=list, max_length=20)
    delete_instance_on_failure: bool = True
    vswitch_id: str = ""
    instance_type: str = ""
    system_disk_size: int = Field(default=40, ge=20, le=500)
    repair_mode: str = ""
    build_content: str = ""
    test_content: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    creation_time: str | None = None


class SeedVSwitch(StrictModel):
    """An existing vSwitch (CreateImagePipeline ``VSwitchId`` must name one)."""

    region: str
    vswitch_id: str = Field(min_length=1)
    vpc_id: str = ""


class PipelineSeed(StrictModel):
    """Seed keys contributed by Image Builder (a base of ``EcsSeed``)."""

    image_pipelines: list[SeedPipeline] = Field(default_factory=list)
    vswitches: list[SeedVSwitch] = Field(default_factory=list)


#: Outcomes the control plane can inject into a build (``POST /_emulator/ecs/pipeline-outcome``).
Outcome = Literal["SUCCESS", "FAILED", "TEST_FAILED", "PARTITION_SUCCESS"]


class PipelineOutcome(StrictModel):
    """Body of ``POST /_emulator/ecs/pipeline-outcome``: the fate of the next build(s) of a template, or of
    one running build (``execution_id``); ``failed_regions`` are the ToRegionIds a PARTITION_SUCCESS skips
    (default: the template's last ToRegionId); ``failed_accounts`` are the AddAccounts it does not share
    with (default: none)."""

    pipeline_id: str = ""
    execution_id: str = ""
    outcome: Outcome = "SUCCESS"
    failed_regions: list[str] | None = None
    failed_accounts: list[str] = Field(default_factory=list)
    count: int = Field(default=1, ge=1, le=100)
