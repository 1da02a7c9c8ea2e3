"""Run the `image-relay` CLI as a user does: a child process (`python -m scripts.cli`), no proxy variables."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any


def run_cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """The CLI's exit code, stdout and stderr for `args`."""
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], input=stdin, capture_output=True,
                          env=env, timeout=120)


def cli_env(world: Any = None) -> dict[str, str]:
    """This process's environment (the `world` fixture's settings included) without the proxy variables."""
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
