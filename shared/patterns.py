"""Bounded-time regular expressions for every pattern a policy or a request supplies (invariant 6).

Why RE2 (the ``google-re2`` binding) rather than ``re``: Python's backtracking engine runs
``(a+)+$`` against 41 characters for longer than a tick's timeout (issue #10, defect 7), and a
policy or a backfill request can carry such a pattern. RE2 matches in time linear in the input,
whatever the pattern, so no tick can be held hostage. Validation-time heuristics (refusing nested
quantifiers) miss too many shapes (``(a|aa)+``, ``(\\w+\\.?)+``); ``regex`` with a timeout still burns the
timeout on every image of every tick. The wheel is self-contained (no dependency) and ships
manylinux_2_28 x86-64 builds for CPython 3.10, the FC platform.

What changes for policy authors (documented in the README): RE2 syntax. No backreferences and no
look-around (they are refused when the policy is validated, naming the field); ``$`` already means
the very end of the text (Python's ``\\Z``), and RE2 spells Python's ``\\Z`` as ``\\z``: ``\\Z`` is
accepted and rewritten, so a pattern written for ``re`` keeps its meaning.

Examples
--------
>>> bounded("(a+)+$").search("a" * 40 + "!")
False
>>> bounded("^v1\\\\.").search("v1.2")
True
>>> bounded("^v1$").search("v1\\n")
False
"""
from __future__ import annotations

import functools

import re2

#: Longest pattern accepted anywhere (policies, requests).
MAX_PATTERN_LENGTH = 256
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern to stderr through absl
_OPTIONS.max_mem = 1 << 20  # 1 MiB per program: ample for a 256-character pattern


class BoundedPattern:
    """A compiled RE2 pattern; ``search`` is ``re.search`` semantics, in linear time."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str, compiled: object) -> None:
        self.pattern = pattern
        self._compiled = compiled

    def search(self, text: str) -> bool:
        """True when the pattern matches anywhere in ``text``."""
        return self._compiled.search(text) is not None  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"BoundedPattern({self.pattern!r})"


def _python_end_anchor(pattern: str) -> str:
    r"""Rewrite Python's ``\Z`` (end of text) into RE2's ``\z``, leaving an escaped backslash alone."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            pair = pattern[i:i + 2]
            out.append("\\z" if pair == "\\Z" else pair)
            i += 2
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def bounded(pattern: str) -> BoundedPattern:
    """Compile ``pattern`` for bounded-time matching; ``ValueError`` says why it is refused.

    Examples
    --------
    >>> bounded("(a)\\\\1")
    Traceback (most recent call last):
    ...
    ValueError: invalid regular expression: invalid escape sequence: \\1 (RE2 syntax: no backreferences or look-around)
    """
    if not isinstance(pattern, str):
        raise ValueError("must be a string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compiled = re2.compile(_python_end_anchor(pattern), options=_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"invalid regular expression: {detail} (RE2 syntax: no backreferences or "
                         "look-around)") from None
    return BoundedPattern(pattern, compiled)


def check_pattern(value: str | None) -> str | None:
    """A pydantic validator body: ``value`` unchanged when it compiles, else ``ValueError``."""
    if value is not None:
        bounded(value)
    return value
