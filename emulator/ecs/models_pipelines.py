"""Image Builder: image templates (pipelines) and build tasks (executions) on the virtual clock.

Facts from the ECS API reference (2014-05-26, CreateImagePipeline, StartImagePipelineExecution,
DescribeImagePipelineExecutions, CancelImagePipelineExecution, DeleteImagePipeline):

* one build task per template at a time: a second start → 403 ``InvalidImagePipeline.HasRunningExecution``;
  cancelling one task does not touch other templates' tasks;
* statuses PREPARING, REPAIRING, BUILDING, TESTING, DISTRIBUTING, RELEASING, then SUCCESS,
  PARTITION_SUCCESS, FAILED, TEST_FAILED, CANCELLING → CANCELLED;
* the image is named ``{ImageOptions.ImageName}_{ExecutionId}``; distribution to ≤ 20 ToRegionId, sharing
  with ≤ 20 AddAccount; ``DeleteInstanceOnFailure`` (default true) keeps the intermediate instances of a
  failed build when false; without ``VSwitchId`` a VPC and vSwitch are created for the build;
* Cancel only while PREPARING, REPAIRING or BUILDING; DeleteImagePipeline refuses while a task runs and
  deletes the template's tasks with it.

Choices where the docs are silent (UNCONFIRMED):

* timing: every stage lasts ``image_pipeline_stage_seconds`` (tunable, default 120); stages are PREPARING,
  REPAIRING (only with a RepairMode), BUILDING, TESTING (only with TestContent, or when TEST_FAILED is
  injected), DISTRIBUTING, RELEASING; CANCELLING lasts one stage too;
* ids ``ip-<region flavour>…`` and ``exec-`` + 20 hex characters; ``ImageName`` (deprecated) is the prefix
  when ``ImageOptions.ImageName`` is absent; with neither the image is named after the ExecutionId;
* the image appears ``Available`` in the template's region at the end of BUILDING (ExecutionId's
  ``ImageId``), copies (IsCopied, same name) in each other ToRegionId at the end of DISTRIBUTING, and the
  image and its copies are shared with every AddAccount then; a ToRegionId equal to the template's region
  adds nothing; no ActionTrail event is published for them;
* how a built image is tied to its build: DescribeImagePipelineExecutions' ``ImageId`` names the
  build-region image only (the SDK's ``ImagePipelineExecutionSet`` entry has ``ImageId`` and no per-region
  list); the image and its distributed copies carry the template's ``ImageOptions.ImageTags`` and no Image
  Builder tag; a distributed copy is ``IsCopied`` and named exactly like the image. So image-relay's cleanup
  ties the build-region image by ``ImageId`` and a copy by (``ToRegionId``, ``IsCopied``, exact name ending
  in ``_<ExecutionId>``). Searched (docs and pages corpora, 2026-11-25: "DescribeImagePipelineExecutions
  ImageId", "ImageOptions.ImageName prefix build task ID", "CreateImagePipeline ImageName suffix"): the
  SDK model (alibabacloud-ecs20140526 7.11) confirms ``ImageId`` on the execution; the ``<prefix>_<ExecutionId>``
  name is the Image Builder guide's as issue #14 quotes it; nothing found on the copies' tags or IsCopied:
  UNCONFIRMED;
* ``BaseImageType`` IMAGE_FAMILY is accepted but not resolved: its build instance shows no ImageId;
* intermediate instances: a build instance (PREPARING → end of BUILDING), a repair instance (REPAIRING) and a
  test instance (TESTING, running the new image), pay-as-you-go (``PostPaid``), named
  ``ImageBuilder_<Stage>_<ExecutionId>`` and tagged ``acs:ecs:image-builder:execution-id`` /
  ``acs:ecs:image-builder:pipeline-id`` (users cannot set ``acs:`` tags); the temporary VPC and vSwitch
  carry the same name pattern (``ImageBuilder_<ExecutionId>``) and tags (ECS's DescribeVpcs/DescribeVSwitches
  show no tags, so only the name is visible on the wire). Searched (docs, pages and code corpora, 2026-11-25:
  "Image Builder intermediate instance", "DeleteInstanceOnFailure", "ImageBuilder instance name", "中转实例"):
  the CreateImagePipeline / StartImagePipelineExecution references and the Image Builder overview only say
  that a build creates pay-as-you-go intermediate ("transit", 中转) instances that are billed, and that
  DeleteInstanceOnFailure keeps them on failure; no name, tag or network naming is published. Names and tag
  keys stay UNCONFIRMED; image-relay's cleanup therefore asks for both the tags and the name, and for the
  build task they name, before it releases anything;
* a failure (FAILED at the end of BUILDING, TEST_FAILED at the end of TESTING) ends the task at once:
  with DeleteInstanceOnFailure true every live instance and the temporary network are released, with false
  they stay (Running, billed) until released by other means; CANCELLED always releases them;
* PARTITION_SUCCESS: the injected failed regions (default: the last ToRegionId) get no copy and the
  injected failed accounts (default: none) no share; the task then releases its resources as on SUCCESS;
  ``ErrorCode`` ``DistributeImageFailed``, ``ErrorInfo`` names them in free text ("Distribute image to
  <regions> failed. Share image to <accounts> failed."). The API has no per-target result field (the SDK's
  ``ImagePipelineExecutionSet`` entry holds ErrorCode, ErrorInfo, Message and no region list), so a client
  learns what failed by looking for the copies and shares, as image-relay does;
* DescribeImagePipelineExecutions needs ImagePipelineId or ExecutionId (400
  ``MissingParameter.ImagePipelineId``); ``ExecutionId`` takes a comma-separated list of up to 100 ids;
  unknown ExecutionIds are skipped; newest task first;
* CreateImagePipeline rule order: region, ClientToken replay, BaseImageType, Name, Description, image name,
  sizes, counts, ToRegionIds, RepairMode, content length, tags, BaseImage, VSwitchId.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field, fields

from emulator.core.errors import SeedError
from emulator.ecs import exceptions as exc
from emulator.ecs import exceptions_pipelines as pexc
from emulator.ecs.models_base import new_resource_id
from emulator.ecs.models_builds import (
    BuildResourcesMixin,
    Execution,
    Network,
    Pipeline,
    TemplateSettings,
    stage_key,
)
from emulator.ecs.seed_pipelines import PipelineOutcome, PipelineSeed, SeedPipeline

FINAL = ("SUCCESS", "PARTITION_SUCCESS", "FAILED", "TEST_FAILED", "CANCELLED")
RUNNING = ("PREPARING", "REPAIRING", "BUILDING", "TESTING", "DISTRIBUTING", "RELEASING", "CANCELLING")
STATUSES = RUNNING + FINAL
CANCELLABLE = ("PREPARING", "REPAIRING", "BUILDING")


@dataclass(kw_only=True)
class PipelineSpec(TemplateSettings):
    """CreateImagePipeline parameters, already parsed from the wire (absent ones are None)."""

    region: str
    base_image_type: str | None
    name: str | None = None
    description: str | None = None
    image_name: str | None = None
    client_token: str | None = None
    fingerprint: dict[str, str] = field(default_factory=dict)


def _valid_name(name: str, low: int, high: int) -> bool:
    """Starts with a letter, ``low``–``high`` characters, not an URL (CreateImagePipeline Name rules)."""
    return low <= len(name) <= high and name[0].isalpha() and not name.lower().startswith(("http://", "https://"))


class PipelinesMixin(BuildResourcesMixin):
    """Image templates, build tasks and the temporary resources they leave."""

    def reset(self) -> None:
        """Drop every template, task and network besides the base state."""
        super().reset()
        self.pipelines: dict[str, Pipeline] = {}
        self.executions: dict[str, Execution] = {}
        self.vpcs: dict[str, Network] = {}
        self.vswitches: dict[str, Network] = {}

    # --- seeding ---------------------------------------------------------------------------------------

    def validate_pipeline_seed(self, seed: PipelineSeed, regions: list[str]) -> None:
        """Raise ``SeedError`` naming the first entry whose region is not enabled."""
        for n, p in enumerate(seed.image_pipelines):
            for loc, region in [("region", p.region), *((f"to_regions.{i}", r) for i, r in enumerate(p.to_regions))]:
                if region not in regions:
                    raise SeedError(f"image_pipelines.{n}.{loc}", f"region {region!r} is not enabled")
        for n, v in enumerate(seed.vswitches):
            if v.region not in regions:
                raise SeedError(f"vswitches.{n}.region", f"region {v.region!r} is not enabled")

    def apply_pipeline_seed(self, seed: PipelineSeed) -> None:
        """Add seeded vSwitches and templates (validated beforehand)."""
        for v in seed.vswitches:
            vpc_id = v.vpc_id or "vpc-" + v.vswitch_id.split("-", 1)[-1]
            self.vswitches[v.vswitch_id] = Network(v.region, v.vswitch_id, v.vswitch_id, self.now, vpc_id=vpc_id)
            self.vpcs.setdefault(vpc_id, Network(v.region, vpc_id, vpc_id, self.now))
        for p in seed.image_pipelines:
            self.pipelines[p.pipeline_id] = self._seed_pipeline(p)

    def _seed_pipeline(self, s: SeedPipeline) -> Pipeline:
        return Pipeline(
            region=s.region, pipeline_id=s.pipeline_id, name=s.name or s.pipeline_id,
            creation_time=self.creation_epoch(s.creation_time), seq=self.next_seq(),
            base_image_type=s.base_image_type, base_image=s.base_image, description=s.description,
            image_name=s.image_name, to_regions=list(s.to_regions), add_accounts=list(s.add_accounts),
            delete_instance_on_failure=s.delete_instance_on_failure, vswitch_id=s.vswitch_id,
            instance_type=s.instance_type, system_disk_size=s.system_disk_size, repair_mode=s.repair_mode,
            build_content=s.build_content, test_content=s.test_content, tags=dict(s.tags),
        )

    # --- templates -------------------------------------------------------------------------------------

    def check_pipeline_region(self, region: str | None) -> str:
        """Image Builder answers 404 ``InvalidRegionId.NotFound`` for a region that is not enabled."""
        if region is None or not self.state.region_enabled(region):
            raise pexc.PipelineRegionNotFoundError()
        return region

    def create_image_pipeline(self, spec: PipelineSpec) -> str:
        """Validate and store a template; return its (or the replayed) ImagePipelineId."""
        self.check_pipeline_region(spec.region)
        replay = self.replay_token("CreateImagePipeline", spec.region, spec.client_token, spec.fingerprint)
        if replay is not None:
            return replay["ImagePipelineId"]
        self._check_spec(spec)
        pipeline_id = new_resource_id("ip", spec.region)
        settings = {f.name: copy.copy(getattr(spec, f.name)) for f in fields(TemplateSettings)}
        settings["to_regions"] = list(dict.fromkeys(spec.to_regions))
        settings["add_accounts"] = list(dict.fromkeys(spec.add_accounts))
        self.pipelines[pipeline_id] = Pipeline(
            region=spec.region, pipeline_id=pipeline_id, name=spec.name or pipeline_id, creation_time=self.now,
            seq=self.next_seq(), base_image_type=spec.base_image_type or "IMAGE", description=spec.description or "",
            image_name=spec.image_name or "", **settings,
        )
        self.remember_token("CreateImagePipeline", spec.region, spec.client_token, spec.fingerprint,
                            {"ImagePipelineId": pipeline_id})
        return pipeline_id

    def _check_spec(self, spec: PipelineSpec) -> None:
        """Every CreateImagePipeline rule, in the documented-or-chosen order."""
        if spec.base_image_type not in ("IMAGE", "IMAGE_FAMILY"):
            raise pexc.InvalidBaseImageTypeError()
        if spec.name is not None and not (_valid_name(spec.name, 2, 128)):
            raise pexc.InvalidNameMalformedError()
        if spec.description is not None and not (
            2 <= len(spec.description) <= 256 and not spec.description.lower().startswith(("http://", "https://"))
        ):
            raise exc.InvalidDescriptionMalformedError()
        if spec.image_name is not None and not _valid_name(spec.image_name, 2, 64):
            raise exc.InvalidImageNameMalformedError()
        if not 20 <= spec.system_disk_size <= 500:
            raise pexc.InvalidSystemDiskSizeError()
        if not 0 <= spec.internet_max_bandwidth_out <= 100:
            raise pexc.InvalidBandwidthError()
        if len(spec.add_accounts) > 20:
            raise pexc.AddAccountSizeError()
        if len(spec.to_regions) > 20:
            raise pexc.ToRegionIdSizeError()
        for region in spec.to_regions:
            self.check_pipeline_region(region)
        if spec.repair_mode not in ("", "Standard"):
            raise pexc.InvalidRepairModeError()
        if max(len(spec.build_content.encode()), len(spec.test_content.encode())) > 16 * 1024:
            raise pexc.BuildContentLengthError()
        if spec.base_image_type == "IMAGE" and self.image_in(spec.region, spec.base_image) is None:
            raise pexc.InvalidImageNotFoundError()
        if spec.vswitch_id:
            vsw = self.vswitches.get(spec.vswitch_id)
            if vsw is None or vsw.region != spec.region:
                raise pexc.InvalidVSwitchIdNotFoundError()

    def pipeline_in(self, region: str, pipeline_id: str) -> Pipeline:
        """The template of the region, or 404 ``InvalidImagePipeline.NotFound``."""
        pipeline = self.pipelines.get(pipeline_id)
        if pipeline is None or pipeline.region != region:
            raise pexc.ImagePipelineNotFoundError()
        return pipeline

    def describe_image_pipelines(
        self, region: str, ids: list[str], name: str | None, tags: list[tuple[str, str | None]]
    ) -> list[Pipeline]:
        """Templates of the region matching the filters, newest first (``Name`` is an exact match)."""
        self.check_pipeline_region(region)
        if len(ids) > 20:
            raise pexc.PipelineIdSizeError()
        found = [
            p for p in self.pipelines.values()
            if p.region == region and (not ids or p.pipeline_id in ids) and (name is None or p.name == name)
            and all(p.tags.get(k) == v if v is not None else k in p.tags for k, v in tags)
        ]
        return sorted(found, key=lambda p: (p.creation_time, p.seq), reverse=True)

    def delete_image_pipeline(self, region: str, pipeline_id: str) -> None:
        """Delete a template and its tasks; refused while one of its tasks runs."""
        self.check_pipeline_region(region)
        self.pipeline_in(region, pipeline_id)
        if self._running_execution(pipeline_id) is not None:
            raise pexc.HasRunningExecutionError()
        del self.pipelines[pipeline_id]
        for execution_id in [e.execution_id for e in self.executions.values() if e.pipeline_id == pipeline_id]:
            del self.executions[execution_id]

    def _running_execution(self, pipeline_id: str) -> Execution | None:
        return next(
            (e for e in self.executions.values() if e.pipeline_id == pipeline_id and e.status not in FINAL), None
        )

    # --- build tasks -----------------------------------------------------------------------------------

    def start_image_pipeline_execution(
        self, region: str, pipeline_id: str, tags: dict[str, str], token: str | None, fingerprint: dict[str, str]
    ) -> str:
        """Start a build task (PREPARING); return its (or the replayed) ExecutionId."""
        self.check_pipeline_region(region)
        replay = self.replay_token("StartImagePipelineExecution", region, token, fingerprint)
        if replay is not None:
            return replay["ExecutionId"]
        pipeline = self.pipeline_in(region, pipeline_id)
        if self._running_execution(pipeline_id) is not None:
            raise pexc.HasRunningExecutionError()
        injected = pipeline.outcomes.popleft() if pipeline.outcomes else PipelineOutcome()
        stages = ["PREPARING", "BUILDING", "DISTRIBUTING", "RELEASING"]
        if pipeline.repair_mode:
            stages.insert(1, "REPAIRING")
        if pipeline.test_content or injected.outcome == "TEST_FAILED":
            stages.insert(stages.index("DISTRIBUTING"), "TESTING")
        execution = Execution(
            region=region, execution_id="exec-" + uuid.uuid4().hex[:20], pipeline_id=pipeline_id,
            creation_time=self.now, seq=self.next_seq(), stages=stages, tags=tags,
        )
        self._inject_outcome(execution, pipeline, injected)
        self.executions[execution.execution_id] = execution
        self._enter_stage(execution, pipeline, 0, self.now)
        self.remember_token("StartImagePipelineExecution", region, token, fingerprint,
                            {"ExecutionId": execution.execution_id})
        return execution.execution_id

    def _inject_outcome(self, execution: Execution, pipeline: Pipeline, injected: PipelineOutcome) -> None:
        execution.outcome = injected.outcome
        if injected.outcome == "PARTITION_SUCCESS":
            default = [r for r in pipeline.to_regions if r != pipeline.region][-1:]
            execution.failed_regions = list(injected.failed_regions if injected.failed_regions is not None else default)
            execution.failed_accounts = [a for a in injected.failed_accounts if a in pipeline.add_accounts]

    def cancel_image_pipeline_execution(self, region: str, execution_id: str) -> None:
        """Move a task that is PREPARING, REPAIRING or BUILDING to CANCELLING."""
        self.check_pipeline_region(region)
        execution = self.executions.get(execution_id)
        if execution is None or execution.region != region:
            raise pexc.ExecutionNotFoundError()
        if execution.status in FINAL:
            raise pexc.CancelFailedError()
        if execution.status not in CANCELLABLE:
            raise pexc.ExecutionStatusError()
        execution.status = "CANCELLING"
        execution.stage_started = execution.modified_time = self.now
        execution.message = "Cancelling the image pipeline execution."

    def describe_image_pipeline_executions(
        self, region: str, pipeline_id: str | None, execution_ids: list[str] | None, statuses: list[str] | None,
        tags: list[tuple[str, str | None]],
    ) -> list[Execution]:
        """Tasks of one template and/or the listed ids, newest first."""
        self.check_pipeline_region(region)
        if pipeline_id is None and not execution_ids:
            raise pexc.MissingPipelineIdError()
        if execution_ids is not None and len(execution_ids) > 100:
            raise pexc.ExecutionIdSizeError()
        if statuses is not None and any(s not in STATUSES for s in statuses):
            raise pexc.InvalidStatusParameterError()
        if pipeline_id is not None:
            self.pipeline_in(region, pipeline_id)
        found = [
            e for e in self.executions.values()
            if e.region == region and (pipeline_id is None or e.pipeline_id == pipeline_id)
            and (not execution_ids or e.execution_id in execution_ids) and (not statuses or e.status in statuses)
            and all(e.tags.get(k) == v if v is not None else k in e.tags for k, v in tags)
        ]
        return sorted(found, key=lambda e: (e.creation_time, e.seq), reverse=True)

    def inject_pipeline_outcome(self, body: PipelineOutcome) -> None:
        """Control plane: queue outcomes for the next starts of a template, or set one running task's."""
        if body.execution_id:
            execution = self.executions.get(body.execution_id)
            if execution is None or execution.status in FINAL:
                raise SeedError("execution_id", "no running execution with this id")
            self._inject_outcome(execution, self.pipelines[execution.pipeline_id], body)
            if body.outcome == "TEST_FAILED" and "TESTING" not in execution.stages:
                execution.stages.insert(execution.stages.index("DISTRIBUTING"), "TESTING")
            return
        pipeline = self.pipelines.get(body.pipeline_id)
        if pipeline is None:
            raise SeedError("pipeline_id", "no image pipeline with this id")
        pipeline.outcomes.extend(body for _ in range(body.count))

    # --- the clock -------------------------------------------------------------------------------------

    def settle_pipelines(self, now: float) -> None:
        """Advance every running task through its stage ends up to ``now``."""
        seconds = self.state.config.image_pipeline_stage_seconds
        for execution in sorted(self.executions.values(), key=lambda e: e.seq):
            while execution.status not in FINAL and execution.stage_started + seconds <= now:
                self._stage_end(execution, execution.stage_started + seconds)

    def _enter_stage(self, execution: Execution, pipeline: Pipeline, index: int, at: float) -> None:
        """Start stage ``index`` at ``at`` and create what it needs."""
        stage = execution.stages[index]
        execution.stage_index, execution.status = index, stage
        execution.stage_started = execution.modified_time = at
        execution.message = f"{stage.capitalize()} the image pipeline execution."
        if stage == "PREPARING":
            if not pipeline.vswitch_id:
                self._temporary_network(execution, at)
            self._launch_intermediate(execution, pipeline, "Build", self._base_image_id(pipeline), at)
        elif stage == "REPAIRING":
            self._launch_intermediate(execution, pipeline, "Repair", self._base_image_id(pipeline), at)
        elif stage == "TESTING":
            self._launch_intermediate(execution, pipeline, "Test", execution.image_id, at)

    def _stage_end(self, execution: Execution, at: float) -> None:
        """Finish the current stage at ``at``: its effect, then the next stage or a final status."""
        pipeline = self.pipelines[execution.pipeline_id]
        stage = execution.status
        if stage == "CANCELLING":
            self._finish_execution(execution, "CANCELLED", at, release=True)
            return
        if stage == "BUILDING" and execution.outcome == "FAILED":
            execution.error_code, execution.error_info = "BuildFailed", "Run the build content failed."
            self._finish_execution(execution, "FAILED", at, release=pipeline.delete_instance_on_failure)
            return
        if stage == "TESTING" and execution.outcome == "TEST_FAILED":
            execution.error_code, execution.error_info = "TestFailed", "Run the test content failed."
            self._finish_execution(execution, "TEST_FAILED", at, release=pipeline.delete_instance_on_failure)
            return
        if stage == "BUILDING":
            execution.image_id = self._build_image(execution, pipeline, at).image_id
        if stage == "DISTRIBUTING":
            self._distribute(execution, pipeline, at)
        if stage in ("BUILDING", "REPAIRING", "TESTING"):
            self._release_instances(execution, [execution.instances.pop(stage_key(stage), "")])
        if stage == "RELEASING":
            failed = execution.failed_regions or execution.failed_accounts
            self._finish_execution(execution, "PARTITION_SUCCESS" if failed else "SUCCESS", at, release=True)
            return
        self._enter_stage(execution, pipeline, execution.stage_index + 1, at)

    def _finish_execution(self, execution: Execution, status: str, at: float, *, release: bool) -> None:
        execution.status, execution.modified_time = status, at
        execution.message = f"The image pipeline execution is {status.lower()}."
        if release:
            self._release_instances(execution, list(execution.instances.values()))
            execution.instances.clear()
            for resource_id in execution.network:
                self.vswitches.pop(resource_id, None)
                self.vpcs.pop(resource_id, None)
            execution.network.clear()
