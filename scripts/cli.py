"""The `image-relay` command line (typer: `--help` on every command, typed options, no hand parsing).

Every command takes `--policy`, `--state` (and, where it talks to the cloud, `--profile`), which
override IMAGE_RELAY_POLICY / IMAGE_RELAY_STATE / ALIBABA_CLOUD_PROFILE, and `--json`. Exit codes and
the error shape are in `scripts/cli_common.py`; the state words in `shared/render.py`.
"""
from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer

from scripts.cli_common import (
    EXIT_BAD_INPUT,
    EXIT_CODES_HELP,
    EXIT_PROBLEM,
    JsonOpt,
    PolicyOpt,
    ProfileOpt,
    StateOpt,
    bad_input,
    echo_json,
    fail,
    require_ledger,
    use,
)
from shared.errors import ConfigError, EventValidationError, ImageRelayError
from shared.render import STATE_WORDS

_LEGEND = "\n\n".join(f"{word}: {meaning}" for word, meaning in STATE_WORDS.items())
app = typer.Typer(
    help="image-relay: distribute ECS images, exports and ACR tags across regions exactly once.\n\n"
         f"{EXIT_CODES_HELP}\n\nStates shown by every command:\n\n{_LEGEND}",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a local may hold a credential (invariant 5)
)


def _version() -> str:
    try:
        return version("image-relay")
    except PackageNotFoundError:  # running from a checkout without an install
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"image-relay {_version()}")
        raise typer.Exit(0)


@app.callback()
def root(
    policy: PolicyOpt = None,
    state: StateOpt = None,
    profile: ProfileOpt = None,
    show_version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                               help="Print the version and exit.")] = False,
) -> None:
    """Options given here apply to every command (each command takes them too)."""
    use(policy, state, profile)


def _read_event(source: str, function: str) -> bytes:
    if source == "-":
        if sys.stdin.isatty():
            hint = ('a timer event such as {"triggerTime": "2026-11-25T01:00:00Z"} or {}'
                    if function in ("reconcile", "export_batch", "cleanup") else "the event or request JSON")
            typer.echo(f"{function}: reading {hint} from stdin; end with Ctrl-D (or pass --event FILE)", err=True)
        return sys.stdin.buffer.read()
    path = Path(source)
    if not path.is_file():
        raise EventValidationError(f"no such event file: {source}", field="--event")
    return path.read_bytes()


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
    as_json: JsonOpt = False,
    policy: PolicyOpt = None,
    state: StateOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Run a handler in-process with an FC-like context (IMAGE_RELAY_ENDPOINT points it at the emulator),
    or with --remote invoke the deployed function asynchronously through FC. The answer is the
    function's JSON, with or without --json."""
    from scripts.invoke import FUNCTIONS
    from scripts.invoke import invoke as run

    use(policy, state, profile)
    if function not in FUNCTIONS:
        bad_input(f"unknown function {function!r}; known: {', '.join(sorted(FUNCTIONS))}", "function")
    try:
        payload = _read_event(event, function)
        if remote:
            echo_json(_invoke_remote(function, payload, region, service, account_id, invocation_id, wait))
            return
        result = run(function, payload, timeout=timeout or None, region=region)
    except ImageRelayError as exc:
        fail(exc)
    typer.echo(result if isinstance(result, str) else json.dumps(result, default=str))


def _invoke_remote(function: str, payload: bytes, region: str, service: str, account_id: str,
                   invocation_id: str, wait: bool) -> dict[str, object]:
    import time
    import uuid

    from scripts.tables import console
    from shared.clouds.credentials import resolve_credentials
    from shared.clouds.fc import FcGateway
    from shared.config import get_settings

    settings = get_settings()
    if not account_id and not settings.endpoint:
        raise ConfigError("needed to reach FC (or set FC_ACCOUNT_ID)", field="--account-id")
    from scripts.invoke import local_credentials
    from shared.runtime import make_local_context

    # the credential chain, or the emulator's own pair with IMAGE_RELAY_ENDPOINT set
    credentials = resolve_credentials(make_local_context(function, credentials=local_credentials()))
    fc = FcGateway.connect(credentials, region=region, account_id=account_id or "local", endpoint=settings.endpoint)
    invocation_id = invocation_id or f"cli-{function}-{uuid.uuid4().hex[:12]}"
    answer = fc.invoke(service, function, payload, asynchronous=True, invocation_id=invocation_id)
    out: dict[str, object] = {"invocation_id": invocation_id, **answer}
    if wait:
        with console(stderr=True).status(f"waiting for {invocation_id}…", spinner="dots"):
            for _ in range(600):
                state = fc.invocation(service, function, invocation_id)
                if state.get("status") in ("Succeeded", "Failed", "Stopped", "Expired", "Invalid"):
                    out["invocation"] = state
                    break
                time.sleep(1)
    return out


@app.command("validate-policy")
def validate_policy(
    path: Annotated[Path | None, typer.Argument(help="Policy YAML file (default: --policy / IMAGE_RELAY_POLICY).",
                                                show_default=False)] = None,
    as_json: JsonOpt = False,
    policy: PolicyOpt = None,
    state: StateOpt = None,
) -> None:
    """Check a policy file: every problem at once, each with its line, column and field."""
    from scripts.validate import report, validate_file

    use(policy, state)
    target = str(path) if path is not None else (policy or _env_policy())
    result = validate_file(target)
    if as_json:
        echo_json(result)
    else:
        report(result)
    if not result["valid"]:
        first = result["errors"][0]
        typer.echo(json.dumps({"error": "ConfigError", "message": first["message"], "field": first["field"],
                               "line": first["line"], "column": first["column"],
                               "errors": len(result["errors"])}), err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


def _env_policy() -> str:
    from shared.config import get_settings

    try:
        return get_settings().require_policy()
    except ConfigError as exc:
        fail(ConfigError("name a file, or pass --policy / set IMAGE_RELAY_POLICY", field="path")
             if exc.field else exc)


@app.command()
def schema(
    as_json: JsonOpt = False,
    policy: PolicyOpt = None,
    state: StateOpt = None,
) -> None:
    """Print the policy's JSON Schema (for editor completion: yaml-language-server, VS Code)."""
    from scripts.validate import policy_schema

    use(policy, state)
    echo_json(policy_schema())


@app.command()
def status(
    region: Annotated[list[str] | None, typer.Option("--region", help="Only this source or target region "
                                                                      "(repeatable).")] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only this rule (repeatable).")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed work (failed, retrying, skipped).")]
    = False,
    as_json: JsonOpt = False,
    policy: PolicyOpt = None,
    state: Annotated[list[str] | None, typer.Option(
        "--state", help=f"A state word filters rows (repeatable: {', '.join(STATE_WORDS)}); anything else is "
                        "the ledger (sqlite:///path, a path, memory://, oss://…; overrides IMAGE_RELAY_STATE).",
        show_default=False)] = None,
) -> None:
    """Copies, exports, ACR syncs, account targets (every hop per account and region) and builds (each build's
    stage) from the ledger: state, progress, queue position and ETA, and for each
    failure its full reason, whether it retries by itself, and the command that retries it.
    Exits 5 when anything shown is failed (like `regsync check`), 0 otherwise."""
    from scripts.status import account_rows, acr_rows, build_rows, copy_rows, export_rows, select
    from shared.config import get_settings
    from shared.ledger.record import utcnow
    from shared.policy import Policy
    from shared.render import is_state_word, parse_state_words
    from shared.wiring import ledger_from, policy_from

    words = [v for v in state or [] if is_state_word(v)]
    ledgers = [v for v in state or [] if not is_state_word(v)]
    if len(ledgers) > 1:
        bad_input(f"more than one ledger given: {', '.join(ledgers)}", "--state")
    use(policy, ledgers[0] if ledgers else None)
    try:
        states = parse_state_words(words)
        settings = get_settings()
        require_ledger()
        rules = policy_from(settings) if settings.policy else Policy()
        ledger, now = ledger_from(settings), utcnow()
        filters: dict[str, Any] = {"regions": region or [], "rules": rule or [], "states": states,
                                   "failed_only": failed}
        shown = {"copies": select(copy_rows(ledger, rules, now), **filters),
                 "exports": select(export_rows(ledger, now), **filters),
                 "acr": select(acr_rows(ledger, now), **filters),
                 "accounts": select(account_rows(ledger, now), **filters),
                 "builds": select(build_rows(ledger, now), **filters)}
    except ImageRelayError as exc:
        fail(exc)
    n_failed = sum(1 for rows in shown.values() for r in rows if r["ledger_state"] == "FAILED")
    if as_json:
        echo_json({**shown, "failed": n_failed,
                   "filters": {**filters, "states": sorted(states)}})
    else:
        from scripts.status_view import print_status

        print_status(shown)
    if n_failed:
        raise typer.Exit(EXIT_PROBLEM)


@app.command()
def doctor(
    role: Annotated[str, typer.Option(help="The function role to read (RAM) for the actions the code calls.")]
    = "image-relay-fc-role",
    as_json: JsonOpt = False,
    policy: PolicyOpt = None,
    state: StateOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Read-only pre-flight: regions, KMS keys, export role and buckets, ACR editions, the function role's
    permissions and the ledger, each ok / problem (with the fix) / unchecked. Exits 5 on any problem."""
    from scripts.doctor import connect, run_doctor
    from scripts.invoke import local_credentials
    from shared.clouds.credentials import resolve_credentials
    from shared.config import get_settings
    from shared.runtime import make_local_context

    use(policy, state, profile)
    try:
        settings = get_settings()
        path = settings.require_policy()
    except ImageRelayError as exc:
        fail(exc)

    def cloud() -> Any:
        context = make_local_context("doctor", credentials=local_credentials())
        return connect(resolve_credentials(context), settings.endpoint)

    def needed() -> set[str]:
        from scripts.ram import derive_actions

        return derive_actions().actions

    report = run_doctor(path, settings.state, cloud, role, needed)
    if as_json:
        echo_json(report)
    else:
        from scripts.tables import console

        out = console()
        marks = {"ok": "ok     ", "problem": "PROBLEM", "unchecked": "unchecked"}
        for c in report["checks"]:
            out.print(f"{marks[c['status']]}  {c['check']} {c['subject']}: {c['detail']}", markup=False,
                      soft_wrap=True)
            if c["fix"] and c["status"] != "ok":
                out.print(f"         fix: {c['fix']}", markup=False, soft_wrap=True)
        problems = sum(1 for c in report["checks"] if c["status"] == "problem")
        out.print(f"{problems} problem(s)" if problems else "all checks passed", markup=False)
    if not report["ok"]:
        raise typer.Exit(EXIT_PROBLEM)


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
    state: Annotated[str, typer.Option(help="Ledger URL or path (default: a temporary SQLite file).")] = "",
    duplicates: Annotated[int, typer.Option(help="Deliver every event 1 + N times (idempotency drill).")] = 0,
    package: Annotated[str, typer.Option(
        help="Code package (make package): deploy template.yml from it; each invocation runs in python3.10.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Start the emulator with every function registered in its Function Compute and the template's
    timer and EventBridge triggers wired to emulator events; serve until Ctrl-C.

    With --package, the template is deployed from the zip as ROS would (CreateService, CreateFunction,
    CreateTrigger through the FC SDK) and the functions run from the unpacked package, not in-process."""
    from scripts.local import LocalCloud

    if package and not Path(package).is_file():
        bad_input(f"no such file: {package}", "--package")
    cloud = LocalCloud(port=port, speed=speed, scene=scene or None, policy=policy or None, state=state or None,
                       duplicates=duplicates, package=package or None).start()
    info = cloud.summary()
    if as_json:
        echo_json(info)
    else:
        typer.echo(f"emulator listening on {info['url']}")
        typer.echo("functions: " + ", ".join(info["functions"]))
        for line in info["timers"]:
            typer.echo(f"timer: {line}")
        for line in info["event_rules"]:
            typer.echo(f"event rule: {line}")
        for item in info["ignored"]:
            typer.echo(f"ignored trigger: {item['trigger']} ({item['reason']})")
        for key in ("package", "code"):
            if key in info:
                typer.echo(f"{key}: {info[key]}")
        typer.echo(f"policy: {info['policy']}")
        typer.echo(f"state: {info['state']}")
        for item in info.get("skipped", []):
            typer.echo(f"not emulated: {item}")
        typer.echo("(Ctrl-C to stop)")
    from scripts.progress import serving

    with serving(cloud) as tick:
        cloud.run_forever(on_tick=tick)


def main() -> None:
    """Console entry point; the environment's secret and token are masked in every output from the start."""
    from shared.logs import register_env_secrets

    register_env_secrets()
    app()


if __name__ == "__main__":
    main()
