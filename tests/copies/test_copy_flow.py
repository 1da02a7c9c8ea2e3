"""End-to-end copy flows through the handlers, the real ECS SDK and the emulator."""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from scripts import sample_world as scene
from shared.errors import ConfigError, EventValidationError

WEB = "m-bp1demoweb0001"
API = "m-bp1demoapi0002"


def _copies_of(world, region: str, image_id: str) -> list:
    return [c for c in world.copies_in(region) if c.tags["image-relay:source-image"] == image_id]


def _copy_calls(world, image_id: str) -> list:
    return [c for c in world.calls("CopyImage", 200) if c["params"]["ImageId"] == image_id]


def _one_copy_per_target(world, image_id: str) -> None:
    for region in scene.TARGETS:
        copies = [c for c in world.copies_in(region) if c.tags["image-relay:source-image"] == image_id]
        assert len(copies) == 1, f"{region}: {[c.image_id for c in copies]}"


def test_event_copies_to_every_target_and_follows_to_available(world):
    # GIVEN an Available source image that matches the web rule
    # WHEN its CreateImage event arrives
    result = world.invoke("image_created", world.event(WEB))
    # THEN one copy per target region is started at once
    assert result["status"] == "accepted"
    assert {t["target_region"]: t["state"] for t in result["targets"]} == {
        "cn-beijing": "STARTED", "ap-southeast-1": "STARTED"}
    assert len(world.calls("CopyImage", 200)) == 2
    # AND reconcile follows them to Available
    world.run_until_settled()
    ledger = world.ledger()
    assert {r.state.value for r in ledger.scan(f"copy/cn-hangzhou/{WEB}/")} == {"DONE"}
    _one_copy_per_target(world, WEB)
    for region in scene.TARGETS:
        (copy,) = _copies_of(world, region, WEB)
        assert copy.status == "Available"
        assert copy.name == f"app-web-2026-11-{region}"
        assert copy.tags["image-relay:source-region"] == "cn-hangzhou"
        assert copy.tags["image-relay:rule"] == "web"


def test_copy_is_encrypted_only_where_the_policy_says(world):
    world.invoke("image_created", world.event(WEB))
    (sg,) = world.copies_in("ap-southeast-1")
    (bj,) = world.copies_in("cn-beijing")
    assert sg.encrypted is True
    assert bj.encrypted is False
    copy_calls = {c["params"]["DestinationRegionId"]: c["params"] for c in world.calls("CopyImage", 200)}
    assert copy_calls["ap-southeast-1"]["KMSKeyId"] == "key-sg-1"
    assert "KMSKeyId" not in copy_calls["cn-beijing"]


def test_provenance_tags_and_client_token_travel_in_the_copy_call_itself(world):
    world.invoke("image_created", world.event(WEB))
    for call in world.calls("CopyImage", 200):
        params = call["params"]
        tags = {params[f"Tag.{n}.Key"]: params[f"Tag.{n}.Value"] for n in range(1, 6)}
        assert tags["image-relay:source-image"] == WEB
        assert tags["image-relay:rule"] == "web"
        assert params["ClientToken"].startswith("ir-") and len(params["ClientToken"]) <= 64
    assert not world.calls("TagResources")


def test_sequential_duplicate_events_make_one_copy_per_region(world):
    event = world.event(WEB, event_id="evt-dup-1")
    first = world.invoke("image_created", event)
    second = world.invoke("image_created", event)
    assert first["status"] == "accepted"
    assert second["status"] == "duplicate"
    # a redelivery under a new id (ActionTrail can re-publish) is caught by the ledger key
    third = world.invoke("image_created", world.event(WEB))
    assert {t["state"] for t in third["targets"]} == {"STARTED"}
    world.run_until_settled()
    assert len(_copy_calls(world, WEB)) == 2
    _one_copy_per_target(world, WEB)


def test_three_concurrent_deliveries_make_one_copy_per_region(world):
    event = world.event(WEB, event_id="evt-concurrent")
    barrier = threading.Barrier(3)
    results, errors = [], []

    def deliver() -> None:
        barrier.wait()
        try:
            results.append(world.invoke("image_created", event))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    world.run_until_settled()
    _one_copy_per_target(world, WEB)
    images = Counter(c["params"]["DestinationRegionId"] for c in world.calls("CopyImage", 200))
    assert all(n >= 1 for n in images.values())
    assert world.ledger().get(f"copy/cn-hangzhou/{WEB}/cn-beijing").state.value == "DONE"


def test_throttling_and_errors_still_give_exactly_one_copy_with_bounded_retries(world):
    world.emu.control.set_faults(throttle_rate=0.3, error_rate=0.05, seed=7)
    for _ in range(2):
        try:
            world.invoke("image_created", world.event(WEB, event_id="evt-faulty"))
        except Exception:  # a delivery may fail outright under faults; FC would redeliver
            pass
    world.invoke("image_created", world.event(API, "app-api-2026-11"))
    world.emu.control.advance(600)
    world.run_until_settled(max_ticks=60)
    world.emu.control.set_faults()
    _one_copy_per_target(world, WEB)
    _one_copy_per_target(world, API)
    calls = world.calls()
    faulty_codes = ("Throttling.User", "ServiceUnavailable", "InternalError")
    assert [c for c in calls if c["code"] in faulty_codes], "the fault injection did not fire"
    # bounded: the same request is never sent more than IMAGE_RELAY_RETRY_MAX_ATTEMPTS (8) times in a row
    streak, longest, previous, prev_faulted = 0, 0, None, False
    for call in calls:
        same = (call["action"], call["params"]) == previous
        streak = streak + 1 if same and prev_faulted else 1
        prev_faulted = call["code"] in faulty_codes
        previous = (call["action"], call["params"])
        longest = max(longest, streak)
    assert 1 < longest <= 8


def test_lost_copy_response_is_healed_by_the_client_token(world):
    # GIVEN every CopyImage response is lost after the copy was made
    world.emu.control.set_faults(lost_response_rate=1.0, actions=["CopyImage"], seed=3)
    result = world.invoke("image_created", world.event(WEB))
    assert {t["copy_image_id"] for t in result["targets"]} == {None}
    world.emu.control.set_faults()
    # WHEN reconcile repeats the call with the same ClientToken
    world.run_until_settled()
    # THEN no second copy exists
    _one_copy_per_target(world, WEB)


def test_lost_ledger_is_recovered_without_a_second_copy(world):
    world.invoke("image_created", world.event(WEB))
    # the whole ledger is lost (e.g. a new state bucket); the sweep re-records intents
    world.monkeypatch.setenv("IMAGE_RELAY_STATE", f"sqlite:///{world.tmp / 'fresh.db'}")
    from shared.config import reset_settings

    reset_settings()
    world.run_until_settled()
    _one_copy_per_target(world, WEB)


def test_image_still_creating_is_copied_only_once_available(world):
    result = world.invoke("image_created", world.event(API, "app-api-2026-11"))
    assert result["source_status"] == "Creating"
    assert {t["state"] for t in result["targets"]} == {"PENDING"}
    world.tick()
    assert _copy_calls(world, API) == []
    world.emu.control.advance(301)
    world.tick()
    assert len(_copy_calls(world, API)) == 2
    world.run_until_settled()
    _one_copy_per_target(world, API)


def test_reconcile_sweeps_images_that_never_sent_an_event(world):
    summary = world.run_until_settled()
    assert summary["records"] == {"DONE": 4}
    _one_copy_per_target(world, WEB)
    _one_copy_per_target(world, API)
    assert not [c for r in scene.TARGETS for c in world.copies_in(r)
                if c.tags["image-relay:source-image"] == "m-bp1demodb00003"]


def test_image_matching_no_rule_is_left_alone(world):
    result = world.invoke("image_created", world.event("m-bp1demodb00003", "db-mysql-8"))
    assert result["status"] == "no_matching_rule"
    assert result["targets"] == []
    assert world.calls("CopyImage") == []


def test_missing_kms_key_fails_with_an_actionable_reason(world):
    world.set_policy(scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing"))
    result = world.invoke("image_created", world.event(WEB))
    failed = {t["target_region"]: t for t in result["targets"]}["ap-southeast-1"]
    assert failed["state"] == "FAILED"
    assert "key-sg-missing" in failed["reason"] and "encrypt.ap-southeast-1" in failed["reason"]
    assert "InvalidParameter.KMSKeyId.NotFound" in failed["reason"]
    world.run_until_settled()
    states = {r.key.rsplit("/", 1)[1]: r for r in world.ledger().scan(f"copy/cn-hangzhou/{WEB}/")}
    assert states["cn-beijing"].state.value == "DONE"
    assert states["ap-southeast-1"].state.value == "FAILED"
    assert states["ap-southeast-1"].retryable is False


def test_reconcile_scans_regions_not_images(world):
    for image_id, name in ((WEB, "app-web-2026-11"), (API, "app-api-2026-11")):
        world.invoke("image_created", world.event(image_id, name))
    before = len(world.calls("DescribeImages"))
    world.tick()
    per_tick = len(world.calls("DescribeImages")) - before
    # one page for the source region and one per destination region, whatever the image count
    assert per_tick == 1 + len(scene.TARGETS)


@pytest.mark.parametrize("payload, field", [
    (b"{not json", "event"),
    (b'{"action": "replicate", "region": "cn-hangzhou"}', "image_id"),
    (b'{"action": "replicate", "region": "Hangzhou!", "image_id": "m-bp1x"}', "region"),
])
def test_malformed_event_names_the_field_and_makes_no_api_call(world, payload, field):
    with pytest.raises(EventValidationError) as info:
        world.invoke("image_created", payload)
    assert info.value.field == field
    assert world.calls() == []


def test_malformed_policy_names_the_field_and_makes_no_api_call(world):
    world.set_policy(scene.POLICY_YAML.replace('"^app-"', '"^app-("'))
    with pytest.raises(ConfigError) as info:
        world.invoke("image_created", world.event(WEB))
    assert info.value.field == "copy_rules[0].match.name_regex"
    assert world.calls() == []


def test_manual_replicate_reopens_a_final_failure_after_the_fix(world):
    # GIVEN a copy that failed for good because the KMS key was wrong
    world.set_policy(scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing"))
    world.invoke("image_created", world.event(WEB))
    key = f"copy/cn-hangzhou/{WEB}/ap-southeast-1"
    assert world.ledger().get(key).state.value == "FAILED"
    world.tick()
    assert world.ledger().get(key).state.value == "FAILED"  # reconcile does not retry a final failure
    # WHEN the operator fixes the policy and asks again by hand
    world.set_policy(scene.POLICY_YAML)
    manual = f'{{"action": "replicate", "region": "cn-hangzhou", "image_id": "{WEB}"}}'.encode()
    result = world.invoke("image_created", manual)
    # THEN the copy starts with a fresh attempt, and ends Available
    sg = {t["target_region"]: t for t in result["targets"]}["ap-southeast-1"]
    assert sg["state"] == "STARTED" and sg["reason"] is None
    world.run_until_settled()
    assert world.ledger().get(key).state.value == "DONE"
    _one_copy_per_target(world, WEB)


def test_image_of_another_account_is_not_copied(world):
    world.emu.control.seed({"images": [{"region": "cn-hangzhou", "image_id": "m-bp1foreign001", "name": "app-x",
                                        "tags": {"team": "web"}, "owner_id": "999999", "owner_alias": "others"}]})
    result = world.invoke("image_created", world.event("m-bp1foreign001", "app-x"))
    assert result["status"] == "not_owned"
    assert world.calls("CopyImage") == []


def test_the_whole_copy_flow_runs_on_the_oss_ledger(world):
    # GIVEN production's ledger: a version chain per record in an OSS bucket
    world.emu.control.seed({"buckets": [{"region": "cn-hangzhou", "name": "relay-state"}]})
    world.monkeypatch.setenv("IMAGE_RELAY_STATE", "oss://relay-state/ledger?region=cn-hangzhou")
    world.monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "test-ak")
    world.monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "test-secret")
    from shared.config import reset_settings

    reset_settings()
    # WHEN the same event arrives twice and reconcile runs
    event = world.event(WEB, event_id="evt-oss-ledger")
    assert world.invoke("image_created", event)["status"] == "accepted"
    assert world.invoke("image_created", event)["status"] == "duplicate"
    world.run_until_settled()
    # THEN one copy per region, and the ledger lives in the bucket
    _one_copy_per_target(world, WEB)
    keys = [c["params"]["key"] for c in world.calls("PutObject", 200)]
    assert any(k.startswith(f"ledger/copy/cn-hangzhou/{WEB}/cn-beijing/v") for k in keys)
