"""A tick's ledger reads follow the work in flight (issue #16): finished records are skipped without a read.

On OSS a finished version gets a marker object named after it, so `scan_active` tells finished keys from
the listing alone; `scan` (status) and `get`/`ensure` (event dedupe) still see every record.
"""
from __future__ import annotations

import pytest

from shared.ledger import Ledger, open_store
from shared.ledger.record import Record, State, copy_key
from shared.ledger.store.oss import OssStore
from tests.ledger.fake_objects import FakeObjects

DONE_KEY = copy_key("cn-hangzhou", "m-bp1done", "cn-beijing")
FAILED_KEY = copy_key("cn-hangzhou", "m-bp1fail", "cn-beijing")
RETRY_KEY = copy_key("cn-hangzhou", "m-bp1retry", "cn-beijing")
RUNNING_KEY = copy_key("cn-hangzhou", "m-bp1run", "cn-beijing")


def _history(ledger: Ledger) -> None:
    done, _ = ledger.ensure(Record(key=DONE_KEY, kind="copy"))
    done = ledger.transition(DONE_KEY, done, state=State.STARTED, cloud_id="m-copy1")
    ledger.transition(DONE_KEY, done, state=State.DONE)
    failed, _ = ledger.ensure(Record(key=FAILED_KEY, kind="copy"))
    ledger.transition(FAILED_KEY, failed, state=State.FAILED, reason="gone", retryable=False)
    retry, _ = ledger.ensure(Record(key=RETRY_KEY, kind="copy"))
    ledger.transition(RETRY_KEY, retry, state=State.FAILED, reason="quota", retryable=True)
    ledger.ensure(Record(key=RUNNING_KEY, kind="copy"))


def test_on_oss_a_tick_does_not_read_finished_records_yet_status_and_dedupe_see_them() -> None:
    objects = FakeObjects()
    ledger = Ledger(OssStore(objects, "relay-state", "ledger"))
    _history(ledger)
    objects.calls.clear()
    active = [r.key for r in ledger.scan_active("copy/")]
    assert active == [RETRY_KEY, RUNNING_KEY]  # a retryable failure still waits for its retry
    read = [key for op, key in objects.calls if op == "get"]
    assert read and not [k for k in read if "m-bp1done" in k or "m-bp1fail" in k]
    assert ledger.finished_states("copy/") == {DONE_KEY: State.DONE, FAILED_KEY: State.FAILED}
    # status still shows the history
    assert {r.key: r.state for r in ledger.scan("copy/")}[DONE_KEY] is State.DONE
    # a redelivered event still finds the finished record: nothing is created, nothing re-copied
    again, created = ledger.ensure(Record(key=DONE_KEY, kind="copy"))
    assert created is False and again.state is State.DONE
    # a person's retry re-opens it, and the tick reads it again
    ledger.transition(DONE_KEY, again, state=State.PENDING, force=True)
    assert DONE_KEY in {r.key for r in ledger.scan_active("copy/")}
    assert DONE_KEY not in ledger.finished_states("copy/")


@pytest.mark.parametrize("url", ["memory://", "sqlite:///{tmp}/ledger.db"])
def test_every_store_answers_scan_active_and_finished_states_alike(url: str, tmp_path) -> None:
    ledger = Ledger(open_store(url.format(tmp=tmp_path)))
    _history(ledger)
    assert [r.key for r in ledger.scan_active("copy/")] == [RETRY_KEY, RUNNING_KEY]
    assert [r.key for r in ledger.scan_active("copy/", lambda k: "run" in k)] == [RUNNING_KEY]
    assert ledger.finished_states("copy/") == {DONE_KEY: State.DONE, FAILED_KEY: State.FAILED}


def test_a_record_derives_its_payload_once_and_a_changed_copy_derives_again() -> None:
    from shared.ledger.record import Record, State
    from shared.replication.targets import CopyTarget

    target = {"key": "copy/a/m-1/b", "rule": "r", "source_region": "a", "image_id": "m-1", "source_name": "n",
              "target_region": "b", "name": "x", "description": ""}
    record = Record(key="copy/a/m-1/b", kind="copy", data={"target": target})
    first = CopyTarget.of(record)
    assert CopyTarget.of(record) is first
    renamed = record.model_copy(update={"data": {"target": {**target, "name": "y"}}})
    assert CopyTarget.of(renamed).name == "y" and CopyTarget.of(record).name == "x"
    # the memo is no field: equality, dumps and copies do not see it
    assert record == Record.model_validate_json(record.model_dump_json())
    assert "_derived" not in record.model_dump() and CopyTarget.of(record.model_copy(update={"state": State.DONE})) == first
