"""`make demo`: the whole job end to end on the embedded emulator, told in a page.

It runs first, then reports: a line per phase on what happened and why it matters, one compact table per
phase (copies, the night's exports, ACR tags, the golden image, a failed build's leftovers, a partner account),
and the figures. Underneath, every event is delivered twice (as at-least-once delivery may), reconcile ticks
follow the copies on the emulator's virtual clock, an export batch runs through a night window, a pushed tag
plus a backfill are replicated, an Image Builder template is built when the night opens and its image copied
encrypted and exported (`scripts/demo_golden.py`), a failed build's leftovers are reported by cleanup
(`scripts/demo_leftovers.py`), and one image is delivered into a partner account (`scripts/demo_accounts.py`).
The functions' JSON logs go to a file (its path is printed last).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator import Emulator
from scripts import demo_golden, demo_scene
from scripts import sample_world as scene
from scripts.demo_accounts import AccountsRun, accounts_phase, summary_line
from scripts.demo_leftovers import COLUMNS as LEFTOVER_COLUMNS
from scripts.demo_leftovers import leftover_phase
from scripts.invoke import invoke
from scripts.progress import progress
from scripts.status import acr_rows, copy_rows, export_rows, select
from scripts.status_view import ACCOUNT_COLUMNS, ACR_COLUMNS, BUILD_COLUMNS, COPY_COLUMNS, EXPORT_COLUMNS
from scripts.tables import console, fit_table, print_table
from shared.logs import configure_logging


@dataclass
class Run:
    """What the phases did, for the report."""

    copies: list[dict[str, Any]] = field(default_factory=list)
    exports: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)
    duplicates_ignored: int = 0
    copy_minutes: int = 0
    copy_calls: int = 0
    copy_api_calls: int = 0
    export_api_calls: int = 0
    acr_api_calls: int = 0
    sync_creates: int = 0
    unmatched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    backfilled: int = 0
    calls_outside_window: int = -1
    leftovers: list[dict[str, Any]] = field(default_factory=list)
    accounts: AccountsRun = field(default_factory=AccountsRun)
    golden: demo_golden.Golden | None = None


def _ledger(state_url: str) -> Any:
    from shared.ledger import Ledger, open_store

    return Ledger(open_store(state_url))


def copy_phase(emu: Emulator, run: Run, state_url: str) -> None:
    """A new image's event delivered twice, one image still Creating, one matching no rule."""
    event = scene.create_image_event(scene.SOURCE, "m-bp1demoweb0001", "app-web-2026-11")
    for _ in (1, 2):
        if json.loads(invoke("image_created", event))["status"] == "duplicate":
            run.duplicates_ignored += 1
    for image_id, name in (("m-bp1demoapi0002", "app-api-2026-11"), ("m-bp1demodb00003", "db-mysql-8")):
        if json.loads(invoke("image_created", scene.create_image_event(scene.SOURCE, image_id, name)))["status"] \
                == "no_matching_rule":
            run.unmatched.append(name)
    ledger = _ledger(state_url)
    with progress("copies", total=None) as advance:
        for minute in range(60):
            invoke("reconcile", scene.timer_event())
            states = {r.state.value for r in ledger.scan("copy/")}
            advance(f"{minute} virtual min")
            if states and states <= {"DONE", "FAILED"}:
                run.copy_minutes = minute
                break
            emu.control.advance(60)
    from shared.policy import load_policy

    run.copies = copy_rows(ledger, load_policy(scene.POLICY_YAML), dt.datetime.now(dt.timezone.utc))
    ledger.close()
    calls = emu.control.requests()
    run.copy_api_calls = len(calls)
    run.copy_calls = sum(1 for c in calls if c["action"] == "CopyImage" and c["status"] == 200)
    if not run.copies or any(r["state"] != "done" for r in run.copies):
        raise SystemExit("demo: some copies did not finish")


def export_phase(emu: Emulator, run: Run, work: Path, state_url: str) -> None:
    """Timer ticks every 30 minutes from 00:30 Shanghai; the window opens at 01:00; two at a time."""
    (work / "policy.yml").write_text(scene.EXPORT_POLICY_YAML)
    emu.control.seed({"images": demo_scene.export_images()})
    emu.control.configure(export_gib_per_minute=2)
    before = len(emu.control.requests())
    at = dt.datetime(2026, 11, 21, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 in Shanghai
    ledger = _ledger(state_url)
    with progress("night export batch", total=None) as advance:
        for _ in range(40):
            answer = json.loads(invoke("export_batch", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ"))))
            if answer["status"] == "outside_window" and run.calls_outside_window < 0:
                run.calls_outside_window = int(answer["api_calls"])
            advance(at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M Shanghai"))
            records = list(ledger.scan("export/"))
            if records and all(r.state.value in ("DONE", "FAILED") for r in records):
                break
            emu.control.advance(1800)
            invoke("reconcile", scene.timer_event())
            at += dt.timedelta(minutes=30)
    run.exports = export_rows(ledger, dt.datetime.now(dt.timezone.utc))
    ledger.close()
    run.export_api_calls = len(emu.control.requests()) - before
    run.skipped = [f"{r['source_name']} ({str(r['reason']).removeprefix('skipped: ')})" for r in run.exports
                   if r["state"] == "skipped"]
    if sum(1 for r in run.exports if r["state"] == "done") != len(run.exports) - len(run.skipped):
        raise SystemExit("demo: the export batch did not finish")


def acr_phase(emu: Emulator, run: Run, work: Path, state_url: str) -> None:
    """A release tag pushed (delivered twice), a release candidate, then a backfill of older tags."""
    (work / "policy.yml").write_text(scene.ACR_POLICY_YAML)
    emu.control.seed(scene.acr_seed())
    before = len(emu.control.requests())
    for tag in ("v2.0.0", "v2.1.0-rc1"):
        event = json.dumps(emu.control.acr_push({"instance_id": scene.ACR_SOURCE, "namespace": "web",
                                                 "repo": "frontend", "tag": tag,
                                                 "digest": "sha256:" + ("c0ffee" * 11)[:64]})).encode()
        for _ in (1, 2) if tag == "v2.0.0" else (1,):
            if json.loads(invoke("acr_push", event))["status"] == "duplicate":
                run.duplicates_ignored += 1
    result = json.loads(invoke("acr_push", json.dumps({"action": "backfill", "rule": "web"}).encode()))
    run.backfilled = int(result["started_now"]) + int(result["queued_for_reconcile"])
    ledger = _ledger(state_url)
    with progress("ACR syncs", total=None) as advance:
        for _ in range(20):
            emu.control.advance(60)
            invoke("reconcile", scene.timer_event())
            advance()
            states = {r.state.value for r in ledger.scan("acr/")}
            if states and states <= {"DONE", "FAILED"}:
                break
    run.syncs = acr_rows(ledger, dt.datetime.now(dt.timezone.utc))
    ledger.close()
    calls = emu.control.requests()[before:]
    run.acr_api_calls = len(calls)
    run.sync_creates = sum(1 for c in calls if c["action"] == "CreateRepoSyncTask")
    if not run.syncs or any(r["state"] != "done" for r in run.syncs):
        raise SystemExit("demo: some ACR syncs did not finish")


def report(run: Run, log_path: Path) -> None:
    """Five lines on what happened and why, one table per phase, then the figures."""
    out = console()
    sources = len({r["image_id"] for r in run.copies})
    targets = len({r["region"] for r in run.copies})
    exported = sum(1 for r in run.exports if r["state"] == "done")
    lines = [
        f"1. {sources} new images were copied to {targets} regions ({run.copy_calls} CopyImage calls for "
        f"{len(run.copies)} copies), the Singapore copies encrypted with that region's KMS key.",
        f"2. Every event was delivered twice, as EventBridge may: {run.duplicates_ignored} duplicates were "
        "recognised and started nothing.",
        f"3. Overnight, {exported} images were exported to OSS inside the 01:00-05:00 window, two at a time, "
        f"each with a manifest; the 00:30 tick, outside the window, made {run.calls_outside_window} API calls.",
        f"4. What the cloud would refuse was skipped up front with its reason: {'; '.join(run.skipped) or 'nothing'}; "
        f"{', '.join(run.unmatched) or 'no image'} matched no rule and was left alone.",
        f"5. A pushed release tag reached both registries once ({run.sync_creates} sync tasks for "
        f"{len(run.syncs)} tag-target pairs, {run.backfilled} of them backfilled older tags); the -rc tag was "
        "filtered out.",
    ]
    lines += demo_golden.story(run.golden or demo_golden.Golden(), number=len(lines) + 1)
    lines += _leftover_line(run, number=len(lines) + 1)
    lines.append(summary_line(run.accounts, len(lines) + 1))
    out.print("[bold]What happened, and why it matters[/]")
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)
    out.print()
    everything: dict[str, Any] = {"regions": [], "rules": [], "states": set(), "failed_only": False}
    print_table(out, fit_table(f"copies (done after {run.copy_minutes} virtual minutes)", COPY_COLUMNS,
                               select(run.copies, **everything), out.width))
    print_table(out, fit_table("the night's exports", EXPORT_COLUMNS, select(run.exports, **everything), out.width))
    print_table(out, fit_table("ACR tags replicated", ACR_COLUMNS, select(run.syncs, **everything), out.width))
    golden = run.golden or demo_golden.Golden()
    print_table(out, fit_table("the golden image's build", BUILD_COLUMNS,
                               [{**r, "cell": r["detail"]} for r in golden.builds], out.width))
    print_table(out, fit_table("the golden image's copies", COPY_COLUMNS, select(golden.copies, **everything),
                               out.width))
    if run.leftovers:
        print_table(out, fit_table("cleanup --dry-run: a failed build's leftovers", LEFTOVER_COLUMNS, run.leftovers,
                                   out.width))
    print_table(out, fit_table(f"partner account (done after {run.accounts.minutes} virtual minutes)",
                               ACCOUNT_COLUMNS, [{**r, "cell": r["detail"]} for r in select(run.accounts.rows,
                                                                                             **everything)],
                               out.width))
    per_copy = run.copy_api_calls / max(1, len(run.copies))
    out.print("[bold]Figures[/]")
    for line in (
        f"copies: {run.copy_api_calls} API calls for {len(run.copies)} copies ({per_copy:.1f} per copy, ticks "
        "included: one DescribeImages scan per region per tick, never one call per image)",
        f"exports: {run.export_api_calls} API calls for {exported} exports over the night",
        f"ACR: {run.acr_api_calls} API calls for {len(run.syncs)} replicated tag-target pairs",
        f"golden image: {golden.api_calls} API calls for one build, {len(golden.copies)} copies and "
        f"{len(golden.exports)} export over the night",
        f"partner account: {run.accounts.api_calls} API calls (AssumeRole, share, CopyImage in the partner account, "
        "ticks) for one image in two partner regions",
        f"duplicates ignored: {run.duplicates_ignored}; work done twice: 0",
        f"the functions' JSON logs: {log_path}",
    ):
        out.print(line, markup=False, soft_wrap=True)


def main() -> None:
    """Run the scene, then tell it; exit non-zero if anything did not finish."""
    work = Path(tempfile.mkdtemp(prefix="image-relay-demo-"))
    (work / "policy.yml").write_text(scene.POLICY_YAML)
    state_url = f"sqlite:///{work / 'ledger.db'}"
    log_path = work / "functions.log"
    run = Run()
    with Emulator(port=0) as emu:
        emu.control.seed(scene.seed())
        emu.control.configure(copy_gib_per_minute=5)  # slow enough for progress to rise over several ticks
        os.environ.update({"IMAGE_RELAY_POLICY": str(work / "policy.yml"), "IMAGE_RELAY_STATE": state_url,
                           "IMAGE_RELAY_ENDPOINT": emu.url, "IMAGE_RELAY_RETRY_BASE_SECONDS": "0.05"})
        configure_logging("INFO", stream=log_path.open("a"))
        copy_phase(emu, run, state_url)
        export_phase(emu, run, work, state_url)
        acr_phase(emu, run, work, state_url)
        (work / "policy.yml").write_text(demo_golden.GOLDEN_POLICY_YAML)
        ledger = _ledger(state_url)
        run.golden = demo_golden.golden_phase(emu, ledger)
        ledger.close()
        run.leftovers, _ = leftover_phase(emu, work)
        run.accounts = accounts_phase(emu, work, state_url)
        run.duplicates_ignored += run.accounts.duplicates_ignored
    report(run, log_path)


def _leftover_line(run: Run, number: int) -> list[str]:
    """Line ``number``: the failed night build's billed leftovers, reported and kept."""
    instance = next((r for r in run.leftovers if r["resource_type"] == "instance"), None)
    if instance is None:
        return []
    return [f"{number}. A failed build kept its {instance['instance_type']} instance (hourly cost class "
            f"{instance['cost_class']}) and a temporary vSwitch and VPC: cleanup --dry-run reports all "
            f"{len(run.leftovers)} and releases nothing (that needs release_failed_build_instances: true, "
            "a day after the build's end)."]


if __name__ == "__main__":
    main()
