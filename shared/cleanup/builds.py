"""Which images a build rule's Image Builder template made, and in which build: pure, from what the scans read.

Why this matters: retention keeps the newest ``keep_newest`` images per (template, region), so superseded
builds' images do not bill forever. image-relay's own copies of a built image carry provenance tags and are
grouped by them (``shared.cleanup.rules.lineage_of``); the template's own outputs carry none, so they are
tied to their build by what ECS does say, and only that:

* the build-region image is the build task's ``ImageId`` (DescribeImagePipelineExecutions, by
  ``ImagePipelineId``; one paged listing per template) — an exact id, nothing guessed;
* a copy the template's distribution made is an image of ours in one of the template's ``ToRegionIds``,
  ``IsCopied``, named exactly like the build-region image (``<prefix>_<ExecutionId>``; ECS names the copies
  like the image), or, when that image is gone, ``<anything>_<ExecutionId>`` / ``<ExecutionId>`` of a build
  task the template listed. No ECS field names the task of a distributed copy, so this is the one
  inference, written down (UNCONFIRMED, see the emulator's ``models_pipelines`` docstring); an ExecutionId is
  random, so another image cannot carry one by accident.

Only templates a build rule names are looked at (the cleanup's scope is what a rule names), an image
image-relay copied (provenance tags) is left to its own lineage, and another account's image is never one.

Example
-------
>>> import datetime as dt
>>> from shared.clouds.ecs_types import Image
>>> t = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
>>> template = ImagePipeline(region="cn-hangzhou", pipeline_id="ip-1", image_name="gold", to_regions=("cn-beijing",))
>>> task = PipelineExecution(region="cn-hangzhou", execution_id="exec-1", pipeline_id="ip-1", status="SUCCESS",
...                          image_id="m-hz")
>>> built = Image(region="cn-hangzhou", image_id="m-hz", name="gold_exec-1", owner_alias="self", creation_time=t)
>>> copied = Image(region="cn-beijing", image_id="m-bj", name="gold_exec-1", owner_alias="self", is_copied=True)
>>> mine = Image(region="cn-beijing", image_id="m-x", name="gold_exec-1", owner_alias="self")
>>> found = template_outputs([template], {"ip-1": [task]}, [built, copied, mine])
>>> sorted(found), found[("cn-beijing", "m-bj")].lineage("cn-beijing")
([('cn-beijing', 'm-bj'), ('cn-hangzhou', 'm-hz')], 'cn-hangzhou/pipeline:ip-1/cn-beijing')
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from shared.cleanup.model import BuildOutput
from shared.clouds.ecs_types import Image
from shared.clouds.pipeline_types import ImagePipeline, PipelineExecution
from shared.policy.builds import BuildRule
from shared.replication.provenance import TAG_SOURCE_IMAGE


def rule_templates(rules: Iterable[BuildRule], pipelines: Iterable[ImagePipeline]) -> list[ImagePipeline]:
    """The listed templates the build rules name: by id, or by name when exactly one of the region has it."""
    listed = list(pipelines)
    chosen: dict[str, ImagePipeline] = {}
    for rule in rules:
        ref = rule.pipeline
        found = [p for p in listed if p.region == ref.region
                 and (p.pipeline_id == ref.id if ref.id is not None else p.name == ref.name)]
        if len(found) == 1:
            chosen.setdefault(found[0].pipeline_id, found[0])
    return [chosen[k] for k in sorted(chosen)]


def template_outputs(templates: Sequence[ImagePipeline], executions: Mapping[str, Sequence[PipelineExecution]],
                     images: Iterable[Image]) -> dict[tuple[str, str], BuildOutput]:
    """(region, image id) → its build, for every image of ours a template built or distributed.

    `executions` are each template's build tasks by ImagePipelineId; `images` are the scanned images of ours.
    """
    owned = [i for i in images if i.owner_alias == "self" and TAG_SOURCE_IMAGE not in i.tags]
    by_id = {(i.region, i.image_id): i for i in owned}
    by_execution: dict[str, list[Image]] = defaultdict(list)  # the name's last ``_`` part: an ExecutionId?
    for image in owned:
        if image.is_copied:
            by_execution[image.name.rsplit("_", 1)[-1]].append(image)
    found: dict[tuple[str, str], BuildOutput] = {}
    for template in templates:
        for task in executions.get(template.pipeline_id, ()):
            if not task.image_id:
                continue
            output = BuildOutput(template.region, template.pipeline_id, task.execution_id, task.status)
            built = by_id.get((template.region, task.image_id))
            if built is not None:
                found[(built.region, built.image_id)] = output
            for image in by_execution.get(task.execution_id, ()):
                if image.region == template.region or image.region not in template.to_regions:
                    continue
                if built is None or image.name == built.name:
                    found.setdefault((image.region, image.image_id), output)
    return found
