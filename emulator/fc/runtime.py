"""FC's python runtime in the loop: each invocation of a deployed function runs in its own interpreter.

Why (issue #11): the in-process runners of ``scripts/local.py`` prove the handlers inside the project's
own interpreter, with every dev dependency importable. A function created from a code package
(CreateFunction) instead runs as FC runs it (alibaba-api.md §5):

* a separate ``python3.10`` (the function's ``runtime``), started ``-I -S`` (isolated, no site-packages):
  it sees the standard library and the function's code directory only (``emulator/fc/fc_bootstrap.py``
  adds that directory to ``sys.path`` and builds the context object);
* the environment is built from scratch: the function's ``environmentVariables`` plus FC's own variables
  (``FC_FUNC_CODE_PATH``, ``FC_FUNCTION_NAME``, ``FC_SERVICE_NAME``, ``FC_REGION``, ``FC_ACCOUNT_ID``,
  ``FC_FUNCTION_HANDLER``, ``FC_FUNCTION_MEMORY_SIZE``, ``FC_QUALIFIER``, ``ALIBABA_CLOUD_ACCESS_KEY_ID`` /
  ``_SECRET`` / ``ALIBABA_CLOUD_SECURITY_TOKEN``); nothing leaks from the emulator's process (no proxy);
* the function's ``timeout`` is enforced: the interpreter is killed and the invocation fails with
  ``FunctionTimeoutError`` ("Function timed out after N seconds", UNCONFIRMED wording);
* the child's output is re-emitted line by line on the ``emulator.fc.runtime`` logger, in the invoking
  thread, so a sync ``X-Fc-Log-Type: Tail`` answer carries it.

UNCONFIRMED / simplified: every invocation is a cold start (FC reuses warm instances); ``/tmp`` is the
host's temporary directory, shared; ``memory`` is reported, not enforced.
"""
from __future__ import annotations

import base64
import glob
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BOOTSTRAP = Path(__file__).with_name("fc_bootstrap.py")
log = logging.getLogger("emulator.fc.runtime")
log.setLevel(logging.INFO)  # the function's output is kept whatever the root level (Tail logs need it)


class FunctionTimeoutError(RuntimeError):
    """The function ran longer than its timeout; its interpreter was killed."""


class HandlerError(RuntimeError):
    """The handler raised inside the runtime; ``str()`` is ``<type>: <message>``."""

    def __init__(self, error_type: str, message: str, stack: list[str]) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.stack = stack


class RuntimeNotFoundError(RuntimeError):
    """No interpreter for the function's runtime on this machine."""


def find_python(version: str = "3.10") -> str:
    """A working CPython ``version`` executable: $PYTHON<major><minor>, ``python<version>`` on PATH, pyenv.

    Why not just ``python3.10``: the pyenv shim on PATH refuses to run when that version is not selected.
    """
    candidates = [os.environ.get(f"PYTHON{version.replace('.', '')}", ""), shutil.which(f"python{version}") or ""]
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}*/bin/python{version}"), reverse=True)
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return candidate
    raise RuntimeNotFoundError(f"no working python{version} (set PYTHON{version.replace('.', '')})")


@dataclass
class ProcessRunner:
    """A ``Runner`` (``emulator.fc.models``) that runs ``handler`` from ``code_dir`` in a fresh interpreter."""

    code_dir: Path
    handler: str
    python: str
    environment: dict[str, str] = field(default_factory=dict)
    last_output: str = ""

    def env(self, ctx: dict[str, Any]) -> dict[str, str]:
        """The child's whole environment (see the module docstring)."""
        creds = ctx.get("credentials") or {}
        fn = ctx["function"]
        return {
            **self.environment,
            "FC_FUNC_CODE_PATH": str(self.code_dir),
            "FC_FUNCTION_NAME": fn["name"],
            "FC_FUNCTION_HANDLER": fn["handler"],
            "FC_FUNCTION_MEMORY_SIZE": str(fn["memory"]),
            "FC_SERVICE_NAME": ctx["service"]["name"],
            "FC_QUALIFIER": ctx["service"].get("qualifier", "LATEST"),
            "FC_REGION": ctx["region"],
            "FC_ACCOUNT_ID": ctx["account_id"],
            "ALIBABA_CLOUD_ACCESS_KEY_ID": creds.get("access_key_id", ""),
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": creds.get("access_key_secret", ""),
            "ALIBABA_CLOUD_SECURITY_TOKEN": creds.get("security_token", ""),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "TMPDIR": tempfile.gettempdir(),
        }

    def __call__(self, event: bytes, ctx: dict[str, Any]) -> bytes:
        timeout = int(ctx["function"]["timeout"])
        with tempfile.TemporaryDirectory(prefix="fc-invoke-") as work:
            request, result = Path(work) / "request.json", Path(work) / "result.json"
            request.write_text(json.dumps({"code_dir": str(self.code_dir), "handler": self.handler,
                                           "event_b64": base64.b64encode(event).decode(), "context": ctx}))
            try:
                run = subprocess.run([self.python, "-I", "-S", str(BOOTSTRAP), str(request), str(result)],
                                     cwd=self.code_dir, env=self.env(ctx), capture_output=True, timeout=timeout,
                                     check=False)
                output = (run.stdout + run.stderr).decode("utf-8", "replace")
            except subprocess.TimeoutExpired as expired:
                self._emit(((expired.stdout or b"") + (expired.stderr or b"")).decode("utf-8", "replace"))
                raise FunctionTimeoutError(f"Function timed out after {timeout} seconds") from None
            self._emit(output)
            if not result.exists():
                raise HandlerError("RuntimeExitError", f"the runtime exited with {run.returncode}",
                                   output.splitlines()[-20:])
            answer = json.loads(result.read_text())
        if "body_b64" in answer:
            return base64.b64decode(answer["body_b64"])
        raise HandlerError(answer["errorType"], answer["errorMessage"], answer.get("stackTrace", []))

    def _emit(self, output: str) -> None:
        self.last_output = output
        for line in output.splitlines():
            log.info("%s", line)
