"""ECS routing: the action table and the service plug-in registered with the core dispatcher.

The service is keyed by API version ``2014-05-26`` (``x-acs-version`` header or ``Version`` parameter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from emulator.core.errors import InvalidActionError
from emulator.ecs.models import EcsBackend
from emulator.ecs.responses import EcsResponses
from emulator.ecs.seed import EcsSeed

if TYPE_CHECKING:
    from emulator.core.params import Params
    from emulator.core.state import State
    from emulator.oss.models import OssBackend

VERSION = "2014-05-26"

ACTIONS: dict[str, Callable[[EcsResponses, Params], dict[str, Any]]] = {
    "DescribeRegions": EcsResponses.describe_regions,
    "DescribeImages": EcsResponses.describe_images,
    "CopyImage": EcsResponses.copy_image,
    "CancelCopyImage": EcsResponses.cancel_copy_image,
    "DeleteImage": EcsResponses.delete_image,
    "TagResources": EcsResponses.tag_resources,
    "UntagResources": EcsResponses.untag_resources,
    "ListTagResources": EcsResponses.list_tag_resources,
    "DescribeInstances": EcsResponses.describe_instances,
    "ExportImage": EcsResponses.export_image,
    "DescribeTaskAttribute": EcsResponses.describe_task_attribute,
    "DescribeTasks": EcsResponses.describe_tasks,
    "CancelTask": EcsResponses.cancel_task,
    "CopySnapshot": EcsResponses.copy_snapshot,
    "DescribeSnapshots": EcsResponses.describe_snapshots,
    "DeleteSnapshot": EcsResponses.delete_snapshot,
    "CreateImage": EcsResponses.create_image,
    "ModifyImageSharePermission": EcsResponses.modify_image_share_permission,
    "DescribeImageSharePermission": EcsResponses.describe_image_share_permission,
}


class EcsService:
    """The ECS plug-in: backend + responses behind the core ``Service`` protocol."""

    name = "ecs"
    version = VERSION
    host_id = "ecs.aliyuncs.com"
    seed_model: type[BaseModel] = EcsSeed

    def __init__(self, state: State, oss: OssBackend | None = None) -> None:
        self.backend = EcsBackend(state)
        self.backend.oss = oss
        self.responses = EcsResponses(self.backend)

    def reset(self) -> None:
        """Drop every ECS resource."""
        self.backend.reset()

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Check cross-references of the ECS keys against the enabled ``regions``."""
        self.backend.validate_ecs_seed(_ecs_part(seed), regions)

    def apply_seed(self, seed: BaseModel) -> None:
        """Apply the ECS keys of the composed seed model."""
        self.backend.apply_ecs_seed(_ecs_part(seed))

    def settle(self, now: float) -> None:
        """Advance copies, Creating images, exports and snapshot copies to ``now``."""
        self.backend.settle(now)
        self.backend.settle_exports(now)
        self.backend.settle_snapshots(now)

    def call(self, action: str, params: Params) -> dict[str, Any]:
        """Route ``action`` to its response method."""
        method = ACTIONS.get(action)
        if method is None:
            raise InvalidActionError()
        return method(self.responses, params)


def _ecs_part(seed: BaseModel) -> EcsSeed:
    """Extract the ECS keys of the composed seed model."""
    return EcsSeed.model_validate(seed.model_dump(include=set(EcsSeed.model_fields)))
