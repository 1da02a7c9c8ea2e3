"""Operations commands of the `image-relay` CLI: plan, build, cancel, retry, backfill, cleanup.

Each runs the same function handler FC runs (in-process, with an FC-like context), with the request
a person would send, so the CLI and the event path cannot drift apart. `--json` prints the handler's
JSON answer (its shape is the function's, documented in the README); otherwise its scalar facts and
one table of its rows, fitted to the terminal. Exit codes: `scripts/cli_common.py`.

Before a request is sent, the CLI checks what it names exists in the ledger: `retry`/`cancel` of an
image, region or target the ledger does not know is bad input (exit 2) naming it, not a quiet
"nothing to do".
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from scripts.cli_common import (
    EXIT_REFUSED,
    JsonOpt,
    PolicyOpt,
    ProfileOpt,
    StateOpt,
    bad_input,
    echo_json,
    fail,
    missing_ledger,
    require_ledger,
    use,
)
from scripts.tables import Column, auto_columns, console, fit_table, print_table, sort_rows
from shared.errors import EventValidationError, ImageRelayError
from shared.render import fmt_value, state_word

LEDGER_STATES = frozenset({"PENDING", "STARTED", "DONE", "FAILED", "CANCELLED"})

# Keys a person reads first in a row, most important first (the rest follow, dropped first when narrow).
FIRST_KEYS = ("rule", "name", "image", "image_name", "source_name", "tag", "target_region", "region", "state",
              "outcome", "would", "action", "decision", "reason")


def run(function: str, request: dict[str, Any], *, spinner: bool = True) -> dict[str, Any]:
    """Invoke `function` locally with `request`; errors print as JSON on stderr and exit."""
    from scripts.invoke import invoke

    try:
        if spinner:
            with console(stderr=True).status(f"running {function}…", spinner="dots"):
                result = invoke(function, json.dumps(request).encode())
        else:
            result = invoke(function, json.dumps(request).encode())
    except ImageRelayError as exc:
        fail(exc)
    return json.loads(result) if isinstance(result, str) else dict(result)


def show(result: dict[str, Any], as_json: bool, rows_key: str | None = None, *, title: str | None = None,
         above: list[str] | None = None, columns: list[Column] | None = None, below: list[str] | None = None,
         more: list[tuple[str, list[Column]]] | None = None) -> None:
    """Print the answer: JSON, or its scalar facts, `above` lines, one fitted table of its rows (then one per
    `more` (rows key, columns) that has rows), and the `below` lines."""
    if as_json:
        echo_json(result)
    else:
        out = console()
        for line in above or []:
            out.print(line, markup=False, soft_wrap=True)
        for key, value in result.items():
            if key != rows_key and not isinstance(value, (list, dict)):
                out.print(f"{key.replace('_', ' ')}: {fmt_value(value)}", markup=False, soft_wrap=True)
        rows = result.get(rows_key) if rows_key else None
        if rows:
            # the same state words as `status` (the JSON keeps the ledger's names)
            rows = [{**r, "state": state_word(r["state"], retryable=bool(r.get("retryable")))}
                    if r.get("state") in LEDGER_STATES else r for r in rows]
            print_table(out, fit_table(title or rows_key or "", columns or auto_columns(rows, FIRST_KEYS),
                                       sort_rows(rows), out.width))
        for key, extra_columns in more or []:
            if result.get(key):
                print_table(out, fit_table(key, extra_columns, sort_rows(result[key]), out.width))
        for line in below or []:
            out.print(line, markup=False, soft_wrap=True)
    if result.get("status") == "refused":
        raise typer.Exit(EXIT_REFUSED)


def _records(prefix: str) -> list[Any]:
    from shared.config import get_settings
    from shared.wiring import ledger_from

    require_ledger()
    return list(ledger_from(get_settings()).scan(prefix))


def check_known(region: str, image_id: str, target_region: str | None = None, *, kind: str = "copy") -> None:
    """Exit 2 unless the ledger has `kind` records for the image (and the target region, if given)."""
    from shared.regions import check_region

    try:
        check_region(region, "region")
        if target_region is not None:
            check_region(target_region, "--target-region")
        records = _records(f"{kind}/{region}/{image_id}/") if kind == "copy" else [
            r for r in _records(f"{kind}/") if (r.data.get("target") or {}).get("image_id") == image_id
            and (r.data.get("target") or {}).get("region") == region]
    except ImageRelayError as exc:
        fail(exc)
    if not records:
        anywhere = [r.key for r in _records(f"{kind}/") if f"/{image_id}/" in r.key or r.key.endswith(image_id)]
        hint = f" (it is recorded as {anywhere[0]})" if anywhere else ""
        bad_input(f"no {kind} of image {image_id} from {region} is recorded in the ledger{hint}", "image_id")
    if target_region is not None:
        regions = sorted({str((r.data.get("target") or {}).get("target_region")) for r in records})
        if target_region not in regions:
            bad_input(f"image {image_id} has no copy into {target_region}; its targets: {', '.join(regions)}",
                      "--target-region")


AccountOpt = Annotated[str | None, typer.Option(
    "--account", help="Act on this account target (16-digit account id): its share and the partner's copies.",
    show_default=False)]


def _account_request(action: str, region: str, image_id: str, account_id: str,
                     target_region: str | None) -> dict[str, Any]:
    request: dict[str, Any] = {"action": action, "region": region, "image_id": image_id, "account_id": account_id}
    if target_region:
        request["target_region"] = target_region
    return request


def check_known_account(region: str, image_id: str, account_id: str, target_region: str | None) -> None:
    """Exit 2 unless the ledger has the account target (and its copy into the target region, if given)."""
    from shared.ledger import keys
    from shared.policy.accounts import ACCOUNT_ID
    from shared.regions import check_region

    if not ACCOUNT_ID.match(account_id):
        bad_input(f"an account id is 16 digits, got {account_id[:80]!r}", "--account")
    try:
        check_region(region, "region")
        if target_region is not None:
            check_region(target_region, "--target-region")
        shares = _records(keys.prefix(keys.XSHARE, region, image_id))
    except ImageRelayError as exc:
        fail(exc)
    accounts = sorted(r.key.rsplit("/", 1)[1] for r in shares)
    if not accounts:
        bad_input(f"no account target of image {image_id} from {region} is recorded in the ledger", "image_id")
    if account_id not in accounts:
        bad_input(f"image {image_id} is not delivered to account {account_id}; its accounts: {', '.join(accounts)}",
                  "--account")
    if target_region is not None:
        regions = sorted(r.key.rsplit("/", 1)[1] for r in _records(keys.prefix(keys.XCOPY, region, image_id,
                                                                                  account_id)))
        if target_region not in regions:
            bad_input(f"account {account_id} gets no copy of image {image_id} in {target_region}; its regions: "
                      f"{', '.join(regions) or 'none (mode share)'}", "--target-region")


def _slot(value: str | None) -> Any:
    """``--slot`` as an aware UTC time (a naive one is UTC), or None; anything else is bad input."""
    import datetime as dt

    from pydantic import TypeAdapter, ValidationError

    if value is None:
        return None
    try:
        at: dt.datetime = TypeAdapter(dt.datetime).validate_python(value)
    except ValidationError:
        raise EventValidationError(f"not an ISO 8601 time: {value[:80]!r} (e.g. 2026-11-25T02:00Z)",
                                   field="--slot") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)


def _builds() -> Any:
    """The build feature's context, wired as the reconcile function wires it (local credentials)."""
    from scripts.invoke import local_credentials
    from shared.runtime import make_local_context
    from shared.wiring import builds_context

    return builds_context(make_local_context("reconcile", credentials=local_credentials()))


def _show_builds(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(result)
        return
    from scripts.status_view import BUILD_COLUMNS

    rows = result.get("builds") or ([result["build"]] if result.get("build") else [])
    rows = [{**r, "cell": r.get("note") or r.get("reason")} for r in rows]
    show({k: v for k, v in result.items() if k not in ("build", "builds")} | {"builds": rows}, False, "builds",
         columns=list(BUILD_COLUMNS))


def register(app: typer.Typer) -> None:
    """Add the operations commands to the CLI."""

    @app.command()
    def plan(
        what: Annotated[str, typer.Argument(help="reconcile | export | event")] = "reconcile",
        event: Annotated[Path | None, typer.Option("--event", "-e", help="With `event`: the event file.")] = None,
        as_json: JsonOpt = False,
        policy: PolicyOpt = None,
        state: StateOpt = None,
        profile: ProfileOpt = None,
    ) -> None:
        """What a reconcile tick, an export batch or an event would do, without doing it."""
        use(policy, state, profile)
        if what not in ("reconcile", "event", "export"):
            bad_input("expected reconcile, export or event", "what")
        from scripts.invoke import local_credentials
        from shared.config import get_settings
        from shared.replication.service import plan_image_event, plan_reconcile
        from shared.runtime import make_local_context
        from shared.wiring import copy_context, policy_from

        try:
            missing = missing_ledger()
            if missing is not None:  # plan against an empty ledger, and create nothing
                typer.echo(f"no ledger at {missing} yet: planning as if nothing was recorded", err=True)
                use(state="memory://")
            if what == "export":
                if not policy_from(get_settings()).export_rules:
                    show({"status": "no_export_rules", "message": "no export rules in the policy: nothing to "
                                                                  "plan (add export_rules to export images)",
                          "plan": []}, as_json, "plan")
                    return
                show(run("export_batch", {"action": "export_batch", "dry_run": True}), as_json, "plan")
                return
            ctx = copy_context(make_local_context("reconcile", credentials=local_credentials()))
            if what == "reconcile":
                show(plan_reconcile(ctx), as_json, "actions")
                return
            if event is None or not event.is_file():
                raise EventValidationError("an event file is needed", field="--event")
            from shared.events.parse import parse_image_event

            show(plan_image_event(parse_image_event(event.read_bytes()), ctx), as_json, "targets")
        except ImageRelayError as exc:
            fail(exc)

    @app.command()
    def build(
        rule: Annotated[str, typer.Argument(help="The build rule whose image template to build.")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would start; record and start nothing.")]
        = False,
        slot: Annotated[str | None, typer.Option(
            help="The slot the build is recorded under (UTC minute, e.g. 2026-11-25T02:00Z; default: now). The same "
                 "rule and slot never start a second build, however often the command runs.")] = None,
        as_json: JsonOpt = False,
        policy: PolicyOpt = None,
        state: StateOpt = None,
        profile: ProfileOpt = None,
    ) -> None:
        """Build a build rule's image template now (StartImagePipelineExecution), exactly once per (template,
        slot): the ledger record comes first. A busy template makes the slot wait (queued); reconcile starts it
        when the template is free and follows it. --dry-run says what would happen. An unknown rule exits 2."""
        from shared.builds.manual import start_build

        use(policy, state, profile)
        try:
            at = _slot(slot)
            missing = missing_ledger()
            if dry_run and missing is not None:  # plan against an empty ledger, and create nothing
                typer.echo(f"no ledger at {missing} yet: planning as if nothing was recorded", err=True)
                use(state="memory://")
            elif not dry_run:
                require_ledger()
            result = start_build(_builds(), rule, slot=at, dry_run=dry_run)
        except ImageRelayError as exc:
            fail(exc)
        _show_builds(result, as_json)

    @app.command()
    def cancel(
        region: Annotated[str | None, typer.Argument(help="The source image's region.", show_default=False)] = None,
        image_id: Annotated[str | None, typer.Argument(help="The source image.", show_default=False)] = None,
        target_region: Annotated[str | None, typer.Option(help="Only the copy into this region.")] = None,
        export: Annotated[bool, typer.Option("--export", help="Cancel the image's exports instead.")] = False,
        account: AccountOpt = None,
        build: Annotated[str | None, typer.Option(
            "--build", help="Cancel the running build (CancelImagePipelineExecution) and the waiting slots of this "
                            "build rule, or the build with this ExecutionId (exec-…), instead.")] = None,
        as_json: JsonOpt = False,
        policy: PolicyOpt = None,
        state: StateOpt = None,
        profile: ProfileOpt = None,
    ) -> None:
        """Cancel an image's copies (CancelCopyImage), with --export its exports (CancelTask), with --account
        that account target (the partner's copies, then the share is removed), or with --build RULE a running
        build. An image, region, account, target or build the ledger does not know exits 2 naming it."""
        use(policy, state, profile)
        if build is not None:
            if region is not None or image_id is not None or export or target_region is not None or account:
                bad_input("--build cancels a build: give no REGION, IMAGE_ID, --export, --account or "
                          "--target-region with it", "--build")
            from shared.builds.manual import cancel_build

            try:
                require_ledger()
                result = cancel_build(_builds(), build)
            except ImageRelayError as exc:
                fail(exc)
            _show_builds(result, as_json)
            return
        if region is None or image_id is None:
            bad_input("give REGION and IMAGE_ID (or --build RULE)", "region" if region is None else "image_id")
        if account is not None:
            check_known_account(region, image_id, account, target_region)
            show(run("image_created", _account_request("cancel_copy", region, image_id, account, target_region)),
                 as_json, "targets")
            return
        if export:
            check_known(region, image_id, kind="export")
            show(run("export_batch", {"action": "cancel_export", "region": region, "image_id": image_id}),
                 as_json, "exports")
            return
        check_known(region, image_id, target_region)
        request: dict[str, Any] = {"action": "cancel_copy", "region": region, "image_id": image_id}
        if target_region:
            request["target_region"] = target_region
        show(run("image_created", request), as_json, "targets")

    @app.command()
    def retry(
        region: Annotated[str, typer.Argument(help="The source image's region.")],
        image_id: Annotated[str, typer.Argument(help="The source image.")],
        target_region: Annotated[str | None, typer.Option(help="Only the copy into this region.")] = None,
        failed: Annotated[bool, typer.Option("--failed/--also-cancelled",
                                             help="Re-open only failed targets (default), or cancelled ones too.")]
        = True,
        account: AccountOpt = None,
        as_json: JsonOpt = False,
        policy: PolicyOpt = None,
        state: StateOpt = None,
        profile: ProfileOpt = None,
    ) -> None:
        """Retry an image's failed targets (running and finished ones are left alone), or with --account the
        failed hops of that account target. An image, region, account or target the ledger does not know exits
        2 naming it."""
        use(policy, state, profile)
        if account is not None:
            check_known_account(region, image_id, account, target_region)
            request = _account_request("retry_failed", region, image_id, account, target_region)
        else:
            check_known(region, image_id, target_region)
            request = {"action": "retry_failed", "region": region, "image_id": image_id}
            if target_region:
                request["target_region"] = target_region
        if not failed:
            request["include_cancelled"] = True
        show(run("image_created", request), as_json, "targets")

    @app.command()
    def backfill(
        rule: Annotated[str, typer.Argument(help="The ACR rule whose older tags to replicate.")],
        tag_regex: Annotated[str | None, typer.Option(help="Only tags matching this regex.")] = None,
        max_age_days: Annotated[int | None, typer.Option(help="Only tags pushed in the last N days.")] = None,
        max_tags: Annotated[int, typer.Option(help="At most this many tags.")] = 500,
        dry_run: Annotated[bool, typer.Option("--dry-run/--apply", help="Print the plan (default) or act.")] = True,
        as_json: JsonOpt = False,
        policy: PolicyOpt = None,
        state: StateOpt = None,
        profile: ProfileOpt = None,
    ) -> None:
        """Replicate ACR tags pushed before a rule existed (dry-run by default; paced by reconcile)."""
        from scripts.progress import progress

        use(policy, state, profile)
        request: dict[str, Any] = {"action": "backfill", "rule": rule, "dry_run": dry_run, "max_tags": max_tags}
        if tag_regex:
            request["tag_regex"] = tag_regex
        if max_age_days:
            request["max_age_days"] = max_age_days
        with progress(f"backfill {rule}: listing tags", total=None) as advance:
            result = run("acr_push", request, spinner=False)
            advance(f"{len(result.get('plan') or [])} tags", steps=len(result.get("plan") or []))
        show(result, as_json, "plan")

    @app.command()
    def cleanup(
        dry_run: Annotated[bool, typer.Option("--dry-run/--apply", help="Print the plan (default) or delete.")] = True,
        as_json: JsonOpt = False,
        policy: PolicyOpt = None,
        state: StateOpt = None,
        profile: ProfileOpt = None,
    ) -> None:
        """Plan or apply the cleanup of TemplateScratch- images, superseded copies and failed builds' leftovers
        (reported with their cost class; released only with release_failed_build_instances: true). A refused
        run (beyond the blast radius) says why above the table, marks every row refused and exits 4."""
        from scripts.cleanup_view import COLUMNS, LEFTOVER_COLUMNS, explain, reasons

        use(policy, state, profile)
        result = run("cleanup", {"action": "cleanup", "dry_run": dry_run})
        above = [] if as_json else explain(result)
        show(result, as_json, "decisions", above=above, columns=COLUMNS, below=reasons(result),
             more=[("leftovers", LEFTOVER_COLUMNS)])
