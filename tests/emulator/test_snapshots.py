"""Snapshots through the real SDK: image disks have real snapshots, CopySnapshot on the virtual clock with
KMS and ClientToken, DescribeSnapshots filters/paging/shape, DeleteSnapshot rules."""

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


def snapshots(client: Client, region: str, **kw: Any) -> list[m.DescribeSnapshotsResponseBodySnapshotsSnapshot]:
    """DescribeSnapshots, one page of up to 100."""
    req = m.DescribeSnapshotsRequest(region_id=region, max_results=100, **kw)
    return list(client.describe_snapshots(req).body.snapshots.snapshot)


def copy_request(snapshot_id: str, **overrides: Any) -> m.CopySnapshotRequest:
    """A valid CopySnapshot request from hangzhou to shanghai."""
    fields: dict[str, Any] = {
        "region_id": SRC,
        "snapshot_id": snapshot_id,
        "destination_region_id": DST,
        "destination_snapshot_name": "copy-1",
        "destination_snapshot_description": "copied disk",
    }
    fields.update(overrides)
    return m.CopySnapshotRequest(**fields)


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed(
        {
            "images": [
                image("m-src", name="app", size_gib=140,
                      disks=[{"device": "/dev/xvda", "type": "system", "size_gib": 40, "snapshot_id": "s-sys"},
                             {"device": "/dev/xvdb", "type": "data", "size_gib": 100, "snapshot_id": "s-data"}]),
            ],
            "snapshots": [{"region": SRC, "snapshot_id": "s-free", "size_gib": 60, "tags": {"team": "a"}}],
            "kms_keys": [{"region": DST, "key_id": "key-dst"}],
        }
    )


def test_seeded_image_disks_are_real_snapshots(any_ecs: Client) -> None:
    found = {s.snapshot_id: s for s in snapshots(any_ecs, SRC)}
    assert set(found) == {"s-sys", "s-data", "s-free"}
    assert (found["s-sys"].usage, found["s-sys"].source_disk_size, found["s-sys"].source_disk_type) == (
        "image", "40", "system",
    )
    assert (found["s-data"].status, found["s-data"].progress, found["s-data"].usage) == ("accomplished", "100%", "image")
    assert found["s-free"].usage == "none" and found["s-free"].tags.tag[0].tag_key == "team"


def test_generated_snapshot_ids_are_region_flavoured(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-bj", region="cn-beijing")]})
    [snap] = snapshots(ecs, "cn-beijing")
    img = ecs.describe_images(m.DescribeImagesRequest(region_id="cn-beijing")).body.images.image[0]
    assert snap.snapshot_id.startswith("s-2ze")
    assert img.disk_device_mappings.disk_device_mapping[0].snapshot_id == snap.snapshot_id


def test_copy_image_creates_destination_snapshots(ecs: Client, control: EmulatorControl) -> None:
    copy_id = ecs.copy_image(
        m.CopyImageRequest(region_id=SRC, image_id="m-src", destination_region_id=DST, destination_image_name="copy")
    ).body.image_id
    found = snapshots(ecs, DST)
    assert len(found) == 2 and {s.status for s in found} == {"progressing"}
    assert all(s.snapshot_id.startswith("s-uf6") and s.usage == "image" for s in found)
    control.advance(3600)
    assert {s.status for s in snapshots(ecs, DST)} == {"accomplished"}
    img = ecs.describe_images(m.DescribeImagesRequest(region_id=DST, image_id=copy_id)).body.images.image[0]
    assert {d.snapshot_id for d in img.disk_device_mappings.disk_device_mapping} == {s.snapshot_id for s in found}


def test_cancel_copy_image_removes_its_snapshots(ecs: Client) -> None:
    copy_id = ecs.copy_image(
        m.CopyImageRequest(region_id=SRC, image_id="m-src", destination_region_id=DST, destination_image_name="copy")
    ).body.image_id
    ecs.cancel_copy_image(m.CancelCopyImageRequest(region_id=DST, image_id=copy_id))
    assert snapshots(ecs, DST) == []


def test_copy_snapshot_progresses_on_the_virtual_clock(any_ecs: Client, control: EmulatorControl) -> None:
    tags = [m.CopySnapshotRequestTag(key="replica-of", value="s-data")]
    new_id = any_ecs.copy_snapshot(copy_request("s-data", retention_days=7, tag=tags)).body.snapshot_id
    assert new_id.startswith("s-uf6")
    [snap] = snapshots(any_ecs, DST)
    assert (snap.snapshot_id, snap.status, snap.progress, snap.remain_time) == (new_id, "progressing", "0%", 300)
    assert (snap.source_region_id, snap.source_snapshot_id, snap.source_disk_size) == (SRC, "s-data", "100")
    assert (snap.snapshot_name, snap.description, snap.retention_days, snap.usage) == ("copy-1", "copied disk", 7, "none")
    assert snap.encrypted is False and snap.tags.tag[0].tag_value == "s-data"
    control.advance(150)  # 100 GiB at 20 GiB/min = 300 s
    assert snapshots(any_ecs, DST)[0].progress == "50%"
    assert snapshots(any_ecs, DST, status="accomplished") == []
    control.advance(150)
    [done] = snapshots(any_ecs, DST, status="accomplished")
    assert (done.progress, done.available) == ("100%", True)


def test_snapshot_copy_rate_is_configurable_and_not_slot_limited(ecs: Client, control: EmulatorControl) -> None:
    control.configure(snapshot_gib_per_minute=100, copy_slots=1)
    for n in range(3):
        ecs.copy_snapshot(copy_request("s-data", destination_snapshot_name=f"copy-{n}"))
    assert {s.progress for s in snapshots(ecs, DST)} == {"0%"}
    control.advance(60)
    assert {s.status for s in snapshots(ecs, DST)} == {"accomplished"}


def test_copy_snapshot_encrypts_with_a_destination_kms_key(ecs: Client) -> None:
    new_id = ecs.copy_snapshot(copy_request("s-sys", encrypted=True, kmskey_id="key-dst")).body.snapshot_id
    [snap] = snapshots(ecs, DST, snapshot_ids=json.dumps([new_id]))
    assert (snap.encrypted, snap.kmskey_id) == (True, "key-dst")
    assert snapshots(ecs, DST, encrypted=False) == []


def test_copy_snapshot_errors(any_ecs: Client, control: EmulatorControl) -> None:
    with raises_code("InvalidSnapshotId.NotFound", 404):
        any_ecs.copy_snapshot(copy_request("s-missing"))
    with raises_code("InvalidParameter.KMSKeyId.NotFound", 404):
        any_ecs.copy_snapshot(copy_request("s-sys", encrypted=True, kmskey_id="key-src-only"))
    with raises_code("InvalidParameter.EncryptedIllegal", 400):
        any_ecs.copy_snapshot(copy_request("s-sys", kmskey_id="key-dst"))
    with raises_code("DestinationRegion.NotFound", 400):
        any_ecs.copy_snapshot(copy_request("s-sys", destination_region_id="xx-nowhere-1"))
    with raises_code("InvalidRegionId.NotFound", 400):
        any_ecs.copy_snapshot(copy_request("s-sys", region_id="xx-nowhere-1"))
    with raises_code("MissingParameter", 400):
        any_ecs.copy_snapshot(copy_request("s-sys", destination_snapshot_name=None))
    with raises_code("InvalidSnapshotName.Malformed", 400):
        any_ecs.copy_snapshot(copy_request("s-sys", destination_snapshot_name="auto-1"))
    with raises_code("InvalidParameter.RetentionDays", 400):
        any_ecs.copy_snapshot(copy_request("s-sys", retention_days=0))
    # a snapshot still progressing cannot be copied
    pending = any_ecs.copy_snapshot(copy_request("s-sys")).body.snapshot_id
    with raises_code("IncorrectSnapshotStatus", 403):
        any_ecs.copy_snapshot(copy_request(pending, region_id=DST, destination_region_id=SRC))
    # another account's snapshot is invisible
    control.seed({"snapshots": [{"region": SRC, "snapshot_id": "s-other", "owner_id": "999"}]})
    with raises_code("InvalidSnapshotId.NotFound", 404):
        any_ecs.copy_snapshot(copy_request("s-other"))


def test_copy_snapshot_client_token_replay_and_mismatch(any_ecs: Client) -> None:
    first = any_ecs.copy_snapshot(copy_request("s-data", client_token="tok-1")).body.snapshot_id
    again = any_ecs.copy_snapshot(copy_request("s-data", client_token="tok-1")).body.snapshot_id
    assert again == first and len(snapshots(any_ecs, DST)) == 1
    with raises_code("IdempotentParameterMismatch", 400):
        any_ecs.copy_snapshot(copy_request("s-sys", client_token="tok-1"))
    other = any_ecs.copy_snapshot(copy_request("s-data", client_token="tok-2")).body.snapshot_id
    assert other != first


def test_describe_snapshots_filters_and_paging(ecs: Client) -> None:
    assert [s.snapshot_id for s in snapshots(ecs, SRC, usage="none")] == ["s-free"]
    tag = [m.DescribeSnapshotsRequestTag(key="team", value="a")]
    assert [s.snapshot_id for s in snapshots(ecs, SRC, tag=tag)] == ["s-free"]
    assert len(snapshots(ecs, SRC, snapshot_ids=json.dumps(["s-sys", "s-data", "nope"]))) == 2
    first = ecs.describe_snapshots(m.DescribeSnapshotsRequest(region_id=SRC, max_results=2)).body
    assert (first.total_count, len(first.snapshots.snapshot), first.next_token) == (3, 2, "2")
    second = ecs.describe_snapshots(m.DescribeSnapshotsRequest(region_id=SRC, max_results=2, next_token="2")).body
    assert (len(second.snapshots.snapshot), second.next_token) == (1, "")
    with raises_code("InvalidSnapshotIds.Malformed", 400):
        snapshots(ecs, SRC, snapshot_ids="s-sys")
    with raises_code("InvalidSnapshotIds.Malformed", 400):
        snapshots(ecs, SRC, snapshot_ids=json.dumps([f"s-{n}" for n in range(101)]))
    with raises_code("InvalidStatus.ValueNotSupported", 400):
        snapshots(ecs, SRC, status="done")
    with raises_code("InvalidParameter.MaxResults", 400):
        ecs.describe_snapshots(m.DescribeSnapshotsRequest(region_id=SRC, max_results=101))


def test_delete_snapshot_rules(any_ecs: Client) -> None:
    with raises_code("InvalidSnapshotId.NotFound", 404):
        any_ecs.delete_snapshot(m.DeleteSnapshotRequest(snapshot_id="s-missing"))
    with raises_code("SnapshotCreatedImage", 403):
        any_ecs.delete_snapshot(m.DeleteSnapshotRequest(snapshot_id="s-sys", force=True))
    any_ecs.delete_snapshot(m.DeleteSnapshotRequest(snapshot_id="s-free"))
    any_ecs.delete_image(m.DeleteImageRequest(region_id=SRC, image_id="m-src"))
    # the image's snapshots outlive it (Usage none) and can go now
    assert {s.usage for s in snapshots(any_ecs, SRC)} == {"none"}
    any_ecs.delete_snapshot(m.DeleteSnapshotRequest(snapshot_id="s-sys"))
    assert [s.snapshot_id for s in snapshots(any_ecs, SRC)] == ["s-data"]
