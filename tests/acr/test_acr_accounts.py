"""ACR cross-account sync end to end (issue #13): acr_push and reconcile → the real CR SDK (proxy mode) → the
multi-account emulator. One sync task per (account, instance, region, repository, tag), whatever the event
delivery, a lost answer or the partner's refusal does."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from scripts import sample_world as scene
from shared.config import Credentials

SRC, HOME, PARTNER, CLOSED = scene.ACR_SOURCE, scene.ACCOUNT_ID, "2222222222222222", "3333333333333333"
P_SH, P_BJ, C_SH = "cri-partner01", "cri-partner02", "cri-closed01"

POLICY = f"""\
acr_rules:
  - name: web
    source: {{instance_id: {SRC}, region: cn-hangzhou}}
    namespaces: [web]
    repositories: [frontend]
    tags: {{include: '^v\\d+\\.\\d+\\.\\d+'}}
    targets: [{{instance_id: cri-bjtgt01, region: cn-beijing}}]
    accounts:
      - account_id: "{PARTNER}"
        targets:
          - {{instance_id: {P_SH}, region: cn-shanghai}}
          - {{instance_id: {P_BJ}, region: cn-beijing, namespace: mirror}}
"""


def _seed() -> dict:
    """The demo's ACR scene plus a partner whose role trusts HOME (two instances) and an account that trusts
    nobody (one instance)."""
    seed = scene.acr_seed()
    seed["regions"] = [scene.SOURCE, *scene.TARGETS, "cn-shanghai"]
    seed["accounts"] = [
        {"account_id": PARTNER, "access_key_id": "p-ak", "access_key_secret": "p-secret",
         "roles": [{"name": "relay-acr", "trusted_accounts": [HOME]}]},
        {"account_id": CLOSED, "access_key_id": "c-ak", "access_key_secret": "c-secret", "roles": []},
    ]
    seed["acr_instances"] += [
        {"region": "cn-shanghai", "instance_id": P_SH, "account_id": PARTNER, "specification": "Enterprise_Basic"},
        {"region": "cn-beijing", "instance_id": P_BJ, "account_id": PARTNER},
        {"region": "cn-shanghai", "instance_id": C_SH, "account_id": CLOSED},
    ]
    seed["acr_namespaces"] += [{"instance_id": P_SH, "name": "web"}, {"instance_id": P_BJ, "name": "mirror"},
                               {"instance_id": C_SH, "name": "web"}]
    return seed


@pytest.fixture
def xworld(world):
    world.set_policy(POLICY)
    world.emu.control.seed(_seed())
    return world


def push(world, tag: str) -> bytes:
    event = world.emu.control.acr_push({"instance_id": SRC, "namespace": "web", "repo": "frontend", "tag": tag,
                                        "digest": "sha256:" + "c" * 64})
    return json.dumps(event).encode()


def cr(world, ak: str = "test-ak", secret: str = "test-secret"):
    from shared.clouds.acr import AcrGateway

    return AcrGateway.connect(Credentials(access_key_id=ak, access_key_secret=secret), endpoint=world.emu.url)


def created(world) -> list[tuple[str | None, str]]:
    """(TargetUserId, TargetInstanceId) of every CreateRepoSyncTask the service accepted."""
    return sorted(((c["params"].get("TargetUserId"), c["params"]["TargetInstanceId"])
                   for c in world.calls("CreateRepoSyncTask") if c["status"] == 200 and c["code"] in (None, "success")),
                  key=_order)


def _order(row: tuple) -> tuple:
    """Sort key for rows holding None (this account) beside account ids."""
    return tuple("" if value is None else value for value in row)


def settle(world, at: dt.datetime | None = None) -> None:
    for _ in range(10):
        world.emu.control.advance(120)
        summary = world.invoke("reconcile", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else None))
        if not {"PENDING", "STARTED"} & set(summary.get("acr", {}).get("records", {})):
            return


def partner_tags(world, instance: str, region: str, namespace: str) -> dict[str, str]:
    partner = cr(world, "p-ak", "p-secret")
    repo = partner.get_repository(region, instance, namespace, "frontend")
    return {t.tag: t.digest for t in partner.iter_tags(region, instance, repo.repo_id)}


EXPECTED = [(None, "cri-bjtgt01"), (PARTNER, P_SH), (PARTNER, P_BJ)]


def test_one_sync_task_per_target_from_a_duplicated_event(xworld):
    event = push(xworld, "v3.0.0")
    first = xworld.invoke("acr_push", event)
    assert xworld.invoke("acr_push", event)["status"] == "duplicate"
    redelivered = json.loads(event)
    redelivered["id"] = "another-delivery-of-the-same-push"
    again = xworld.invoke("acr_push", json.dumps(redelivered).encode())
    assert first["status"] == again["status"] == "accepted"
    assert sorted(((t["target_account"], t["target_instance"], t["state"]) for t in first["targets"]),
                  key=_order) == sorted(((a, i, "STARTED") for a, i in EXPECTED), key=_order)
    assert created(xworld) == sorted(EXPECTED, key=_order)
    keys = sorted(r.key for r in xworld.ledger().scan("acr/"))
    assert keys == [f"acr/{SRC}/web/frontend:v3.0.0/{PARTNER}/{P_SH}", f"acr/{SRC}/web/frontend:v3.0.0/{PARTNER}/{P_BJ}",
                    f"acr/{SRC}/web/frontend:v3.0.0/cri-bjtgt01"]
    settle(xworld)
    assert {r.state.value for r in xworld.ledger().scan("acr/")} == {"DONE"}
    assert partner_tags(xworld, P_SH, "cn-shanghai", "web") == {"v3.0.0": "sha256:" + "c" * 64}
    assert partner_tags(xworld, P_BJ, "cn-beijing", "mirror") == {"v3.0.0": "sha256:" + "c" * 64}
    listed = cr(xworld).iter_sync_tasks("cn-hangzhou", SRC, namespace="web", repository="frontend", tag="v3.0.0")
    assert sorted((t.target.instance_id, t.cross_user) for t in listed) == [
        ("cri-bjtgt01", False), (P_SH, True), (P_BJ, True)]
    assert created(xworld) == sorted(EXPECTED, key=_order)  # reconcile made none


def test_status_shows_the_account_of_a_target(xworld):
    from scripts.status import acr_rows

    xworld.invoke("acr_push", push(xworld, "v3.5.0"))
    rows = acr_rows(xworld.ledger(), dt.datetime.now(dt.timezone.utc))
    assert sorted((r["account"] or "", r["target"], r["region"]) for r in rows) == [
        ("", "cri-bjtgt01/web/frontend", "cn-beijing"),
        (PARTNER, f"{PARTNER}:{P_SH}/web/frontend", "cn-shanghai"),
        (PARTNER, f"{PARTNER}:{P_BJ}/mirror/frontend", "cn-beijing")]


def test_a_lost_create_answer_still_gives_one_task_per_target(xworld):
    xworld.emu.control.set_faults(lost_response_rate=1.0, actions=["CreateRepoSyncTask"], seed=4)
    result = xworld.invoke("acr_push", push(xworld, "v3.1.0"))
    assert {t["state"] for t in result["targets"]} == {"PENDING"}  # each call acted, its answer was lost
    xworld.emu.control.set_faults()
    settle(xworld, at=dt.datetime.now(dt.timezone.utc))
    assert {r.state.value for r in xworld.ledger().scan("acr/")} == {"DONE"}
    assert len(xworld.calls("CreateRepoSyncTask")) == 3  # never re-created: the listing adopted each task
    listed = cr(xworld).iter_sync_tasks("cn-hangzhou", SRC, namespace="web", repository="frontend", tag="v3.1.0")
    assert sorted((t.target.instance_id, t.cross_user) for t in listed) == [
        ("cri-bjtgt01", False), (P_SH, True), (P_BJ, True)]


def test_a_partner_that_has_not_authorised_ends_failed_with_the_reason(xworld):
    xworld.set_policy(POLICY.replace(PARTNER, CLOSED).replace(P_SH, C_SH))
    result = xworld.invoke("acr_push", push(xworld, "v3.2.0"))
    by_instance = {t["target_instance"]: t for t in result["targets"]}
    assert by_instance["cri-bjtgt01"]["state"] == "STARTED"
    for instance in (C_SH, P_BJ):
        assert by_instance[instance]["state"] == "FAILED"
        assert by_instance[instance]["reason"].startswith(f"account {CLOSED} has not authorised account {HOME}")
    refused = [c for c in xworld.calls("CreateRepoSyncTask") if c["params"].get("TargetUserId") == CLOSED]
    assert sorted((c["status"], c["code"]) for c in refused) == [(403, "NoPrivilege")] * 2
    assert created(xworld) == [(None, "cri-bjtgt01")]


def test_an_instance_the_partner_does_not_have_ends_failed_with_the_reason(xworld):
    xworld.set_policy(POLICY.replace(f"{P_SH}, region: cn-shanghai", f"{P_SH}, region: cn-beijing"))
    result = xworld.invoke("acr_push", push(xworld, "v3.3.0"))
    failed = next(t for t in result["targets"] if t["target_instance"] == P_SH)
    assert failed["state"] == "FAILED"
    assert failed["reason"].startswith(f"account {PARTNER} has no instance {P_SH} in region cn-beijing")
    assert created(xworld) == [(None, "cri-bjtgt01"), (PARTNER, P_BJ)]


def test_the_source_account_as_a_target_fails_before_any_call(xworld):
    xworld.set_policy(POLICY.replace(PARTNER, HOME))
    result = xworld.invoke("acr_push", push(xworld, "v3.4.0"))
    own = [t for t in result["targets"] if t["target_account"] == HOME]
    assert len(own) == 2 and {t["state"] for t in own} == {"FAILED"}
    assert all(t["reason"].startswith(f"account {HOME} is the source account itself") for t in own)
    assert created(xworld) == [(None, "cri-bjtgt01")]


def test_backfill_plans_and_starts_account_targets_once(xworld):
    plan = xworld.invoke("acr_push", json.dumps({"action": "backfill", "rule": "web", "dry_run": True}).encode())
    assert plan["to_replicate"] == 9  # 3 old tags x (1 own + 2 partner instances)
    assert sum(1 for p in plan["plan"] if f"/{PARTNER}/" in p["key"]) == 6
    first = xworld.invoke("acr_push", json.dumps({"action": "backfill", "rule": "web"}).encode())
    again = xworld.invoke("acr_push", json.dumps({"action": "backfill", "rule": "web"}).encode())
    assert (first["started_now"], again["already_recorded"], again["to_replicate"]) == (9, 9, 0)
    assert len(created(xworld)) == 9
