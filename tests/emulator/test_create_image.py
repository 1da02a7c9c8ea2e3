"""CreateImage from snapshots through the real SDK, incl. the >2 TiB path (CopySnapshot + CreateImage) and
the injected CreateFailed outcome."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import EmulatorControl

from .helpers import image, raises_code

SRC = "cn-hangzhou"
DST = "cn-shanghai"
Mapping = m.CreateImageRequestDiskDeviceMapping


def one(client: Client, region: str, image_id: str) -> m.DescribeImagesResponseBodyImagesImage:
    req = m.DescribeImagesRequest(region_id=region, image_id=image_id, status="ALL")
    [found] = client.describe_images(req).body.images.image
    return found


def create(client: Client, **overrides: Any) -> str:
    fields: dict[str, Any] = {"region_id": SRC, "image_name": "from-snap", "snapshot_id": "s-free"}
    fields.update(overrides)
    return client.create_image(m.CreateImageRequest(**fields)).body.image_id


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed(
        {
            "images": [
                image("m-big", name="big", size_gib=3072,
                      disks=[{"device": "/dev/xvda", "type": "system", "size_gib": 72, "snapshot_id": "s-big-sys"},
                             {"device": "/dev/xvdb", "type": "data", "size_gib": 3000, "snapshot_id": "s-big-data"}]),
                image("m-taken", name="taken"),
            ],
            "snapshots": [
                {"region": SRC, "snapshot_id": "s-free", "size_gib": 50},
                {"region": SRC, "snapshot_id": "s-data2", "size_gib": 200, "disk_type": "data"},
                {"region": SRC, "snapshot_id": "s-busy", "status": "progressing"},
            ],
            "kms_keys": [{"region": DST, "key_id": "key-dst"}],
        }
    )


def test_create_image_from_a_system_snapshot(any_ecs: Client, control: EmulatorControl) -> None:
    tags = [m.CreateImageRequestTag(key="k", value="v")]
    image_id = create(any_ecs, platform="Ubuntu", architecture="arm64", boot_mode="UEFI", description="d1", tag=tags)
    assert image_id.startswith("m-bp1")
    img = one(any_ecs, SRC, image_id)
    assert (img.status, img.progress, img.size, img.ostype, img.platform) == ("Creating", "0%", 50, "linux", "Ubuntu")
    assert (img.architecture, img.boot_mode, img.description, img.is_copied) == ("arm64", "UEFI", "d1", False)
    [disk] = img.disk_device_mappings.disk_device_mapping
    assert (disk.snapshot_id, disk.device, disk.type, disk.size) == ("s-free", "/dev/xvda", "system", "50")
    assert img.tags.tag[0].tag_key == "k"
    control.advance(60)
    assert one(any_ecs, SRC, image_id).progress == "50%"
    control.advance(60)
    assert one(any_ecs, SRC, image_id).status == "Available"
    snap = any_ecs.describe_snapshots(
        m.DescribeSnapshotsRequest(region_id=SRC, snapshot_ids=json.dumps(["s-free"]))
    ).body.snapshots.snapshot[0]
    assert snap.usage == "image"


def test_create_image_with_disk_mappings_and_windows_platform(ecs: Client, control: EmulatorControl) -> None:
    control.configure(create_image_seconds=10)
    mappings = [Mapping(snapshot_id="s-free", size=60), Mapping(snapshot_id="s-data2", disk_type="data")]
    image_id = create(ecs, snapshot_id=None, disk_device_mapping=mappings, platform="Windows Server 2022")
    img = one(ecs, SRC, image_id)
    assert img.ostype == "windows" and img.size == 260
    disks = [(d.device, d.type, d.size, d.snapshot_id) for d in img.disk_device_mappings.disk_device_mapping]
    assert disks == [("/dev/xvda", "system", "60", "s-free"), ("/dev/xvdb", "data", "200", "s-data2")]
    control.advance(10)
    assert one(ecs, SRC, image_id).status == "Available"


def test_create_image_errors(any_ecs: Client, control: EmulatorControl) -> None:
    with raises_code("InvalidSnapshotId.NotFound", 404):
        create(any_ecs, snapshot_id="s-missing")
    with raises_code("IncorrectSnapshotStatus", 403):
        create(any_ecs, snapshot_id="s-busy")
    with raises_code("InvalidImageName.Duplicated", 400):
        create(any_ecs, image_name="taken")
    with raises_code("InvalidImageName.Malformed", 400):
        create(any_ecs, image_name="aliyun-x")
    with raises_code("MissingParameter", 400):
        create(any_ecs, snapshot_id=None)
    with raises_code("InvalidParameter.DiskDeviceMapping", 400):
        create(any_ecs, snapshot_id=None, disk_device_mapping=[Mapping(snapshot_id="s-data2", disk_type="data")])
    with raises_code("InvalidParameter.Size", 400):
        create(any_ecs, snapshot_id=None, disk_device_mapping=[Mapping(snapshot_id="s-free", size=10)])
    with raises_code("InvalidRegionId.NotFound", 400):
        create(any_ecs, region_id="xx-nowhere-1")
    with raises_code("DryRunOperation", 400):
        create(any_ecs, dry_run=True)
    control.configure(image_quota=2)
    with raises_code("QuotaExceed.Image", 403):
        create(any_ecs)
    assert any_ecs.describe_images(m.DescribeImagesRequest(region_id=SRC, status="ALL")).body.total_count == 2


def test_create_image_client_token(any_ecs: Client) -> None:
    first = create(any_ecs, client_token="ct-1")
    assert create(any_ecs, client_token="ct-1") == first
    with raises_code("IdempotentParameterMismatch", 400):
        create(any_ecs, client_token="ct-1", image_name="other-name")


def test_three_tib_image_goes_through_snapshots(any_ecs: Client, control: EmulatorControl) -> None:
    # GIVEN a 3 TiB image that CopyImage refuses
    with raises_code("SizeExceed.Image", 403):
        any_ecs.copy_image(m.CopyImageRequest(region_id=SRC, image_id="m-big", destination_region_id=DST))
    # WHEN every disk's snapshot is copied encrypted with the destination's key
    src = one(any_ecs, SRC, "m-big").disk_device_mappings.disk_device_mapping
    copies: list[tuple[str, str, str]] = []
    for disk in src:
        req = m.CopySnapshotRequest(
            region_id=SRC, snapshot_id=disk.snapshot_id, destination_region_id=DST,
            destination_snapshot_name=f"big-{disk.type}", destination_snapshot_description=f"copy of {disk.snapshot_id}",
            encrypted=True, kmskey_id="key-dst", client_token=f"big-{disk.snapshot_id}",
        )
        copies.append((any_ecs.copy_snapshot(req).body.snapshot_id, disk.type, disk.device))
    # no 2 TiB limit and no image copy slot: 3000 GiB at 20 GiB/min = 150 min
    mappings = [Mapping(snapshot_id=s, disk_type=t, device=d) for s, t, d in copies]
    request = m.CreateImageRequest(region_id=DST, image_name="big", disk_device_mapping=mappings)
    with raises_code("IncorrectSnapshotStatus", 403):
        any_ecs.create_image(request)
    control.advance(150 * 60)
    # THEN CreateImage from the copies yields an Available image with encrypted disks
    image_id = any_ecs.create_image(request).body.image_id
    control.advance(120)
    img = one(any_ecs, DST, image_id)
    assert (img.status, img.size) == ("Available", 3072)
    disks = img.disk_device_mappings.disk_device_mapping
    assert [(d.snapshot_id, d.encrypted) for d in disks] == [(s, True) for s, _, _ in copies]
    assert all(d.to_map().get("KMSKeyId") in (None, "key-dst") for d in disks)


def test_injected_create_failure_lets_the_caller_clean_up(ecs: Client, control: EmulatorControl) -> None:
    control.configure(create_image_fail_rate=1.0)
    image_id = create(ecs)
    control.advance(120)
    assert one(ecs, SRC, image_id).status == "CreateFailed"
    # a failed image holds no snapshot: the intermediate snapshot can be deleted, then the image
    ecs.delete_snapshot(m.DeleteSnapshotRequest(snapshot_id="s-free"))
    ecs.delete_image(m.DeleteImageRequest(region_id=SRC, image_id=image_id))
    assert ecs.describe_images(m.DescribeImagesRequest(region_id=SRC, image_id=image_id, status="ALL")).body.total_count == 0


def test_create_failure_draws_are_seeded(ecs: Client, control: EmulatorControl) -> None:
    def outcomes() -> list[str]:
        control.reset()
        control.seed({"snapshots": [{"region": SRC, "snapshot_id": f"s-{n}"} for n in range(8)]})
        control.configure(create_image_fail_rate=0.5)
        control.set_faults(seed=7)
        ids = [create(ecs, snapshot_id=f"s-{n}", image_name=f"img-{n}") for n in range(8)]
        control.advance(120)
        return [one(ecs, SRC, i).status for i in ids]

    first = outcomes()
    assert set(first) == {"Available", "CreateFailed"}
    assert outcomes() == first
