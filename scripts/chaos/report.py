"""The report `make chaos` ends with, and its command line."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from scripts.chaos.runner import RunResult, replay_command, run_suite
from scripts.chaos.scenario import draw, run_seed


def report(results: list[RunResult], title: str) -> Any:
    """The rich table `make chaos` ends with."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("runs", "events", "deliveries (dup)", "faults", "store failures", "crashes",
                   "failed invocations", "API calls", "s / run", "violations", "known issues"):
        table.add_column(column, justify="right")
    events = sum(r.events for r in results)
    deliveries = sum(r.deliveries for r in results)
    seconds = sum(r.seconds for r in results)
    table.add_row(
        str(len(results)), str(events), f"{deliveries} ({deliveries - events})",
        str(sum(r.faults for r in results)), str(sum(r.store_failures for r in results)),
        str(sum(r.crashes for r in results)), str(sum(r.failed_invocations for r in results)),
        str(sum(r.api_calls for r in results)), f"{seconds / max(1, len(results)):.2f}",
        str(sum(len(r.new) for r in results)), str(sum(len(r.known) for r in results)),
    )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.chaos", description="The fault-injection suite: seeded runs that prove the design's invariants.")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "1")))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("CHAOS_RUNS", "200")))
    parser.add_argument("--replay", type=int, default=None, help="run only this run seed (printed by a failure)")
    parser.add_argument("--show", action="store_true", help="print each run's knobs")
    parser.add_argument("--strict", action="store_true",
                        help="also inject the faults of known, still-open bugs and fail on them (see KNOWN_ISSUE)")
    args = parser.parse_args(argv)
    from rich.console import Console

    console = Console(width=max(140, Console().width))
    seeds = [args.replay] if args.replay is not None else [run_seed(args.seed, i) for i in range(args.runs)]
    if args.show:
        for seed in seeds:
            console.print(seed, draw(seed).knobs())
    results = run_suite(seeds, known_issues=args.strict, echo=lambda s: console.print(s, markup=False, highlight=False, soft_wrap=True))
    title = f"chaos: replay {args.replay}" if args.replay is not None else f"chaos: seed {args.seed}, {args.runs} runs"
    console.print(report(results, title))
    failed = [r for r in results if (r.violations if args.strict else r.new)]
    if failed:
        console.print(f"{len(failed)} run(s) violated an invariant; replay one with: "
                      f"{replay_command(failed[0].seed)}  (or CHAOS_SEED={args.seed} CHAOS_RUNS={args.runs} make chaos)",
                      markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
