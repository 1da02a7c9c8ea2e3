"""`World`: one functional test's emulator scene, policy and ledger, with helpers to look at the result.

Handlers are called with event bytes; the official SDK clients inside them reach the emulator over HTTP. The
`world` fixture (tests/conftest.py) builds one per test on the session's emulator.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator
from scripts import sample_world as scene
from shared.clouds._clients import reset_clients
from shared.config import Credentials, reset_settings
from shared.wiring import reset_wiring


class World:
    """One test's emulator scene, policy and ledger, plus helpers to look at the result."""

    def __init__(self, emu: Emulator, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.emu = emu
        self.tmp = tmp
        self.monkeypatch = monkeypatch
        self.state_url = f"sqlite:///{tmp / 'ledger.db'}"
        self.policy_path = tmp / "policy.yml"
        self.set_policy(scene.POLICY_YAML)
        for name, value in {
            "IMAGE_RELAY_POLICY": str(self.policy_path),
            "IMAGE_RELAY_STATE": self.state_url,
            "IMAGE_RELAY_ENDPOINT": emu.url,
            "IMAGE_RELAY_RETRY_BASE_SECONDS": "0.001",
            "IMAGE_RELAY_RETRY_MAX_ATTEMPTS": "8",
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        reset_caches()

    def set_policy(self, text: str) -> None:
        self.policy_path.write_text(text)
        reset_wiring()

    def invoke(self, function: str, event: bytes, **kw: Any) -> dict[str, Any]:
        from scripts.invoke import invoke

        return json.loads(invoke(function, event, **kw))

    def event(self, image_id: str, name: str = "app", event_id: str | None = None) -> bytes:
        return scene.create_image_event(scene.SOURCE, image_id, name, event_id=event_id)

    def tick(self) -> dict[str, Any]:
        return self.invoke("reconcile", scene.timer_event())

    def run_until_settled(self, max_ticks: int = 40, step: int = 60) -> dict[str, Any]:
        """Tick and advance virtual time until no record is PENDING or STARTED."""
        summary: dict[str, Any] = {}
        for _ in range(max_ticks):
            summary = self.tick()
            if not {"PENDING", "STARTED"} & set(summary["records"]):
                return summary
            self.emu.control.advance(step)
        raise AssertionError(f"not settled after {max_ticks} ticks: {summary}")

    def calls(self, action: str | None = None, status: int | None = None) -> list[dict[str, Any]]:
        return [c for c in self.emu.control.requests()
                if (action is None or c["action"] == action) and (status is None or c["status"] == status)]

    def ecs(self) -> Any:
        from shared.clouds.ecs import EcsGateway

        return EcsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                                  endpoint=self.emu.url)

    def copies_in(self, region: str) -> list[Any]:
        """Every image in `region` that names a source image in its provenance tags."""
        return [i for i in self.ecs().list_images(region) if "image-relay:source-image" in i.tags]

    def ledger(self) -> Any:
        from shared.ledger import Ledger, open_store

        return Ledger(open_store(self.state_url))


def reset_caches() -> None:
    """Forget the process-wide settings, wiring and SDK clients, so the next call reads the test's env."""
    reset_settings()
    reset_wiring()
    reset_clients()
