"""Copies on the virtual clock: slots, FIFO hand-over, progress, CancelCopyImage, seeded Creating images."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import EmulatorControl

from .helpers import image, raises_code

SRC, DST = "cn-hangzhou", "cn-beijing"


def start_copies(ecs: Client, count: int) -> list[str]:
    """Start ``count`` copies of m-src (20 GiB → 60 s each at 20 GiB/min) to beijing."""
    return [
        ecs.copy_image(
            m.CopyImageRequest(region_id=SRC, image_id="m-src", destination_region_id=DST, destination_image_name=f"c{n}")
        ).body.image_id
        for n in range(count)
    ]


def statuses(ecs: Client, ids: list[str]) -> dict[str, tuple[str, str]]:
    """Map image id → (Status, Progress)."""
    body = ecs.describe_images(m.DescribeImagesRequest(region_id=DST, status="ALL", page_size=100)).body
    return {i.image_id: (i.status, i.progress) for i in body.images.image if i.image_id in ids}


@pytest.fixture(autouse=True)
def _source(control: EmulatorControl) -> None:
    control.seed({"images": [image("m-src", size_gib=20)]})


def test_sixth_copy_waits_for_a_free_slot(ecs: Client, control: EmulatorControl) -> None:
    # GIVEN six copies into one region (5 slots)
    ids = start_copies(ecs, 6)
    assert ids[0].startswith("m-2ze")
    state = statuses(ecs, ids)
    assert [state[i][0] for i in ids] == ["Creating"] * 5 + ["Waiting"]
    # WHEN 30 s pass THEN the five are half way and the sixth still waits at 0%
    control.advance(30)
    state = statuses(ecs, ids)
    assert [state[i] for i in ids] == [("Creating", "50%")] * 5 + [("Waiting", "0%")]
    # WHEN the five finish (t=60) and 15 s more pass THEN the sixth started exactly at t=60
    control.advance(45)
    state = statuses(ecs, ids)
    assert [state[i] for i in ids] == [("Available", "100%")] * 5 + [("Creating", "25%")]
    control.advance(45)
    assert statuses(ecs, ids)[ids[5]] == ("Available", "100%")


def test_one_big_advance_is_event_accurate(ecs: Client, control: EmulatorControl) -> None:
    ids = start_copies(ecs, 7)
    # t=60: five done, 6th and 7th start; t=120: all done
    control.advance(119)
    state = statuses(ecs, ids)
    assert [state[i][0] for i in ids] == ["Available"] * 5 + ["Creating"] * 2
    control.advance(1)
    assert {s for s, _ in statuses(ecs, ids).values()} == {"Available"}


def test_slots_are_per_destination_region(ecs: Client, control: EmulatorControl) -> None:
    ids = start_copies(ecs, 5)
    other = ecs.copy_image(
        m.CopyImageRequest(region_id=SRC, image_id="m-src", destination_region_id="cn-shanghai")
    ).body.image_id
    body = ecs.describe_images(m.DescribeImagesRequest(region_id="cn-shanghai", status="ALL")).body
    assert [(i.image_id, i.status) for i in body.images.image] == [(other, "Creating")]
    assert len(ids) == 5


def test_configured_rate_and_slots(ecs: Client, control: EmulatorControl) -> None:
    control.configure(copy_slots=1, copy_gib_per_minute=10)
    ids = start_copies(ecs, 2)
    control.advance(60)  # 20 GiB at 10 GiB/min = 120 s
    assert statuses(ecs, ids) == {ids[0]: ("Creating", "50%"), ids[1]: ("Waiting", "0%")}


def test_cancel_copy_frees_the_slot(ecs: Client, control: EmulatorControl) -> None:
    ids = start_copies(ecs, 6)
    control.advance(10)
    # WHEN one running copy is cancelled (RegionId = destination)
    ecs.cancel_copy_image(m.CancelCopyImageRequest(region_id=DST, image_id=ids[0]))
    # THEN it is gone and the waiting one starts now
    state = statuses(ecs, ids)
    assert ids[0] not in state
    assert state[ids[5]] == ("Creating", "0%")
    control.advance(30)
    assert statuses(ecs, ids)[ids[5]] == ("Creating", "50%")


def test_cancel_copy_errors(ecs: Client, control: EmulatorControl) -> None:
    [copy] = start_copies(ecs, 1)
    with raises_code("InvalidImageId.NotFound", 404):
        ecs.cancel_copy_image(m.CancelCopyImageRequest(region_id=DST, image_id="m-nope"))
    with raises_code("InvalidImageId.NotFound", 404):  # the copy lives in the destination, not the source
        ecs.cancel_copy_image(m.CancelCopyImageRequest(region_id=SRC, image_id=copy))
    # m-src was never copied: the CancelCopyImage error table (https://www.alibabacloud.com/help/doc-detail/25539.html)
    # lists 400 ImageCreatedNotFromCopy for "not the target image of a copy action" (was IncorrectImageStatus, #17)
    with raises_code("ImageCreatedNotFromCopy", 400):
        ecs.cancel_copy_image(m.CancelCopyImageRequest(region_id=SRC, image_id="m-src"))
    with raises_code("InvalidRegionId.NotFound", 400):
        ecs.cancel_copy_image(m.CancelCopyImageRequest(region_id="xx-1", image_id=copy))
    control.advance(60)
    with raises_code("IncorrectImageStatus", 400):
        ecs.cancel_copy_image(m.CancelCopyImageRequest(region_id=DST, image_id=copy))


def test_seeded_creating_image_becomes_available(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-new", region=DST, status="Creating", ready_after_seconds=100)]})
    control.advance(40)
    assert statuses(ecs, ["m-new"]) == {"m-new": ("Creating", "40%")}
    control.advance(60)
    assert statuses(ecs, ["m-new"]) == {"m-new": ("Available", "100%")}


def test_seeded_creating_default_is_600_seconds(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-new", region=DST, status="Creating")]})
    control.advance(599)
    assert statuses(ecs, ["m-new"])["m-new"][0] == "Creating"
    control.advance(1)
    assert statuses(ecs, ["m-new"])["m-new"][0] == "Available"


def test_clock_reports_iso_and_epoch(control: EmulatorControl) -> None:
    before = control.clock()
    after = control.advance(3600)
    assert after["epoch"] == before["epoch"] + 3600
    assert after["now"].endswith("Z") and "T" in after["now"]
