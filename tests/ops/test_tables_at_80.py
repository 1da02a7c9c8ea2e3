"""Every table the CLI prints, rendered at 80 columns: each row on one line, nothing cut, nothing wider."""
from __future__ import annotations

import json
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from scripts import cli_ops
from scripts import sample_world as scene
from scripts.cleanup_view import COLUMNS as CLEANUP_COLUMNS
from scripts.cli import app
from scripts.status_view import TABLES, print_status
from scripts.tables import auto_columns, fit_table, sort_rows

WEB = "m-bp1demoweb0001"
LONG = "app-checkout-service-with-a-long-name-2026-11-25"


def _render(table: Table, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    return console.export_text().splitlines()


def assert_one_line_per_row(table: Table, width: int = 80) -> None:
    lines = _render(table, width)
    assert all(len(line) <= width for line in lines), [line for line in lines if len(line) > width]
    n_rows = len(table.columns[0]._cells)
    for i in range(n_rows):
        # only a long name may be cut (column max_width set), never a state, a reason or an id
        cells = [str(column._cells[i]) if column.max_width is None else str(column._cells[i])[:column.max_width - 1]
                 for column in table.columns]
        holding = [line for line in lines if all(cell in line for cell in cells)]
        assert holding, f"row {i} {cells} is not on one line:\n" + "\n".join(lines)
    cut_columns = {str(c.header) for c in table.columns if c.max_width is not None}
    assert cut_columns <= {"image", "source image", "name", "image name", "source name"}, cut_columns
    assert not cut_columns or any("…" in line for line in lines)
    body = [line for line in lines[4:] if line.strip()]
    assert len(body) == n_rows, "\n".join(lines)


def _worst_rows(kind: str) -> list[dict[str, Any]]:
    base = {"kind": kind, "rule": "web-frontend-rule", "source_region": "ap-southeast-1", "image_id": "m-bp1demoweb0001",
            "source_name": LONG, "region": "ap-southeast-1", "ledger_state": "FAILED", "state": "retrying",
            "detail": "retries by itself at 14:05Z", "retries_at": "2026-11-25T14:05:00+00:00",
            "copy_image_id": "m-t4n0123456789abcdef0", "bucket": "relay-exports-singapore", "task_id": "t-123456789",
            "target": "cri-sgtgt01/mirror/frontend", "reason": "x" * 200}
    return [base, {**base, "ledger_state": "STARTED", "state": "running", "detail": "Creating 55%"},
            {**base, "ledger_state": "PENDING", "state": "queued", "detail": "#12 eta 11-26 17:40Z"}]


@pytest.mark.parametrize(("key", "title", "columns"), TABLES)
def test_status_tables_fit_80_columns(key, title, columns):
    from scripts.status_view import _cell

    rows = [{**row, "cell": _cell(row)} for row in _worst_rows(key)]
    assert_one_line_per_row(fit_table(title, columns, rows, 80))


def test_status_prints_at_80_with_failures_in_full():
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    print_status({"copies": _worst_rows("copy"), "exports": [], "acr": []}, console)
    text = console.export_text()
    assert "x" * 200 in text.replace("\n", "")  # the reason in full, below the table


def test_cleanup_table_fits_80_columns():
    rows = [{"region": "ap-southeast-1", "image_id": "m-t4n0123456789abcdef0", "name": "TemplateScratch-" + LONG,
             "rule": "template_scratch", "action": "delete", "outcome": "would_delete", "reason": "y" * 120}]
    assert_one_line_per_row(fit_table("decisions", CLEANUP_COLUMNS, rows, 80))


@pytest.mark.parametrize(("args", "rows_key"), [
    (("plan", "reconcile"), "actions"),
    (("plan", "event", "--event", "EVENT"), "targets"),
    (("retry", "cn-hangzhou", WEB), "targets"),
    (("cancel", "cn-hangzhou", WEB), "targets"),
    (("backfill", "web"), "plan"),
])
def test_every_handler_table_fits_80_columns(world, tmp_path, args, rows_key):
    world.set_policy(scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing") + scene.ACR_POLICY_YAML)
    world.emu.control.seed(scene.acr_seed())
    world.invoke("image_created", world.event(WEB))
    event = tmp_path / "event.json"
    event.write_bytes(world.event("m-bp1demoapi0002"))
    args = tuple(str(event) if a == "EVENT" else a for a in args)
    done = CliRunner().invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)[rows_key]
    assert rows, done.stdout
    assert_one_line_per_row(fit_table(rows_key, auto_columns(rows, cli_ops.FIRST_KEYS), sort_rows(rows), 80))
