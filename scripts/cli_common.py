"""What every `image-relay` command shares: options, exit codes, the error path, the ledger guard.

Exit codes (documented in `image-relay --help` and the README):
0 success; 1 unexpected; 2 bad input (flag, event, policy, settings, unknown image/region);
3 a cloud error; 4 a run the function refused (cleanup beyond its blast radius);
5 `status`/`doctor` found a problem (something FAILED, a check that did not pass).

`--json` prints exactly one JSON object on stdout (shapes in the README, "JSON output"); errors are
one JSON object on stderr: `{"error", "message", "field", "retryable", ...}`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from shared.config import ENV_POLICY, ENV_STATE, get_settings, reset_settings
from shared.errors import CloudError, ConfigError, EventValidationError, ImageRelayError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_CLOUD = 3
EXIT_REFUSED = 4
EXIT_PROBLEM = 5
EXIT_CODES_HELP = ("Exit codes: 0 ok, 2 bad input, 3 cloud error, 4 refused (blast radius), "
                   "5 status/doctor found a problem, 1 anything else.")

ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object (shapes: README, JSON output).")]
PolicyOpt = Annotated[str | None, typer.Option("--policy", help=f"Policy YAML file (overrides {ENV_POLICY}).",
                                               show_default=False)]
StateOpt = Annotated[str | None, typer.Option("--state", help=f"Ledger: sqlite:///path, a path, memory:// or "
                                                              f"oss://… (overrides {ENV_STATE}).",
                                              show_default=False)]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help=f"aliyun CLI profile in ~/.aliyun/config.json "
                                                                  f"(overrides {ENV_PROFILE}).",
                                                show_default=False)]


def use(policy: str | None = None, state: str | None = None, profile: str | None = None) -> None:
    """Apply command-line overrides: a flag wins over the environment for this process."""
    from shared.wiring import reset_wiring

    changed = False
    for value, var in ((policy, ENV_POLICY), (state, ENV_STATE), (profile, ENV_PROFILE)):
        if value is not None:
            os.environ[var] = value
            changed = True
    if changed:
        reset_settings()
        reset_wiring()


def exit_code(exc: ImageRelayError) -> int:
    """The documented exit code of an error."""
    if isinstance(exc, (ConfigError, EventValidationError)):
        return EXIT_BAD_INPUT
    return EXIT_CLOUD if isinstance(exc, CloudError) else 1


def fail(exc: ImageRelayError) -> NoReturn:
    """Print the error as one JSON object on stderr (redacted: no secret or token, raw or URL-encoded)
    and exit with its code."""
    from shared.logs import scrub

    typer.echo(json.dumps(scrub(exc.to_dict()), default=str), err=True)
    raise typer.Exit(exit_code(exc))


def bad_input(message: str, field: str) -> NoReturn:
    """Exit 2 naming the field."""
    fail(EventValidationError(message, field=field))


def echo_json(doc: Any) -> None:
    """The one JSON object a `--json` command prints."""
    typer.echo(json.dumps(doc, default=str))


def _sqlite_path(url: str) -> Path | None:
    if "://" not in url:
        return Path(url)
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    return None


def missing_ledger() -> Path | None:
    """The SQLite ledger path IMAGE_RELAY_STATE names when that file does not exist (else None)."""
    path = _sqlite_path(get_settings().state)
    return path if path is not None and not path.is_file() else None


def require_ledger() -> None:
    """A command that reads the ledger refuses a SQLite ledger that does not exist (and creates nothing).

    Why: opening a missing path used to create an empty ledger (and its directories), so a typo in
    IMAGE_RELAY_STATE showed an empty, healthy-looking status.
    """
    path = missing_ledger()
    if path is not None:
        where = "directory" if not path.parent.is_dir() else "file"
        raise ConfigError(f"no ledger at {path}: the {where} does not exist, and nothing was created. Point "
                          "--state (or IMAGE_RELAY_STATE) at an existing ledger, e.g. the `state:` that "
                          "`image-relay local up` prints", field=ENV_STATE)
