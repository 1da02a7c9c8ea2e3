"""Account targets in the ops CLI (issue #13): `status` shows every hop per account and region with the reason
a person can act on; `cancel` and `retry` work per account target (`--account`); bad account input exits 2
naming the field, with no side effect. Typer's runner, the official SDKs, the multi-account emulator."""
from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from scripts import sample_world as scene
from scripts.cli import app
from tests.accounts.test_account_flow import PARTNER, WEB, partner_ecs, policy, seed_partner, settle

runner = CliRunner()
SRC = scene.SOURCE


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def status_rows(*args: str) -> tuple[int, list[dict[str, Any]]]:
    done = cli("status", "--json", *args)
    return done.exit_code, json.loads(done.stdout)["accounts"]


def reseed_partner(world: Any, role: str, kms_key: str) -> None:
    """The partner fixes its side: ``role`` trusts us, ``kms_key`` exists in Singapore."""
    world.emu.control.seed({"accounts": [{
        "account_id": PARTNER, "access_key_id": "p-ak", "access_key_secret": "p-secret",
        "roles": [{"name": role, "trusted_accounts": [scene.ACCOUNT_ID]}],
        "kms_keys": [{"region": "ap-southeast-1", "key_id": kms_key}]}]})


def start(world: Any, role: str = "relay-partner", kms: str = "key-p-sg") -> None:
    seed_partner(world)
    world.set_policy(policy(role).replace("key-p-sg", kms))
    world.invoke("image_created", world.event(WEB, name="app-web-2026-11", event_id="evt-cli-1"))


def test_status_shows_every_hop_per_account_and_region(world: Any) -> None:
    start(world)
    code, rows = status_rows()
    assert code == 0
    assert {(r["hop"], r["account_id"], r["region"], r["state"]) for r in rows} == {
        ("share", PARTNER, SRC, "queued"), ("copy", PARTNER, SRC, "queued"),
        ("copy", PARTNER, "cn-beijing", "queued"), ("copy", PARTNER, "ap-southeast-1", "queued")}
    settle(world)
    code, rows = status_rows()
    by = {(r["hop"], r["region"]): r for r in rows}
    assert by[("share", SRC)]["detail"] == "unshared" and by[("share", SRC)]["state"] == "done"
    assert by[("copy", "cn-beijing")]["partner_image_id"] == next(
        r.cloud_id for r in world.ledger().scan("xcopy/") if r.key.endswith("/cn-beijing"))
    table = cli("status")
    assert table.exit_code == 0 and "account targets" in table.stdout and PARTNER in table.stdout


def test_a_failure_in_status_names_the_missing_partner_key_and_the_retry_command(world: Any) -> None:
    start(world, kms="key-p-absent")
    settle(world)
    code, rows = status_rows("--failed")
    assert code == 5
    (row,) = rows
    assert (row["hop"], row["region"]) == ("copy", "ap-southeast-1")
    assert row["reason"] == f"partner account {PARTNER} lacks KMS key key-p-absent in region ap-southeast-1"
    assert row["retry_command"] == f"image-relay retry {SRC} {WEB} --account {PARTNER}"
    text = cli("status", "--failed")
    assert "lacks KMS key key-p-absent in region ap-southeast-1" in text.stdout


def test_retry_per_account_re_opens_the_failed_hop_and_reconcile_delivers_it(world: Any) -> None:
    start(world, kms="key-p-late")
    settle(world)
    reseed_partner(world, "relay-partner", "key-p-late")
    done = cli("retry", SRC, WEB, "--account", PARTNER, "--json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer["status"] == "requeued"
    assert [(t["hop"], t["region"]) for t in answer["targets"]] == [("copy", "ap-southeast-1")]
    settle(world)
    assert {r.state.value for r in world.ledger().scan("xcopy/")} == {"DONE"}
    adds = [c for c in world.calls("ModifyImageSharePermission", 200) if "AddAccount.1" in c["params"]]
    assert len(adds) == 1  # an onward copy is made from the partner's own copy: no second share
    assert world.ecs().image_share_accounts(SRC, WEB) == []


def test_retry_of_a_failed_share_re_opens_the_target_and_shares_again(world: Any) -> None:
    start(world, role="closed")
    settle(world)
    reseed_partner(world, "closed", "key-p-sg")
    done = cli("retry", SRC, WEB, "--account", PARTNER, "--json")
    assert done.exit_code == 0, done.output
    assert len(json.loads(done.stdout)["targets"]) == 4
    settle(world)
    ledger = world.ledger()
    assert [r.state.value for r in ledger.scan("xshare/")] == ["DONE"]
    assert {r.state.value for r in ledger.scan("xcopy/")} == {"DONE"}
    assert world.ecs().image_share_accounts(SRC, WEB) == []


def test_cancel_per_account_cancels_the_partner_copies_and_removes_the_share(world: Any) -> None:
    start(world)
    for _ in range(10):  # until the partner's first copy runs
        world.tick()
        if any(r.state.value == "STARTED" and r.cloud_id for r in world.ledger().scan("xcopy/")):
            break
    assert world.ecs().image_share_accounts(SRC, WEB) == [PARTNER]
    done = cli("cancel", SRC, WEB, "--account", PARTNER, "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "cancelled"
    ledger = world.ledger()
    assert {r.state.value for r in ledger.scan("xcopy/")} == {"CANCELLED"}
    assert [r.state.value for r in ledger.scan("xshare/")] == ["CANCELLED"]
    assert world.ecs().image_share_accounts(SRC, WEB) == []
    assert [c["account"] for c in world.calls("CancelCopyImage", 200)] == [PARTNER]
    assert [i.status for i in partner_ecs(world).list_images(SRC)] == []  # the partner's copy is gone
    settle(world)  # nothing left to do
    assert world.ecs().image_share_accounts(SRC, WEB) == []


@pytest.mark.parametrize(("args", "field"), [
    (("retry", SRC, WEB, "--account", "22222"), "--account"),
    (("cancel", SRC, WEB, "--account", "2222222222222222x"), "--account"),
    (("retry", SRC, WEB, "--account", "3333333333333333"), "--account"),
    (("cancel", SRC, WEB, "--account", PARTNER, "--target-region", "cn-shanghai"), "--target-region"),
    (("retry", SRC, "m-bp1demodb00003", "--account", PARTNER), "image_id"),
])
def test_bad_account_input_exits_2_naming_the_field_with_no_side_effect(world: Any, args: tuple[str, ...],
                                                                       field: str) -> None:
    start(world)
    before = [(r.key, r.version) for p in ("xshare/", "xcopy/") for r in world.ledger().scan(p)]
    calls = len(world.calls())
    done = cli(*args)
    assert done.exit_code == 2, done.output
    assert json.loads(done.stderr)["field"] == field
    assert [(r.key, r.version) for p in ("xshare/", "xcopy/") for r in world.ledger().scan(p)] == before
    assert len(world.calls()) == calls


def test_a_bad_account_id_in_a_request_is_refused_naming_the_field(world: Any) -> None:
    from shared.errors import EventValidationError

    start(world)
    request = json.dumps({"action": "cancel_copy", "region": SRC, "image_id": WEB, "account_id": "12"}).encode()
    with pytest.raises(EventValidationError) as info:
        world.invoke("image_created", request)
    assert info.value.field == "account_id"
