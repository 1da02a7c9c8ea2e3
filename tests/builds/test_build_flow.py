"""Build rules end to end through the real SDK against the emulator: a duplicated tick starts one build, a
busy template defers the next slot, a lost answer or a console build never doubles a start, and the end
of a build is recorded with what is handed on and why."""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator

import pytest

from emulator import Emulator
from shared.apply import CLAIM_LEASE, Backoff
from shared.builds.service import stages, tick
from shared.clouds._clients import reset_clients
from shared.clouds._retry import RetryPolicy
from shared.clouds.ecs_pipelines import ImageBuilderGateway
from shared.config import Credentials
from shared.ledger import Ledger, open_store
from shared.ledger.record import State
from shared.policy import Policy, load_policy

R = "cn-hangzhou"
HOURLY = """
build_rules:
  - name: golden
    pipeline: {region: cn-hangzhou, name: golden-base}
    cron: "0 * * * *"
"""


@pytest.fixture
def emu_world(emu: Emulator) -> Iterator[Emulator]:
    emu.control.reset()
    # Start the clock just after an hour so the hourly slot is due; a build lasts 4 stages.
    epoch = emu.control.clock()["epoch"]
    emu.control.advance(3600 - epoch % 3600 + 60)
    emu.control.seed({
        "images": [{"region": R, "image_id": "m-base"}],
        "image_pipelines": [{"region": R, "pipeline_id": "ip-gold", "name": "golden-base", "base_image": "m-base",
                             "image_name": "golden", "to_regions": ["cn-beijing"]}],
    })
    reset_clients()
    yield emu
    reset_clients()


def gateway(emu: Emulator) -> ImageBuilderGateway:
    creds = Credentials(access_key_id="test-ak", access_key_secret="test-secret")
    return ImageBuilderGateway.connect(creds, endpoint=emu.url,
                                       retry=RetryPolicy(base_seconds=0.001, sleep=lambda _: None))


def virtual_now(emu: Emulator) -> dt.datetime:
    return dt.datetime.fromtimestamp(emu.control.clock()["epoch"], tz=dt.timezone.utc)


def run(emu: Emulator, policy: Policy, ledger: Ledger) -> dict[str, int]:
    return dict(tick(policy, ledger, gateway(emu), now=lambda: virtual_now(emu), backoff=Backoff(base_seconds=60)))


def starts(emu: Emulator) -> list[dict[str, object]]:
    return [c for c in emu.control.requests() if c["action"] == "StartImagePipelineExecution" and c["status"] == 200]


def test_a_duplicated_tick_starts_one_build(emu_world: Emulator, tmp_path) -> None:
    # GIVEN two invocations of the same tick on one ledger, at the same time
    ledger = Ledger(open_store(f"sqlite:///{tmp_path / 'ledger.db'}"))
    policy = load_policy(HOURLY)
    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(run(emu_world, policy, ledger))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run(emu_world, policy, ledger)  # and a third, late duplicate
    # THEN one build started, recorded once under (template, slot)
    assert len(starts(emu_world)) == 1
    [record] = ledger.scan("build/")
    assert record.key.startswith("build/cn-hangzhou/name:golden-base/") and record.state is State.STARTED
    assert record.cloud_id and record.data["pipeline_id"] == "ip-gold"
    assert [s["stage"] for s in stages(ledger)] == ["PREPARING"]


def test_a_busy_template_defers_the_next_slot_until_the_build_ends(emu_world: Emulator) -> None:
    emu_world.control.configure(image_pipeline_stage_seconds=1200)  # a build lasts 80 minutes
    ledger = Ledger(open_store("memory://"))
    policy = load_policy(HOURLY)
    run(emu_world, policy, ledger)
    emu_world.control.advance(3600)  # the next hourly slot, the first build still runs
    run(emu_world, policy, ledger)
    first, second = sorted(ledger.scan("build/"), key=lambda r: r.data["slot"])
    assert (first.state, second.state) == (State.STARTED, State.PENDING)
    assert second.reason and "one build per template" in second.reason
    assert len(starts(emu_world)) == 1
    emu_world.control.advance(1200)  # the first build ends
    run(emu_world, policy, ledger)
    first, second = sorted(ledger.scan("build/"), key=lambda r: r.data["slot"])
    assert (first.state, second.state) == (State.DONE, State.STARTED)
    assert first.data["stage"] == "SUCCESS" and first.data["image_id"] and first.data["distribute"] is True
    assert len(starts(emu_world)) == 2


def test_a_build_started_in_the_console_makes_the_slot_wait(emu_world: Emulator) -> None:
    gw = gateway(emu_world)
    console = gw.start_pipeline_execution(R, "ip-gold")
    ledger = Ledger(open_store("memory://"))
    outcomes = run(emu_world, load_policy(HOURLY), ledger)
    [record] = ledger.scan("build/")
    assert outcomes["deferred_busy"] == 1 and record.state is State.PENDING and record.next_attempt_at
    assert "one build per template" in (record.reason or "")
    emu_world.control.advance(4 * 120)  # the console's build ends
    run(emu_world, load_policy(HOURLY), ledger)
    [record] = ledger.scan("build/")
    assert record.state is State.STARTED and record.cloud_id != console


def test_a_lost_start_answer_resumes_into_the_same_build(emu_world: Emulator) -> None:
    ledger = Ledger(open_store("memory://"))
    emu_world.control.set_faults(lost_response_rate=1.0, actions=["StartImagePipelineExecution"])
    outcomes = run(emu_world, load_policy(HOURLY), ledger)
    assert outcomes["cloud_error"] == 1
    [record] = ledger.scan("build/")
    assert record.state is State.STARTED and record.cloud_id is None
    emu_world.control.set_faults()
    # a tick within the claim's lease leaves it alone (the claimer may still be calling)
    calls = [c["action"] for c in emu_world.control.requests()].count("StartImagePipelineExecution")
    again = run(emu_world, load_policy(HOURLY), ledger)
    assert "started" not in again
    assert [c["action"] for c in emu_world.control.requests()].count("StartImagePipelineExecution") == calls
    assert [r.cloud_id for r in ledger.scan("build/")] == [None]
    emu_world.control.advance(CLAIM_LEASE.total_seconds())
    run(emu_world, load_policy(HOURLY), ledger)
    [record] = ledger.scan("build/")
    [only] = gateway(emu_world).describe_pipeline_executions(R, pipeline_id="ip-gold")
    assert record.cloud_id == only.execution_id


class _RacingGateway(ImageBuilderGateway):
    """Runs ``during_start`` (another invocation's tick) after the claim is written and before its own
    StartImagePipelineExecution goes out: the interleaving that flaked under load, made deterministic."""

    during_start: Callable[[], None] = staticmethod(lambda: None)

    def start_pipeline_execution(self, region: str, pipeline_id: str, *, client_token: str | None = None) -> str:
        self.during_start()
        return super().start_pipeline_execution(region, pipeline_id, client_token=client_token)


def test_a_tick_that_reads_a_fresh_claim_does_not_call_start_again(emu_world: Emulator) -> None:
    # GIVEN tick A has claimed the slot (STARTED, no ExecutionId yet) and is about to call Image Builder
    ledger = Ledger(open_store("memory://"))
    policy = load_policy(HOURLY)
    seen: list[dict[str, int]] = []

    def tick_b() -> None:
        [claimed] = ledger.scan("build/")
        assert claimed.state is State.STARTED and claimed.cloud_id is None
        seen.append(run(emu_world, policy, ledger))  # WHEN tick B runs right then, on the same virtual time

    racing = _RacingGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                                    endpoint=emu_world.url, retry=RetryPolicy(base_seconds=0.001, sleep=lambda _: None))
    assert isinstance(racing, _RacingGateway)
    racing.during_start = tick_b
    outcomes = tick(policy, ledger, racing, now=lambda: virtual_now(emu_world), backoff=Backoff(base_seconds=60))
    # THEN tick B made no StartImagePipelineExecution (the claim's lease is live) and tick A started the one build
    assert seen and "started" not in seen[0] and seen[0].get("cloud_error", 0) == 0
    assert outcomes["started"] == 1 and len(starts(emu_world)) == 1
    [record] = ledger.scan("build/")
    assert record.state is State.STARTED and record.cloud_id is not None
    assert [c["action"] for c in emu_world.control.requests()].count("StartImagePipelineExecution") == 1


@pytest.mark.parametrize(
    "outcome, state, distribute, why",
    [
        ("TEST_FAILED", State.DONE, False, "distribute_test_failed is false"),
        ("PARTITION_SUCCESS", State.DONE, True, "distribute_partition_success is true"),
        ("FAILED", State.FAILED, False, "FAILED: Run the build content failed."),
    ],
)
def test_the_end_of_a_build_says_what_is_handed_on(
    emu_world: Emulator, outcome: str, state: State, distribute: bool, why: str
) -> None:
    emu_world.control.ecs_pipeline_outcome({"pipeline_id": "ip-gold", "outcome": outcome})
    ledger = Ledger(open_store("memory://"))
    run(emu_world, load_policy(HOURLY), ledger)
    emu_world.control.advance(5 * 120)
    run(emu_world, load_policy(HOURLY), ledger)
    [record] = ledger.scan("build/")
    assert (record.state, record.data["stage"], record.data["distribute"]) == (state, outcome, distribute)
    assert why in record.data["why"]
    assert bool(record.data["image_id"]) is (outcome != "FAILED")


def test_following_many_builds_is_one_listing_per_region(emu_world: Emulator) -> None:
    emu_world.control.seed({"image_pipelines": [
        {"region": R, "pipeline_id": f"ip-{n}", "name": f"tpl-{n}", "base_image": "m-base"} for n in range(30)]})
    rules = "\n".join(f"  - {{name: b{n}, pipeline: {{region: {R}, id: ip-{n}}}, cron: \"0 * * * *\"}}"
                      for n in range(30))
    policy = load_policy("build_rules:\n" + rules)
    ledger = Ledger(open_store("memory://"))
    run(emu_world, policy, ledger)
    assert len(starts(emu_world)) == 30
    emu_world.control.advance(120)
    before = len(emu_world.control.requests())
    run(emu_world, policy, ledger)
    calls = [c["action"] for c in emu_world.control.requests()[before:]]
    assert calls == ["DescribeImagePipelineExecutions"]
    assert {s["stage"] for s in stages(ledger)} == {"BUILDING"}


def test_the_reconcile_handler_starts_and_follows_builds(world) -> None:  # type: ignore[no-untyped-def]
    from scripts import sample_world as scene

    def tick_at_virtual_now() -> dict[str, object]:
        now = virtual_now(world.emu).strftime("%Y-%m-%dT%H:%M:%SZ")
        return world.invoke("reconcile", scene.timer_event(now))["builds"]

    # GIVEN the sample world plus a template and an hourly build rule, a minute past the hour
    epoch = world.emu.control.clock()["epoch"]
    world.emu.control.advance(3600 - epoch % 3600 + 60)
    world.emu.control.seed({"image_pipelines": [
        {"region": R, "pipeline_id": "ip-gold", "name": "golden-base", "base_image": "m-bp1demoweb0001",
         "image_name": "golden"}]})
    world.set_policy(scene.POLICY_YAML + HOURLY)
    # WHEN the timer fires twice at the same time (a duplicated tick)
    first, again = tick_at_virtual_now(), tick_at_virtual_now()
    # THEN one build starts and both answers show its stage
    assert first["outcomes"]["started"] == 1 and "started" not in again["outcomes"]
    assert [b["stage"] for b in again["active"]] == ["PREPARING"]
    assert len(world.calls("StartImagePipelineExecution", 200)) == 1
    # and a later tick follows it to its end
    world.emu.control.advance(4 * 120)
    done = tick_at_virtual_now()
    assert done["outcomes"]["finished"] == 1 and done["records"] == {"DONE": 1}


HANDOFF = """
copy_rules:
  - {name: golden-copy, source_regions: [cn-shanghai], match: {name_regex: "^never"}, target_regions: [cn-beijing, ap-southeast-1]}
build_rules:
  - name: golden
    pipeline: {region: cn-hangzhou, id: ip-gold}
    cron: "0 * * * *"
    copy_rules: [golden-copy]
"""


@pytest.mark.parametrize("outcome, handed_on", [("SUCCESS", True), ("TEST_FAILED", False)])
def test_a_finished_build_hands_its_image_to_the_named_copy_rules(world, outcome: str, handed_on: bool) -> None:  # type: ignore[no-untyped-def]
    from scripts import sample_world as scene

    def tick_at_virtual_now() -> dict[str, object]:
        now = virtual_now(world.emu).strftime("%Y-%m-%dT%H:%M:%SZ")
        return world.invoke("reconcile", scene.timer_event(now))

    # GIVEN a build rule whose copy rule would never match the built image by itself
    epoch = world.emu.control.clock()["epoch"]
    world.emu.control.advance(3600 - epoch % 3600 + 60)
    world.emu.control.seed({"image_pipelines": [
        {"region": R, "pipeline_id": "ip-gold", "name": "golden-base", "base_image": "m-bp1demoweb0001",
         "image_name": "golden"}]})
    world.emu.control.ecs_pipeline_outcome({"pipeline_id": "ip-gold", "outcome": outcome})
    world.set_policy(HANDOFF)
    # WHEN the build runs to its end and the copy tick follows
    tick_at_virtual_now()
    world.emu.control.advance(5 * 120)
    builds = tick_at_virtual_now()["builds"]
    [build] = world.ledger().scan("build/")
    copies = list(world.ledger().scan("copy/"))
    # THEN the image goes to both target regions, with its lineage, only when the rule hands it on
    assert build.state.value == "DONE" and build.data["distribute"] is handed_on
    assert builds["outcomes"].get("handed_off", 0) == (2 if handed_on else 0)
    assert sorted(c.data["target"]["target_region"] for c in copies) == (
        ["ap-southeast-1", "cn-beijing"] if handed_on else [])
    if handed_on:
        tick_at_virtual_now()  # the copy tick starts the intents
        [copy] = [i for i in world.ecs().list_images("cn-beijing") if "image-relay:source-image" in i.tags]
        assert copy.tags["image-relay:execution"] == build.cloud_id
        assert copy.tags["image-relay:pipeline"] == "ip-gold"
        assert copy.tags["image-relay:source-image"] == build.data["image_id"]
