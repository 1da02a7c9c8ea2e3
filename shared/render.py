"""Render planned actions (frozen dataclasses holding values and pydantic models) as plain JSON dicts.

Dry runs and `image-relay plan` print the very plan the executor would apply, so one renderer serves
every planner.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any


def render_action(action: Any) -> dict[str, Any]:
    """`{"action": <class name>, <field>: <value>, …}`, models dumped, datetimes as ISO text."""
    out: dict[str, Any] = {"action": type(action).__name__}
    for field in dataclasses.fields(action):
        value = getattr(action, field.name)
        if value is None:
            continue
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        elif isinstance(value, dt.datetime):
            value = value.isoformat()
        out[field.name] = value
    return out
