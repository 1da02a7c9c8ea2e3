"""One contract for every ledger store (memory, SQLite, OSS on the emulator), plus the Ledger logic.

The OSS store runs the real oss2 SDK against a session-scoped emulator; each test gets its own
key prefix in one seeded bucket, so tests never see each other's records.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shared.errors import ConfigError, LedgerConflictError, LedgerTransitionError
from shared.ledger import Ledger, LedgerStore, MemoryStore, SqliteStore, open_store
from shared.ledger.record import Record, State, copy_key, event_key

if TYPE_CHECKING:
    from emulator import Emulator

KEY = copy_key("cn-hangzhou", "m-abc", "cn-beijing")
BUCKET = "relay-state"
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="session")
def oss_emulator() -> Iterator[Emulator]:
    """One emulator for the OSS-backed parameter, with the ledger bucket seeded."""
    from emulator import Emulator

    with Emulator(port=0) as emu:
        emu.control.seed({"buckets": [{"region": "cn-hangzhou", "name": BUCKET}]})
        yield emu


def _oss_factory(request: pytest.FixtureRequest) -> Callable[[], LedgerStore]:
    from shared.clouds._retry import RetryPolicy
    from shared.clouds.oss import OssGateway
    from shared.config import Credentials
    from shared.ledger.store.oss import OssStore

    emu = request.getfixturevalue("oss_emulator")
    prefix = f"ledger-{uuid.uuid4().hex[:12]}"
    creds = Credentials(access_key_id="test-ak", access_key_secret="test-secret")

    def factory() -> LedgerStore:
        # A new gateway and store per handle, as two FC instances would have.
        gateway = OssGateway.connect(creds, endpoint=emu.url, retry=RetryPolicy(base_seconds=0.001))
        return OssStore(gateway, BUCKET, prefix, region="cn-hangzhou")

    return factory


@pytest.fixture(params=["memory", "sqlite", "oss"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], LedgerStore]]:
    """A factory: memory gives one shared store; SQLite a new connection to one file; OSS a new client."""
    opened: list[LedgerStore] = []
    shared = MemoryStore()
    new_oss = _oss_factory(request) if request.param == "oss" else None

    def factory() -> LedgerStore:
        store: LedgerStore
        if new_oss is not None:
            store = new_oss()
        else:
            store = shared if request.param == "memory" else SqliteStore(tmp_path / "l.db")
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], LedgerStore]) -> LedgerStore:
    return make_store()


def _record(key: str = KEY, **kw: object) -> Record:
    return Record.model_validate({"key": key, "kind": "copy", **kw})


def test_create_if_absent_only_once(store: LedgerStore) -> None:
    # GIVEN an empty store WHEN the same key is created twice
    first = store.create(_record(data={"n": 1}))
    second = store.create(_record(data={"n": 2}))
    # THEN only the first wins and its data is kept, as version 1
    assert (first, second) == (True, False)
    stored = store.get(KEY)
    assert stored is not None and stored.data == {"n": 1} and stored.version == 1


def test_get_missing_is_none(store: LedgerStore) -> None:
    assert store.get("copy/nope") is None


def test_replace_bumps_version_and_cas_conflict(store: LedgerStore) -> None:
    store.create(_record())
    current = store.get(KEY)
    assert current is not None
    updated = store.replace(current.model_copy(update={"state": State.STARTED}), expected_version=1)
    assert updated.version == 2 and updated.state is State.STARTED
    # a writer holding the stale version 1 loses
    with pytest.raises(LedgerConflictError):
        store.replace(current.model_copy(update={"state": State.FAILED}), expected_version=1)
    again = store.get(KEY)
    assert again is not None and again.state is State.STARTED and again.version == 2


def test_replace_missing_key_conflicts(store: LedgerStore) -> None:
    with pytest.raises(LedgerConflictError):
        store.replace(_record(), expected_version=1)


def test_concurrent_create_exactly_one_wins(store: LedgerStore) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        results.append(store.create(_record(data={"worker": i})))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_concurrent_cas_exactly_one_winner(store: LedgerStore) -> None:
    store.create(_record())
    base = store.get(KEY)
    assert base is not None
    wins: list[int] = []
    conflicts: list[int] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            store.replace(base.model_copy(update={"data": {"winner": i}}), expected_version=base.version)
            wins.append(i)
        except LedgerConflictError:
            conflicts.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(conflicts) == 7
    final = store.get(KEY)
    assert final is not None and final.data == {"winner": wins[0]} and final.version == 2


def test_scan_by_prefix_in_key_order(store: LedgerStore) -> None:
    keys = [
        copy_key("cn-hangzhou", "m-b", "cn-beijing"),
        copy_key("cn-hangzhou", "m-a", "cn-beijing"),
        copy_key("cn-shanghai", "m-a", "cn-beijing"),
        "export/cn-hangzhou/m-a/RAW",
        "copy/cn-hangzhou",  # the prefix itself, as a key
    ]
    for k in keys:
        store.create(_record(k))
    got = [r.key for r in store.scan("copy/cn-hangzhou/")]
    assert got == ["copy/cn-hangzhou/m-a/cn-beijing", "copy/cn-hangzhou/m-b/cn-beijing"]
    assert len(list(store.scan(""))) == 5
    assert list(store.scan("cleanup/")) == []


def test_scan_keys_reads_only_the_kept_keys_in_key_order(store: LedgerStore, monkeypatch) -> None:
    # GIVEN more copy records than several batches of the SQLite store's key-first read (4 keys a query here)
    monkeypatch.setattr("shared.ledger.store.sqlite._IN_BATCH", 4)
    regions = ["cn-beijing", "cn-shanghai", "cn-shenzhen"]
    for i in range(30):
        store.create(_record(copy_key("cn-hangzhou", f"m-{i:04d}", regions[i % 3])))
    store.create(_record("export/cn-hangzhou/m-0001/RAW"))
    # WHEN a partition keeps only its destination regions' keys
    got = [r.key for r in store.scan_keys("copy/", lambda key: key.rsplit("/", 1)[-1] != "cn-shanghai")]
    # THEN exactly those records come back, whole and in key order
    want = sorted(copy_key("cn-hangzhou", f"m-{i:04d}", regions[i % 3]) for i in range(30) if i % 3 != 1)
    assert got == want and len(got) == 20
    assert [r.key for r in store.scan_keys("copy/", lambda key: False)] == []


def test_record_round_trips_all_fields(store: LedgerStore) -> None:
    rec = _record(
        state=State.FAILED, cloud_id="m-new", attempt=3, reason="QuotaExceed.Image", retryable=True,
        data={"rule": "web", "nested": {"a": [1, 2]}},
    )
    store.create(rec)
    got = store.get(KEY)
    assert got == rec.model_copy(update={"version": 1})


def test_second_connection_sees_writes(make_store: Callable[[], LedgerStore]) -> None:
    # GIVEN two handles on the same ledger (two SQLite connections simulate two processes)
    a, b = make_store(), make_store()
    assert a.create(_record())
    # THEN the other handle sees the record and loses the create race
    assert b.create(_record()) is False
    seen = b.get(KEY)
    assert seen is not None
    b.replace(seen.model_copy(update={"state": State.STARTED}), expected_version=1)
    seen_by_a = a.get(KEY)
    assert seen_by_a is not None and seen_by_a.state is State.STARTED


def test_sqlite_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "ledger.db"
    with open_store(f"sqlite:///{path}") as store:
        store.create(_record(data={"x": 1}))
    with open_store(str(path)) as reopened:
        got = reopened.get(KEY)
    assert got is not None and got.data == {"x": 1}


def test_open_store_schemes(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "x.db"
    store.close()
    with pytest.raises(ConfigError) as err:
        open_store("s3://bucket/x")
    assert err.value.field == "IMAGE_RELAY_STATE"


# ---- Ledger facade: shared logic over any store ----


@pytest.fixture
def ledger(store: LedgerStore) -> Ledger:
    return Ledger(store)


def test_remember_event_true_once(ledger: Ledger) -> None:
    assert ledger.remember_event("45ef-7c35/fab****") is True
    assert ledger.remember_event("45ef-7c35/fab****") is False
    assert ledger.remember_event("other") is True
    assert ledger.get(event_key("45ef-7c35/fab****")) is not None


def test_ensure_returns_existing(ledger: Ledger) -> None:
    first, created = ledger.ensure(_record(data={"rule": "web"}))
    again, created_again = ledger.ensure(_record(data={"rule": "other"}))
    assert (created, created_again) == (True, False)
    assert again.data == {"rule": "web"} and again.version == first.version == 1


def test_transition_cas_conflict(ledger: Ledger) -> None:
    rec, _ = ledger.ensure(_record())
    ledger.transition(KEY, rec, state=State.STARTED, cloud_id="m-new")
    with pytest.raises(LedgerConflictError):
        ledger.transition(KEY, rec, state=State.STARTED, cloud_id="m-other")
    got = ledger.get(KEY)
    assert got is not None and got.cloud_id == "m-new"


def test_done_is_final_unless_forced(ledger: Ledger) -> None:
    rec, _ = ledger.ensure(_record())
    done = ledger.transition(KEY, rec, state=State.DONE, cloud_id="m-new")
    with pytest.raises(LedgerTransitionError):
        ledger.transition(KEY, done, state=State.STARTED)
    with pytest.raises(LedgerTransitionError):
        ledger.transition(KEY, done, state=State.PENDING)
    retried = ledger.transition(KEY, done, state=State.PENDING, force=True)
    assert retried.state is State.PENDING and retried.attempt == 1


def test_failed_retryable_goes_back_to_pending_with_new_attempt(ledger: Ledger) -> None:
    rec, _ = ledger.ensure(_record())
    started = ledger.transition(KEY, rec, state=State.STARTED, cloud_id="m-1")
    failed = ledger.transition(KEY, started, state=State.FAILED, reason="Throttling", retryable=True)
    pending = ledger.transition(KEY, failed, state=State.PENDING)
    assert pending.attempt == 1 and pending.version == 4
    restarted = ledger.transition(KEY, pending, state=State.STARTED, cloud_id="m-2")
    assert restarted.reason is None and restarted.attempt == 1


def test_failed_final_cannot_go_back_to_pending(ledger: Ledger) -> None:
    rec, _ = ledger.ensure(_record())
    failed = ledger.transition(KEY, rec, state=State.FAILED, reason="QuotaExceed.Image", retryable=False)
    with pytest.raises(LedgerTransitionError):
        ledger.transition(KEY, failed, state=State.PENDING)
    assert ledger.transition(KEY, failed, state=State.PENDING, force=True).attempt == 1


def test_pending_updates_keep_attempt(ledger: Ledger) -> None:
    rec, _ = ledger.ensure(_record(attempt=2))
    again = ledger.transition(KEY, rec, data={"note": "queued"})
    assert again.attempt == 2 and again.state is State.PENDING


def test_transition_key_mismatch(ledger: Ledger) -> None:
    rec, _ = ledger.ensure(_record())
    with pytest.raises(ValueError):
        ledger.transition("copy/other", rec, state=State.STARTED)


def test_by_state(ledger: Ledger) -> None:
    a, _ = ledger.ensure(_record(copy_key("cn-hangzhou", "m-a", "cn-beijing")))
    ledger.ensure(_record(copy_key("cn-hangzhou", "m-b", "cn-beijing")))
    ledger.transition(a.key, a, state=State.STARTED)
    started = [r.key for r in ledger.by_state("copy/", State.STARTED)]
    active = [r.key for r in ledger.by_state("copy/", State.PENDING, State.STARTED)]
    assert started == [a.key]
    assert len(active) == 2
    assert len(list(ledger.by_state("copy/"))) == 2


# ---- leases: claim and take-over, on every store ----


def _race(n: int, attempt: Callable[[int], Record]) -> tuple[list[int], list[int]]:
    """Run ``attempt(i)`` in ``n`` threads released together; returns (winners, losers)."""
    wins: list[int] = []
    losses: list[int] = []
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            attempt(i)
            wins.append(i)
        except LedgerConflictError:
            losses.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wins, losses


def _claimed(make_store: Callable[[], LedgerStore], state: State = State.STARTED) -> Record:
    """A record claimed at T0 for 60 s by an invocation that then crashed."""
    ledger = Ledger(make_store())
    rec, _ = ledger.ensure(_record(kind="export"))
    if state is not rec.state:
        rec = ledger.transition(KEY, rec, state=state)
    return ledger.claim(KEY, rec, owner="crashed", lease_seconds=60, now=T0)


@pytest.mark.parametrize("racers", [2, 8])
def test_take_over_of_an_expired_lease_has_exactly_one_winner(
    make_store: Callable[[], LedgerStore], racers: int
) -> None:
    # GIVEN a STARTED record whose lease lapsed at T0+60
    claimed = _claimed(make_store)
    later = T0 + dt.timedelta(seconds=61)
    ledgers = [Ledger(make_store()) for _ in range(racers)]
    # WHEN every racer tries to take it over at once
    wins, losses = _race(racers, lambda i: ledgers[i].take_over(KEY, owner=f"tick-{i}", lease_seconds=60, now=later))
    # THEN exactly one wins, and the record names it with a fresh lease
    assert len(wins) == 1 and len(losses) == racers - 1
    final = ledgers[0].get(KEY)
    assert final is not None and final.version == claimed.version + 1
    assert final.data["lease_owner"] == f"tick-{wins[0]}"
    assert final.data["lease_expires_at"] == (later + dt.timedelta(seconds=60)).isoformat()
    assert final.state is State.STARTED


def test_a_live_lease_is_taken_over_by_nobody_until_it_expires(make_store: Callable[[], LedgerStore]) -> None:
    claimed = _claimed(make_store, State.PENDING)
    ledgers = [Ledger(make_store()) for _ in range(4)]
    # WHEN racers try while the lease is live (T0+59 < T0+60)
    live = T0 + dt.timedelta(seconds=59)
    wins, losses = _race(4, lambda i: ledgers[i].take_over(KEY, owner=f"tick-{i}", lease_seconds=60, now=live))
    # THEN nobody takes over and the record is untouched
    assert wins == [] and len(losses) == 4
    assert ledgers[0].get(KEY) == claimed
    # WHEN the lease has expired THEN one racer takes over
    expired = T0 + dt.timedelta(seconds=60)
    wins, losses = _race(4, lambda i: ledgers[i].take_over(KEY, owner=f"tick-{i}", lease_seconds=60, now=expired))
    assert len(wins) == 1 and len(losses) == 3
    final = ledgers[0].get(KEY)
    assert final is not None and final.data["lease_owner"] == f"tick-{wins[0]}" and final.state is State.PENDING


def test_take_over_needs_an_in_progress_record(ledger: Ledger) -> None:
    with pytest.raises(LedgerConflictError):
        ledger.take_over(KEY, owner="tick", lease_seconds=60, now=T0)  # no record at all
    rec, _ = ledger.ensure(_record())
    ledger.transition(KEY, rec, state=State.DONE)
    with pytest.raises(LedgerConflictError):
        ledger.take_over(KEY, owner="tick", lease_seconds=60, now=T0)


def test_a_record_without_a_lease_can_be_taken_over(ledger: Ledger) -> None:
    rec, _ = ledger.ensure(_record())
    taken = ledger.take_over(KEY, owner="tick", lease_seconds=30, now=T0)
    assert taken.data["lease_owner"] == "tick" and taken.version == rec.version + 1


def test_claim_refuses_a_live_lease_of_another_owner_and_renews_our_own(ledger: Ledger) -> None:
    rec, _ = ledger.ensure(_record(data={"rule": "web"}))
    mine = ledger.claim(KEY, rec, owner="a", lease_seconds=60, now=T0)
    assert mine.data == {"rule": "web", "lease_owner": "a", "lease_expires_at": "2024-01-01T00:01:00+00:00"}
    with pytest.raises(LedgerConflictError):
        ledger.claim(KEY, mine, owner="b", lease_seconds=60, now=T0 + dt.timedelta(seconds=30))
    renewed = ledger.claim(KEY, mine, owner="a", lease_seconds=60, now=T0 + dt.timedelta(seconds=30))
    assert renewed.data["lease_expires_at"] == "2024-01-01T00:01:30+00:00"
    # a claim on a stale version loses the compare-and-set like any transition
    with pytest.raises(LedgerConflictError):
        ledger.claim(KEY, mine, owner="a", lease_seconds=60, now=T0)
    done = ledger.transition(KEY, renewed, state=State.DONE)
    with pytest.raises(LedgerTransitionError):
        ledger.claim(KEY, done, owner="a", lease_seconds=60, now=T0)


def test_open_store_oss_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import reset_settings
    from shared.ledger.store.oss import OssStore

    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "test-ak")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "test-secret")
    monkeypatch.setenv("FC_REGION", "cn-shanghai")
    reset_settings()
    try:
        store = open_store("oss://relay-state/ledger/")
        assert isinstance(store, OssStore)
        assert (store.bucket, store.root, store.region) == ("relay-state", "ledger/", "cn-shanghai")
        explicit = open_store("oss://relay-state/x?region=cn-beijing")
        assert isinstance(explicit, OssStore) and explicit.region == "cn-beijing"
    finally:
        reset_settings()


# ---- SQLite across connections and processes ----


def _create_in_process(path: str, worker: int) -> bool:
    with SqliteStore(path) as store:
        return store.create(_record(data={"worker": worker}))


def test_sqlite_create_race_across_processes(tmp_path: Path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    path = str(tmp_path / "mp.db")
    SqliteStore(path).close()  # schema + WAL set up once, as a deployed ledger would be
    with ProcessPoolExecutor(max_workers=4, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_create_in_process, [path] * 8, range(8)))
    assert sorted(results) == [False] * 7 + [True]


def test_sqlite_cas_race_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "cas.db"
    stores = [SqliteStore(path) for _ in range(8)]
    stores[0].create(_record())
    base = stores[0].get(KEY)
    assert base is not None
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            stores[i].replace(base.model_copy(update={"attempt": i}), expected_version=1)
            wins.append(i)
        except LedgerConflictError:
            pass

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in stores:
        store.close()
    assert len(wins) == 1
    with SqliteStore(path) as check:
        final = check.get(KEY)
    assert final is not None and final.attempt == wins[0] and final.version == 2


def test_sqlite_unopenable_path_is_store_error(tmp_path: Path) -> None:
    from shared.errors import LedgerStoreError

    with pytest.raises(LedgerStoreError) as err:
        SqliteStore(tmp_path)  # a directory, not a database file
    assert err.value.retryable is True
