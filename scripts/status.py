"""What `image-relay status` shows, built from the ledger alone (no cloud call).

Copies: one row per source image, one column per target region, each cell the state with progress,
queue position and ETA, or the failure reason and the command that retries it.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.policy import Policy
from shared.replication.queue import queue_view


def copy_matrix(ledger: Ledger, policy: Policy, now: dt.datetime) -> dict[str, Any]:
    """{"regions": [...], "rows": [{"image", "cells": {region: cell}}]} for the copy records."""
    records = [r for r in ledger.scan("copy/")]
    queue = queue_view(records, policy, now)
    rows: dict[str, dict[str, Any]] = defaultdict(dict)
    names: dict[str, str] = {}
    regions: set[str] = set()
    for record in records:
        target = record.data["target"]
        image = f"{target['source_region']}/{target['image_id']}"
        names[image] = target["source_name"]
        regions.add(target["target_region"])
        rows[image][target["target_region"]] = _cell(record, queue.get(record.key))
    return {
        "regions": sorted(regions),
        "rows": [{"image": image, "name": names[image], "cells": cells} for image, cells in sorted(rows.items())],
    }


def _cell(record: Record, entry: Any) -> dict[str, Any]:
    target = record.data["target"]
    cell: dict[str, Any] = {"state": record.state.value, "copy_image_id": record.cloud_id}
    if record.state is State.STARTED:
        cell["progress"] = record.data.get("progress") or 0
        cell["status"] = record.data.get("status")
    if entry is not None:
        cell["queue_position"] = entry.position
        cell["eta"] = entry.eta.isoformat() if entry.eta else None
        if entry.waiting_for_window:
            cell["waiting_for_window"] = entry.waiting_for_window
    if record.state is State.FAILED:
        cell["reason"] = record.reason
        cell["retry"] = (f"""image-relay invoke image_created --event - <<< '{{"action": "retry_failed", """
                         f""""region": "{target['source_region']}", "image_id": "{target['image_id']}"}}'""")
    return cell


def cell_text(cell: dict[str, Any] | None) -> str:
    """One table cell, short enough for a terminal."""
    if cell is None:
        return "-"
    state = cell["state"]
    if state == "STARTED":
        return f"{cell.get('status') or 'started'} {cell.get('progress', 0)}%"
    if state == "PENDING" and "queue_position" in cell:
        eta = cell.get("eta", "")[11:16] if cell.get("eta") else "?"
        wait = f" after {cell['waiting_for_window']}" if cell.get("waiting_for_window") else ""
        return f"queued #{cell['queue_position']} eta {eta}Z{wait}"
    if state == "FAILED":
        return f"FAILED: {(cell.get('reason') or '')[:60]}"
    return state.lower()


def simple_rows(ledger: Ledger, prefix: str) -> list[dict[str, Any]]:
    """Export or ACR records as flat rows (key, state, cloud id, reason)."""
    return [{"key": r.key, "state": r.state.value, "cloud_id": r.cloud_id, "reason": r.reason}
            for r in ledger.scan(prefix)]
