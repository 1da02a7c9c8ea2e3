"""The README's `local up` sessions of build rules, run as written, their output compared with the README's.

Each session is introduced by a sentence naming the policy file it saves (`saved as /tmp/….yml`) and the
`local up` command started "in another terminal"; then come the policy (the first yaml block after it) and
the session (the first console block). The only substitutions, as in test_quick_tour.py: the port (→ a free
one), the /tmp files (→ temporary ones) and `.venv/bin/image-relay` → the image-relay next to this Python.
The `$ ` lines run in one bash, in order (an `export` holds for the lines after it), with COLUMNS=80. Every
command's stdout must be what the README shows once execution/resource ids and clock times are masked (they
are drawn anew by each run) and runs of spaces and rule lines are collapsed (a column is as wide as its ids).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARK = "@@readme-session-command@@"


@dataclass
class Session:
    up: str                    # the local up command
    policy_path: str           # where the README saves the policy
    policy: str                # the policy's text
    commands: list[str]
    outputs: list[list[str]]   # the README's output lines of each command


def session(marker: str) -> Session:
    text = (ROOT / "README.md").read_text()
    part = text[text.index(marker):]
    up = re.search(r"`(\.venv/bin/image-relay local up [^`]+)`", part)
    path = re.search(r"saved as `(/tmp/[^`]+\.yml)`", part)
    policy = re.search(r"```yaml\n(.*?)```", part, flags=re.S)
    console = re.search(r"```console\n(.*?)```", part, flags=re.S)
    assert up and path and policy and console, marker
    commands: list[str] = []
    outputs: list[list[str]] = []
    for line in console.group(1).splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
            outputs.append([])
        else:
            outputs[-1].append(line)
    return Session(up.group(1), path.group(1), policy.group(1), commands, outputs)


def normalise(lines: list[str]) -> list[str]:
    """Mask what each run draws anew, collapse spacing; drop blank lines."""
    out = []
    for line in lines:
        line = re.sub(r"exec-[0-9a-f]+", "exec-#", line)
        line = re.sub(r"\b(i|vsw|vpc|m)-bp1[0-9a-f]{12,}", r"\1-#", line)
        line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ|\b\d\d:\d\dZ", "<time>", line)
        line = re.sub(r"─+", "─", " ".join(line.split()))
        if line:
            out.append(line)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_session(found: Session, tmp: Path) -> list[list[str]]:
    """Start `local up`, run the session's commands in one bash; each command's stdout lines."""
    port = re.search(r"--port (\d+)", found.up)
    assert port, found.up
    files = sorted(set(re.findall(r"/tmp/[\w.-]+", found.up + "\n" + "\n".join(found.commands))))
    binary = str(Path(sys.executable).parent / "image-relay")
    new_port = str(_free_port())

    def adapt(command: str) -> str:
        command = command.replace(port.group(1), new_port).replace(".venv/bin/image-relay", binary)
        for name in files:
            command = command.replace(name, str(tmp / Path(name).name))
        return command

    (tmp / Path(found.policy_path).name).write_text(found.policy)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for name in ("IMAGE_RELAY_POLICY", "IMAGE_RELAY_STATE", "IMAGE_RELAY_ENDPOINT"):
        env.pop(name, None)
    env["COLUMNS"] = "80"
    up = subprocess.Popen(["bash", "-c", f"exec {adapt(found.up)}"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, env=env, text=True, cwd=ROOT)
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if line.startswith("(Ctrl-C to stop)"):
                break
        script = "".join(f"echo {MARK}\n{adapt(c)}\necho\n" for c in found.commands)
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=30)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return [part.splitlines() for part in done.stdout.split(MARK + "\n")[1:]]


@pytest.mark.parametrize("marker", ["A build by hand, on `local up`", "A failed build's kept instance, on `local up`"])
def test_a_readme_build_session_runs_as_written(marker: str, tmp_path: Path) -> None:
    found = session(marker)
    assert any(" build " in c for c in found.commands)
    printed = run_session(found, tmp_path)
    assert len(printed) == len(found.commands)
    for command, shown, got in zip(found.commands, found.outputs, printed, strict=True):
        assert normalise(got) == normalise(shown), (command, "\n".join(got))


def test_the_failed_build_session_shows_the_kept_instance_in_the_dry_run() -> None:
    found = session("A failed build's kept instance, on `local up`")
    [dry_run] = [i for i, c in enumerate(found.commands) if " cleanup --dry-run " in c]
    shown = "\n".join(found.outputs[dry_run])
    assert "dry run: yes" in shown and "ImageBuilder_Build_exec-" in shown and "M (8 vCPU)" in shown
    assert "0 to release" in shown
