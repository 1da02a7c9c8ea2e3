"""The cleanup executor with a fake ECS and the memory ledger; the request parser."""
from __future__ import annotations

import datetime as dt

import pytest

from shared.cleanup.executor import CleanupExecutor, render
from shared.cleanup.model import CleanupPlan, Decision
from shared.cleanup.request import CleanupRequest, parse_cleanup_request
from shared.errors import CloudConflictError, EventValidationError, ThrottledError
from shared.ledger import Ledger, open_store
from shared.ledger.record import State

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
HZ = "cn-hangzhou"


class FakeEcs:
    """Records DeleteImage calls; `refuse` maps an image id to the error ECS answers."""

    def __init__(self, refuse: dict[str, Exception] | None = None) -> None:
        self.refuse = refuse or {}
        self.deleted: list[tuple[str, str, bool]] = []

    def delete_image(self, region: str, image_id: str, *, force: bool = False) -> None:
        if image_id in self.refuse:
            raise self.refuse[image_id]
        self.deleted.append((region, image_id, force))


def _plan(*ids: str, keep: tuple[str, ...] = ()) -> CleanupPlan:
    decisions = [Decision(HZ, i, f"TemplateScratch-{i}", "delete", "old") for i in ids]
    decisions += [Decision(HZ, i, f"TemplateScratch-{i}", "keep", "in use by instance(s) i-1") for i in keep]
    return CleanupPlan(tuple(decisions))


def _executor(ecs: FakeEcs) -> tuple[CleanupExecutor, Ledger]:
    ledger = Ledger(open_store("memory://"))
    return CleanupExecutor(ecs, ledger, now=lambda: NOW), ledger


def test_each_delete_is_one_call_without_force_and_one_done_record():
    ecs = FakeEcs()
    executor, ledger = _executor(ecs)
    rows = executor.apply(_plan("m-1", keep=("m-2",)))
    assert ecs.deleted == [(HZ, "m-1", False)]
    assert [(r["image_id"], r["action"], r["outcome"]) for r in rows] == [("m-1", "delete", "deleted"),
                                                                         ("m-2", "keep", "kept")]
    record = ledger.get(f"cleanup/{HZ}/m-1")
    assert (record.state, record.reason, record.data["outcome"]) == (State.DONE, "old", "deleted")
    assert ledger.get(f"cleanup/{HZ}/m-2") is None


@pytest.mark.parametrize("code", ["ImageUsingByInstance", "ImageUseShared", "OperationDenied.ImageCopying"])
def test_an_ecs_refusal_is_recorded_as_kept_not_raised(code):
    ecs = FakeEcs({"m-1": CloudConflictError(f"{code}: no", code=code, status=403)})
    executor, ledger = _executor(ecs)
    rows = executor.apply(_plan("m-1", "m-2"))
    reason = f"kept: DeleteImage refused by ECS ({code})"
    assert {k: rows[0][k] for k in ("action", "outcome", "reason")} == {
        "action": "keep", "outcome": "kept_by_ecs", "reason": reason}
    assert rows[1]["outcome"] == "deleted"
    record = ledger.get(f"cleanup/{HZ}/m-1")
    assert (record.state, record.reason, record.data["outcome"]) == (State.DONE, reason, "kept_by_ecs")
    assert executor.outcomes == {"kept_by_ecs": 1, "deleted": 1}


def test_another_error_is_recorded_failed_and_a_later_run_retries():
    ecs = FakeEcs({"m-1": ThrottledError("Throttling: slow down", code="Throttling", retryable=True)})
    executor, ledger = _executor(ecs)
    rows = executor.apply(_plan("m-1"))
    assert rows[0]["outcome"] == "failed"
    record = ledger.get(f"cleanup/{HZ}/m-1")
    assert (record.state, record.reason, record.retryable) == (State.FAILED, "DeleteImage failed: Throttling: slow down", True)
    ecs.refuse.clear()
    CleanupExecutor(ecs, ledger, now=lambda: NOW).apply(_plan("m-1"))
    assert ledger.get(f"cleanup/{HZ}/m-1").state is State.DONE


def test_the_renderer_applies_nothing():
    rows = render(_plan("m-1", keep=("m-2",)))
    assert [(r["image_id"], r["outcome"]) for r in rows] == [("m-1", "would_delete"), ("m-2", "kept")]


# -- requests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("event", "expected"), [
    (b'{"action": "cleanup"}', CleanupRequest(dry_run=True)),
    (b"", CleanupRequest(dry_run=True)),
    (b'{"action": "cleanup", "dry_run": false}', CleanupRequest(dry_run=False)),
    (b'{"triggerTime": "2026-11-21T12:00:00Z", "triggerName": "daily", "payload": ""}',
     CleanupRequest(dry_run=False, now=NOW)),
    (b'{"triggerTime": "2026-11-21T12:00:00Z", "triggerName": "daily", "payload": "{\\"dry_run\\": true}"}',
     CleanupRequest(dry_run=True, now=NOW)),
])
def test_a_manual_run_is_dry_by_default_and_a_timer_applies(event, expected):
    assert parse_cleanup_request(event) == expected


@pytest.mark.parametrize(("event", "field"), [
    (b'{"action": "cleanup", "dryrun": false}', "dryrun"),
    (b'{"action": "purge"}', "action"),
    (b'{"action": "cleanup", "now": "2026-11-21T12:00:00"}', "now"),
    (b'{"triggerTime": "2026-11-21T12:00:00Z", "payload": "{\\"dry_run\\": \\"no\\"}"}', "payload.dry_run"),
])
def test_a_bad_request_names_its_field(event, field):
    with pytest.raises(EventValidationError) as err:
        parse_cleanup_request(event)
    assert err.value.field == field
