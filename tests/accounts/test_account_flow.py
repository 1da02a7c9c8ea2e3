"""Cross-account distribution end to end (issue #13): the handlers, the official ECS and STS SDKs, the
multi-account emulator. One duplicated CreateImage event ends with the partner's own copy in the source region
and in two partner regions, exactly one share and one unshare; a role that cannot be assumed ends FAILED with
that reason and no share ever made."""
from __future__ import annotations

from typing import Any

from scripts import sample_world as scene
from shared.clouds.sts import AccountSessions, StsGateway
from shared.config import Credentials

WEB = "m-bp1demoweb0001"
PARTNER = "2222222222222222"
HOME = scene.ACCOUNT_ID


def policy(role: str = "relay-partner") -> str:
    return scene.POLICY_YAML + f"""\
    accounts:
      - account_id: "{PARTNER}"
        role_arn: "acs:ram::{PARTNER}:role/{role}"
        target_regions: [cn-beijing, ap-southeast-1]
        kms_keys: {{ap-southeast-1: key-p-sg}}
"""


def seed_partner(world: Any) -> None:
    world.emu.control.seed({"accounts": [{
        "account_id": PARTNER, "access_key_id": "p-ak", "access_key_secret": "p-secret",
        "roles": [{"name": "relay-partner", "trusted_accounts": [HOME]}, {"name": "closed", "trusted_accounts": []}],
        "kms_keys": [{"region": "ap-southeast-1", "key_id": "key-p-sg"}]}]})


def settle(world: Any, max_ticks: int = 30) -> dict[str, Any]:
    for _ in range(max_ticks):
        result = world.tick()
        records = [r for p in ("xshare/", "xcopy/") for r in world.ledger().scan(p)]
        if records and not any(r.is_active for r in records):
            return result
        world.emu.control.advance(60)
    raise AssertionError(f"account hops not settled: {[(r.key, r.state) for r in records]}")


def share_calls(world: Any, param: str) -> list[dict[str, Any]]:
    return [c for c in world.calls("ModifyImageSharePermission", 200) if any(k.startswith(param) for k in c["params"])]


def partner_ecs(world: Any) -> Any:
    sts = StsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                             endpoint=world.emu.url)
    return AccountSessions(sts, endpoint=world.emu.url).ecs(f"acs:ram::{PARTNER}:role/relay-partner")


def test_duplicated_event_gives_partner_copies_and_one_share_unshare_pair(world: Any) -> None:
    seed_partner(world)
    world.set_policy(policy())
    event = world.event(WEB, name="app-web-2026-11", event_id="evt-partner-1")
    first = world.invoke("image_created", event)
    again = world.invoke("image_created", event)
    assert first["status"] == "accepted" and again["status"] == "duplicate"
    assert {(a["hop"], a["region"]) for a in first["accounts"]} == {
        ("share", None), ("copy", scene.SOURCE), ("copy", "cn-beijing"), ("copy", "ap-southeast-1")}
    assert all(a["account_id"] == PARTNER for a in first["accounts"])
    settle(world)
    ledger = world.ledger()
    assert {r.key: r.state.value for r in ledger.scan("xshare/")} == {
        f"xshare/{scene.SOURCE}/{WEB}/{PARTNER}": "DONE"}
    copies = {r.key.rsplit("/", 1)[1]: r for r in ledger.scan("xcopy/")}
    assert {k: r.state.value for k, r in copies.items()} == {
        scene.SOURCE: "DONE", "cn-beijing": "DONE", "ap-southeast-1": "DONE"}
    # exactly one share and one unshare, and nothing left shared
    assert len(share_calls(world, "AddAccount")) == 1 and len(share_calls(world, "RemoveAccount")) == 1
    assert world.ecs().image_share_accounts(scene.SOURCE, WEB) == []
    # the partner owns one Available copy per region, born with provenance tags; none is in this account
    partner = partner_ecs(world)
    for region, record in copies.items():
        own = [i for i in partner.list_images(region) if i.tags.get("image-relay:key") == record.key]
        assert [(i.image_id, i.status) for i in own] == [(record.cloud_id, "Available")]
        assert own[0].tags["image-relay:source-image"] == WEB
        assert own[0].tags["image-relay:source-account"] == HOME
        assert world.ecs().get_image(region, record.cloud_id) is None
    copy_accounts = [c["account"] for c in world.calls("CopyImage", 200) if c["params"]["ImageId"] != WEB
                     or c["params"].get("DestinationRegionId") == scene.SOURCE]
    assert set(copy_accounts) == {PARTNER} and len(copy_accounts) == 3
    # the partner's onward copies are made from its own first copy, the Singapore one with its KMS key
    onward = [c for c in world.calls("CopyImage", 200) if c["account"] == PARTNER
              and c["params"]["DestinationRegionId"] != scene.SOURCE]
    assert {c["params"]["ImageId"] for c in onward} == {copies[scene.SOURCE].cloud_id}
    assert {c["params"]["DestinationRegionId"]: c["params"].get("KMSKeyId") for c in onward} == {
        "cn-beijing": None, "ap-southeast-1": "key-p-sg"}
    # the account's own cross-region copies still happened, once each
    assert {r.state.value for r in ledger.scan(f"copy/{scene.SOURCE}/{WEB}/")} == {"DONE"}


def test_a_role_that_cannot_be_assumed_fails_with_that_reason_and_shares_nothing(world: Any) -> None:
    seed_partner(world)
    world.set_policy(policy(role="closed"))
    world.invoke("image_created", world.event(WEB, name="app-web-2026-11", event_id="evt-partner-2"))
    settle(world)
    ledger = world.ledger()
    (share,) = ledger.scan("xshare/")
    assert share.state.value == "FAILED"
    assert share.reason is not None and share.reason.startswith(
        f"role acs:ram::{PARTNER}:role/closed cannot be assumed (NoPermission)")
    assert {r.state.value for r in ledger.scan("xcopy/")} == {"FAILED"}
    assert all(r.reason == share.reason for r in ledger.scan("xcopy/"))
    assert world.calls("ModifyImageSharePermission") == []
    assert world.ecs().image_share_accounts(scene.SOURCE, WEB) == []
    assert [c for c in world.calls("CopyImage") if c["account"] == PARTNER] == []


def test_lost_answers_on_every_hop_still_give_one_copy_per_region_and_no_share_left(world: Any) -> None:
    seed_partner(world)
    world.set_policy(policy())
    world.emu.control.set_faults(lost_response_rate=0.5, seed=7,
                                 actions=["CopyImage", "ModifyImageSharePermission", "AssumeRole"])
    event = world.event(WEB, name="app-web-2026-11", event_id="evt-partner-3")
    for _ in range(2):
        try:
            world.invoke("image_created", event)
        except Exception:  # noqa: BLE001 - a lost answer may fail the home copy's first call; the tick resumes
            pass
    settle(world, max_ticks=60)
    world.emu.control.set_faults()
    lost = {(c["action"], c["account"]) for c in world.calls() if c["status"] == 503}
    assert {("CopyImage", PARTNER), ("ModifyImageSharePermission", HOME)} <= lost, lost
    partner = partner_ecs(world)
    for record in world.ledger().scan("xcopy/"):
        region = record.key.rsplit("/", 1)[1]
        assert record.state.value == "DONE", (record.key, record.reason)
        own = [i.image_id for i in partner.list_images(region) if i.tags.get("image-relay:key") == record.key]
        assert own == [record.cloud_id]
    assert world.ecs().image_share_accounts(scene.SOURCE, WEB) == []
