"""The chaos suite must catch a build rule that builds twice or hands its image on to nobody (issue #14).

Each test runs one scenario with a build rule, every StartImagePipelineExecution answer lost while the faults
last (the build starts, the caller sees a 503), twice: with the real code, which must pass, and with one
guard switched off, which the suite must report in its own words:
- exactly once: the broken start forgets a start whose answer was lost (back to PENDING, so the next start
  has a new ClientToken) and, once the first build frees its template, starts a second one ("double build");
- the hand-off: the broken finish records the build DONE without writing its copy and export intents
  ("lost hand-off").
"""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from scripts import chaos
from scripts.chaos import runner
from shared.ledger.record import State


def _builds(seed: int, outcome: str = "SUCCESS") -> chaos.Scenario:
    """One plain image, a build rule (and an export rule), no fault but lost build-start answers."""
    sc = chaos.draw(seed)
    return dataclasses.replace(
        sc, images=[chaos.ImageSpec(region=chaos.SOURCES[0], image_id="m-chaos00000", name="app-web-0", size_gib=40)],
        scratch=[], acr_tags=[], export_rule=True, throttle_rate=0.0, error_rate=0.0, latency_ms=0,
        lost_response_rate=1.0, crash_rate=0.0, store_fail_rate=0.0, min_deliveries=1, max_deliveries=1,
        concurrency=0.0, create_image_fail_rate=0.0, stale_ticks=0, oss_ledger=False, lineage_trap=False,
        skewed_clock=False, ticks_during_chaos=3, build_rule=True, build_outcome=outcome)


@pytest.fixture
def lost_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """While the faults last, every StartImagePipelineExecution runs and its answer is lost."""
    def set_faults(self: runner.Run, on: bool) -> None:
        if on:
            self.emu.control.set_faults(lost_response_rate=1.0, actions=["StartImagePipelineExecution"], seed=1)
        else:
            self.emu.control.set_faults()

    monkeypatch.setattr(runner.Run, "set_faults", set_faults)


def _forget_lost_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.builds import executor as build_executor
    from shared.errors import CloudError

    original = build_executor.BuildExecutor._start

    def start(self: Any, record: Any) -> None:
        try:
            original(self, record)
        except CloudError as exc:
            if not exc.retryable:
                raise
            current = self.ledger.get(record.key)  # "not started": queue it again, as if nothing happened
            self.ledger.transition(record.key, current, state=State.PENDING, attempt=current.attempt, force=True)

    monkeypatch.setattr(build_executor.BuildExecutor, "_start", start)


def _drop_hand_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.builds import executor as build_executor

    monkeypatch.setattr(build_executor.BuildExecutor, "_hand_off", lambda self, record, action: {})


def _violations(emu: Any, sc: chaos.Scenario, prefix: str) -> list[str]:
    return [v for v in chaos.run_scenario(emu, sc).violations if v.startswith(prefix)]


def test_the_real_code_passes_the_build_scenarios(chaos_emu: Any, lost_starts: None) -> None:
    for outcome in ("SUCCESS", "PARTITION_SUCCESS"):
        result = chaos.run_scenario(chaos_emu, _builds(21, outcome))
        assert result.violations == [], (outcome, result.violations)


def test_a_start_that_forgets_a_lost_answer_is_caught_building_twice(chaos_emu: Any, lost_starts: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_lost_starts(monkeypatch)
    found = _violations(chaos_emu, _builds(21), "double build")
    assert found and f"executions of {chaos.scenario.PIPELINE_ID} for 1 slot(s)" in found[0], found


def test_a_finish_that_drops_the_hand_off_is_caught(chaos_emu: Any, lost_starts: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _drop_hand_off(monkeypatch)
    found = _violations(chaos_emu, _builds(21, "PARTITION_SUCCESS"), "lost hand-off")
    assert any(f"no copy record for {chaos.scenario.GOLDEN_TARGET}" in v for v in found), found
    assert any("no copy record for cn-shanghai" in v for v in found), found
    assert any("0 export records" in v for v in found), found
