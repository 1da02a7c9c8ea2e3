"""`make bench` cannot rot: its quick mode runs every section to the end inside `make test`.

No timing is asserted (tests never time things): only that the run completes, keeps function logs off
stdout, and ends with the summary table whose rows scripts read.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = ("makespan", "API calls per copied pair", "exports per window", "tick time", "ledger requests per tick",
        "backfill", "cold start image_created", "cold start reconcile", "cold start export_batch",
        "cold start acr_push", "cold start cleanup", "reconcile API calls")


def test_quick_bench_runs_every_section_and_prints_the_summary(tmp_path):
    log = tmp_path / "bench.log"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run([sys.executable, "-m", "scripts.bench", "--quick", "--log", str(log)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert '"level":' not in out and '"level":' not in done.stderr  # function logs go to the file
    assert '"message":"reconcile.finished"' in log.read_text()
    summary = out[out.index("figures against goals"):]
    for figure in ROWS:
        line = next((ln for ln in summary.splitlines() if figure in ln), None)
        assert line is not None, f"no summary row for {figure!r}:\n{summary}"
        assert re.search(r"(\d+\.\d+)\s*\S?\s*$", line), f"row {figure!r} does not end with its ratio: {line}"
