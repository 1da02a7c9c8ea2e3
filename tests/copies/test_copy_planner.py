"""The pure copy tick planner: values in, actions out, no I/O."""
from __future__ import annotations

import datetime as dt

import pytest

from shared.apply import Backoff, client_token
from shared.clouds.ecs_types import Image
from shared.ledger.record import Record, State
from shared.policy import load_policy
from shared.replication.executor import new_record
from shared.replication.planner import (
    Adopt,
    Complete,
    Fail,
    Observed,
    Progress,
    RecordIntent,
    ResumeCopy,
    Retry,
    StartCopy,
    plan_record,
    plan_tick,
    regions_to_scan,
)
from shared.replication.provenance import TAG_KEY
from shared.replication.targets import targets_for

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
POLICY_TEXT = """
copy_rules:
  - name: web
    source_regions: [cn-hangzhou]
    match: {name_regex: "^app-", tags: {team: web}}
    target_regions: [cn-beijing, ap-southeast-1]
    encrypt: {ap-southeast-1: key-sg-1}
  - name: all-apps
    source_regions: [cn-hangzhou]
    match: {name_regex: "^app-"}
    target_regions: [cn-beijing, cn-shanghai]
"""
POLICY = load_policy(POLICY_TEXT)


def source(status: str = "Available", image_id: str = "m-src1", name: str = "app-web", **tags: str) -> Image:
    return Image(region="cn-hangzhou", image_id=image_id, name=name, status=status, size_gib=40,
                 tags=tags or {"team": "web"})


def record_for(region: str, image: Image | None = None, **changes) -> Record:
    target = {t.target_region: t for t in targets_for(POLICY, image or source())}[region]
    return new_record(target, NOW).model_copy(update=changes)


def observed(*images: Image, copies: dict[str, list[Image]] | None = None) -> Observed:
    return Observed(
        sources={(i.region, i.image_id): i for i in images},
        scanned_sources=frozenset({"cn-hangzhou"}),
        copies={r: {i.image_id: i for i in imgs} for r, imgs in (copies or {}).items()},
    )


def test_first_matching_rule_wins_per_region_and_others_are_noted():
    targets = {t.target_region: t for t in targets_for(POLICY, source())}
    assert set(targets) == {"cn-beijing", "ap-southeast-1", "cn-shanghai"}
    assert targets["cn-beijing"].rule == "web"
    assert targets["cn-beijing"].also_matched == ("all-apps",)
    assert targets["cn-shanghai"].rule == "all-apps"
    assert targets["ap-southeast-1"].encrypted and targets["ap-southeast-1"].kms_key_id == "key-sg-1"
    assert not targets["cn-beijing"].encrypted


def test_copies_made_by_image_relay_are_never_sources():
    copy = source(**{"team": "web", "image-relay:source-image": "m-other"})
    assert targets_for(POLICY, copy) == []


def test_pending_waits_while_source_is_creating_then_starts():
    record = record_for("cn-beijing")
    assert plan_record(record, observed(source("Creating")), NOW, Backoff()) is None
    action = plan_record(record, observed(source()), NOW, Backoff())
    assert isinstance(action, StartCopy) and action.attempt == 1


def test_pending_fails_when_source_vanished_or_failed():
    record = record_for("cn-beijing")
    gone = plan_record(record, observed(), NOW, Backoff())
    assert isinstance(gone, Fail) and "no longer exists" in gone.reason and gone.retry_at is None
    failed = plan_record(record, observed(source("CreateFailed")), NOW, Backoff())
    assert isinstance(failed, Fail) and "CreateFailed" in failed.reason


def test_pending_in_unscanned_region_waits():
    record = record_for("cn-beijing")
    assert plan_record(record, Observed(), NOW, Backoff()) is None


def test_started_without_image_id_adopts_a_tagged_copy_or_resumes_with_same_token():
    record = record_for("cn-beijing", state=State.STARTED, attempt=1)
    lost = Image(region="cn-beijing", image_id="m-2zecopy", status="Creating", tags={TAG_KEY: record.key})
    adopt = plan_record(record, observed(source(), copies={"cn-beijing": [lost]}), NOW, Backoff())
    assert adopt == Adopt(record.key, "m-2zecopy", "Creating")
    resume = plan_record(record, observed(source(), copies={"cn-beijing": []}), NOW, Backoff())
    assert isinstance(resume, ResumeCopy) and resume.attempt == 1
    assert resume.target.spec(1).client_token == client_token(record.key, 1)


def test_started_copy_progress_completion_and_disappearance():
    record = record_for("cn-beijing", state=State.STARTED, attempt=1, cloud_id="m-2zecopy")
    running = Image(region="cn-beijing", image_id="m-2zecopy", status="Creating", progress=40)
    assert plan_record(record, observed(copies={"cn-beijing": [running]}), NOW, Backoff()) == Progress(
        record.key, "Creating", 40)
    same = record.model_copy(update={"data": {**record.data, "status": "Creating", "progress": 40}})
    assert plan_record(same, observed(copies={"cn-beijing": [running]}), NOW, Backoff()) is None
    done = running.model_copy(update={"status": "Available", "progress": 100})
    assert plan_record(record, observed(copies={"cn-beijing": [done]}), NOW, Backoff()) == Complete(
        record.key, "m-2zecopy")
    vanished = plan_record(record, observed(copies={"cn-beijing": []}), NOW, Backoff())
    assert isinstance(vanished, Fail) and "vanished" in vanished.reason and vanished.retry_at is None


def test_create_failed_copy_is_retried_with_backoff_then_given_up():
    failed = Image(region="cn-beijing", image_id="m-2zecopy", status="CreateFailed")
    record = record_for("cn-beijing", state=State.STARTED, attempt=1, cloud_id="m-2zecopy")
    action = plan_record(record, observed(copies={"cn-beijing": [failed]}), NOW, Backoff())
    assert isinstance(action, Fail) and action.retry_at is not None and action.retry_at > NOW
    assert action.failed_copy == "m-2zecopy"
    last = record.model_copy(update={"attempt": 4})
    final = plan_record(last, observed(copies={"cn-beijing": [failed]}), NOW, Backoff(max_attempts=4))
    assert isinstance(final, Fail) and final.retry_at is None


def test_retryable_failure_is_requeued_only_when_due():
    record = record_for("cn-beijing", state=State.FAILED, retryable=True,
                        next_attempt_at=NOW + dt.timedelta(minutes=5),
                        data={**record_for("cn-beijing").data, "failed_copy": "m-2zeold"})
    assert plan_record(record, observed(), NOW, Backoff()) is None
    later = NOW + dt.timedelta(minutes=6)
    assert plan_record(record, observed(), later, Backoff()) == Retry(record.key, "m-2zeold")


def test_final_states_need_nothing():
    for state in (State.DONE, State.CANCELLED):
        assert plan_record(record_for("cn-beijing", state=state), observed(source()), NOW, Backoff()) is None
    final_fail = record_for("cn-beijing", state=State.FAILED, retryable=False)
    assert plan_record(final_fail, observed(source()), NOW, Backoff()) is None


def test_sweep_records_missed_images_once():
    image = source()
    actions = plan_tick([], observed(image), POLICY, NOW)
    intents = [a for a in actions if isinstance(a, RecordIntent)]
    assert {a.target.target_region for a in intents} == {"cn-beijing", "ap-southeast-1", "cn-shanghai"}
    known = [new_record(a.target, NOW) for a in intents]
    again = plan_tick(known, observed(image), POLICY, NOW)
    assert not [a for a in again if isinstance(a, RecordIntent)]


def test_sweep_ignores_non_matching_and_failed_images():
    other = source(image_id="m-db1", name="db-mysql", team="data")
    broken = source("CreateFailed", image_id="m-bad1")
    assert plan_tick([], observed(other, broken), POLICY, NOW) == []


def test_regions_to_scan_follow_the_records():
    pending = record_for("cn-beijing")
    started = record_for("ap-southeast-1", state=State.STARTED)
    sources, destinations = regions_to_scan([pending, started], POLICY)
    assert sources == {"cn-hangzhou"}
    assert destinations == {"ap-southeast-1"}


def test_backoff_grows_and_is_deterministic():
    b = Backoff(base_seconds=100, cap_seconds=1000)
    first, second = b.next_at("k", 1, NOW), b.next_at("k", 2, NOW)
    assert first == b.next_at("k", 1, NOW)
    assert NOW + dt.timedelta(seconds=50) <= first <= NOW + dt.timedelta(seconds=100)
    assert NOW + dt.timedelta(seconds=100) <= second <= NOW + dt.timedelta(seconds=200)
    assert b.next_at("k", 10, NOW) <= NOW + dt.timedelta(seconds=1000)


@pytest.mark.parametrize("attempt", [1, 2, 99])
def test_client_token_is_short_ascii_and_changes_with_attempt(attempt):
    token = client_token("copy/cn-hangzhou/m-x/cn-beijing", attempt)
    assert len(token) <= 64 and token.isascii()
    assert token != client_token("copy/cn-hangzhou/m-x/cn-beijing", attempt + 1)


def test_refresh_follows_a_policy_fix_for_queued_copies():
    from shared.replication.targets import refresh

    target = {t.target_region: t for t in targets_for(POLICY, source())}["ap-southeast-1"]
    fixed = load_policy(POLICY_TEXT.replace("key-sg-1", "key-sg-2"))
    assert refresh(target, fixed).kms_key_id == "key-sg-2"
    gone = load_policy(POLICY_TEXT.replace("[cn-beijing, ap-southeast-1]", "[cn-beijing]").replace(
        "    encrypt: {ap-southeast-1: key-sg-1}\n", ""))
    assert refresh(target, gone) == target
