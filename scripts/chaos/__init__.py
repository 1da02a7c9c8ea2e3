"""The fault-injection suite: seeded runs that prove the design's invariants when things go wrong.

`python -m scripts.chaos --seed S --runs N` (or `make chaos` with CHAOS_SEED / CHAOS_RUNS). Each run
derives its own seed from (S, run index), draws a scenario from it (images in several source regions,
large and small, some still Creating; ACR pushes; an export rule with a window; TemplateScratch-
leftovers with a cleanup section), then delivers its events late, out of order, two or three times and
some concurrently, under throttling/5xx (up to 30 % each), latency, lost responses, function instances
that die after a random number of API calls (then the platform's retry) and ledger-store write failures.
Then the faults stop, ticks run until nothing changes, and `check_invariants` looks at the emulator
(request log, DescribeImages, DescribeTasks, ListRepoSyncTask) and the ledger. A failing run prints its
seed and a one-line replay command; the report is a table; the exit status is 1 on any violation.

Everything runs in-process: one shared `Emulator(port=0)` reset per run, a fresh `memory://` ledger per
run, the handlers called through `scripts.invoke` exactly as the functional tests do.

The package, one job a module: `scenario` (what a run holds and delivers, drawn from its seed), `faults`
(crashes, ledger-store failures, the virtual app clock), `runner` (one run, a suite), `invariants` (one named
check per invariant of the design brief) and `report` (the table and the command line).
"""
from __future__ import annotations

from scripts.chaos.invariants import check_invariants
from scripts.chaos.report import main, report
from scripts.chaos.runner import Run, RunResult, emulator, replay_command, run_scenario, run_suite
from scripts.chaos.scenario import (
    COPY_SOURCE_GIB,
    KNOWN_ISSUE,
    PARTNER_ACCOUNT,
    PARTNER_REGIONS,
    REFERENCE_KINDS,
    SOURCES,
    TARGETS,
    ImageSpec,
    Scenario,
    ScratchSpec,
    draw,
    run_seed,
)

__all__ = ["COPY_SOURCE_GIB", "KNOWN_ISSUE", "PARTNER_ACCOUNT", "PARTNER_REGIONS", "REFERENCE_KINDS", "SOURCES", "TARGETS", "ImageSpec", "Run", "RunResult", "Scenario", "ScratchSpec",
           "check_invariants", "draw", "emulator", "main", "replay_command", "report", "run_scenario", "run_seed",
           "run_suite"]
