"""Policy problems a person can fix: every error at once, each with its field path, YAML line and column.

Why PyYAML's node marks (not a second YAML library): the loader the functions already ship composes
the document into nodes that carry `start_mark` (line, column); walking a pydantic error's `loc`
through those nodes finds where the bad value is written. pydantic's own wording is kept but its
"Value error, " prefix is not, and a validator that points below its field (`.loc` on the raised
ValueError) is followed down to the exact key or item.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from shared.errors import field_path
from shared.policy.acr import acr_rule_label

_PREFIXES = ("Value error, ", "Assertion failed, ")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy: where (field path, 1-based line and column) and why."""

    field: str
    message: str
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)

    def text(self, source: str = "") -> str:
        """``policy.yml:4:21: copy_rules[0].target_regions[0]: unknown region …``."""
        where = f"{source}:{self.line}:{self.column}: " if self.line is not None else (f"{source}: " if source else "")
        return f"{where}{self.field + ': ' if self.field else ''}{self.message}"


def _loc_and_message(error: Any, doc: Any) -> tuple[tuple[str | int, ...], str]:
    loc = tuple(error["loc"])
    message = str(error["msg"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError) and hasattr(cause, "loc"):
        loc += tuple(cause.loc)
        message = str(cause)
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            message = message[len(prefix):]
    if error["type"] == "extra_forbidden":
        message = f"unknown key {str(loc[-1])!r}"
    if error["type"] == "missing":
        message = f"required key {str(loc[-1])!r} is missing"
    if len(loc) > 1 and loc[0] == "acr_rules" and isinstance(loc[1], int):
        label = acr_rule_label(doc, loc[1])
        if not any(f"{lead} {label}" in message for lead in ("rule", "rules", "rule name", "and")):
            message += f" (acr rule {label})"
    return loc, message


def _mark(root: yaml.Node | None, loc: tuple[str | int, ...]) -> Any:
    """The YAML mark of the deepest node `loc` reaches (the key itself for a key that is not allowed)."""
    node, mark = root, getattr(root, "start_mark", None)
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                return mark
            key, node = found
            mark = key.start_mark if last and isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) \
                else node.start_mark
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            return mark
    return mark


def problems(exc: ValidationError, doc: Any, text: str | None = None) -> list[Problem]:
    """Every pydantic error as a Problem, with a position when `text` (the YAML) is given."""
    root = None
    if text is not None:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            root = None
    out = []
    for error in exc.errors():
        loc, message = _loc_and_message(error, doc)
        mark = _mark(root, loc) if root is not None else None
        out.append(Problem(field_path(loc), message, mark.line + 1 if mark else None, mark.column + 1 if mark else None))
    return out


def yaml_problem(exc: yaml.YAMLError) -> Problem:
    """A YAML syntax error (or a duplicate key) as a Problem at its position."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return Problem("", f"invalid YAML: {problem}", mark.line + 1 if mark else None, mark.column + 1 if mark else None)
