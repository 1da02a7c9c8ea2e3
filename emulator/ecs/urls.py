"""ECS routing: the action table and the service plug-in registered with the core dispatcher.

The service is keyed by API version ``2014-05-26`` (``x-acs-version`` header or ``Version`` parameter).

Events (``emulator.ecs.events``): every successful CreateImage / CopyImage call, every seeded ``Creating``
image and every console-created image publishes an ``ecs:ActionTrail:ApiCall`` CloudEvent on the state. Only
the home account's calls publish: a partner account's ActionTrail events go to the partner's EventBridge, where
the emulated functions (the home account's) never see them.

Control call ``POST /_emulator/ecs/create-image`` ``{"region", "image_id"?, "name"?, "size_gib"?, "tags"?,
"platform"?, "ready_after_seconds"?, …}`` (any seed-image key; ``status`` defaults to ``Creating`` and
``ready_after_seconds`` to the ``create_image_seconds`` tunable): creates the image like the console does
(Creating, then Available) and publishes its CreateImage event; answers 200 ``{"ImageId", "event"}``. A
disabled region → 400 ``InvalidSeed`` naming the field; an id is generated when absent (UNCONFIRMED: the
console path skips the name/quota rules of the API).

Control call ``POST /_emulator/ecs/pipeline-outcome`` ``{"pipeline_id", "outcome", "failed_regions"?, "failed_accounts"?,
"count"?}`` queues the outcome (SUCCESS, FAILED, TEST_FAILED, PARTITION_SUCCESS) of the template's next
``count`` builds; ``{"execution_id", "outcome", …}`` sets a running build's instead. Unknown id → 400
``InvalidParameter`` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from emulator.core.dispatch import HttpResponse
from emulator.core.errors import InvalidActionError, SeedError
from emulator.ecs.events import api_call_event
from emulator.ecs.models import EcsBackend
from emulator.ecs.models_base import new_resource_id
from emulator.ecs.responses import EcsResponses
from emulator.ecs.seed import EcsSeed, ImageStatus, SeedImage
from emulator.ecs.seed_pipelines import PipelineOutcome

if TYPE_CHECKING:
    from emulator.core.params import Params
    from emulator.core.state import State
    from emulator.oss.models import OssBackend

VERSION = "2014-05-26"

#: Image Builder, the network reads and the releases of a build's leftovers (``responses_pipelines``).
PIPELINE_ACTIONS: dict[str, Callable[[EcsResponses, Params], dict[str, Any]]] = {
    "CreateImagePipeline": EcsResponses.create_image_pipeline,
    "StartImagePipelineExecution": EcsResponses.start_image_pipeline_execution,
    "DescribeImagePipelines": EcsResponses.describe_image_pipelines,
    "DescribeImagePipelineExecutions": EcsResponses.describe_image_pipeline_executions,
    "CancelImagePipelineExecution": EcsResponses.cancel_image_pipeline_execution,
    "DeleteImagePipeline": EcsResponses.delete_image_pipeline,
    "DescribeVpcs": EcsResponses.describe_vpcs,
    "DescribeVSwitches": EcsResponses.describe_vswitches,
    "DeleteInstance": EcsResponses.delete_instance,
    "DeleteInstances": EcsResponses.delete_instances,
    "DeleteVSwitch": EcsResponses.delete_vswitch,
    "DeleteVpc": EcsResponses.delete_vpc,
}

#: Actions whose successful call publishes an ActionTrail ApiCall event.
IMAGE_EVENT_ACTIONS = ("CreateImage", "CopyImage")


class ConsoleImage(SeedImage):
    """Body of ``POST /_emulator/ecs/create-image``: a seed image, Creating by default, id optional."""

    image_id: str = ""
    status: ImageStatus = "Creating"
    ready_after_seconds: float | None = None  # type: ignore[assignment]

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
    **PIPELINE_ACTIONS,
    "DescribeLaunchTemplates": EcsResponses.describe_launch_templates,
    "DescribeLaunchTemplateVersions": EcsResponses.describe_launch_template_versions,
    "DescribeImageFromFamily": EcsResponses.describe_image_from_family,
    "ModifyImageAttribute": EcsResponses.modify_image_attribute,
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
        self.backend.validate_pipeline_seed(_ecs_part(seed), regions)

    def apply_seed(self, seed: BaseModel) -> None:
        """Apply the ECS keys of the composed seed model; a seeded Creating image publishes its event."""
        part = _ecs_part(seed)
        self.backend.apply_ecs_seed(part)
        self.backend.apply_pipeline_seed(part)
        for image in part.images:
            if image.status == "Creating":
                self._publish("CreateImage", image.region, image.image_id,
                              {"RegionId": image.region, "ImageName": image.name or image.image_id})

    def settle(self, now: float) -> None:
        """Advance copies, Creating images, exports and snapshot copies to ``now``."""
        self.backend.settle(now)
        self.backend.settle_exports(now)
        self.backend.settle_snapshots(now)
        self.backend.settle_pipelines(now)

    def call(self, action: str, params: Params) -> dict[str, Any]:
        """Route ``action`` to its response method."""
        method = ACTIONS.get(action)
        if method is None:
            raise InvalidActionError()
        body = method(self.responses, params)
        state = self.backend.state
        home = state.current_account == state.account_id
        if action in IMAGE_EVENT_ACTIONS and body.get("ImageId") and home:
            self._publish(action, params.get_str("RegionId") or "", str(body["ImageId"]), params.business(),
                          source_image_id=params.get_str("ImageId") if action == "CopyImage" else None)
        return body

    def _publish(
        self, action: str, region: str, image_id: str, parameters: dict[str, str], source_image_id: str | None = None
    ) -> None:
        """Publish the ActionTrail ApiCall event of an image-creating call."""
        state = self.backend.state
        state.publish(api_call_event(
            action=action, region=region, image_id=image_id, account_id=state.account_id,
            now=state.clock.now(), request_parameters=parameters, source_image_id=source_image_id,
        ))

    def handle_control(self, method: str, name: str, payload: Any) -> HttpResponse | None:
        """``POST /_emulator/ecs/create-image`` and ``/ecs/pipeline-outcome``; None for any other endpoint."""
        if (method, name) == ("POST", "ecs/pipeline-outcome"):
            return self._pipeline_outcome(payload)
        if (method, name) != ("POST", "ecs/create-image"):
            return None
        body = ConsoleImage.model_validate(payload)
        state = self.backend.state
        image_id = body.image_id or new_resource_id("m", body.region)
        ready = body.ready_after_seconds
        fields = body.model_dump(exclude={"image_id", "ready_after_seconds"})
        fields["ready_after_seconds"] = state.config.create_image_seconds if ready is None else ready
        image = SeedImage.model_validate({**fields, "image_id": image_id})
        seed = EcsSeed(images=[image])
        try:
            self.backend.validate_ecs_seed(seed, state.regions)
        except SeedError as error:
            return HttpResponse(400, {"Code": "InvalidSeed", "Message": f"{error.loc}: {error.msg}",
                                      "Errors": [{"loc": error.loc, "msg": error.msg}]})
        self.backend.apply_ecs_seed(seed)
        event = api_call_event(
            action="CreateImage", region=image.region, image_id=image_id, account_id=state.account_id,
            now=state.clock.now(), request_parameters={"RegionId": image.region, "ImageName": image.name or image_id},
        )
        state.publish(event)
        return HttpResponse(200, {"ImageId": image_id, "event": event})


    def _pipeline_outcome(self, payload: Any) -> HttpResponse:
        """Queue the outcome of a template's next build(s), or set a running build's (400 naming the field)."""
        body = PipelineOutcome.model_validate(payload)
        try:
            self.backend.inject_pipeline_outcome(body)
        except SeedError as error:
            return HttpResponse(400, {"Code": "InvalidParameter", "Message": f"{error.loc}: {error.msg}",
                                      "Errors": [{"loc": error.loc, "msg": error.msg}]})
        return HttpResponse(200, {"ok": True})


def _ecs_part(seed: BaseModel) -> EcsSeed:
    """Extract the ECS keys of the composed seed model."""
    return EcsSeed.model_validate(seed.model_dump(include=set(EcsSeed.model_fields)))
