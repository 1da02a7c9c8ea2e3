"""The chaos suite must catch an account-target flow that breaks issue #13's promises.

Each test runs one quiet scenario with the partner account (no faults, so only the behaviour under test
decides) with the real build, which must pass, and with one behaviour switched off, which the suite must report
in its own words:
- the unshare (a build that keeps every share): "share left behind";
- the up-front refusal of an image above CopyImage's limit: "was not refused up front";
- one partner copy per (source image, account, region) (a build that starts every partner copy twice).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from scripts import chaos


def _quiet(seed: int, name: str = "app-web-0", size_gib: int = 40) -> chaos.Scenario:
    """One image delivered to the partner account, no fault of any kind."""
    sc = chaos.draw(seed)
    return dataclasses.replace(
        sc, images=[chaos.ImageSpec(region=chaos.SOURCES[0], image_id="m-chaos00000", name=name, size_gib=size_gib)],
        scratch=[], acr_tags=[], export_rule=False, throttle_rate=0.0, error_rate=0.0, latency_ms=0,
        lost_response_rate=0.0, crash_rate=0.0, store_fail_rate=0.0, min_deliveries=2, max_deliveries=2,
        concurrency=0.0, create_image_fail_rate=0.0, stale_ticks=0, oss_ledger=False, lineage_trap=False,
        skewed_clock=False, partner=True)


def _violations(emu: Any, sc: chaos.Scenario, prefix: str) -> list[str]:
    return [v for v in chaos.run_scenario(emu, sc).violations if v.startswith(prefix)]


def test_a_partner_delivery_passes_with_the_real_build(chaos_emu):
    result = chaos.run_scenario(chaos_emu, _quiet(31))
    assert result.violations == []
    shares = [c for c in chaos_emu.control.requests() if c["action"] == "ModifyImageSharePermission"]
    assert {k.split(".")[0] for c in shares for k in c["params"] if k.endswith("Account.1")} == {
        "AddAccount", "RemoveAccount"}
    assert len([c for c in chaos_emu.control.requests() if c["action"] == "CopyImage"
                and c["account"] == chaos.PARTNER_ACCOUNT and c["status"] == 200]) == 3


def test_a_build_that_never_unshares_is_caught(chaos_emu, monkeypatch):
    import shared.accounts.plan as plan

    original = plan.CloseShare

    def keep(key: str, unshare: bool, **kw: Any) -> Any:
        return original(key, unshare=False, **kw)

    monkeypatch.setattr(plan, "CloseShare", keep)
    left = _violations(chaos_emu, _quiet(31), "share left behind")
    assert left == [f"share left behind: m-chaos00000 is still shared with {chaos.PARTNER_ACCOUNT}"]


def test_a_build_that_does_not_refuse_a_large_image_up_front_is_caught(chaos_emu, monkeypatch):
    import shared.accounts.executor as executor

    assert chaos.run_scenario(chaos_emu, _quiet(32, "app-big-0", 2100)).violations == []
    monkeypatch.setattr(executor, "too_large", lambda *a: None)
    found = _violations(chaos_emu, _quiet(32, "app-big-0", 2100), "an image above CopyImage's limit")
    assert len(found) == 1 and "m-chaos00000" in found[0], found


def test_a_build_that_copies_twice_into_the_partner_is_caught(chaos_emu, monkeypatch):
    import shared.accounts.executor as executor

    original = executor.AccountExecutor._start_copy

    def twice(self: Any, record: Any, hop: Any, from_image: str) -> None:
        original(self, record, hop, from_image)
        if not hop.first:  # a second copy of its own, as a build without claims or tokens would make
            spec = hop.spec(from_image, record.attempt + 7, self.source_account or "")
            self.sessions.ecs(hop.role_arn).copy_image(spec.model_copy(update={"name": spec.name + "-again"}))

    monkeypatch.setattr(executor.AccountExecutor, "_start_copy", twice)
    found = _violations(chaos_emu, _quiet(31), "duplicate partner copy")
    assert {v.split(" in ")[1].split(" ")[0] for v in found} == {
        f"{chaos.PARTNER_ACCOUNT}/{r}" for r in chaos.PARTNER_REGIONS}, found
