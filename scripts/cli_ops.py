"""Operations commands of the `image-relay` CLI: plan, cancel, retry, backfill, cleanup.

Each runs the same function handler FC runs (in-process, with an FC-like context), with the request
a person would send, so the CLI and the event path cannot drift apart. `--json` prints the handler's
JSON answer; otherwise a readable summary. Exit codes: 0 success, 2 bad input, 3 a cloud error,
4 a run the function refused (e.g. cleanup beyond its blast radius), 1 anything else.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.errors import CloudError, ConfigError, EventValidationError, ImageRelayError

EXIT_REFUSED = 4
console = Console(width=150)


def _exit_for(exc: ImageRelayError) -> int:
    if isinstance(exc, (ConfigError, EventValidationError)):
        return 2
    return 3 if isinstance(exc, CloudError) else 1


def run(function: str, request: dict[str, Any]) -> dict[str, Any]:
    """Invoke `function` locally with `request`; errors print as JSON on stderr and exit."""
    from scripts.invoke import invoke

    try:
        with console.status(f"running {function}…", spinner="dots"):
            result = invoke(function, json.dumps(request).encode())
    except ImageRelayError as exc:
        typer.echo(json.dumps(exc.to_dict(), default=str), err=True)
        raise typer.Exit(_exit_for(exc)) from None
    return json.loads(result) if isinstance(result, str) else dict(result)


def show(result: dict[str, Any], as_json: bool, rows_key: str | None = None) -> None:
    """Print the answer: JSON, or its scalar fields and one table of its rows."""
    if as_json:
        typer.echo(json.dumps(result, default=str))
    else:
        for key, value in result.items():
            if key != rows_key and not isinstance(value, (list, dict)):
                console.print(f"[bold]{key}[/]: {value}")
        rows = result.get(rows_key) if rows_key else None
        if rows:
            table = Table(title=rows_key, title_justify="left")
            columns = list(dict.fromkeys(k for row in rows for k in row if not isinstance(row[k], (dict, list))))
            for column in columns:
                table.add_column(column)
            for row in rows:
                table.add_row(*(str(row.get(c, "")) for c in columns))
            console.print(table)
    if result.get("status") == "refused":
        raise typer.Exit(EXIT_REFUSED)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON answer.")]


def register(app: typer.Typer) -> None:
    """Add the operations commands to the CLI."""

    @app.command()
    def plan(
        what: Annotated[str, typer.Argument(help="reconcile | export | event")] = "reconcile",
        event: Annotated[Path | None, typer.Option("--event", "-e", help="With `event`: the event file.")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """What a reconcile tick, an export batch or an event would do, without doing it."""
        if what == "export":
            show(run("export_batch", {"action": "export_batch", "dry_run": True}), as_json, "plan")
            return
        if what not in ("reconcile", "event"):
            typer.echo(json.dumps({"error": "EventValidationError", "field": "what",
                                   "message": "expected reconcile, export or event"}), err=True)
            raise typer.Exit(2)
        from scripts.invoke import local_credentials
        from shared.replication.service import plan_image_event, plan_reconcile
        from shared.runtime import make_local_context
        from shared.wiring import copy_context

        try:
            ctx = copy_context(make_local_context("reconcile", credentials=local_credentials()))
            if what == "reconcile":
                show(plan_reconcile(ctx), as_json, "actions")
                return
            if event is None or not event.is_file():
                raise EventValidationError("an event file is needed", field="--event")
            from shared.events.parse import parse_image_event

            show(plan_image_event(parse_image_event(event.read_bytes()), ctx), as_json, "targets")
        except ImageRelayError as exc:
            typer.echo(json.dumps(exc.to_dict(), default=str), err=True)
            raise typer.Exit(_exit_for(exc)) from None

    @app.command()
    def cancel(
        region: Annotated[str, typer.Argument(help="The source image's region.")],
        image_id: Annotated[str, typer.Argument(help="The source image.")],
        target_region: Annotated[str | None, typer.Option(help="Only the copy into this region.")] = None,
        export: Annotated[bool, typer.Option("--export", help="Cancel the image's exports instead.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Cancel an image's copies (CancelCopyImage) or, with --export, its exports (CancelTask)."""
        if export:
            show(run("export_batch", {"action": "cancel_export", "region": region, "image_id": image_id}),
                 as_json, "exports")
            return
        request: dict[str, Any] = {"action": "cancel_copy", "region": region, "image_id": image_id}
        if target_region:
            request["target_region"] = target_region
        show(run("image_created", request), as_json, "targets")

    @app.command()
    def retry(
        region: Annotated[str, typer.Argument(help="The source image's region.")],
        image_id: Annotated[str, typer.Argument(help="The source image.")],
        failed: Annotated[bool, typer.Option("--failed", help="Retry only the failed targets (the default).")] = True,
        as_json: JsonOpt = False,
    ) -> None:
        """Retry only the failed targets of an image; running and finished ones are left alone."""
        show(run("image_created", {"action": "retry_failed", "region": region, "image_id": image_id}),
             as_json, "targets")

    @app.command()
    def backfill(
        rule: Annotated[str, typer.Argument(help="The ACR rule whose older tags to replicate.")],
        tag_regex: Annotated[str | None, typer.Option(help="Only tags matching this regex.")] = None,
        max_age_days: Annotated[int | None, typer.Option(help="Only tags pushed in the last N days.")] = None,
        max_tags: Annotated[int, typer.Option(help="At most this many tags.")] = 500,
        dry_run: Annotated[bool, typer.Option("--dry-run/--apply", help="Print the plan (default) or act.")] = True,
        as_json: JsonOpt = False,
    ) -> None:
        """Replicate ACR tags pushed before a rule existed (dry-run by default; paced by reconcile)."""
        request: dict[str, Any] = {"action": "backfill", "rule": rule, "dry_run": dry_run, "max_tags": max_tags}
        if tag_regex:
            request["tag_regex"] = tag_regex
        if max_age_days:
            request["max_age_days"] = max_age_days
        show(run("acr_push", request), as_json, "plan")

    @app.command()
    def cleanup(
        dry_run: Annotated[bool, typer.Option("--dry-run/--apply", help="Print the plan (default) or delete.")] = True,
        as_json: JsonOpt = False,
    ) -> None:
        """Plan or apply the cleanup of TemplateScratch- images and superseded copies."""
        show(run("cleanup", {"action": "cleanup", "dry_run": dry_run}), as_json, "decisions")
