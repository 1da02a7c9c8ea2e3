"""What `image-relay status` shows, built from the ledger alone (no cloud call).

One row per piece of work (a copy into one region, an export, an ACR sync), in the CLI's state
words (`shared.render.STATE_WORDS`), sorted by rule, source, region. A failed row carries the full
reason, whether and when the function retries it by itself, and the exact command that retries it
by hand.

JSON shape (`image-relay status --json`), stable:
``{"copies": [row], "exports": [row], "acr": [row], "accounts": [row], "builds": [row], "failed": int,
"filters": {...}}``; an account row is one hop of an account target (issue #13): ``kind`` "account", ``hop``
share|copy, ``account_id``, ``region`` (the partner's region; the source region for the share),
``partner_image_id``; a copy row has
``kind, key, rule, source_region, image_id, source_name, region, state, ledger_state, detail,
copy_image_id, reason, retries_at, retry_command, queue_position, eta, waiting_for_window``; exports and ACR rows have the same keys that apply;
a build row adds ``slot, stage, execution_id, withheld`` (its ``source_name`` is the template).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from shared.alerts.outcomes import clean_reason, copy_retry_command, manual_command
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.policy import Policy
from shared.render import fmt_time, state_word
from shared.replication.queue import queue_view


def _failure(row: dict[str, Any], record: Record, command: str | None, now: dt.datetime) -> None:
    row["reason"] = clean_reason(record.reason)
    if record.state is not State.FAILED:
        return
    if record.retryable and record.next_attempt_at is not None:
        row["retries_at"] = record.next_attempt_at.isoformat()
        row["detail"] = f"retries by itself at {fmt_time(record.next_attempt_at, now)}"
    elif row["state"] == "skipped":
        row["detail"] = "not retried (the cloud would refuse it)"
    else:
        row["detail"] = "will not retry by itself"
    row["retry_command"] = command


def _row(kind: str, record: Record, described: dict[str, Any], *, cloud_id: str, command: str | None,
         now: dt.datetime, detail: str | None = None, skipped: bool = False, **after: Any) -> dict[str, Any]:
    """One row: what the record is for (``described``: rule, source, region…), its state word, the cloud
    task (under ``cloud_id``), the failure facts (reason, when it retries, ``command``), then ``after``."""
    row: dict[str, Any] = {
        "kind": kind, "key": record.key, **described,
        "state": state_word(record.state.value, retryable=record.retryable, skipped=skipped),
        "ledger_state": record.state.value, "detail": detail, cloud_id: record.cloud_id,
        "reason": None, "retries_at": None, "retry_command": None, **after,
    }
    _failure(row, record, command, now)
    return row


def copy_rows(ledger: Ledger, policy: Policy, now: dt.datetime) -> list[dict[str, Any]]:
    """One row per copy record: rule, source, target region, state word, detail, failure facts."""
    records = list(ledger.scan("copy/"))
    queue = queue_view(records, policy, now)
    rows = []
    for record in records:
        target = record.data["target"]
        entry = queue.get(record.key)
        detail = None
        if record.state is State.STARTED:
            detail = f"{record.data.get('status') or 'started'} {record.data.get('progress') or 0}%"
        elif entry is not None:
            detail = f"#{entry.position} eta {fmt_time(entry.eta, now)}"
            if entry.waiting_for_window:
                detail += f" (window {entry.waiting_for_window})"
        described = {"rule": target.get("rule"), "source_region": target["source_region"],
                     "image_id": target["image_id"], "source_name": target.get("source_name"),
                     "region": target["target_region"]}
        command = copy_retry_command(target["source_region"], target["image_id"], target["target_region"])
        rows.append(_row("copy", record, described, cloud_id="copy_image_id", command=command, now=now,
                         detail=detail, queue_position=entry.position if entry else None,
                         eta=entry.eta.isoformat() if entry and entry.eta else None,
                         waiting_for_window=entry.waiting_for_window if entry else None))
    return rows


def export_rows(ledger: Ledger, now: dt.datetime) -> list[dict[str, Any]]:
    """One row per export record."""
    rows = []
    for record in ledger.scan("export/"):
        target = record.data.get("target") or {}
        skipped = bool(record.data.get("skipped"))
        described = {"rule": target.get("rule"), "source_region": target.get("region"),
                     "image_id": target.get("image_id"), "source_name": target.get("image_name"),
                     "region": target.get("region"), "bucket": target.get("bucket")}
        request = {"action": "export", "region": target.get("region"), "image_id": target.get("image_id")}
        command = None if skipped else manual_command("export_batch", request)
        rows.append(_row("export", record, described, cloud_id="task_id", command=command, now=now,
                         skipped=skipped))
    return rows


def acr_rows(ledger: Ledger, now: dt.datetime) -> list[dict[str, Any]]:
    """One row per ACR sync record; an account target (issue #13) shows ``<account>:`` before its instance."""
    rows = []
    for record in ledger.scan("acr/"):
        target = record.data.get("target") or {}
        source = target.get("source") or {}
        account = target.get("target_account")
        described = {
            "rule": target.get("rule"), "source_region": source.get("region"),
            "image_id": f"{source.get('namespace')}/{source.get('repository')}:{source.get('tag')}",
            "source_name": None, "region": target.get("target_region"), "account": account,
            "target": (f"{account}:" if account else "") + f"{target.get('target_instance')}/"
                      f"{target.get('target_namespace')}/{target.get('target_repository')}",
        }
        request = {"action": "replicate_tag", "instance_id": source.get("instance_id"),
                   "namespace": source.get("namespace"), "repository": source.get("repository"),
                   "tag": source.get("tag")}
        rows.append(_row("acr", record, described, cloud_id="task_id", command=manual_command("acr_push", request),
                         now=now, detail=record.data.get("status")))
    return rows


def _hop_detail(record: Record, hop: Any) -> str | None:
    """What a hop is doing, in words: the share's life, or the partner's copy."""
    if hop.kind == "share":
        shared = bool(record.data.get("shared"))
        if record.state is State.STARTED:
            return "shared; unshared once the partner's first copy is final" if shared and hop.mode == "copy" \
                else ("shared" if shared else "sharing")
        if record.state is State.DONE:
            return "kept shared" if shared else "unshared"
        return None
    if record.state is State.STARTED:
        return f"copying in account {hop.account_id}" + (f" as {record.cloud_id}" if record.cloud_id else "")
    if record.state is State.PENDING:
        return "waits for the share" if hop.first else "waits for the partner's first copy"
    return None


def account_rows(ledger: Ledger, now: dt.datetime) -> list[dict[str, Any]]:
    """One row per hop of every account target: the share, and the partner's copy into each region."""
    from shared.accounts.hops import COPY_PREFIX, SHARE_PREFIX, hop_of

    rows = []
    for record in [*ledger.scan(SHARE_PREFIX), *ledger.scan(COPY_PREFIX)]:
        hop = hop_of(record)
        row: dict[str, Any] = {
            "kind": "account", "key": record.key, "rule": hop.rule, "source_region": hop.source_region,
            "image_id": hop.image_id, "source_name": hop.name, "account_id": hop.account_id, "hop": hop.kind,
            "region": hop.region or hop.source_region,
            "state": state_word(record.state.value, retryable=record.retryable),
            "ledger_state": record.state.value, "detail": _hop_detail(record, hop),
            "partner_image_id": record.cloud_id if hop.kind == "copy" else None,
            "reason": None, "retries_at": None, "retry_command": None,
        }
        _failure(row, record, account_retry_command(hop.source_region, hop.image_id, hop.account_id), now)
        rows.append(row)
    return rows


def _handed_on(record: Record) -> str:
    handed = record.data.get("handed_on") or {}
    parts = [f"{k} {len(handed[k])}" for k in ("copies", "exports", "accounts") if handed.get(k)]
    retried = handed.get("retried_regions") or []
    if retried:
        parts.append("retried " + ", ".join(retried))
    return "handed on: " + (", ".join(parts) or "nothing named")


def build_rows(ledger: Ledger, now: dt.datetime) -> list[dict[str, Any]]:
    """One row per build record (issue #14): its stage, its execution and image, and why it waits, failed
    or was withheld (built, but not handed on: TEST_FAILED by default)."""
    rows = []
    for record in ledger.scan("build/"):
        data = record.data
        withheld = record.state is State.DONE and data.get("distribute") is False
        row: dict[str, Any] = {
            "kind": "build", "key": record.key, "rule": data.get("rule"), "source_region": data.get("region"),
            "region": data.get("region"), "source_name": data.get("pipeline"), "slot": data.get("slot"),
            "stage": data.get("stage") or None, "execution_id": record.cloud_id,
            "image_id": data.get("image_id") or None,
            "state": state_word(record.state.value, retryable=record.retryable), "ledger_state": record.state.value,
            "withheld": withheld, "detail": None, "reason": None, "retries_at": None, "retry_command": None,
        }
        if record.state is State.STARTED:
            row["detail"] = f"stage {data.get('stage') or 'starting'}"
        elif record.state is State.PENDING:
            row["detail"] = clean_reason(record.reason) or "queued for its template"
        elif withheld:
            row["detail"] = f"withheld: {data.get('stage')}, nothing handed on"
        elif record.state is State.DONE:
            row["detail"] = _handed_on(record)
        _failure(row, record, f"image-relay build {data.get('rule')}", now)
        if withheld:
            row["reason"] = record.reason
        rows.append(row)
    return rows


def account_retry_command(source_region: str, image_id: str, account_id: str) -> str:
    """`image-relay retry …` for one account target (its failed share and copies)."""
    return f"image-relay retry {source_region} {image_id} --account {account_id}"


def select(rows: list[dict[str, Any]], *, regions: list[str], rules: list[str], states: set[str],
           failed_only: bool) -> list[dict[str, Any]]:
    """Rows matching every given filter (a region matches the source or the target region)."""
    out = []
    for row in rows:
        if regions and row.get("region") not in regions and row.get("source_region") not in regions:
            continue
        if rules and row.get("rule") not in rules:
            continue
        if states and row["state"] not in states:
            continue
        if failed_only and row["ledger_state"] != State.FAILED.value:
            continue
        out.append(row)
    return sorted(out, key=lambda r: (str(r.get("rule")), str(r.get("source_region")), str(r.get("source_name")),
                                      str(r.get("image_id")), str(r.get("account_id")), str(r.get("hop")),
                                      str(r.get("region"))))
