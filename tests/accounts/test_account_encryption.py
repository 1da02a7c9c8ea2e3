"""Encrypted images and account targets (issue #13): what ECS would refuse to share is refused up front, with the
reason, before any share is tried; a CMK-encrypted image in a region that allows it is delivered. Official SDKs
against the multi-account emulator, which refuses the same shares with ECS's error codes."""
from __future__ import annotations

from typing import Any

import pytest

from scripts import sample_world as scene
from tests.accounts.test_account_flow import PARTNER, partner_ecs, seed_partner, settle

SG = "ap-southeast-1"


def target_policy(source: str) -> str:
    return f"""\
copy_rules:
  - name: partners
    source_regions: [{source}]
    match: {{name_regex: "^enc-"}}
    target_regions: [cn-beijing]
    accounts:
      - account_id: "{PARTNER}"
        role_arn: "acs:ram::{PARTNER}:role/relay-partner"
        target_regions: [cn-beijing]
"""


def seed_image(world: Any, region: str, image_id: str, disk: dict[str, Any]) -> None:
    world.emu.control.seed({"kms_keys": [{"region": region, "key_id": "key-home-cmk"}],
                            "images": [{"region": region, "image_id": image_id, "name": f"enc-{image_id}",
                                        "disks": [{"snapshot_id": f"s-{image_id}", **disk}]}]})


def deliver(world: Any, region: str, image_id: str) -> None:
    world.invoke("image_created", scene.create_image_event(region, image_id, f"enc-{image_id}"))
    settle(world)


@pytest.mark.parametrize(("region", "disk", "reason"), [
    (scene.SOURCE, {"encrypted": True},
     "image m-enc1 is encrypted with a key that cannot be shared (the ECS service key, disk snapshot s-m-enc1): "
     "copy it with a KMS key of this account (a same-region encrypted copy) and share that copy with account "
     f"{PARTNER}"),
    (SG, {"encrypted": True},
     "image m-enc1 is encrypted with a key that cannot be shared (the ECS service key, disk snapshot s-m-enc1)"),
    (scene.SOURCE, {"kms_key_id": "key-home-cmk"},
     "image m-enc1 is encrypted, and ECS shares encrypted images only in cn-beijing, cn-shanghai, cn-hongkong, "
     "ap-southeast-1, ap-southeast-5: cn-hangzhou is not one of them"),
], ids=["service-key", "service-key-in-sharing-region", "cmk-outside-sharing-regions"])
def test_an_image_ecs_would_not_share_fails_up_front_with_the_reason(world: Any, region: str, disk: dict[str, Any],
                                                                     reason: str) -> None:
    seed_partner(world)
    world.set_policy(target_policy(region))
    seed_image(world, region, "m-enc1", disk)
    deliver(world, region, "m-enc1")
    ledger = world.ledger()
    (share,) = ledger.scan("xshare/")
    assert share.state.value == "FAILED" and share.reason is not None and share.reason.startswith(reason)
    assert {(r.state.value, r.reason) for r in ledger.scan("xcopy/")} == {("FAILED", share.reason)}
    assert world.calls("ModifyImageSharePermission") == []  # refused before trying: nothing to undo
    assert [c for c in world.calls("CopyImage") if c["account"] == PARTNER] == []
    # and the emulator, like ECS, would have refused it
    with pytest.raises(Exception) as info:
        world.ecs().share_image(region, "m-enc1", add=[PARTNER])
    code = "OperationDenied.EncryptedByServiceKey" if "service key" in reason else \
        "OperationDenied.EncryptedImageShareRegion"
    assert getattr(info.value, "code", None) == code


def test_a_cmk_encrypted_image_in_a_sharing_region_is_delivered_and_unshared(world: Any) -> None:
    seed_partner(world)
    world.set_policy(target_policy(SG))
    seed_image(world, SG, "m-enc2", {"kms_key_id": "key-home-cmk"})
    deliver(world, SG, "m-enc2")
    ledger = world.ledger()
    assert {r.key.rsplit("/", 1)[1]: r.state.value for r in ledger.scan("xcopy/")} == {
        SG: "DONE", "cn-beijing": "DONE"}
    assert [r.state.value for r in ledger.scan("xshare/")] == ["DONE"]
    assert len([c for c in world.calls("DescribeSnapshots", 200) if c["account"] != PARTNER]) == 1
    assert world.ecs().image_share_accounts(SG, "m-enc2") == []
    partner = partner_ecs(world)
    for record in ledger.scan("xcopy/"):
        region = record.key.rsplit("/", 1)[1]
        assert [i.image_id for i in partner.list_images(region)] == [record.cloud_id]


def test_an_image_above_copy_image_s_limit_fails_up_front_in_copy_mode(world: Any) -> None:
    """A partner copies a shared image only with CopyImage, which stops at 2048 GiB (alibaba-api.md §1.1)."""
    seed_partner(world)
    world.set_policy(target_policy(scene.SOURCE))
    world.emu.control.seed({"images": [{"region": scene.SOURCE, "image_id": "m-big1", "name": "enc-big",
                                        "size_gib": 2100}]})
    world.invoke("image_created", scene.create_image_event(scene.SOURCE, "m-big1", "enc-big"))
    settle(world, max_ticks=80)
    (share,) = world.ledger().scan("xshare/")
    assert share.state.value == "FAILED"
    assert share.reason == (f"image m-big1 is 2100 GiB: CopyImage copies at most 2048 GiB, and account {PARTNER} "
                            "can copy a shared image only with CopyImage; deliver it with mode: share instead")
    assert world.calls("ModifyImageSharePermission") == []
