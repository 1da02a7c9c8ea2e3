"""Queue order, windows, positions and ETAs, and the slot semaphore."""
from __future__ import annotations

import datetime as dt
import threading

from shared.clouds.ecs_types import Image
from shared.ledger import Ledger
from shared.ledger.keys import slots_key
from shared.ledger.record import State
from shared.ledger.store.memory import MemoryStore
from shared.policy import load_policy
from shared.replication.executor import new_record
from shared.replication.queue import fairness_order, observed_rate, queue_view, window_closed
from shared.replication.slots import RegionSlots
from shared.replication.targets import targets_for

NOW = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.timezone.utc)  # 12:00 Shanghai
POLICY = load_policy("""
windows: [{name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}]
copy_rules:
  - {name: a, source_regions: [cn-hangzhou], match: {name_regex: "^a-"}, target_regions: [cn-beijing]}
  - {name: b, source_regions: [cn-hangzhou], match: {name_regex: "^b-"}, target_regions: [cn-beijing]}
  - {name: vip, source_regions: [cn-hangzhou], match: {name_regex: "^v-"}, target_regions: [cn-beijing], priority: 9}
  - {name: late, source_regions: [cn-hangzhou], match: {name_regex: "^l-"}, target_regions: [cn-beijing],
     schedule: off-peak, window: night}
copy_limits: {per_region: 2, gib_per_minute: 10}
""")


def rec(name: str, minute: int, size: int = 100, **changes):
    image = Image(region="cn-hangzhou", image_id=f"m-bp1{name.replace('-', '')}", name=name, size_gib=size)
    (target,) = targets_for(POLICY, image)
    return new_record(target, NOW + dt.timedelta(minutes=minute)).model_copy(update=changes)


def names(records):
    return [r.data["target"]["source_name"] for r in records]


def test_round_robin_across_rules_and_priority_first():
    queued = [rec("a-1", 0), rec("a-2", 1), rec("a-3", 2), rec("b-1", 3), rec("b-2", 4), rec("v-1", 5)]
    assert names(fairness_order(queued, POLICY)) == ["v-1", "a-1", "b-1", "a-2", "b-2", "a-3"]


def test_off_peak_rule_waits_for_its_window():
    assert window_closed(POLICY, "late", NOW) == "night"
    assert window_closed(POLICY, "late", NOW + dt.timedelta(hours=14)) is None  # 02:00 Shanghai
    assert window_closed(POLICY, "a", NOW) is None
    assert window_closed(POLICY, "deleted-rule", NOW) is None


def test_positions_and_etas_follow_the_slots():
    running = rec("a-0", -10, state=State.STARTED, data={**rec("a-0", 0).data, "progress": 50})
    queued = [rec("a-1", 0), rec("a-2", 1), rec("b-1", 2)]
    view = queue_view([running, *queued], POLICY, NOW)
    assert [view[r.key].position for r in queued] == [1, 3, 2]
    # one free slot now (100 GiB at 10 GiB/min = 10 min); the running copy frees the other in 5 min
    assert view[queued[0].key].eta == NOW + dt.timedelta(minutes=10)
    assert view[queued[2].key].eta == NOW + dt.timedelta(minutes=15)
    assert view[queued[1].key].eta == NOW + dt.timedelta(minutes=20)


def test_eta_of_an_off_peak_copy_starts_at_its_window():
    view = queue_view([rec("l-1", 0)], POLICY, NOW)
    (entry,) = view.values()
    assert entry.waiting_for_window == "night"
    assert entry.eta == dt.datetime(2026, 11, 21, 17, 10, tzinfo=dt.timezone.utc)


def test_observed_rate_replaces_the_default():
    done = rec("a-9", 0, state=State.DONE, data={**rec("a-9", 0).data, "started_at": NOW.isoformat(),
                                                   "done_at": (NOW + dt.timedelta(minutes=4)).isoformat()})
    assert observed_rate([done], "cn-beijing", 10.0) == 25.0
    assert observed_rate([], "cn-beijing", 10.0) == 10.0


def test_slots_never_exceed_the_limit_under_contention():
    ledger = Ledger(MemoryStore())
    slots = RegionSlots(ledger, lambda: NOW)
    won: list[str] = []

    def take(i: int) -> None:
        if slots.acquire("cn-beijing", f"k{i}", limit=3):
            won.append(f"k{i}")

    threads = [threading.Thread(target=take, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 3 and sorted(slots.held("cn-beijing")[0]) == sorted(won)
    assert slots.acquire("cn-beijing", won[0], limit=3)  # idempotent for a holder
    slots.release("cn-beijing", [won[0]])
    assert slots.acquire("cn-beijing", "late", limit=3)


def test_large_images_have_their_own_lower_limit():
    slots = RegionSlots(Ledger(MemoryStore()), lambda: NOW)
    assert slots.acquire("r", "big1", limit=5, large=True, large_limit=1)
    assert not slots.acquire("r", "big2", limit=5, large=True, large_limit=1)
    assert slots.acquire("r", "small", limit=5)


def test_heal_frees_slots_of_ended_or_stale_records():
    ledger = Ledger(MemoryStore())
    slots = RegionSlots(ledger, lambda: NOW)
    done, stale, live = rec("a-1", 0, state=State.DONE), rec("a-2", -30), rec("a-3", 0, state=State.STARTED)
    for r in (done, stale, live):
        slots.acquire("cn-beijing", r.key, limit=5)
    freed = slots.heal("cn-beijing", {r.key: r for r in (done, stale, live)}, NOW)
    assert freed == 2 and slots.held("cn-beijing")[0] == [live.key]
    assert ledger.get(slots_key("cn-beijing")) is not None
