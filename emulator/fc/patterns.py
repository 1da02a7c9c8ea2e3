"""EventBridge event patterns, as the FC emulator's event router matches them.

Event patterns (EventBridge subset): a mapping of keys to a list of allowed values or a nested mapping; an
event value that is a list matches when any element is allowed; list entries may also be
``{"prefix": s}``, ``{"suffix": s}``, ``{"anything-but": v|[v…]}``, ``{"exists": bool}``; anything else in
a pattern never matches (UNCONFIRMED subset of the EventBridge syntax).
"""

from __future__ import annotations

from typing import Any


def _value_matches(allowed: Any, value: Any, present: bool) -> bool:
    if isinstance(allowed, dict):
        if "exists" in allowed:
            return bool(allowed["exists"]) == present
        if not present:
            return False
        if "prefix" in allowed:
            return isinstance(value, str) and value.startswith(str(allowed["prefix"]))
        if "suffix" in allowed:
            return isinstance(value, str) and value.endswith(str(allowed["suffix"]))
        if "anything-but" in allowed:
            but = allowed["anything-but"]
            return value not in (but if isinstance(but, list) else [but])
        return False
    return present and value == allowed


def pattern_matches(pattern: dict[str, Any], event: Any) -> bool:
    """True when ``event`` satisfies the EventBridge filter ``pattern`` (module docstring subset)."""
    if not isinstance(event, dict):
        return False
    for key, allowed in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(allowed, dict) and not ({"exists", "prefix", "suffix", "anything-but"} & set(allowed)):
            if not pattern_matches(allowed, value if present else None):
                return False
            continue
        options = allowed if isinstance(allowed, list) else [allowed]
        values = value if isinstance(value, list) else [value]
        if not any(_value_matches(a, v, present) for a in options for v in values):
            return False
    return True


