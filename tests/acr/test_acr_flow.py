"""ACR replication end to end: acr_push and reconcile → the real CR SDK (proxy mode) → the emulator."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from scripts import sample_world as scene
from shared.config import Credentials

SRC = scene.ACR_SOURCE


@pytest.fixture
def aworld(world):
    world.set_policy(scene.ACR_POLICY_YAML)
    world.emu.control.seed(scene.acr_seed())
    return world


def push(world, tag: str, digest: str | None = None) -> bytes:
    """Push through the emulator's control plane; returns the CloudEvent it publishes."""
    event = world.emu.control.acr_push({"instance_id": SRC, "namespace": "web", "repo": "frontend", "tag": tag,
                                        "digest": digest or f"sha256:{abs(hash(tag)):064x}"[:71]})
    return json.dumps(event).encode()


def creates(world) -> list[dict]:
    return [c for c in world.calls("CreateRepoSyncTask") if c["status"] == 200 and c["code"] in (None, "success")]


def cr(world):
    from shared.clouds.acr import AcrGateway

    return AcrGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                              endpoint=world.emu.url)


def settle(world, ticks: int = 10, at: dt.datetime | None = None) -> dict:
    summary: dict = {}
    for _ in range(ticks):
        world.emu.control.advance(120)
        event = scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ")) if at else scene.timer_event()
        summary = world.invoke("reconcile", event)
        acr = summary.get("acr", {}).get("records", {})
        if acr and not {"PENDING", "STARTED"} & set(acr):
            return summary
    return summary


def target_tags(world, instance: str, region: str, namespace: str) -> dict[str, str]:
    gateway = cr(world)
    repo = gateway.get_repository(region, instance, namespace, "frontend")
    return {t.tag: t.digest for t in gateway.iter_tags(region, instance, repo.repo_id)}


def test_a_push_is_replicated_to_every_target(aworld):
    event = push(aworld, "v2.0.0", "sha256:" + "ab" * 32)
    result = aworld.invoke("acr_push", event)
    assert result["status"] == "accepted" and result["digest"] == "sha256:" + "ab" * 32
    assert {t["target_instance"]: t["state"] for t in result["targets"]} == {
        "cri-bjtgt01": "STARTED", "cri-sgtgt01": "STARTED"}
    assert {t["target"] for t in result["targets"]} == {"web/frontend:v2.0.0", "mirror/frontend:v2.0.0"}
    assert len(creates(aworld)) == 2
    settle(aworld)
    assert {r.state.value for r in aworld.ledger().scan("acr/")} == {"DONE"}
    assert target_tags(aworld, "cri-bjtgt01", "cn-beijing", "web")["v2.0.0"] == "sha256:" + "ab" * 32
    assert target_tags(aworld, "cri-sgtgt01", "ap-southeast-1", "mirror")["v2.0.0"] == "sha256:" + "ab" * 32


def test_duplicate_push_events_give_one_task_per_target(aworld):
    event = push(aworld, "v2.1.0")
    assert aworld.invoke("acr_push", event)["status"] == "accepted"
    assert aworld.invoke("acr_push", event)["status"] == "duplicate"
    redelivered = json.loads(event)
    redelivered["id"] = "another-delivery-id"
    again = aworld.invoke("acr_push", json.dumps(redelivered).encode())
    assert {t["state"] for t in again["targets"]} == {"STARTED"}
    assert len(creates(aworld)) == 2


def test_three_concurrent_push_deliveries_give_one_task_per_target(aworld):
    event = push(aworld, "v2.2.0")
    barrier, errors = threading.Barrier(3), []

    def deliver() -> None:
        barrier.wait()
        try:
            aworld.invoke("acr_push", event)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    settle(aworld)
    targets = sorted(c["params"]["TargetInstanceId"] for c in creates(aworld))
    assert targets == ["cri-bjtgt01", "cri-sgtgt01"]


def test_a_tag_excluded_by_regex_gives_no_task(aworld):
    result = aworld.invoke("acr_push", push(aworld, "v2.3.0-rc1"))
    assert result["status"] == "no_matching_rule"
    assert aworld.calls("CreateRepoSyncTask") == []
    assert aworld.invoke("acr_push", push(aworld, "latest"))["status"] == "no_matching_rule"


def test_is_success_false_ends_failed_with_the_business_code(aworld):
    # the Singapore instance has no mirror namespace: CreateRepoSyncTask answers 200 with IsSuccess false
    aworld.emu.control.reset()
    seed = scene.acr_seed()
    seed["acr_namespaces"] = [n for n in seed["acr_namespaces"] if n["name"] != "mirror"]
    aworld.emu.control.seed({**scene.seed(), **seed})
    result = aworld.invoke("acr_push", push(aworld, "v2.4.0"))
    states = {t["target_instance"]: t for t in result["targets"]}
    assert states["cri-bjtgt01"]["state"] == "STARTED"
    failed = states["cri-sgtgt01"]
    assert failed["state"] == "FAILED" and "CreateRepoSyncTask refused" in failed["reason"]
    refused = [c for c in aworld.calls("CreateRepoSyncTask") if c["params"]["TargetInstanceId"] == "cri-sgtgt01"]
    assert refused and refused[0]["status"] == 200 and refused[0]["code"] not in (None, "success")
    assert refused[0]["code"] in failed["reason"]


def test_a_source_that_is_not_advanced_edition_is_refused_before_any_task(aworld):
    seed = scene.acr_seed()
    seed["acr_instances"][0]["specification"] = "Enterprise_Standard"
    aworld.emu.control.seed(seed)
    result = aworld.invoke("acr_push", push(aworld, "v2.5.0"))
    assert {t["state"] for t in result["targets"]} == {"FAILED"}
    assert all("only Enterprise_Advanced" in t["reason"] for t in result["targets"])
    assert aworld.calls("CreateRepoSyncTask") == []
    assert len(aworld.calls("GetInstance")) == 1


def test_error_tasks_are_retried_with_backoff(aworld):
    aworld.emu.control.configure(acr_error_rate=1.0)
    aworld.invoke("acr_push", push(aworld, "v2.6.0"))
    now = dt.datetime.now(dt.timezone.utc)
    settle(aworld, ticks=3, at=now)
    records = list(aworld.ledger().scan("acr/"))
    assert {r.state.value for r in records} == {"FAILED"} and all(r.retryable for r in records)
    assert all("ERROR" in r.reason for r in records)
    aworld.emu.control.configure(acr_error_rate=0.0)
    # not yet due: nothing new
    settle(aworld, ticks=1, at=now)
    assert len(creates(aworld)) == 2
    # an hour later the retries are due, get new tasks, and succeed
    settle(aworld, ticks=6, at=now + dt.timedelta(hours=1))
    assert {r.state.value for r in aworld.ledger().scan("acr/")} == {"DONE"}
    assert len(creates(aworld)) == 4


def test_backfill_dry_run_then_paced_replication_of_old_tags(aworld):
    request = {"action": "backfill", "rule": "web", "dry_run": True}
    plan = aworld.invoke("acr_push", json.dumps(request).encode())
    assert plan["status"] == "planned" and plan["to_replicate"] == 6  # 3 old tags x 2 targets
    assert aworld.calls("CreateRepoSyncTask") == [] and list(aworld.ledger().scan("acr/")) == []
    request = {"action": "backfill", "rule": "web", "tag_regex": "^v1\\.[12]\\."}
    result = aworld.invoke("acr_push", json.dumps(request).encode())
    assert result["to_replicate"] == 4 and result["started_now"] == 4
    settle(aworld)
    assert set(target_tags(aworld, "cri-bjtgt01", "cn-beijing", "web")) == {"v1.1.0", "v1.2.0"}
    again = aworld.invoke("acr_push", json.dumps({"action": "backfill", "rule": "web"}).encode())
    assert again["already_recorded"] == 4 and again["to_replicate"] == 2


def test_a_lost_create_answer_is_not_retried_into_a_second_task(aworld):
    # found by the chaos suite: CreateRepoSyncTask has no ClientToken, so a retried 503 made two tasks
    aworld.emu.control.set_faults(lost_response_rate=1.0, actions=["CreateRepoSyncTask"], seed=4)
    result = aworld.invoke("acr_push", push(aworld, "v2.7.0"))
    assert {t["state"] for t in result["targets"]} == {"PENDING"}  # requeued, not retried blindly
    aworld.emu.control.set_faults()
    now = dt.datetime.now(dt.timezone.utc)
    settle(aworld, at=now)
    assert {r.state.value for r in aworld.ledger().scan("acr/")} == {"DONE"}
    tasks = [c for c in aworld.calls("CreateRepoSyncTask") if c["params"]["Tag"] == "v2.7.0"]
    assert len(tasks) == 2  # one call per target, each answered 503 after it had acted
    live = [t for t in cr(aworld).iter_sync_tasks("cn-hangzhou", SRC, namespace="web", repository="frontend",
                                                  tag="v2.7.0")]
    assert sorted(t.target.instance_id for t in live) == ["cri-bjtgt01", "cri-sgtgt01"]
