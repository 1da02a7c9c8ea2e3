"""The report `make chaos` ends with, and its command line."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from scripts.chaos.runner import RunResult, replay_command, run_suite
from scripts.chaos.scenario import draw, run_seed


def report(results: list[RunResult], title: str) -> Any:
    """The table `make chaos` ends with: one row per figure, so it reads at 80 columns."""
    from rich.table import Table

    events = sum(r.events for r in results)
    deliveries = sum(r.deliveries for r in results)
    seconds = sum(r.seconds for r in results)
    rows = [
        ("runs", str(len(results))),
        ("events", str(events)),
        ("deliveries (duplicates)", f"{deliveries} ({deliveries - events})"),
        ("faults injected", str(sum(r.faults for r in results))),
        ("ledger-store failures", str(sum(r.store_failures for r in results))),
        ("function crashes", str(sum(r.crashes for r in results))),
        ("failed invocations", str(sum(r.failed_invocations for r in results))),
        ("OSS-ledger runs", str(sum(1 for r in results if r.oss_ledger))),
        ("account-target runs", str(sum(1 for r in results if r.partner))),
        ("API calls", str(sum(r.api_calls for r in results))),
        ("seconds per run", f"{seconds / max(1, len(results)):.2f}"),
        ("violations", str(sum(len(r.new) for r in results))),
        ("known issues", str(sum(len(r.known) for r in results))),
    ]
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for figure, value in rows:
        table.add_row(figure, value)
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
    from scripts.progress import progress
    from scripts.tables import console as make_console

    console = make_console()
    seeds = [args.replay] if args.replay is not None else [run_seed(args.seed, i) for i in range(args.runs)]
    if args.show:
        for seed in seeds:
            console.print(seed, draw(seed).knobs())
    done = 0

    def advance(note: str) -> None:
        # a bar on a terminal; elsewhere (CI, a pipe) a line every 20 runs, so a long run never looks hung
        nonlocal done
        done += 1
        bar(note)
        if not sys.stderr.isatty() and (done % 20 == 0 or done == len(seeds)):
            print(f"chaos: {done}/{len(seeds)} runs", file=sys.stderr, flush=True)

    with progress("chaos runs", total=len(seeds)) as bar:
        results = run_suite(seeds, known_issues=args.strict, advance=advance,
                            echo=lambda s: console.print(s, markup=False, highlight=False, soft_wrap=True))
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
