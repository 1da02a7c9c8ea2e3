"""A lost ledger healed from the partner's side (issue #13): the partner's copies carry provenance tags (the
hop's ledger key, the source image and account), so after the ledger is wiped a redelivered event finds them
and adopts them, instead of sharing and copying a second time."""
from __future__ import annotations

from typing import Any

import pytest

from scripts import sample_world as scene
from tests.accounts.test_account_flow import PARTNER, WEB, partner_ecs, policy, seed_partner, settle


def partner_copies(world: Any) -> list[dict[str, Any]]:
    return [c for c in world.calls("CopyImage", 200) if c["account"] == PARTNER]


def adds(world: Any) -> list[dict[str, Any]]:
    return [c for c in world.calls("ModifyImageSharePermission", 200) if "AddAccount.1" in c["params"]]


def wipe_ledger(world: Any) -> None:
    """The ledger is lost: the functions start over on an empty one."""
    from shared.config import reset_settings
    from shared.wiring import reset_wiring

    world.state_url = f"sqlite:///{world.tmp / 'ledger-after-loss.db'}"
    world.monkeypatch.setenv("IMAGE_RELAY_STATE", world.state_url)
    reset_settings()
    reset_wiring()


@pytest.mark.parametrize("when", ["after-delivery", "mid-flight"])
def test_a_wiped_ledger_re_adopts_the_partner_copies_instead_of_copying_twice(world: Any, when: str) -> None:
    seed_partner(world)
    world.set_policy(policy())
    world.invoke("image_created", world.event(WEB, name="app-web-2026-11", event_id="evt-heal-1"))
    if when == "after-delivery":
        settle(world)
    else:  # the partner's onward copies are running when the ledger is lost
        for _ in range(20):
            world.tick()
            if len(partner_copies(world)) == 3:
                break
            world.emu.control.advance(60)
        assert len(partner_copies(world)) == 3
        assert {i.status for r in ("cn-beijing", "ap-southeast-1") for i in partner_ecs(world).list_images(r)} \
            <= {"Creating", "Waiting"}
    before = {r.key: r.cloud_id for r in world.ledger().scan("xcopy/")}
    made, shared = len(partner_copies(world)), len(adds(world))

    wipe_ledger(world)
    assert list(world.ledger().scan("xcopy/")) == []
    world.invoke("image_created", world.event(WEB, name="app-web-2026-11", event_id="evt-heal-2"))
    settle(world)

    ledger = world.ledger()
    after = {r.key: r.cloud_id for r in ledger.scan("xcopy/")}
    assert after == before  # the same partner images, found by their tags
    assert {r.state.value for r in ledger.scan("xcopy/")} == {"DONE"}
    assert len(partner_copies(world)) == made  # no second CopyImage in the partner account
    assert len(adds(world)) == shared  # no second share: the partner holds its first copy already
    assert world.ecs().image_share_accounts(scene.SOURCE, WEB) == []
    partner = partner_ecs(world)
    for key, image_id in after.items():
        assert [i.image_id for i in partner.list_images(key.rsplit("/", 1)[1])] == [image_id]
