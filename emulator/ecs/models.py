"""The ECS backend: state + rules, composed from mixins so each file stays under ~500 lines.

* ``models_base``: data classes (Image, Disk, CopyJob, Instance), ids, lookups;
* ``models_images``: seeding, DescribeImages, DeleteImage, DescribeInstances;
* ``models_copy``: CopyImage, CancelCopyImage, the copy scheduler on the virtual clock;
* ``models_tags``: TagResources, UntagResources, ListTagResources;
* ``models_export``: ExportImage, DescribeTaskAttribute, DescribeTasks, CancelTask (files written to OSS);
* ``models_snapshots``: CopySnapshot, DescribeSnapshots, DeleteSnapshot on the virtual clock;
* ``models_create``: CreateImage from snapshots (Creating → Available | injected CreateFailed);
* ``models_share``: ModifyImageSharePermission, DescribeImageSharePermission;
* ``models_pipelines``: Image Builder templates and build tasks on the virtual clock, temporary VPCs/vSwitches.
* ``models_instances``: DeleteInstance(s), DeleteVSwitch, DeleteVpc (a failed build's leftovers released).
* ``models_templates``: launch templates with versions, image families (DescribeImageFromFamily,
  ModifyImageAttribute).

Methods raise typed errors from ``emulator.ecs.exceptions`` and never touch HTTP.
"""

from __future__ import annotations

from emulator.ecs.models_base import CopyJob, Disk, ExportTask, Image, Instance, LaunchTemplate, Snapshot
from emulator.ecs.models_copy import CopyMixin, CopyRequest
from emulator.ecs.models_create import CreateImageMixin, CreateImageRequest, DiskMapping
from emulator.ecs.models_export import ExportMixin, ExportRequest, TaskFilter
from emulator.ecs.models_images import ImageFilter, ImagesMixin
from emulator.ecs.models_instances import InstancesMixin
from emulator.ecs.models_pipelines import PipelinesMixin
from emulator.ecs.models_share import ShareMixin
from emulator.ecs.models_snapshots import CopySnapshotRequest, SnapshotFilter, SnapshotsMixin
from emulator.ecs.models_tags import TagsMixin
from emulator.ecs.models_templates import TemplatesMixin
from emulator.ecs.seed import EcsSeed

__all__ = [
    "CopyJob", "CopyRequest", "CopySnapshotRequest", "CreateImageRequest", "Disk", "DiskMapping", "EcsBackend",
    "ExportRequest", "ExportTask", "Image", "ImageFilter", "Instance", "LaunchTemplate", "Snapshot", "SnapshotFilter", "TaskFilter",
]


class EcsBackend(
    CopyMixin, CreateImageMixin, ExportMixin, ImagesMixin, ShareMixin, SnapshotsMixin, TagsMixin, PipelinesMixin,
    InstancesMixin, TemplatesMixin
):
    """All ECS state of one emulator (one account), keyed by region inside each resource."""

    def apply_ecs_seed(self, seed: EcsSeed) -> None:
        """Images, instances, keys and snapshots (``ImagesMixin``), then launch templates."""
        super().apply_ecs_seed(seed)
        for template in seed.launch_templates:
            self.seed_launch_template(template)
