"""`make demo`: the main job end to end on the embedded emulator, in one command.

Starts the emulator in-process, seeds the demo scene, delivers an ActionTrail CreateImage event twice
(as at-least-once delivery does), runs reconcile ticks while advancing the virtual clock, and prints
the copies per region until every one is Available.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from emulator import Emulator
from scripts import demo_scene as scene
from scripts.invoke import invoke
from shared.logs import configure_logging

console = Console(width=140)


def copies_table(ledger_rows: list[dict[str, object]], minute: int) -> Table:
    """One row per (source image, target region) from the ledger."""
    table = Table(title=f"copies after {minute} virtual minutes", title_justify="left")
    for column in ("source image", "target region", "rule", "copy image", "encrypted", "status", "progress", "state"):
        table.add_column(column, no_wrap=True)
    for row in ledger_rows:
        table.add_row(*(str(row.get(c, "")) for c in (
            "source", "target_region", "rule", "copy_image_id", "encrypted", "status", "progress", "state")))
    return table


def ledger_rows(state_url: str) -> list[dict[str, object]]:
    """The copy records, flattened for display."""
    from shared.ledger import Ledger, open_store

    ledger = Ledger(open_store(state_url))
    try:
        rows = []
        for record in ledger.scan("copy/"):
            target = record.data["target"]
            rows.append({
                "source": f"{target['source_name']} {target['image_id']}",
                "target_region": target["target_region"],
                "rule": target["rule"],
                "copy_image_id": record.cloud_id or "-",
                "encrypted": "yes" if target["encrypted"] else "no",
                "status": record.data.get("status") or "-",
                "progress": f"{record.data.get('progress') or 0}%",
                "state": record.state.value,
            })
        return sorted(rows, key=lambda r: (str(r["source"]), str(r["target_region"])))
    finally:
        ledger.close()


def export_rows(state_url: str) -> list[dict[str, object]]:
    """The export records, flattened for display."""
    from shared.ledger import Ledger, open_store

    ledger = Ledger(open_store(state_url))
    try:
        rows = []
        for record in ledger.scan("export/"):
            target = record.data["target"]
            rows.append({
                "image": f"{target['image_name']} {target['image_id']}",
                "task": record.cloud_id or "-",
                "state": record.state.value,
                "manifest / reason": record.data.get("manifest") or record.reason or "",
            })
        return sorted(rows, key=lambda r: str(r["image"]))
    finally:
        ledger.close()


def exports_table(rows: list[dict[str, object]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("image", "task", "state", "manifest / reason"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("image", "task", "state", "manifest / reason")))
    return table


def export_part(emu: Emulator, work: Path, state_url: str) -> None:
    """An off-peak batch: six app- images (one Windows) exported at night, two at a time."""
    import datetime as dt

    console.rule("[bold]Off-peak export batch to OSS")
    (work / "policy.yml").write_text(scene.EXPORT_POLICY_YAML)
    console.print(Syntax(scene.EXPORT_POLICY_YAML[len(scene.POLICY_YAML):], "yaml", theme="ansi_dark"))
    emu.control.seed({"images": scene.export_images()})
    emu.control.configure(export_gib_per_minute=2)
    at = dt.datetime(2026, 11, 21, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 in Shanghai
    for _ in range(40):
        result = json.loads(invoke("export_batch", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ"))))
        local = at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M")
        rows = export_rows(state_url)
        states = {s: sum(1 for r in rows if r["state"] == s) for s in ("PENDING", "STARTED", "DONE", "FAILED")}
        console.print(f"export_batch at {local} Asia/Shanghai: {result['status']:<15} "
                      f"api_calls={result['api_calls']:<3} " + " ".join(f"{k}={v}" for k, v in states.items()))
        if rows and all(r["state"] in ("DONE", "FAILED") for r in rows):
            break
        emu.control.advance(1800)
        invoke("reconcile", scene.timer_event())
        at += dt.timedelta(minutes=30)
    console.print(exports_table(rows, "exports after the night's batch"))
    done = [r for r in rows if r["state"] == "DONE"]
    console.print(f"{len(done)} images exported with a manifest beside their files in oss://{scene.EXPORT_BUCKET}; "
                  "the Windows image was skipped with the reason ECS would have given, without calling it.")
    if len(done) != len(rows) - 1:
        raise SystemExit("demo: the export batch did not finish")


def acr_rows(state_url: str) -> list[dict[str, object]]:
    """The ACR sync records, flattened for display."""
    from shared.ledger import Ledger, open_store

    ledger = Ledger(open_store(state_url))
    try:
        rows = []
        for record in ledger.scan("acr/"):
            target = record.data["target"]
            src = target["source"]
            rows.append({
                "tag": f"{src['namespace']}/{src['repository']}:{src['tag']}",
                "target": f"{target['target_instance']} ({target['target_region']}) "
                          f"{target['target_namespace']}/{target['target_repository']}",
                "sync task": record.cloud_id or "-",
                "status": record.data.get("status") or "-",
                "state": record.state.value,
            })
        return sorted(rows, key=lambda r: (str(r["tag"]), str(r["target"])))
    finally:
        ledger.close()


def acr_table(rows: list[dict[str, object]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    columns = ("tag", "target", "sync task", "status", "state")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    return table


def acr_part(emu: Emulator, work: Path, state_url: str) -> None:
    """A push replicated to two regions (delivered twice), a release candidate left alone, and a backfill."""
    console.rule("[bold]ACR replication on push, and a backfill")
    (work / "policy.yml").write_text(scene.ACR_POLICY_YAML)
    console.print(Syntax(scene.ACR_POLICY_YAML, "yaml", theme="ansi_dark"))
    emu.control.seed(scene.acr_seed())
    for tag in ("v2.0.0", "v2.1.0-rc1"):
        event = json.dumps(emu.control.acr_push({"instance_id": scene.ACR_SOURCE, "namespace": "web",
                                                 "repo": "frontend", "tag": tag,
                                                 "digest": "sha256:" + ("c0ffee" * 11)[:64]})).encode()
        for delivery in (1, 2) if tag == "v2.0.0" else (1,):
            result = json.loads(invoke("acr_push", event))
            console.print(f"acr_push {tag} delivery {delivery}: status={result['status']} "
                          f"targets={[t['target_instance'] + ':' + t['state'] for t in result['targets']]}")
    plan = json.loads(invoke("acr_push", json.dumps({"action": "backfill", "rule": "web", "dry_run": True}).encode()))
    console.print(f"backfill dry-run: {plan['to_replicate']} (tag, target) pairs to replicate, "
                  f"{plan['already_recorded']} already recorded, {plan['api_calls']} API calls, nothing started")
    result = json.loads(invoke("acr_push", json.dumps({"action": "backfill", "rule": "web"}).encode()))
    console.print(f"backfill: started {result['started_now']} sync tasks, "
                  f"{result['queued_for_reconcile']} queued for reconcile")
    for _ in range(20):
        emu.control.advance(60)
        summary = json.loads(invoke("reconcile", scene.timer_event()))
        states = summary.get("acr", {}).get("records", {})
        if states and not {"PENDING", "STARTED"} & set(states):
            break
    rows = acr_rows(state_url)
    console.print(acr_table(rows, "ACR sync tasks"))
    creates = [c for c in emu.control.requests() if c["action"] == "CreateRepoSyncTask"]
    console.print(f"{len(creates)} CreateRepoSyncTask calls for {len(rows)} (tag, target) pairs; "
                  "the duplicate delivery and the -rc tag started nothing.")
    if not rows or any(r["state"] != "DONE" for r in rows):
        raise SystemExit("demo: some ACR syncs did not finish")


def main() -> None:
    """Run the scene; exit non-zero if any copy did not end Available."""
    work = Path(tempfile.mkdtemp(prefix="image-relay-demo-"))
    (work / "policy.yml").write_text(scene.POLICY_YAML)
    state_url = f"sqlite:///{work / 'ledger.db'}"
    with Emulator(port=0) as emu:
        emu.control.seed(scene.seed())
        emu.control.configure(copy_gib_per_minute=5)  # slow enough to watch progress rise
        os.environ.update({
            "IMAGE_RELAY_POLICY": str(work / "policy.yml"),
            "IMAGE_RELAY_STATE": state_url,
            "IMAGE_RELAY_ENDPOINT": emu.url,
            "IMAGE_RELAY_RETRY_BASE_SECONDS": "0.05",
        })
        log_path = work / "functions.log"
        configure_logging("INFO", stream=log_path.open("a"))
        console.print(f"[bold]emulator[/] {emu.url}   [bold]ledger[/] {state_url}   [bold]JSON logs[/] {log_path}")
        console.print(Syntax(scene.POLICY_YAML, "yaml", theme="ansi_dark"))

        event = scene.create_image_event(scene.SOURCE, "m-bp1demoweb0001", "app-web-2026-11")
        for delivery in (1, 2):
            result = json.loads(invoke("image_created", event))
            console.print(f"image_created delivery {delivery}: status={result['status']} "
                          f"targets={[t['target_region'] + ':' + t['state'] for t in result['targets']]}")
        for image_id, name in (("m-bp1demoapi0002", "app-api-2026-11"), ("m-bp1demodb00003", "db-mysql-8")):
            result = json.loads(invoke("image_created", scene.create_image_event(scene.SOURCE, image_id, name)))
            console.print(f"image_created {name}: status={result['status']} source={result.get('source_status')} "
                          f"targets={[t['target_region'] + ':' + t['state'] for t in result['targets']]}")

        minute = 0
        for _ in range(60):
            summary = json.loads(invoke("reconcile", scene.timer_event()))
            rows = ledger_rows(state_url)
            if minute % 4 == 0 or all(r["state"] == "DONE" for r in rows):
                console.print(copies_table(rows, minute))
                console.print(f"reconcile: actions={summary['actions']} api_calls={summary['api_calls']}")
            if rows and all(r["state"] in ("DONE", "FAILED") for r in rows):
                break
            emu.control.advance(60)
            minute += 1

        calls = emu.control.requests()
        copies = [c for c in calls if c["action"] == "CopyImage" and c["status"] == 200]
        console.print(f"\n[bold]{len(calls)}[/] API calls in all, [bold]{len(copies)}[/] CopyImage calls "
                      f"for {len(rows)} (image, region) pairs; db-mysql-8 matched no rule and was left alone.")
        if not rows or any(r["state"] != "DONE" for r in rows):
            raise SystemExit("demo: some copies did not finish")
        console.print("[green]all copies Available[/]")
        export_part(emu, work, state_url)
        acr_part(emu, work, state_url)


if __name__ == "__main__":
    main()
