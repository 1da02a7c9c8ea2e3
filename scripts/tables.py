"""Tables that fit the terminal: one line per row at any width down to 80 columns.

Why not let rich wrap: a wrapped row is read as two rows in an 80-column pane. So columns have a
priority; the least important ones are dropped until the natural width fits, and only then is a
cell cut with an ellipsis (never a failure reason: those are printed in full below the tables).
Cells are formatted by `shared.render.fmt_value` (yes/no, `-`, short UTC times).
"""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from shared.render import fmt_value

MIN_WIDTH = 40


def terminal_width() -> int:
    """The width to render at: COLUMNS, the terminal's, else 80 (a pipe)."""
    if os.environ.get("COLUMNS", "").isdigit():
        return max(MIN_WIDTH, int(os.environ["COLUMNS"]))
    if sys.stdout.isatty():
        return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)
    return 80


def console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A console as wide as the terminal (no fixed width anywhere in the CLI)."""
    return Console(width=width or terminal_width(), stderr=stderr, highlight=False, soft_wrap=False)


@dataclass(frozen=True)
class Column:
    """One column: the row key, its header and its priority (lower is dropped first)."""

    key: str
    header: str
    priority: int = 5
    #: a long name may be cut (with …) rather than the column dropped; never a reason or an id
    shrink: bool = False


SHRINK_MIN = 16


def _natural_width(columns: Sequence[Column], cells: Sequence[Sequence[str]]) -> int:
    widths = [max([len(c.header), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    # box.SIMPLE_HEAD: one space of padding each side of a cell, a blank separator between columns,
    # and a blank edge at either end
    return sum(widths) + 2 * len(columns) + max(0, len(columns) - 1) + 2


def fit_table(title: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], width: int) -> Table:
    """A table of `rows` that fits `width` on one line per row.

    Columns are dropped, least important first, while the table is too wide even with its `shrink`
    columns (long names) cut to SHRINK_MIN; then those get what is left. `table.hidden` lists what
    was dropped (print it with `print_table`).
    """
    rows = list(rows)
    keep = list(columns)
    cells = [[fmt_value(row.get(c.key)) for c in keep] for row in rows]

    def widths() -> list[int]:
        return [max([len(c.header), *(len(r[i]) for r in cells)]) for i, c in enumerate(keep)]

    def squeezed() -> int:
        return _natural_width([c if not c.shrink else Column(c.key, c.header[:SHRINK_MIN]) for c in keep],
                              [[cell[:SHRINK_MIN] if keep[i].shrink else cell for i, cell in enumerate(r)]
                               for r in cells])

    while len(keep) > 1 and squeezed() > width:
        droppable = [i for i, c in enumerate(keep) if not c.shrink] or list(range(len(keep)))
        drop = min(droppable, key=lambda i: (keep[i].priority, -i))
        del keep[drop]
        for row_cells in cells:
            del row_cells[drop]
    natural = widths()
    spare = width - _natural_width(keep, cells)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=True, expand=False)
    for i, column in enumerate(keep):
        max_width = None
        if column.shrink and spare < 0:
            max_width = max(SHRINK_MIN, natural[i] + spare)
            spare += natural[i] - max_width
        table.add_column(column.header, no_wrap=True, overflow="ellipsis", max_width=max_width)
    for row_cells in cells:
        table.add_row(*row_cells)
    table.hidden = [c.header for c in columns if c not in keep]  # type: ignore[attr-defined]
    return table


def print_table(out: Console, table: Table) -> None:
    """The table, then one line naming the columns the width hid."""
    out.print(table)
    hidden = getattr(table, "hidden", [])
    if hidden:
        out.print(f"(hidden at this width: {', '.join(hidden)}; --json has every field)", soft_wrap=True,
                  style="dim")


def auto_columns(rows: Sequence[Mapping[str, Any]], first: Sequence[str] = ()) -> list[Column]:
    """Columns for flat rows: `first` keys in that order (most important), then the rest by appearance."""
    keys = list(dict.fromkeys([*(k for k in first if any(k in r for r in rows)),
                               *(k for r in rows for k, v in r.items() if not isinstance(v, (dict, list)))]))
    return [Column(k, k.replace("_", " "), priority=max(1, 10 - i), shrink=k in NAME_KEYS) for i, k in enumerate(keys)]


NAME_KEYS = frozenset({"name", "image_name", "source_name", "target_name"})


SORT_KEYS = ("rule", "source_region", "source", "image", "region", "target_region", "key")


def sort_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows in the order a person scans: rule, source, region (whichever of those keys exist)."""
    return sorted(rows, key=lambda r: tuple(str(r.get(k) or "") for k in SORT_KEYS))
