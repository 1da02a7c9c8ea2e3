"""The pure reference test (`shared.cleanup.references`) and the cleanup clock (`deletion_clock`)."""
from __future__ import annotations

import datetime as dt

import pytest

from shared.cleanup.references import References, could_be_copy_source, image_references, merge
from shared.cleanup.request import CleanupRequest, deletion_clock
from shared.clouds.ecs_types import Disk, Image, Instance, LaunchTemplateVersion
from shared.clouds.ess_types import ScalingConfiguration
from shared.clouds.pipeline_types import ImagePipeline
from shared.errors import EventValidationError
from shared.replication.provenance import provenance_tags

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
HZ, BJ = "cn-hangzhou", "cn-beijing"
IMAGE = Image(region=HZ, image_id="m-1", name="TemplateScratch-1", size_gib=40, creation_time=NOW,
              disks=(Disk(device="/dev/xvda", type="system", size_gib=40),), family="web")


def copy(**fields: object) -> Image:
    base = dict(region=BJ, image_id="m-c", status="Creating", is_copied=True, size_gib=40,
                creation_time=NOW + dt.timedelta(hours=1), disks=(Disk(device="/dev/xvda", size_gib=40),))
    return Image(**{**base, **fields})  # type: ignore[arg-type]


def test_nothing_references_an_image_by_default() -> None:
    assert image_references(IMAGE, References()) == ()


def test_every_kind_of_reference_is_named() -> None:
    refs = References(
        instances=(Instance(region=HZ, instance_id="i-1", image_id="m-1"),),
        template_versions=(LaunchTemplateVersion(region=HZ, template_id="lt-1", version=3, image_id="m-1"),
                           LaunchTemplateVersion(region=HZ, template_id="lt-1", version=1, image_id="m-1"),
                           LaunchTemplateVersion(region=BJ, template_id="lt-2", version=1, image_id="m-1")),
        scaling_configurations=(ScalingConfiguration(region=HZ, scaling_configuration_id="scc-1", image_id="m-1",
                                                     lifecycle_state="Inactive"),
                                ScalingConfiguration(region=HZ, scaling_configuration_id="scc-2",
                                                     image_name="TemplateScratch-1")),
        family_latest=((HZ, "web", "m-1"), (BJ, "web", "m-1")),
        pipelines=(ImagePipeline(region=HZ, pipeline_id="ip-1", base_image_type="IMAGE", base_image="m-1"),),
        copies_in_progress=(copy(),),
    )
    assert image_references(IMAGE, refs) == (
        "in use by instance(s) i-1",
        "named by launch template lt-1 version(s) 1, 3",
        "named by scaling configuration scc-1 (Inactive)",
        "named by scaling configuration scc-2 through ImageName",
        "base image of Image Builder template ip-1",
        "newest image of family web (what DescribeImageFromFamily launches)",
        "possibly the source of copy m-c in progress in cn-beijing (started outside image-relay)",
    )


def test_unreadable_references_keep_every_image() -> None:
    refs = merge([References(unknown=("ESS scaling configurations were not read",)), References()])
    assert image_references(IMAGE, refs) == (
        "references unknown (ESS scaling configurations were not read); kept to be safe",)


@pytest.mark.parametrize(("candidate", "expected"), [
    (copy(), True),
    (copy(size_gib=80), False),  # a copy keeps its source's size
    (copy(disks=(Disk(device="/dev/xvda", size_gib=40), Disk(device="/dev/xvdb", size_gib=10))), False),
    (copy(creation_time=NOW - dt.timedelta(hours=1)), False),  # the source existed before its copy
    (copy(tags=provenance_tags(f"copy/{HZ}/m-1/{BJ}", HZ, "m-1", "web")), True),  # ours: exact
    (copy(tags=provenance_tags(f"copy/{HZ}/m-9/{BJ}", HZ, "m-9", "web")), False),
])
def test_who_could_be_the_source_of_a_copy(candidate: Image, expected: bool) -> None:
    assert could_be_copy_source(IMAGE, candidate) is expected


def test_only_an_available_image_of_ours_can_be_a_source() -> None:
    assert not could_be_copy_source(IMAGE.model_copy(update={"owner_alias": "others"}), copy())
    assert not could_be_copy_source(IMAGE.model_copy(update={"status": "Deprecated"}), copy())


@pytest.mark.parametrize(("offset", "expected"), [
    (None, NOW), (dt.timedelta(minutes=5), NOW + dt.timedelta(minutes=5)), (-dt.timedelta(minutes=5), NOW)])
def test_a_caller_time_within_the_skew_only_moves_the_clock_forward(offset: dt.timedelta | None,
                                                                   expected: dt.datetime) -> None:
    request = CleanupRequest(now=None if offset is None else NOW + offset)
    assert deletion_clock(NOW, request) == expected


@pytest.mark.parametrize("offset", [dt.timedelta(minutes=5, seconds=1), -dt.timedelta(days=1),
                                    dt.timedelta(days=26000)])
def test_a_caller_time_beyond_the_skew_is_refused(offset: dt.timedelta) -> None:
    with pytest.raises(EventValidationError) as info:
        deletion_clock(NOW, CleanupRequest(now=NOW + offset))
    assert info.value.field == "now"
