"""Everything that can name an image besides a running instance, and the pure test "what references it?".

ECS lets these be deleted from under them (DeleteImage refuses only for instances, shares, copies and
exports), so the cleanup must look itself (design.md invariant 3, Custodian #6554):

* **launch templates, every version** (DescribeLaunchTemplates + DescribeLaunchTemplateVersions): any version
  can be launched by name, not only the default one;
* **ESS scaling configurations** (DescribeScalingConfigurations, product ``ess``), active or not: by
  ``ImageId``, or by ``ImageName`` (ESS resolves the name in the region);
* **the newest image of an image family** (DescribeImageFromFamily): RunInstances / ESS / templates that name the
  family launch it; deleting it silently rolls every one of them back to the previous image;
* **the source of a copy in progress, whoever started it**: ECS does not say which image a console copy is
  copying, so besides the exact sources image-relay knows (provenance tags), any image of ours that *could* be
  the source (same size and disk layout, Available, created before the copy) is kept while the copy runs;
* **Image Builder templates** (DescribeImagePipelines) whose base image is the image (`BaseImageType=IMAGE`) or
  its family (`IMAGE_FAMILY`, whose newest image is then looked up): the next build would fail or change base;
* instances (DescribeInstances), listed here too so a caller gets the whole picture.

What no ECS/ESS API tells us (ROS stacks, Terraform state, ACK node pools configured by image id, auto
provisioning groups' launch configurations, scripts) is listed in the README for the operator to check by hand.

`image_references` is pure: the cleanup calls it on what its scans read, and the chaos suite can call it on
what it reads from the emulator through the same adapters (`scan_references`).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.clouds.ecs_types import Image, Instance, LaunchTemplateVersion
from shared.clouds.ess_types import ScalingConfiguration
from shared.clouds.pipeline_types import ImagePipeline
from shared.replication.provenance import TAG_SOURCE_IMAGE, TAG_SOURCE_REGION

#: Statuses of an image still being created or copied into.
IN_PROGRESS = frozenset({"Creating", "Waiting"})


@dataclass(frozen=True)
class References:
    """What the scans saw that can name an image, in every scanned region."""

    template_versions: tuple[LaunchTemplateVersion, ...] = ()
    scaling_configurations: tuple[ScalingConfiguration, ...] = ()
    #: (region, family, image id) of each family's newest Available image, as DescribeImageFromFamily said.
    family_latest: tuple[tuple[str, str, str], ...] = ()
    instances: tuple[Instance, ...] = ()
    #: every image still Waiting/Creating that is a copy (IsCopied or provenance tags), any region
    copies_in_progress: tuple[Image, ...] = ()
    #: Image Builder templates (their base image or base family)
    pipelines: tuple[ImagePipeline, ...] = ()
    #: why a source could not be read (e.g. ESS refused): then every image counts as referenced
    unknown: tuple[str, ...] = ()


def _disk_layout(image: Image) -> tuple[int, ...]:
    return tuple(sorted(d.size_gib for d in image.disks))


def could_be_copy_source(image: Image, copy: Image) -> bool:
    """True unless the facts rule `image` out as the source of `copy` (a copy keeps its source's size and disks).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> src = Image(region="cn-hangzhou", image_id="m-1", size_gib=40, creation_time=t)
    >>> cp = Image(region="cn-beijing", image_id="m-2", size_gib=40, status="Creating", is_copied=True,
    ...            creation_time=t + dt.timedelta(hours=1))
    >>> could_be_copy_source(src, cp), could_be_copy_source(src.model_copy(update={"size_gib": 80}), cp)
    (True, False)
    """
    if image.image_id == copy.image_id or image.owner_alias != "self" or image.status != "Available":
        return False
    source_region, source_id = copy.tags.get(TAG_SOURCE_REGION), copy.tags.get(TAG_SOURCE_IMAGE)
    if source_id:  # image-relay's own copy: the source is known exactly
        return (source_region or image.region, source_id) == (image.region, image.image_id)
    if image.size_gib and copy.size_gib and image.size_gib != copy.size_gib:
        return False
    if image.disks and copy.disks and _disk_layout(image) != _disk_layout(copy):
        return False
    return not (image.creation_time and copy.creation_time and image.creation_time > copy.creation_time)


def image_references(image: Image, refs: References) -> tuple[str, ...]:
    """Every reason `image` is referenced, one readable line each (empty: nothing references it)."""
    found: list[str] = [f"references unknown ({why}); kept to be safe" for why in refs.unknown]
    region, image_id = image.region, image.image_id
    users = sorted(i.instance_id for i in refs.instances if (i.region, i.image_id) == (region, image_id))
    if users:
        found.append(f"in use by instance(s) {', '.join(users)}")
    versions: dict[str, list[str]] = {}
    for v in refs.template_versions:
        if (v.region, v.image_id) == (region, image_id):
            versions.setdefault(v.template_id, []).append(str(v.version))
    found += [f"named by launch template {t} version(s) {', '.join(sorted(n, key=int))}"
              for t, n in sorted(versions.items())]
    for c in refs.scaling_configurations:
        if c.region != region:
            continue
        if c.image_id == image_id:
            found.append(f"named by scaling configuration {c.scaling_configuration_id} ({c.lifecycle_state or '?'})")
        elif c.image_name and not c.image_id and c.image_name == image.name:
            found.append(f"named by scaling configuration {c.scaling_configuration_id} through ImageName")
    for p in refs.pipelines:
        if (p.region, p.base_image_type.upper(), p.base_image) == (region, "IMAGE", image_id):
            found.append(f"base image of Image Builder template {p.pipeline_id}")
    for r, family, latest in refs.family_latest:
        if (r, latest) == (region, image_id):
            found.append(f"newest image of family {family} (what DescribeImageFromFamily launches)")
    for copy in refs.copies_in_progress:
        if copy.status in IN_PROGRESS and could_be_copy_source(image, copy):
            exact = TAG_SOURCE_IMAGE in copy.tags
            found.append(f"{'source' if exact else 'possibly the source'} of copy {copy.image_id} in progress in "
                         f"{copy.region}{'' if exact else ' (started outside image-relay)'}")
    return tuple(found)


class ReferenceReader(Protocol):
    """The slice of `EcsGateway` that reads references."""

    def iter_launch_template_versions(self, region: str) -> Iterable[LaunchTemplateVersion]: ...

    def image_from_family(self, region: str, family: str) -> Image | None: ...

    def iter_instances(self, region: str, *, image_id: str | None = None) -> Iterable[Instance]: ...

    def iter_pipelines(self, region: str) -> Iterable[ImagePipeline]: ...


class ScalingReader(Protocol):
    """The slice of `EssGateway` that reads scaling configurations."""

    def iter_scaling_configurations(self, region: str) -> Iterable[ScalingConfiguration]: ...


def is_copy_in_progress(image: Image) -> bool:
    """A copy still running: Waiting/Creating and marked as a copy (IsCopied or provenance tags)."""
    return image.status in IN_PROGRESS and (image.is_copied or TAG_SOURCE_IMAGE in image.tags)


def read_region(ecs: ReferenceReader, ess: ScalingReader | None, region: str, images: Iterable[Image],
                instances: Iterable[Instance] | None = None) -> References:
    """Read one region's references; `images` are the region's own images (their families are looked up)."""
    owned = [i for i in images if i.owner_alias == "self"]
    families = sorted({i.family for i in owned if i.family})
    scaling = tuple(ess.iter_scaling_configurations(region)) if ess is not None else ()
    pipelines = tuple(ecs.iter_pipelines(region))
    families = sorted(set(families) | {c.image_family for c in scaling if c.image_family}
                      | {p.base_image for p in pipelines if p.base_image_type.upper() == "IMAGE_FAMILY" and p.base_image})
    latest: list[tuple[str, str, str]] = []
    for family in families:
        found = ecs.image_from_family(region, family)
        if found is not None:
            latest.append((region, family, found.image_id))
    return References(
        template_versions=tuple(ecs.iter_launch_template_versions(region)),
        scaling_configurations=scaling,
        family_latest=tuple(latest),
        instances=tuple(ecs.iter_instances(region) if instances is None else instances),
        copies_in_progress=tuple(i for i in owned if is_copy_in_progress(i)),
        pipelines=pipelines,
        unknown=() if ess is not None else ("ESS scaling configurations were not read",),
    )


def merge(parts: Iterable[References]) -> References:
    """One `References` over several regions."""
    items = list(parts)

    def cat(name: str) -> tuple[Any, ...]:
        return tuple(x for p in items for x in getattr(p, name))

    return References(template_versions=cat("template_versions"), scaling_configurations=cat("scaling_configurations"),
                      family_latest=cat("family_latest"), instances=cat("instances"),
                      copies_in_progress=cat("copies_in_progress"), pipelines=cat("pipelines"), unknown=tuple(dict.fromkeys(cat("unknown"))))


def copies_elsewhere(ecs: Any, scanned: Iterable[str]) -> References:
    """Copies in progress in every region of the account outside `scanned` (one DescribeImages each): a copy
    is visible only in its destination, and a console copy may go anywhere."""
    seen = set(scanned)
    home = next(iter(sorted(seen)), "cn-hangzhou")
    copies = tuple(
        image for region in ecs.regions(home) if region not in seen
        for image in ecs.list_images(region, owner_alias="self", statuses=tuple(sorted(IN_PROGRESS)))
        if is_copy_in_progress(image)
    )
    return References(copies_in_progress=copies)


def scan_references(ecs: Any, ess: ScalingReader | None, regions: Iterable[str]) -> References:
    """Read every reference of `regions` through the adapters, plus the copies in progress anywhere.

    For the chaos suite and tools: `ecs` must offer the Image Builder reads too
    (`shared.clouds.ecs_pipelines.ImageBuilderGateway`), `ess` is an `EssGateway` (None: every image counts as
    referenced). Then `image_references(image, refs)` lists why one image must stay.
    """
    wanted = list(regions)
    parts = [read_region(ecs, ess, r, ecs.list_images(r, owner_alias="self")) for r in wanted]
    return merge([*parts, copies_elsewhere(ecs, wanted)])
