"""Suite-wide fixtures and guards; tests are organised by feature (tests/README.md).

- The official credential chain ends with the ECS instance's RAM role, read from the metadata service at
  100.100.100.200: tests never reach outside loopback, so that provider is off for the whole suite.
- darabonba honours HTTP_PROXY but not NO_PROXY (alibaba-api.md §7.1), so the proxy variables are removed for
  the whole session before any client is built.
- One emulator serves the whole session on a free port (`emulator`, also reachable as `emu`); a test that uses
  it starts from a reset state: `world` resets and seeds it, tests/emulator/ resets it before each test.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import Emulator
from scripts import sample_world as scene
from tests.world import World, reset_caches

os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One emulator for the whole session, on port 0."""
    with Emulator(port=0) as server:
        yield server


@pytest.fixture(scope="session")
def emu(emulator: Emulator) -> Emulator:
    """The session's emulator, under the short name the handler-level tests use."""
    return emulator


@pytest.fixture
def world(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The sample world (scripts/sample_world.py) seeded on a reset emulator, a fresh policy file and sqlite
    ledger, caches forgotten."""
    emu.control.reset()
    emu.control.seed(scene.seed())
    yield World(emu, tmp_path, monkeypatch)
    reset_caches()
