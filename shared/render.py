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


# --- Words a person reads ------------------------------------------------------------------------
# One vocabulary for every state the CLI shows (ledger state, with FAILED split by whether the
# function will try again by itself). `image-relay --help` prints STATE_LEGEND.
STATE_WORDS: dict[str, str] = {
    "queued": "recorded, waiting for its source, a slot in the region or its window",
    "running": "the cloud task (copy, export, sync) is in progress",
    "done": "finished: the copy/export/sync exists",
    "retrying": "failed, and the function will try again by itself at the time shown",
    "failed": "failed for good: a person must act (the reason says what), then `image-relay retry`",
    "cancelled": "cancelled by a person",
    "skipped": "not attempted: the cloud would refuse it (the reason says why)",
}
_LEDGER_WORD = {"PENDING": "queued", "STARTED": "running", "DONE": "done", "CANCELLED": "cancelled"}
STATE_LEGEND = "; ".join(f"{word}: {meaning}" for word, meaning in STATE_WORDS.items())


def state_word(state: str, *, retryable: bool = False, skipped: bool = False) -> str:
    """The display word for a ledger state (``PENDING`` → ``queued``, ``FAILED`` → failed/retrying).

    >>> state_word("FAILED", retryable=True), state_word("STARTED")
    ('retrying', 'running')
    """
    if state == "FAILED":
        if skipped:
            return "skipped"
        return "retrying" if retryable else "failed"
    return _LEDGER_WORD.get(state, state.lower())


def parse_state_words(values: list[str]) -> set[str]:
    """The display words named by ``--state`` values (a word, or a ledger state in any case)."""
    out: set[str] = set()
    for value in values:
        word = value.strip().lower()
        word = _LEDGER_WORD.get(word.upper(), word)
        if word not in STATE_WORDS:
            from shared.errors import EventValidationError

            raise EventValidationError(f"unknown state {value!r}; one of {', '.join(STATE_WORDS)}", field="--state")
        out.add(word)
        if word == "failed":
            out.add("retrying")  # `--state failed` means every failed record, as the ledger does
    return out


def fmt_time(value: Any, now: dt.datetime | None = None) -> str:
    """``14:05Z`` for today (UTC), ``11-24 14:05Z`` otherwise; ``-`` for nothing."""
    if value in (None, ""):
        return "-"
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")) if not isinstance(value, dt.datetime) \
        else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    when = when.astimezone(dt.timezone.utc)
    today = (now or dt.datetime.now(dt.timezone.utc)).date()
    return when.strftime("%H:%MZ") if when.date() == today else when.strftime("%m-%d %H:%MZ")


def fmt_value(value: Any) -> str:
    """A cell: booleans as yes/no, nothing as ``-``, lists joined, ISO times shortened, dicts as k=v."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return fmt_time(value)
    if isinstance(value, str) and _looks_like_time(value):
        return fmt_time(value)
    if isinstance(value, (list, tuple, set)):
        return ", ".join(fmt_value(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt_value(v)}" for k, v in value.items()) or "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _looks_like_time(text: str) -> bool:
    if len(text) < 19 or text[4] != "-" or text[10] not in "T ":
        return False
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_state_word(value: str) -> bool:
    """True for a display word or a ledger state name (``status --state`` tells filters from ledgers)."""
    word = value.strip().lower()
    return word in STATE_WORDS or word.upper() in _LEDGER_WORD or word == "failed"
