"""The `image-relay` command line (typer: `--help` on every command, typed options, no hand parsing).

Exit codes scripts can rely on: 0 success, 2 bad input (event, policy, settings), 3 a cloud error,
1 anything unexpected. Errors print as one JSON object on stderr and never include a secret.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from shared.errors import CloudError, ConfigError, EventValidationError, ImageRelayError

app = typer.Typer(help="image-relay: distribute ECS images across regions exactly once.", no_args_is_help=True)

EXIT_BAD_INPUT = 2
EXIT_CLOUD = 3


def _read_event(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    if not path.is_file():
        raise EventValidationError(f"no such event file: {source}", field="--event")
    return path.read_bytes()


def _fail(exc: ImageRelayError) -> None:
    typer.echo(json.dumps(exc.to_dict(), default=str), err=True)
    code = EXIT_BAD_INPUT if isinstance(exc, (ConfigError, EventValidationError)) else EXIT_CLOUD
    if not isinstance(exc, (ConfigError, EventValidationError, CloudError)):
        code = 1
    raise typer.Exit(code)


@app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="Function to run: image_created, reconcile, export_batch, "
                                                 "acr_push or cleanup.")],
    event: Annotated[str, typer.Option("--event", "-e", help="Event JSON file, or - for stdin.")] = "-",
    timeout: Annotated[int, typer.Option(help="Function timeout in seconds (the context's deadline).")] = 0,
    region: Annotated[str, typer.Option(help="The region the context reports, or the FC region with --remote.")]
    = "cn-hangzhou",
    remote: Annotated[bool, typer.Option("--remote", help="Invoke the deployed function through FC (async, "
                                                          "with a stateful invocation id).")] = False,
    service: Annotated[str, typer.Option(help="With --remote: the FC service.")] = "image-relay",
    account_id: Annotated[str, typer.Option(envvar="FC_ACCOUNT_ID", help="With --remote: the account id "
                                                                        "(FC's endpoint needs it).")] = "",
    invocation_id: Annotated[str, typer.Option(help="With --remote: the stateful invocation id (a repeat is "
                                                    "refused by FC); generated when empty.")] = "",
    wait: Annotated[bool, typer.Option("--wait", help="With --remote: wait for the invocation to end.")] = False,
) -> None:
    """Run a handler in-process with an FC-like context (IMAGE_RELAY_ENDPOINT points it at the emulator),
    or with --remote invoke the deployed function asynchronously through FC."""
    from scripts.invoke import FUNCTIONS
    from scripts.invoke import invoke as run

    if function not in FUNCTIONS:
        typer.echo(json.dumps({"error": "UnknownFunction", "field": "function", "message":
                               f"unknown function {function!r}; known: {', '.join(sorted(FUNCTIONS))}"}), err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        payload = _read_event(event)
        if remote:
            typer.echo(json.dumps(_invoke_remote(function, payload, region, service, account_id, invocation_id,
                                                 wait), default=str))
            return
        result = run(function, payload, timeout=timeout or None, region=region)
    except ImageRelayError as exc:
        _fail(exc)
        return
    typer.echo(result if isinstance(result, str) else json.dumps(result, default=str))


def _invoke_remote(function: str, payload: bytes, region: str, service: str, account_id: str,
                   invocation_id: str, wait: bool) -> dict[str, object]:
    import time
    import uuid

    from rich.console import Console

    from shared.clouds.fc import FcGateway
    from shared.config import credentials_from, get_settings

    settings = get_settings()
    if not account_id and not settings.endpoint:
        raise ConfigError("needed to reach FC (or set FC_ACCOUNT_ID)", field="--account-id")
    from scripts.invoke import local_credentials
    from shared.runtime import make_local_context

    # the ALIBABA_CLOUD_* pair, or the emulator's own with IMAGE_RELAY_ENDPOINT set
    credentials = credentials_from(make_local_context(function, credentials=local_credentials()))
    fc = FcGateway.connect(credentials, region=region, account_id=account_id or "local", endpoint=settings.endpoint)
    invocation_id = invocation_id or f"cli-{function}-{uuid.uuid4().hex[:12]}"
    answer = fc.invoke(service, function, payload, asynchronous=True, invocation_id=invocation_id)
    out: dict[str, object] = {"invocation_id": invocation_id, **answer}
    if wait:
        with Console(stderr=True).status(f"waiting for {invocation_id}…", spinner="dots"):
            for _ in range(600):
                state = fc.invocation(service, function, invocation_id)
                if state.get("status") in ("Succeeded", "Failed", "Stopped", "Expired", "Invalid"):
                    out["invocation"] = state
                    break
                time.sleep(1)
    return out


@app.command("validate-policy")
def validate_policy(path: Annotated[Path, typer.Argument(help="Policy YAML file.")]) -> None:
    """Check a policy file; print its rules, or the bad field and why."""
    from shared.policy import load_policy

    try:
        policy = load_policy(str(path))
    except ImageRelayError as exc:
        _fail(exc)
        return
    typer.echo(json.dumps({"valid": True, "copy_rules": [r.name for r in policy.copy_rules]}))


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Copies per source image and target region (state, progress, queue position, ETA, failures), then
    exports and ACR syncs, read from the ledger at IMAGE_RELAY_STATE."""
    from rich.console import Console
    from rich.table import Table

    from scripts.status import cell_text, copy_matrix, simple_rows
    from shared.config import get_settings
    from shared.ledger.record import utcnow
    from shared.wiring import ledger_from, policy_from

    try:
        settings = get_settings()
        policy, ledger = policy_from(settings), ledger_from(settings)
        matrix = copy_matrix(ledger, policy, utcnow())
        exports, syncs = simple_rows(ledger, "export/"), simple_rows(ledger, "acr/")
    except ImageRelayError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps({"copies": matrix, "exports": exports, "acr": syncs}, default=str))
        return
    console = Console(width=160)
    table = Table(title="copies", title_justify="left")
    table.add_column("source image", no_wrap=True)
    for region in matrix["regions"]:
        table.add_column(region)
    for row in matrix["rows"]:
        table.add_row(f"{row['name']} {row['image']}", *(cell_text(row["cells"].get(r)) for r in matrix["regions"]))
    console.print(table)
    for title, rows in (("exports", exports), ("ACR syncs", syncs)):
        if rows:
            t = Table(title=title, title_justify="left")
            for column in ("key", "state", "cloud_id", "reason"):
                t.add_column(column)
            for r in rows:
                t.add_row(*(str(r[c] or "") for c in ("key", "state", "cloud_id", "reason")))
            console.print(t)
    failed = [(row, r, c) for row in matrix["rows"] for r, c in row["cells"].items() if c["state"] == "FAILED"]
    for row, region, cell in failed:
        console.print(f"[red]{row['image']} → {region}[/]: {cell['reason']}\n  retry: {cell['retry']}")


from scripts import cli_ops  # noqa: E402  (the operations commands, registered on the same app)

cli_ops.register(app)

local_app = typer.Typer(help="Run the whole deployment locally on the emulator.", no_args_is_help=True)
app.add_typer(local_app, name="local")


@local_app.command("up")
def local_up(
    port: Annotated[int, typer.Option(help="Emulator port (0 picks a free one).")] = 8000,
    speed: Annotated[float, typer.Option(help="Virtual seconds per wall second (0 = frozen clock).")] = 0.0,
    scene: Annotated[str, typer.Option(help="Seed a scene: demo, or empty for none.")] = "",
    policy: Annotated[str, typer.Option(help="Policy YAML file (default: the scene's policy).")] = "",
    state: Annotated[str, typer.Option(help="Ledger URL (default: a temporary SQLite file).")] = "",
    duplicates: Annotated[int, typer.Option(help="Deliver every event 1 + N times (idempotency drill).")] = 0,
) -> None:
    """Start the emulator with every function registered in its Function Compute and the template's
    timer and EventBridge triggers wired to emulator events; serve until Ctrl-C."""
    from scripts.local import LocalCloud

    cloud = LocalCloud(port=port, speed=speed, scene=scene or None, policy=policy or None, state=state or None,
                       duplicates=duplicates).start()
    info = cloud.summary()
    typer.echo(f"emulator listening on {info['url']}")
    typer.echo("functions: " + ", ".join(info["functions"]))
    for line in info["timers"]:
        typer.echo(f"timer: {line}")
    for line in info["event_rules"]:
        typer.echo(f"event rule: {line}")
    for item in info["ignored"]:
        typer.echo(f"ignored trigger: {item['trigger']} ({item['reason']})")
    typer.echo(f"policy: {info['policy']}  state: {info['state']}  (Ctrl-C to stop)", err=False)
    cloud.run_forever()


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
