"""The suite must catch a broken build: with the ledger's dedupe switched off, duplicates show up.

The break is deliberate and total on the copy path: `Ledger.ensure` always answers "created",
`Ledger.transition` skips its compare-and-set (it writes over whatever version is stored), a
redelivered CloudEvent id is never remembered, and every ClientToken is unique per call, so neither
the ledger nor ECS can tell a duplicate delivery from a new one. ECS also refuses a second image of the
same name in a region (InvalidImageName.Duplicated), a guard that would hide the break, so the broken build
also stamps each copy's name (as a build that appended a timestamp would).
"""
from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest

from scripts import chaos
from shared.ledger import Ledger, Record


def _break_dedupe(monkeypatch: pytest.MonkeyPatch) -> None:
    original_transition = Ledger.transition

    def ensure(self: Ledger, record: Record) -> tuple[Record, bool]:
        if self.store.create(record):
            return record.model_copy(update={"version": 1}), True
        existing = self.store.get(record.key)                  # lies: "created", a fresh intent
        return record.model_copy(update={"version": existing.version if existing else 1}), True

    def transition(self: Ledger, key: str, expected: Record, *, force: bool = False, **changes: Any) -> Record:
        current = self.store.get(key)
        if current is not None:                                # no compare-and-set: last writer wins
            expected = expected.model_copy(update={"version": current.version})
        return original_transition(self, key, expected, force=force, **changes)

    def unique_token(key: str, attempt: int) -> str:
        return f"ir-{uuid.uuid4().hex}"

    monkeypatch.setattr(Ledger, "ensure", ensure)
    monkeypatch.setattr(Ledger, "transition", transition)
    monkeypatch.setattr(Ledger, "remember_event", lambda self, event_id: True)
    import shared.replication.executor as executor
    import shared.replication.targets as targets

    original_spec = targets.CopyTarget.spec

    def stamped_spec(self: Any, attempt: int) -> Any:
        spec = original_spec(self, attempt)
        return spec.model_copy(update={"name": f"{spec.name}-{uuid.uuid4().hex[:8]}"})

    monkeypatch.setattr(targets.CopyTarget, "spec", stamped_spec)
    monkeypatch.setattr(targets, "client_token", unique_token)
    monkeypatch.setattr(executor, "client_token", unique_token)


def _duplicating_scenario(seed: int) -> chaos.Scenario:
    """Plain Available images, every event delivered three times, no other fault (so only dedupe is tested)."""
    sc = chaos.draw(seed)
    images = [chaos.ImageSpec(region=chaos.SOURCES[i % 2], image_id=f"m-chaos{i:05d}", name=f"app-web-{i}",
                              size_gib=40) for i in range(3)]
    return dataclasses.replace(
        sc, images=images, scratch=[], acr_tags=[], export_rule=False, throttle_rate=0.0, error_rate=0.0,
        latency_ms=0, lost_response_rate=0.0, crash_rate=0.0, store_fail_rate=0.0, min_deliveries=3,
        max_deliveries=3, concurrency=1.0, create_image_fail_rate=0.0)


def test_the_real_build_passes_the_same_scenario(chaos_emu):
    result = chaos.run_scenario(chaos_emu, _duplicating_scenario(11))
    assert result.violations == []


def test_a_build_without_ledger_dedupe_is_caught_with_duplicate_copies(chaos_emu, monkeypatch):
    _break_dedupe(monkeypatch)
    result = chaos.run_scenario(chaos_emu, _duplicating_scenario(11))
    duplicates = [v for v in result.violations if v.startswith("duplicate copy")]
    assert duplicates, result.violations
    assert any("copy/cn-hangzhou/m-chaos00000/" in v for v in duplicates), duplicates
