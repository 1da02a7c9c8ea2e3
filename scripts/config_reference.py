"""Generate the README's policy and settings reference from the pydantic models.

`python -m scripts.config_reference` prints the Markdown; `--write` replaces the block between the
`<!-- config-reference:begin -->` and `<!-- config-reference:end -->` markers in README.md. A test
checks the README block equals a fresh rendering, so the reference cannot drift from the code.
"""
from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

BEGIN, END = "<!-- config-reference:begin -->", "<!-- config-reference:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _cell(text: str) -> str:
    """Escape the pipes of a union so the Markdown table keeps its columns."""
    return text.replace("|", "\\|")


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        return "required" if field.default is Ellipsis else f"`{field.default!r}`"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "see below"
        return f"`{value!r}`"
    return "required"


def _nested(annotation: Any) -> list[type[BaseModel]]:
    """Models named anywhere inside an annotation (list[X], X | None, Annotated[X, …])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found += _nested(arg)
    return found


def model_table(model: type[BaseModel], path: str, seen: set[type[BaseModel]]) -> list[str]:
    """One Markdown table per model, then its nested models."""
    if model in seen:
        return []
    seen.add(model)
    doc = " ".join(line.strip() for line in (model.__doc__ or "").strip().split("\n\n")[0].splitlines())
    lines = [f"#### `{path}` ({model.__name__})", "", doc, "", "| key | type | default |", "| --- | --- | --- |"]
    children: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        lines.append(f"| `{key}` | {_cell(_type_name(field.annotation))} | {_default(field)} |")
        children += [(f"{path}.{key}" if path else key, m) for m in _nested(field.annotation)]
    lines.append("")
    for child_path, child in children:
        lines += model_table(child, child_path, seen)
    return lines


def render() -> str:
    """The whole reference: environment settings, then the policy tree."""
    from shared.config import _FIELD_TO_ENV, Settings
    from shared.policy import Policy

    lines = [BEGIN, "", "Generated from the pydantic models by `python -m scripts.config_reference --write`.", "",
             "#### Environment (Settings)", "", "| variable | type | default |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        lines.append(f"| `{_FIELD_TO_ENV.get(name, name)}` | {_cell(_type_name(field.annotation))} "
                     f"| {_default(field)} |")
    lines.append("")
    lines += model_table(Policy, "policy", set())
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    text = render()
    if "--write" not in sys.argv:
        print(text)
        return
    readme = README.read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    README.write_text(readme[:start] + text + readme[end:])


if __name__ == "__main__":
    main()
