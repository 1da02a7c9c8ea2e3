"""The OSS ledger store's version-chain protocol over an in-memory object store (no HTTP).

The contract suite runs the same store against the emulator; these tests stage what the wire
cannot on demand: lost answers, writes slipped between a put and its confirmation, stale
writers landing in slots garbage collection freed.
"""
from __future__ import annotations

import json

import pytest

from shared.errors import ConfigError, LedgerConflictError, LedgerStoreError
from shared.ledger import Ledger, open_store
from shared.ledger.record import Record, State, copy_key, event_key
from shared.ledger.store.oss import OssStore, open_oss_store, parse_oss_url
from tests.ledger.fake_objects import FakeObjects

KEY = copy_key("cn-hangzhou", "m-abc", "cn-beijing")
V = "ledger/" + KEY + "/v{:012d}.json"


def _record(key: str = KEY, **kw: object) -> Record:
    return Record.model_validate({"key": key, "kind": "copy", **kw})


@pytest.fixture
def fake() -> FakeObjects:
    return FakeObjects()


@pytest.fixture
def store(fake: FakeObjects) -> OssStore:
    return OssStore(fake, "relay-state", "/ledger/", region="cn-hangzhou")


def _body(fake: FakeObjects, name: str) -> dict[str, object]:
    return json.loads(fake.objects[("cn-hangzhou", "relay-state", name)])


def test_layout_is_one_object_per_version_with_chain_links(store: OssStore, fake: FakeObjects) -> None:
    # GIVEN a record created and replaced once
    assert store.create(_record())
    store.replace(_record(state=State.STARTED), expected_version=1)
    # THEN each version is its own object and v2 names v1's write id as its parent
    assert fake.names() == [V.format(1), V.format(2)]
    v1, v2 = _body(fake, V.format(1)), _body(fake, V.format(2))
    assert v1["prev"] is None and v2["prev"] == v1["write_id"] != v2["write_id"]
    assert v2["record"]["version"] == 2 and v2["record"]["state"] == "STARTED"


def test_garbage_collection_keeps_the_newest_two(store: OssStore, fake: FakeObjects) -> None:
    store.create(_record())
    for version in range(1, 5):
        store.replace(_record(attempt=version), expected_version=version)
    assert fake.names() == [V.format(4), V.format(5)]
    got = store.get(KEY)
    assert got is not None and got.version == 5 and got.attempt == 4


def test_lost_answer_on_create_is_recognised_as_our_write(store: OssStore, fake: FakeObjects) -> None:
    # GIVEN the put lands but its answer is lost, so the adapter's retry reports "already exists"
    fake.lose_answer.add(V.format(1))
    # WHEN creating THEN the store reads v1 back, finds its own write id, and reports success
    assert store.create(_record(data={"n": 1})) is True
    assert store.create(_record(data={"n": 2})) is False
    got = store.get(KEY)
    assert got is not None and got.data == {"n": 1}


def test_lost_answer_on_replace_is_recognised_as_our_write(store: OssStore, fake: FakeObjects) -> None:
    store.create(_record())
    fake.lose_answer.add(V.format(2))
    stored = store.replace(_record(state=State.STARTED), expected_version=1)
    assert stored.version == 2
    got = store.get(KEY)
    assert got is not None and got.state is State.STARTED


def test_answer_lost_on_every_try_surfaces_as_retryable_store_error(store: OssStore, fake: FakeObjects) -> None:
    # GIVEN every retry failed although the first put landed
    fake.fail_after_write.add(V.format(1))
    with pytest.raises(LedgerStoreError) as err:
        store.create(_record())
    # THEN the caller sees a retryable error and a re-read tells the truth
    assert err.value.retryable is True
    assert store.get(KEY) is not None
    assert store.create(_record()) is False


def test_rival_write_at_our_version_is_a_conflict(store: OssStore, fake: FakeObjects) -> None:
    store.create(_record())
    rival = OssStore(fake, "relay-state", "ledger", region="cn-hangzhou")
    # GIVEN a rival that writes v2 first
    rival.replace(_record(data={"who": "rival"}), expected_version=1)
    # WHEN we replace expecting v1 THEN we lose and the rival's write stays
    with pytest.raises(LedgerConflictError):
        store.replace(_record(data={"who": "us"}), expected_version=1)
    got = store.get(KEY)
    assert got is not None and got.data == {"who": "rival"}


def test_stale_writer_landing_in_a_collected_slot_loses_and_leaves_no_object(
    store: OssStore, fake: FakeObjects
) -> None:
    # GIVEN a writer that read v1, and a ledger that has since moved to v4 (v1, v2 collected)
    stale = OssStore(fake, "relay-state", "ledger", region="cn-hangzhou")
    stale.create(_record())
    for version in range(1, 4):
        store.replace(_record(attempt=version), expected_version=version)
    assert fake.names() == [V.format(3), V.format(4)]
    # WHEN the stale writer replaces expecting v1: the put of v2 lands in the freed slot
    with pytest.raises(LedgerConflictError):
        stale.replace(_record(data={"stale": True}), expected_version=1)
    # THEN it is told it lost, its object is gone, and readers still see v4
    assert fake.names() == [V.format(3), V.format(4)]
    got = store.get(KEY)
    assert got is not None and got.version == 4 and got.data == {}


def test_stale_writer_far_behind_whose_parent_is_unknown_loses_at_once(store: OssStore, fake: FakeObjects) -> None:
    store.create(_record())
    for version in range(1, 4):
        store.replace(_record(attempt=version), expected_version=version)
    fresh = OssStore(fake, "relay-state", "ledger", region="cn-hangzhou")  # never read v1
    puts_before = sum(1 for op, _ in fake.calls if op == "put_if_absent")
    with pytest.raises(LedgerConflictError):
        fresh.replace(_record(), expected_version=1)
    assert sum(1 for op, _ in fake.calls if op == "put_if_absent") == puts_before  # v1 is gone: no put tried


def test_create_of_a_key_whose_v1_was_collected_is_refused(store: OssStore, fake: FakeObjects) -> None:
    store.create(_record(data={"first": True}))
    for version in range(1, 4):
        store.replace(_record(data={"first": True}, attempt=version), expected_version=version)
    # WHEN someone creates the key again: v1 is free, the put lands, the confirmation sees v3/v4
    assert store.create(_record(data={"second": True})) is False
    assert fake.names() == [V.format(3), V.format(4)]
    got = store.get(KEY)
    assert got is not None and got.data == {"first": True}


def test_a_follower_building_on_our_write_before_we_confirm_does_not_make_us_lose(
    store: OssStore, fake: FakeObjects
) -> None:
    store.create(_record())
    follower = OssStore(fake, "relay-state", "ledger", region="cn-hangzhou")

    def follow(name: str) -> None:
        # right after our v2 lands, a follower reads it and writes v3 on top of it
        if name == V.format(2):
            fake.after_put = None
            current = follower.get(KEY)
            assert current is not None and current.version == 2
            follower.replace(current.model_copy(update={"data": {"who": "follower"}}), expected_version=2)

    fake.after_put = follow
    stored = store.replace(_record(data={"who": "us"}), expected_version=1)
    assert stored.version == 2
    got = store.get(KEY)
    assert got is not None and got.version == 3 and got.data == {"who": "follower"}


def test_get_relists_when_the_newest_vanishes_between_list_and_read(store: OssStore, fake: FakeObjects) -> None:
    store.create(_record())
    store.replace(_record(attempt=1), expected_version=1)
    writer = OssStore(fake, "relay-state", "ledger", region="cn-hangzhou")

    def advance(prefix: str) -> None:
        # after our listing saw v2 as newest, two writes land and collect v2 (v1 went earlier)
        fake.after_list = None
        for version in (2, 3):
            writer.replace(_record(attempt=version), expected_version=version)

    writer.get(KEY)
    fake.after_list = advance
    got = store.get(KEY)
    assert got is not None and got.version == 4


def test_scan_is_in_key_order_and_reads_the_newest_version(store: OssStore, fake: FakeObjects) -> None:
    keys = ["copy/a", "copy/a-b", "copy/a/x", event_key("45ef/fab**"), "copy/b"]
    for key in keys:
        store.create(_record(key))
    store.replace(_record("copy/a", attempt=7), expected_version=1)
    # object order puts "copy/a-b/…" before "copy/a/…"; records still come back in key order
    assert [r.key for r in store.scan("copy/a")] == ["copy/a", "copy/a-b", "copy/a/x"]
    assert [r.key for r in store.scan("copy/a/")] == ["copy/a/x"]
    newest = next(iter(store.scan("copy/a")))
    assert newest.attempt == 7 and newest.version == 2
    assert [r.key for r in store.scan("event/")] == ["event/45ef%2Ffab%2A%2A"]
    assert len(list(store.scan(""))) == 5


def test_foreign_objects_under_the_prefix_are_ignored(store: OssStore, fake: FakeObjects) -> None:
    store.create(_record())
    fake.put_if_absent("cn-hangzhou", "relay-state", "ledger/README.txt", b"hello")
    fake.put_if_absent("cn-hangzhou", "relay-state", f"ledger/{KEY}/notes.json", b"{}")
    assert [r.key for r in store.scan("")] == [KEY]
    got = store.get(KEY)
    assert got is not None and got.version == 1


def test_a_corrupt_version_object_is_a_store_error(store: OssStore, fake: FakeObjects) -> None:
    fake.put_if_absent("cn-hangzhou", "relay-state", V.format(1), b"not json")
    with pytest.raises(LedgerStoreError) as err:
        store.get(KEY)
    assert "not a ledger record" in str(err.value)


def test_take_over_over_the_fake_store(store: OssStore) -> None:
    import datetime as dt

    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    ledger = Ledger(store)
    rec, _ = ledger.ensure(_record(kind="export"))
    ledger.claim(KEY, rec, owner="crashed", lease_seconds=60, now=t0)
    with pytest.raises(LedgerConflictError):
        ledger.take_over(KEY, owner="tick", lease_seconds=60, now=t0 + dt.timedelta(seconds=59))
    taken = ledger.take_over(KEY, owner="tick", lease_seconds=60, now=t0 + dt.timedelta(seconds=61))
    assert taken.data["lease_owner"] == "tick" and taken.version == 3


def test_parse_oss_url() -> None:
    assert parse_oss_url("oss://relay-state/a/b/?region=cn-beijing") == ("relay-state", "a/b", "cn-beijing")
    assert parse_oss_url("oss://relay-state", {}) == ("relay-state", "", "cn-hangzhou")
    assert parse_oss_url("oss://relay-state/x", {"FC_REGION": "ap-southeast-1"})[2] == "ap-southeast-1"
    with pytest.raises(ConfigError) as err:
        parse_oss_url("oss://Bad_Bucket/x")
    assert err.value.field == "IMAGE_RELAY_STATE"


def test_open_store_oss_scheme_with_injected_objects(fake: FakeObjects) -> None:
    store = open_oss_store("oss://relay-state/ledger?region=cn-hangzhou", objects=fake)
    assert store.create(_record())
    assert fake.names() == [V.format(1)]


def test_open_store_oss_scheme_without_credentials_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import reset_settings

    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    with pytest.raises(ConfigError) as err:
        open_store("oss://relay-state/ledger")
    assert err.value.field == "ALIBABA_CLOUD_ACCESS_KEY_ID"
