"""The build planner is pure: (rules, windows, records, observed builds, now) → actions."""
from __future__ import annotations

import datetime as dt
from typing import Any

from shared.apply import CLAIM_LEASE
from shared.builds.planner import (
    Defer,
    FinishBuild,
    FollowBuild,
    RecordBuild,
    ResumeStart,
    StartBuild,
    plan_builds,
)
from shared.clouds.pipeline_types import PipelineExecution
from shared.ledger.keys import build_key
from shared.ledger.record import Record, State
from shared.policy.builds import BuildRule
from shared.policy.windows import Window

R = "cn-hangzhou"
NOW = dt.datetime(2026, 11, 24, 18, 5, tzinfo=dt.timezone.utc)  # 02:05 in Shanghai
NIGHT = Window(name="night", start="02:00", end="05:00", timezone="Asia/Shanghai")


def rule(**fields: Any) -> BuildRule:
    base: dict[str, Any] = {"name": "golden", "pipeline": {"region": R, "id": "ip-gold"}}
    return BuildRule.model_validate({**base, **fields})


def record(slot: str, state: State = State.PENDING, **fields: Any) -> Record:
    data = {"rule": "golden", "region": R, "pipeline": "ip-gold", "slot": slot, **fields.pop("data", {})}
    return Record(key=build_key(R, "ip-gold", slot), kind="build", state=state, data=data, **fields)


def execution(exec_id: str, status: str, image_id: str = "", **fields: Any) -> PipelineExecution:
    return PipelineExecution(region=R, execution_id=exec_id, pipeline_id="ip-gold", status=status,
                             image_id=image_id, **fields)


def test_a_due_cron_slot_is_recorded_once() -> None:
    rules = [rule(cron="0 2 * * *", timezone="Asia/Shanghai")]
    [intent] = plan_builds(rules, {}, [], {}, NOW)
    assert intent == RecordBuild(build_key(R, "ip-gold", "2026-11-24T18:00Z"), "golden", R, "ip-gold",
                                 "2026-11-24T18:00Z")
    assert plan_builds(rules, {}, [record("2026-11-24T18:00Z", State.STARTED, cloud_id="exec-1")], {}, NOW) == []


def test_a_cron_slot_older_than_the_grace_is_not_built() -> None:
    assert plan_builds([rule(cron="0 2 * * *", timezone="Asia/Shanghai")], {}, [], {},
                       NOW + dt.timedelta(hours=2)) == []


def test_a_window_slot_is_its_occurrence_start_and_on_demand_has_none() -> None:
    [intent] = plan_builds([rule(window="night")], {"night": NIGHT}, [], {}, NOW)
    assert isinstance(intent, RecordBuild) and intent.slot == "2026-11-24T18:00Z"
    assert plan_builds([rule(window="night")], {"night": NIGHT}, [], {}, NOW + dt.timedelta(hours=4)) == []
    assert plan_builds([rule()], {}, [], {}, NOW) == []


def test_the_oldest_waiting_slot_starts_and_the_next_waits() -> None:
    older, newer = record("2026-11-24T17:00Z"), record("2026-11-24T18:00Z")
    actions = plan_builds([rule()], {}, [newer, older], {}, NOW)
    assert actions[0] == StartBuild(older.key, 1)
    assert isinstance(actions[1], Defer) and actions[1].key == newer.key and "2026-11-24T17:00Z" in actions[1].reason


def test_a_busy_template_defers_its_next_slot_once() -> None:
    running = record("2026-11-24T17:00Z", State.STARTED, cloud_id="exec-1", data={"stage": "BUILDING"})
    waiting = record("2026-11-24T18:00Z")
    observed = {"exec-1": execution("exec-1", "BUILDING")}
    [defer] = plan_builds([rule()], {}, [running, waiting], observed, NOW)
    assert defer == Defer(waiting.key, "waiting: the template runs 2026-11-24T17:00Z (one build per template)")
    already = waiting.model_copy(update={"reason": defer.reason})
    assert plan_builds([rule()], {}, [running, already], observed, NOW) == []


def test_the_end_of_a_build_frees_its_template_in_the_same_tick() -> None:
    running = record("2026-11-24T17:00Z", State.STARTED, cloud_id="exec-1", data={"stage": "RELEASING"})
    waiting = record("2026-11-24T18:00Z")
    actions = plan_builds([rule()], {}, [running, waiting], {"exec-1": execution("exec-1", "SUCCESS", "m-new")}, NOW)
    assert actions == [FinishBuild(running.key, "SUCCESS", "m-new", ok=True, distribute=True, reason="built"),
                       StartBuild(waiting.key, 1)]


def test_a_stage_change_is_followed_and_a_lost_start_is_resumed() -> None:
    moving = record("2026-11-24T17:00Z", State.STARTED, cloud_id="exec-1", data={"stage": "PREPARING"})
    assert plan_builds([rule()], {}, [moving], {"exec-1": execution("exec-1", "BUILDING")}, NOW) == [
        FollowBuild(moving.key, "BUILDING")]
    lost = record("2026-11-24T17:00Z", State.STARTED, attempt=2, data={"started_at": "2026-11-24T17:00:30+00:00"})
    assert plan_builds([rule()], {}, [lost], {}, NOW) == [ResumeStart(lost.key, 2)]


def test_a_fresh_claim_is_not_resumed_before_its_lease_expires() -> None:
    # GIVEN a slot claimed a second ago by another invocation, whose StartImagePipelineExecution has not answered
    claimed = NOW - dt.timedelta(seconds=1)
    fresh = record("2026-11-24T18:00Z", State.STARTED, attempt=1, data={"started_at": claimed.isoformat()})
    waiting = record("2026-11-24T19:00Z")
    # THEN a concurrent tick neither calls again nor starts the next slot: the template counts as busy
    [defer] = plan_builds([rule()], {}, [fresh, waiting], {}, NOW)
    assert isinstance(defer, Defer) and "runs 2026-11-24T18:00Z" in defer.reason
    assert plan_builds([rule()], {}, [fresh], {}, claimed + CLAIM_LEASE - dt.timedelta(seconds=1)) == []
    # and once the lease has lapsed, the claim is resumed (same attempt: the same ClientToken)
    assert plan_builds([rule()], {}, [fresh], {}, claimed + CLAIM_LEASE) == [ResumeStart(fresh.key, 1)]
    # a claim written without started_at counts from its last update
    bare = record("2026-11-24T18:00Z", State.STARTED, attempt=1, updated_at=claimed)
    assert plan_builds([rule()], {}, [bare], {}, claimed + dt.timedelta(minutes=1)) == []
    assert plan_builds([rule()], {}, [bare], {}, claimed + CLAIM_LEASE) == [ResumeStart(bare.key, 1)]


def test_a_backing_off_slot_waits_for_its_time() -> None:
    later = record("2026-11-24T18:00Z", next_attempt_at=NOW + dt.timedelta(minutes=5), reason="busy")
    assert plan_builds([rule()], {}, [later], {}, NOW) == []
    assert plan_builds([rule()], {}, [later], {}, NOW + dt.timedelta(minutes=5)) == [StartBuild(later.key, 1)]


def test_what_is_handed_on_and_why() -> None:
    running = record("2026-11-24T17:00Z", State.STARTED, cloud_id="exec-1")

    def end(status: str, image: str = "m-1", **rule_fields: Any) -> FinishBuild:
        observed = {"exec-1": execution("exec-1", status, image, error_info="Run the build content failed.")}
        [action] = plan_builds([rule(**rule_fields)], {}, [running], observed, NOW)
        assert isinstance(action, FinishBuild)
        return action

    test_failed = end("TEST_FAILED")
    assert (test_failed.ok, test_failed.distribute) == (True, False)
    assert "distribute_test_failed is false" in test_failed.reason
    assert end("TEST_FAILED", distribute_test_failed=True).distribute is True
    assert end("PARTITION_SUCCESS").distribute is True
    assert end("PARTITION_SUCCESS", distribute_partition_success=False).distribute is False
    failed = end("FAILED", image="")
    assert (failed.ok, failed.distribute, failed.reason) == (False, False, "FAILED: Run the build content failed.")
    assert end("CANCELLED", image="").ok is False


def test_a_cancelled_build_ends_cancelled_and_a_withheld_image_says_why() -> None:
    running = record("2026-11-24T17:00Z", State.STARTED, cloud_id="exec-1")
    observed = {"exec-1": execution("exec-1", "CANCELLED", "")}
    [cancelled] = plan_builds([rule()], {}, [running], observed, NOW)
    assert isinstance(cancelled, FinishBuild)
    assert (cancelled.cancelled, cancelled.distribute) == (True, False)
    assert cancelled.reason == "CANCELLED: the build was cancelled; nothing handed on"
    observed = {"exec-1": execution("exec-1", "TEST_FAILED", "m-1", error_info="Run the test content failed.")}
    [withheld] = plan_builds([rule()], {}, [running], observed, NOW)
    assert isinstance(withheld, FinishBuild) and not withheld.cancelled
    assert withheld.reason == ("TEST_FAILED: image m-1 was built but failed its test (Run the test content failed.); "
                               "distribute_test_failed is false: nothing handed on")
