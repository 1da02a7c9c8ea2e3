"""Images above 2 TiB reach their targets through the snapshot path, encrypted per target region."""
from __future__ import annotations

from scripts import sample_world as scene

BIG = "m-bp1huge000001"


def _seed_big(world) -> None:
    world.emu.control.seed({"images": [{
        "region": "cn-hangzhou", "image_id": BIG, "name": "app-huge-3t", "size_gib": 3072, "tags": {"team": "web"},
        "disks": [{"device": "/dev/xvda", "type": "system", "size_gib": 1024},
                  {"device": "/dev/xvdb", "type": "data", "size_gib": 2048}]}]})


def _copies(world, region):
    return [c for c in world.copies_in(region) if c.tags["image-relay:source-image"] == BIG]


def test_a_3_tib_image_is_copied_disk_by_disk_and_encrypted_with_each_regions_key(world):
    policy = scene.POLICY_YAML.replace("encrypt: {ap-southeast-1: key-sg-1}",
                                       "encrypt: {ap-southeast-1: key-sg-1, cn-beijing: key-bj-1}")
    world.set_policy(policy)
    world.emu.control.seed({"kms_keys": [{"region": "cn-beijing", "key_id": "key-bj-1"}]})
    _seed_big(world)
    result = world.invoke("image_created", world.event(BIG, "app-huge-3t"))
    assert {t["state"] for t in result["targets"]} == {"STARTED"}
    # CopyImage is never asked: the image is above its 2 TiB limit
    assert [c for c in world.calls("CopyImage") if c["params"]["ImageId"] == BIG] == []
    copies = world.calls("CopySnapshot", 200)
    assert len(copies) == 4  # 2 disks x 2 regions
    assert {(c["params"]["DestinationRegionId"], c["params"]["KMSKeyId"]) for c in copies} == {
        ("cn-beijing", "key-bj-1"), ("ap-southeast-1", "key-sg-1")}
    world.run_until_settled(max_ticks=120, step=600)
    for region in scene.TARGETS:
        (image,) = _copies(world, region)
        assert image.status == "Available" and image.size_gib == 3072
        assert image.encrypted and len(image.disks) == 2
        assert image.name == f"app-huge-3t-{region}"
    assert len(world.calls("CreateImage", 200)) == 2
    assert {r.state.value for r in world.ledger().scan(f"copy/cn-hangzhou/{BIG}/")} == {"DONE"}


def test_a_failed_create_image_deletes_its_snapshot_copies_then_retries(world):
    world.set_policy(scene.POLICY_YAML)
    _seed_big(world)
    world.emu.control.configure(create_image_fail_rate=1.0)
    world.invoke("image_created", world.event(BIG, "app-huge-3t"))
    for _ in range(40):
        world.emu.control.advance(600)
        world.tick()
        if world.calls("DeleteSnapshot", 200):
            break
    deleted = {c["params"]["SnapshotId"] for c in world.calls("DeleteSnapshot", 200)}
    first_copies = {c["params"]["SnapshotId"] for c in world.calls("CopySnapshot", 200)}
    assert deleted, "the intermediate snapshot copies were not deleted"
    world.emu.control.configure(create_image_fail_rate=0.0)
    import datetime as dt
    import json

    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for _ in range(80):
        world.emu.control.advance(600)
        summary = world.invoke("reconcile", json.dumps({"triggerTime": later}).encode())
        if not {"PENDING", "STARTED", "FAILED"} & set(summary["records"]):
            break
    assert {r.state.value for r in world.ledger().scan(f"copy/cn-hangzhou/{BIG}/")} == {"DONE"}
    for region in scene.TARGETS:
        assert len([c for c in _copies(world, region) if c.status == "Available"]) == 1
    assert first_copies  # the retry made new snapshot copies under new tokens
