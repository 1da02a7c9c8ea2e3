"""How `image-relay status` prints its rows: one compact table per kind, then every failure in full.

A failure's reason is never cut to fit a cell: the tables say `failed` / `retrying`, and the
"needs attention" list below them gives the whole reason, whether and when it retries by itself,
and the command that retries it.
"""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from scripts.tables import Column, console, fit_table

COPY_COLUMNS = (Column("rule", "rule", 8), Column("source_name", "source image", 9), Column("region", "to", 10),
                Column("state", "state", 10), Column("detail", "detail", 7), Column("image_id", "source id", 4),
                Column("source_region", "from", 6), Column("copy_image_id", "copy", 3))
EXPORT_COLUMNS = (Column("rule", "rule", 8), Column("source_name", "image", 9), Column("region", "region", 9),
                  Column("state", "state", 10), Column("detail", "detail", 6), Column("bucket", "bucket", 5),
                  Column("image_id", "image id", 4), Column("task_id", "task", 3))
ACR_COLUMNS = (Column("rule", "rule", 8), Column("image_id", "tag", 9), Column("region", "to", 9),
               Column("state", "state", 10), Column("target", "target", 5), Column("detail", "detail", 6),
               Column("task_id", "task", 3))
TABLES = (("copies", "copies", COPY_COLUMNS), ("exports", "exports", EXPORT_COLUMNS),
          ("acr", "ACR syncs", ACR_COLUMNS))


def print_status(shown: dict[str, list[dict[str, Any]]], out: Console | None = None) -> None:
    """The tables (only kinds that have rows), then the failures in full."""
    out = out or console()
    if not any(shown.values()):
        out.print("nothing recorded (or nothing matches the filters)")
        return
    for key, title, columns in TABLES:
        if shown.get(key):
            out.print(fit_table(title, columns, shown[key], out.width))
    failures = [r for rows in shown.values() for r in rows if r["ledger_state"] == "FAILED"]
    if failures:
        out.print(Text(f"needs attention ({len(failures)})", style="bold"))
        for row in failures:
            what = f"{row['kind']} {row.get('source_name') or row.get('image_id')} → {row.get('region')}"
            out.print(Text(f"• {what}: {row['state']}", style="red"))
            out.print(Text(f"  reason: {row.get('reason') or 'unknown'}"))
            out.print(Text(f"  {row.get('detail')}"))
            if row.get("retry_command"):
                out.print(Text(f"  retry: {row['retry_command']}"))
