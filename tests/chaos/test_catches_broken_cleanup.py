"""The chaos suite must catch a cleanup that deletes what it must keep (issue #10, defects 1-4).

Each test runs one quiet scenario (no faults, so only the guard under test decides) twice: with the real
build, which must pass, and with one guard switched off, which the suite must report in its own words:
- the reference guard (launch template versions, scaling configurations, families, a copy's source);
- lineage from provenance (the broken build uses the old name pattern: digits masked);
- the age guard against a caller's clock (the broken build believes the caller);
- the failed-build leftover guards (the broken build ignores the build task's end and the grace).
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from scripts import chaos


def _quiet(seed: int, scratch: list[chaos.ScratchSpec], **knobs: Any) -> chaos.Scenario:
    """One plain image, the given leftovers, no fault of any kind."""
    sc = chaos.draw(seed)
    return dataclasses.replace(
        sc, images=[chaos.ImageSpec(region=chaos.SOURCES[0], image_id="m-chaos00000", name="app-web-0", size_gib=40)],
        scratch=scratch, acr_tags=[], export_rule=False, throttle_rate=0.0, error_rate=0.0, latency_ms=0,
        lost_response_rate=0.0, crash_rate=0.0, store_fail_rate=0.0, min_deliveries=1, max_deliveries=1,
        concurrency=0.0, create_image_fail_rate=0.0, stale_ticks=0, oss_ledger=False,
        **{"lineage_trap": False, "skewed_clock": False, "build_leftovers": False, **knobs})


REFERENCED = [chaos.ScratchSpec(region="cn-beijing", image_id=f"m-scratchref{n:02d}", kind=kind)
              for n, kind in enumerate(chaos.REFERENCE_KINDS)]
OLD = [chaos.ScratchSpec(region="cn-beijing", image_id="m-scratch0000", kind="old")]
YOUNG = [chaos.ScratchSpec(region="cn-beijing", image_id="m-scratch0001", kind="young")]


def _violations(emu: Any, sc: chaos.Scenario, prefix: str) -> list[str]:
    return [v for v in chaos.run_scenario(emu, sc).violations if v.startswith(prefix)]


def test_referenced_leftovers_are_kept_by_the_real_build(chaos_emu):
    result = chaos.run_scenario(chaos_emu, _quiet(21, REFERENCED + OLD))
    assert result.violations == []


def test_a_cleanup_blind_to_references_is_caught(chaos_emu, monkeypatch):
    import shared.cleanup.service as service

    monkeypatch.setattr(service, "image_references", lambda image, refs: ())
    sc = _quiet(21, REFERENCED + OLD)
    deleted = _violations(chaos_emu, sc, "deleted a protected image") + _violations(chaos_emu, sc, "deleted the source")
    for n, kind in enumerate(k for k in chaos.REFERENCE_KINDS if k != "copy_source"):
        assert any(f"m-scratchref{n:02d} ({kind})" in v for v in deleted), deleted


def test_the_lineage_trap_holds_with_the_real_build(chaos_emu):
    assert chaos.run_scenario(chaos_emu, _quiet(22, OLD, lineage_trap=True)).violations == []


def test_lineage_by_name_pattern_is_caught(chaos_emu, monkeypatch):
    import shared.cleanup.planner as planner

    monkeypatch.setattr(planner, "lineage_of",
                        lambda facts: f"{facts.image.region}/{re.sub(r'[0-9]+', '#', facts.image.name)}")
    crossed = _violations(chaos_emu, _quiet(22, OLD, lineage_trap=True), "lineage crossed")
    assert any("base-ubuntu22-2026-01" in v for v in crossed), crossed


def test_a_clock_ahead_is_refused_by_the_real_build(chaos_emu):
    assert chaos.run_scenario(chaos_emu, _quiet(23, YOUNG + OLD, skewed_clock=True)).violations == []


def test_a_cleanup_that_believes_the_callers_clock_is_caught(chaos_emu, monkeypatch):
    import shared.cleanup.service as service

    monkeypatch.setattr(service, "deletion_clock", lambda real, request, *a: request.now or real)
    crossed = _violations(chaos_emu, _quiet(23, YOUNG + OLD, skewed_clock=True), "age guard crossed")
    assert any("m-scratch0001" in v for v in crossed), crossed


@pytest.mark.parametrize("kind", chaos.REFERENCE_KINDS)
def test_every_reference_kind_is_seeded_as_the_emulator_documents(kind):
    # the seed keys users' scripts rely on (issue #10): launch_templates, scaling_configurations, family
    sc = _quiet(24, [chaos.ScratchSpec(region="cn-beijing", image_id="m-scratchref00", kind=kind)])
    import datetime as dt

    from scripts.chaos.scenario import emulator_seed

    seed = emulator_seed(sc, dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc), "s")
    scratch = next(i for i in seed["images"] if i["image_id"] == "m-scratchref00")
    expected = {"in_template": "launch_templates" in seed, "in_scaling": "scaling_configurations" in seed,
                "family_latest": "family" in scratch, "copy_source": scratch["size_gib"] == chaos.COPY_SOURCE_GIB}
    assert expected[kind]


def test_failed_build_leftovers_and_look_alikes_are_kept_by_the_real_build(chaos_emu):
    result = chaos.run_scenario(chaos_emu, _quiet(23, OLD, build_leftovers=True))
    assert result.violations == []


def test_a_cleanup_that_ignores_the_builds_end_is_caught(chaos_emu, monkeypatch):
    import shared.cleanup.leftovers as leftovers

    monkeypatch.setattr(leftovers, "_task_guard", lambda *args, **kwargs: None)
    young = _violations(chaos_emu, _quiet(23, OLD, build_leftovers=True), "released a failed build's instance")
    assert young and all("younger than its end plus the grace" in v for v in young), young
