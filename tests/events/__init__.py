"""JSON fixture events, loaded as the bytes FC would hand a Python handler."""

from __future__ import annotations

from pathlib import Path

EVENTS_DIR = Path(__file__).resolve().parent


def load_event(name: str) -> bytes:
    """Raw bytes of ``tests/events/<name>`` (``.json`` may be omitted)."""
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    return path.read_bytes()
