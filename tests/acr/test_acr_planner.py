"""The pure ACR planner: following sync tasks, retries with backoff, pacing of queued intents."""
from __future__ import annotations

import datetime as dt

from shared.acr.executor import new_sync_record
from shared.acr.planner import (
    CLAIM_LEASE,
    CompleteSync,
    FailSync,
    RequeueSync,
    StartSync,
    TrackSync,
    plan_acr,
    repo_of,
)
from shared.acr.targets import SyncTarget, TagRef
from shared.apply import Backoff
from shared.clouds.acr_types import ImageRef, SyncTask
from shared.ledger.keys import acr_key
from shared.ledger.record import State

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
BACKOFF = Backoff(base_seconds=60, max_attempts=3)


def target(tag: str = "v1.0.0", instance: str = "cri-bj") -> SyncTarget:
    ref = TagRef(region="cn-hangzhou", instance_id="cri-hz", namespace="web", repository="frontend",
                 repo_id="crr-1", tag=tag, digest="sha256:1")
    return SyncTarget(key=acr_key("cri-hz", "web", "frontend", tag, instance), rule="web", source=ref,
                      target_instance=instance, target_region="cn-beijing", target_namespace="web",
                      target_repository="frontend")


def record(tag: str = "v1.0.0", **changes):
    return new_sync_record(target(tag), NOW - dt.timedelta(minutes=1)).model_copy(update=changes)


def task(status: str, task_id: str = "rst-1", issue: str = "") -> SyncTask:
    return SyncTask(sync_task_id=task_id, status=status, issue=issue,
                    target=ImageRef(instance_id="cri-bj", namespace="web", repository="frontend", tag="v1.0.0"))


def tasks_for(rec, *items):
    return {repo_of(rec): {t.sync_task_id: t for t in items}}


def test_key_shape_follows_the_design():
    assert acr_key("cri-hz", "web", "frontend", "v1", "cri-bj") == "acr/cri-hz/web/frontend:v1/cri-bj"


def test_target_recognises_its_own_task_only():
    assert target().is_task_for(task("PENDING"))
    other = task("PENDING").model_copy(update={"target": ImageRef(instance_id="cri-sg", tag="v1.0.0",
                                                                  namespace="web", repository="frontend")})
    assert not target().is_task_for(other)


def test_an_account_target_recognises_only_a_cross_user_task():
    partner = target().model_copy(update={"target_account": "2222222222222222",
                                          "key": acr_key("cri-hz", "web", "frontend", "v1.0.0", "cri-bj",
                                                         "2222222222222222")})
    assert partner.key == "acr/cri-hz/web/frontend:v1.0.0/2222222222222222/cri-bj"
    assert partner.spec().target_user_id == "2222222222222222" and target().spec().target_user_id is None
    crossed = task("PENDING").model_copy(update={"cross_user": True})
    assert partner.is_task_for(crossed) and not partner.is_task_for(task("PENDING"))
    assert not target().is_task_for(crossed)


def test_started_tasks_are_tracked_completed_or_failed():
    rec = record(state=State.STARTED, cloud_id="rst-1", attempt=1, data={**record().data, "status": "PENDING"})
    assert plan_acr([rec], tasks_for(rec, task("SYNCHRONIZING")), NOW, BACKOFF) == [
        TrackSync(rec.key, "SYNCHRONIZING")]
    assert plan_acr([rec], tasks_for(rec, task("PENDING")), NOW, BACKOFF) == []
    assert plan_acr([rec], tasks_for(rec, task("SUCCESS")), NOW, BACKOFF) == [CompleteSync(rec.key)]
    (error,) = plan_acr([rec], tasks_for(rec, task("ERROR", issue="digest differs")), NOW, BACKOFF)
    assert isinstance(error, FailSync) and error.retry_at and error.retry_at > NOW and "digest differs" in error.reason
    (cancel,) = plan_acr([rec], tasks_for(rec, task("CANCELED")), NOW, BACKOFF)
    assert isinstance(cancel, FailSync) and cancel.retry_at is None


def test_error_gives_up_after_max_attempts():
    rec = record(state=State.STARTED, cloud_id="rst-1", attempt=3)
    (error,) = plan_acr([rec], tasks_for(rec, task("ERROR")), NOW, BACKOFF)
    assert error.retry_at is None and "gave up after 3 attempts" in error.reason


def test_a_repository_not_listed_this_tick_is_left_alone():
    rec = record(state=State.STARTED, cloud_id="rst-1", attempt=1)
    assert plan_acr([rec], {}, NOW, BACKOFF) == []


def test_vanished_task_is_retried():
    rec = record(state=State.STARTED, cloud_id="rst-9", attempt=1)
    (gone,) = plan_acr([rec], tasks_for(rec, task("SUCCESS")), NOW, BACKOFF)
    assert isinstance(gone, FailSync) and gone.retry_at is not None


def test_retryable_failure_requeues_when_due():
    rec = record(state=State.FAILED, retryable=True, next_attempt_at=NOW + dt.timedelta(minutes=5))
    assert plan_acr([rec], {}, NOW, BACKOFF) == []
    assert plan_acr([rec], {}, NOW + dt.timedelta(minutes=5), BACKOFF) == [RequeueSync(rec.key)]


def test_claim_without_task_id_is_requeued_after_its_lease():
    rec = record(state=State.STARTED, cloud_id=None, attempt=1, updated_at=NOW)
    assert plan_acr([rec], {}, NOW + CLAIM_LEASE / 2, BACKOFF) == []
    assert plan_acr([rec], {}, NOW + CLAIM_LEASE, BACKOFF) == [RequeueSync(rec.key)]


def test_queued_intents_start_oldest_first_within_the_budget():
    recs = [record(f"v1.{i}.0").model_copy(update={"created_at": NOW - dt.timedelta(minutes=10 - i)})
            for i in range(5)]
    starts = plan_acr(list(reversed(recs)), {}, NOW, BACKOFF, budget=2)
    assert [a.key for a in starts] == [recs[0].key, recs[1].key]
    assert all(isinstance(a, StartSync) for a in starts)
    later = recs[0].model_copy(update={"next_attempt_at": NOW + dt.timedelta(hours=1)})
    assert recs[0].key not in [a.key for a in plan_acr([later], {}, NOW, BACKOFF)]
