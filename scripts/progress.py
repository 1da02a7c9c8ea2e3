"""Progress for long runs (chaos, bench, backfill, local up), with rich, on stderr.

Why a hook rather than prints: a run of minutes with no output looks hung. `progress()` gives the
caller one `advance()` callable; on a terminal it draws a bar (count, elapsed, ETA), elsewhere (CI,
a pipe, tests) it draws nothing, so logs and JSON output stay clean.

>>> with progress("runs", total=2, enabled=False) as advance:
...     advance(); advance("second")
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Advance = Callable[..., None]


def _enabled(enabled: bool | None) -> bool:
    return sys.stderr.isatty() if enabled is None else enabled


@contextmanager
def progress(description: str, total: int | None, *, enabled: bool | None = None) -> Iterator[Advance]:
    """Yield `advance(note="")`: one step done (`total` None: a spinner that counts)."""
    if not _enabled(enabled):
        yield lambda *args, **kw: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from scripts.tables import console

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn()]
    if total:
        columns.append(TimeRemainingColumn())
    columns.append(TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total, note="")

        def advance(note: str = "", steps: int = 1) -> None:
            bar.update(task, advance=steps, note=note)

        yield advance


@contextmanager
def serving(cloud: Any, *, enabled: bool | None = None) -> Iterator[Callable[[], None]]:
    """For `local up`: a live line with the emulator's virtual clock and the functions invoked so far."""
    if not _enabled(enabled):
        yield lambda: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from scripts.tables import console

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("serving", total=None)

        def tick() -> None:
            control = cloud.emulator.control
            try:
                now, invocations = control.clock()["now"], len(control.fc_invocations())
            except Exception:  # noqa: BLE001 - a status line must never stop the server
                return
            bar.update(task, description=f"serving · virtual clock {now} · {invocations} async invocations")

        yield tick
