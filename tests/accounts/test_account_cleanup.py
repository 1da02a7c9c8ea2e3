"""Cleanup and retention across accounts (issue #13), through the handlers against the multi-account emulator:
- an image shared with a partner is never deleted while the partner's copy that reads it runs (the ledger's
  account hops protect it, before ECS's own share check would);
- the partner's images are never touched by the source account's cleanup (no partner cleanup rule exists: the
  partner cleans its own side), however old and however many;
- the blast-radius limit counts the source account's images only: the partner's copies neither fill
  `max_deletions` nor dilute `max_share`.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from scripts import sample_world as scene
from tests.accounts.test_account_flow import PARTNER, partner_ecs, seed_partner, settle

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
HZ = scene.SOURCE
SCRATCH = "m-bp1scratchx001"


@pytest.fixture(autouse=True)
def _real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.wiring.utcnow", lambda: NOW)


def policy(max_deletions: int = 20, max_share: float = 1.0) -> str:
    return f"""\
copy_rules:
  - name: partners
    source_regions: [{HZ}]
    match: {{name_regex: "^TemplateScratch-"}}
    target_regions: [cn-beijing]
    accounts:
      - account_id: "{PARTNER}"
        role_arn: "acs:ram::{PARTNER}:role/relay-partner"
        target_regions: [cn-beijing, ap-southeast-1]
        kms_keys: {{ap-southeast-1: key-p-sg}}
cleanup:
  template_scratch: {{min_age_hours: 24}}
  retention: {{keep_newest: 1, grace_days: 0}}
  max_deletions: {max_deletions}
  max_share: {max_share}
  share_floor: 0
"""


def old_scratch(image_id: str) -> dict[str, Any]:
    return {"region": HZ, "image_id": image_id, "name": f"TemplateScratch-{image_id}", "size_gib": 400,
            "creation_time": (NOW - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def cleanup(world: Any) -> dict[str, Any]:
    request = {"action": "cleanup", "now": NOW.isoformat(), "dry_run": False}
    return world.invoke("cleanup", json.dumps(request).encode())


def start(world: Any, *images: str, max_deletions: int = 20, max_share: float = 1.0) -> None:
    seed_partner(world)
    world.set_policy(policy(max_deletions, max_share))
    world.emu.control.seed({"images": [old_scratch(i) for i in images]})
    for image_id in images:
        world.invoke("image_created", scene.create_image_event(HZ, image_id, f"TemplateScratch-{image_id}"))


def test_a_shared_image_is_kept_while_the_partner_copy_reading_it_runs(world: Any) -> None:
    start(world, SCRATCH)
    for _ in range(10):  # until the partner's first copy runs
        world.tick()
        first = world.ledger().get(f"xcopy/{HZ}/{SCRATCH}/{PARTNER}/{HZ}")
        if first is not None and first.state.value == "STARTED" and first.cloud_id:
            break
    assert world.ecs().image_share_accounts(HZ, SCRATCH) == [PARTNER]
    report = cleanup(world)
    (kept,) = [d for d in report["decisions"] if d["image_id"] == SCRATCH]
    assert kept["action"] == "keep"
    assert kept["reason"].startswith("being copied: in-flight copy record x"), kept
    assert [c for c in world.calls("DeleteImage") if c["params"]["ImageId"] == SCRATCH] == []
    settle(world, max_ticks=60)
    assert world.ecs().image_share_accounts(HZ, SCRATCH) == []
    # delivered and unshared, the old leftover is an ordinary scratch image again: the next run removes it
    world.tick()
    for _ in range(30):
        if not any(r.is_active for r in world.ledger().scan("copy/")):
            break
        world.emu.control.advance(60)
        world.tick()
    report = cleanup(world)
    assert [d["action"] for d in report["decisions"] if d["image_id"] == SCRATCH] == ["delete"]


def test_the_partner_s_images_are_never_cleaned_and_do_not_count_in_the_blast_radius(world: Any) -> None:
    images = [f"m-bp1scratchp{n:03d}" for n in range(3)]
    start(world, *images, max_deletions=3, max_share=0.5)
    settle(world, max_ticks=80)
    partner = partner_ecs(world)
    mine = {r: {i.image_id for i in partner.list_images(r)} for r in (HZ, "cn-beijing", "ap-southeast-1")}
    assert all(len(ids) == 3 for ids in mine.values())  # nine partner copies, each tagged image-relay:managed
    for _ in range(30):  # the home copies finish too
        if not any(r.is_active for r in world.ledger().scan("copy/")):
            break
        world.emu.control.advance(60)
        world.tick()
    report = cleanup(world)
    assert report["status"] == "ok", report
    partner_ids = set().union(*mine.values())
    assert not [d for d in report["decisions"] if d["image_id"] in partner_ids]
    assert [c for c in world.calls("DeleteImage") if c["account"] == PARTNER] == []
    assert {r: {i.image_id for i in partner.list_images(r)} for r in mine} == mine
    # the three old scratch sources went (3 of the source account's candidates, within max_deletions 3): the
    # partner's nine copies neither filled the limit nor diluted max_share
    deleted = {c["params"]["ImageId"] for c in world.calls("DeleteImage", 200)}
    assert set(images) <= deleted
