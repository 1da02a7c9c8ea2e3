"""Chaos tests share one in-process emulator; every run resets it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import Emulator


@pytest.fixture(scope="session")
def chaos_emu() -> Iterator[Emulator]:
    with Emulator(port=0) as server:
        yield server
