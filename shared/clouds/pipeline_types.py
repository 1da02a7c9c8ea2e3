"""Typed Image Builder results (templates and build tasks), free of any SDK import so pure code can use them.

Field names and statuses follow the ECS API reference (DescribeImagePipelines,
DescribeImagePipelineExecutions, 2014-05-26): a task is in progress while PREPARING, REPAIRING, BUILDING,
TESTING, DISTRIBUTING, RELEASING or CANCELLING, and ends SUCCESS, PARTITION_SUCCESS (image built, part of
the distribution/sharing failed), FAILED, TEST_FAILED (image built, test failed) or CANCELLED.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Statuses of a build task that still runs (CANCELLING included: the template stays busy until CANCELLED).
RUNNING_STATUSES = ("PREPARING", "REPAIRING", "BUILDING", "TESTING", "DISTRIBUTING", "RELEASING", "CANCELLING")
#: Final statuses of a build task.
FINAL_STATUSES = ("SUCCESS", "PARTITION_SUCCESS", "FAILED", "TEST_FAILED", "CANCELLED")
#: Final statuses that leave a built image behind.
IMAGE_STATUSES = ("SUCCESS", "PARTITION_SUCCESS", "TEST_FAILED")
#: Statuses CancelImagePipelineExecution accepts.
CANCELLABLE_STATUSES = ("PREPARING", "REPAIRING", "BUILDING")


def _tags(raw: dict[str, Any]) -> dict[str, str]:
    return {t.get("TagKey", ""): t.get("TagValue", "") for t in (raw.get("Tags") or {}).get("Tag") or []}


class ImagePipeline(BaseModel):
    """An image template (``ip-…``) of one region."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    pipeline_id: str
    name: str = ""
    base_image_type: str = ""
    base_image: str = ""
    image_name: str = ""
    to_regions: tuple[str, ...] = ()
    add_accounts: tuple[str, ...] = ()
    delete_instance_on_failure: bool = True
    vswitch_id: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    creation_time: datetime | None = None

    @classmethod
    def from_wire(cls, region: str, raw: dict[str, Any]) -> ImagePipeline:
        """Build from one ``ImagePipeline.ImagePipelineSet[]`` entry."""
        options = raw.get("ImageOptions") or {}
        return cls(
            region=region,
            pipeline_id=raw["ImagePipelineId"],
            name=raw.get("Name") or "",
            base_image_type=raw.get("BaseImageType") or "",
            base_image=raw.get("BaseImage") or "",
            image_name=options.get("ImageName") or raw.get("ImageName") or "",
            to_regions=tuple((raw.get("ToRegionIds") or {}).get("ToRegionId") or ()),
            add_accounts=tuple(str(a) for a in (raw.get("AddAccounts") or {}).get("AddAccount") or ()),
            delete_instance_on_failure=raw.get("DeleteInstanceOnFailure") is not False,
            vswitch_id=raw.get("VSwitchId") or "",
            tags=_tags(raw),
            creation_time=raw.get("CreationTime") or None,
        )


class PipelineExecution(BaseModel):
    """A build task (``exec-…``) of one region, with its stage (``status``) and, once built, its image."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    execution_id: str
    pipeline_id: str
    status: str
    image_id: str = ""
    message: str = ""
    error_code: str = ""
    error_info: str = ""
    creation_time: datetime | None = None
    modified_time: datetime | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def running(self) -> bool:
        """True while the task holds its template (CANCELLING included)."""
        return self.status in RUNNING_STATUSES

    @property
    def final(self) -> bool:
        """True once the task ended, whatever the outcome."""
        return self.status in FINAL_STATUSES

    @property
    def built_image(self) -> bool:
        """True when the task ended with an image (SUCCESS, PARTITION_SUCCESS, TEST_FAILED) and names it."""
        return self.status in IMAGE_STATUSES and bool(self.image_id)

    @classmethod
    def from_wire(cls, region: str, raw: dict[str, Any]) -> PipelineExecution:
        """Build from one ``ImagePipelineExecution.ImagePipelineExecutionSet[]`` entry."""
        return cls(
            region=region,
            execution_id=raw["ExecutionId"],
            pipeline_id=raw.get("ImagePipelineId") or "",
            status=raw.get("Status") or "",
            image_id=raw.get("ImageId") or "",
            message=raw.get("Message") or "",
            error_code=raw.get("ErrorCode") or "",
            error_info=raw.get("ErrorInfo") or "",
            creation_time=raw.get("CreationTime") or None,
            modified_time=raw.get("ModifiedTime") or None,
            tags=_tags(raw),
        )
