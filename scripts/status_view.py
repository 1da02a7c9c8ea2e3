"""How `image-relay status` prints its rows: one compact table per kind, then every failure in full.

A failure's reason is never cut to fit a cell: the tables say `failed` / `retrying`, and the
"needs attention" list below them gives the whole reason, whether and when it retries by itself,
and the command that retries it.
"""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from scripts.tables import Column, console, fit_table, print_table
from shared.render import fmt_time

COPY_COLUMNS = (Column("rule", "rule", 8), Column("source_name", "source image", 9, shrink=True), Column("region", "to", 10),
                Column("state", "state", 10), Column("cell", "detail", 7), Column("image_id", "source id", 4),
                Column("source_region", "from", 6), Column("copy_image_id", "copy", 3))
EXPORT_COLUMNS = (Column("rule", "rule", 8), Column("source_name", "image", 9, shrink=True), Column("region", "region", 9),
                  Column("state", "state", 10), Column("cell", "detail", 6), Column("bucket", "bucket", 5),
                  Column("image_id", "image id", 4), Column("task_id", "task", 3))
ACR_COLUMNS = (Column("rule", "rule", 8), Column("image_id", "tag", 9), Column("region", "to", 9),
               Column("state", "state", 10), Column("target", "target", 5), Column("cell", "detail", 6),
               Column("task_id", "task", 3))
ACCOUNT_COLUMNS = (Column("rule", "rule", 8), Column("source_name", "source image", 9, shrink=True),
                   Column("account_id", "account", 7), Column("hop", "hop", 5), Column("region", "region", 9),
                   Column("state", "state", 10), Column("cell", "detail", 6), Column("partner_image_id", "copy", 3),
                   Column("image_id", "source id", 4))
BUILD_COLUMNS = (Column("rule", "rule", 8), Column("stage", "stage", 10), Column("state", "state", 9),
                 Column("cell", "detail", 8), Column("slot", "slot", 6), Column("region", "region", 3),
                 Column("execution_id", "execution", 7), Column("image_id", "image", 4))
TABLES = (("copies", "copies", COPY_COLUMNS), ("exports", "exports", EXPORT_COLUMNS),
          ("acr", "ACR syncs", ACR_COLUMNS), ("accounts", "account targets", ACCOUNT_COLUMNS),
          ("builds", "builds", BUILD_COLUMNS))


def _cell(row: dict[str, Any]) -> str | None:
    """The table's short detail: progress, queue place, retry time; a failure points below."""
    if row["ledger_state"] != "FAILED":
        return row.get("detail")
    if row.get("retries_at"):
        return f"again at {fmt_time(row['retries_at'])}"
    return "see below"


def print_status(shown: dict[str, list[dict[str, Any]]], out: Console | None = None) -> None:
    """The tables (only kinds that have rows), then the failures in full."""
    out = out or console()
    if not any(shown.values()):
        out.print("nothing recorded (or nothing matches the filters)")
        return
    for key, title, columns in TABLES:
        if shown.get(key):
            rows = [{**row, "cell": _cell(row)} for row in shown[key]]
            print_table(out, fit_table(title, columns, rows, out.width))
    failures = [r for rows in shown.values() for r in rows if r["ledger_state"] == "FAILED" or r.get("withheld")]
    if failures:
        out.print(Text(f"needs attention ({len(failures)})", style="bold"))
        for row in failures:
            what = f"{row['kind']} {row.get('source_name') or row.get('image_id')} → {row.get('region')}"
            if row["kind"] == "account":
                what = (f"{row['hop']} of {row.get('source_name') or row.get('image_id')} → account "
                        f"{row['account_id']} {row.get('region')}")
            # soft_wrap: the terminal folds long lines, so a copied command stays one line
            word = "withheld" if row.get("withheld") else row["state"]
            out.print(Text(f"• {what}: {word}", style="red"), soft_wrap=True)
            out.print(Text(f"  reason: {row.get('reason') or 'unknown'}"), soft_wrap=True)
            out.print(Text(f"  {row.get('detail')}"), soft_wrap=True)
            if row.get("retry_command"):
                out.print(Text(f"  retry: {row['retry_command']}"), soft_wrap=True)
