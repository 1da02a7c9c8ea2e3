"""The README's quick tour, run as written.

The only substitutions: the port (8123 → a free one, so parallel runs do not collide), the ledger path
(/tmp/tour.db → a temporary file) and `.venv/bin/image-relay` → the image-relay next to this Python.
Every `$ ` line of the section's console blocks is run with bash, in order; `local up` in the
background until its "(Ctrl-C to stop)" line. The status table the README shows must be what it prints.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tour_commands() -> tuple[list[str], list[str]]:
    """(the `$ ` commands, the README's status output lines) of the Quick tour section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Quick tour"):]
    section = section[:section.index("\n## ", 5)]
    commands, status_lines, in_status = [], [], False
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append(line[2:])
                in_status = " status" in line
            elif in_status and line.strip():
                status_lines.append(line.strip())
    return commands, status_lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_quick_tour_runs_as_written(tmp_path):
    commands, readme_status = _tour_commands()
    assert commands[1].startswith(".venv/bin/image-relay local up --port 8123 --scene demo --state /tmp/tour.db")
    port, ledger = str(_free_port()), str(tmp_path / "tour.db")
    binary = str(Path(sys.executable).parent / "image-relay")

    def adapt(command: str) -> str:
        return command.replace("8123", port).replace("/tmp/tour.db", ledger).replace(".venv/bin/image-relay", binary)

    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("IMAGE_RELAY_POLICY", None), env.pop("IMAGE_RELAY_STATE", None), env.pop("IMAGE_RELAY_ENDPOINT", None)
    env["COLUMNS"] = "80"
    outputs = []
    up = None
    try:
        for command in commands:
            if " local up " in command:
                up = subprocess.Popen(["bash", "-c", f"exec {adapt(command)}"], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env=env, text=True, cwd=ROOT)
                assert up.stdout is not None
                lines = []
                for line in up.stdout:
                    lines.append(line)
                    if line.startswith("(Ctrl-C to stop)"):
                        break
                assert f"emulator listening on http://127.0.0.1:{port}\n" in lines, lines
                assert f"state: {ledger}\n" in lines
                continue
            done = subprocess.run(["bash", "-c", adapt(command)], capture_output=True, text=True, env=env, cwd=ROOT,
                                  timeout=120)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
            outputs.append(done.stdout)
    finally:
        if up is not None:
            up.send_signal(signal.SIGINT)
            up.wait(timeout=30)
    assert outputs[1].startswith('{"ImageId": "m-')  # the curl that creates the image
    status = outputs[-1]
    printed = [" ".join(line.split()) for line in status.splitlines() if line.strip()]
    for line in readme_status:
        assert " ".join(line.split()) in printed, (line, status)
    assert "running" not in status and "queued" not in status and status.count(" done ") == 6
