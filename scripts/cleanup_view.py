"""How `image-relay cleanup` explains itself above its table.

A disabled run names the missing policy section; a refused run prints the refusal and its numbers
first and marks the rows it would have deleted `refused` (they were not, and will not be, deleted by
this run), so nobody reads `would_delete` as what happened.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from scripts.tables import Column

COLUMNS = [Column("outcome", "outcome", 10), Column("name", "image", 9, shrink=True), Column("region", "region", 8),
           Column("rule", "rule", 5), Column("image_id", "image id", 4)]
#: Failed builds' leftovers: the cost class is a class (vCPUs of the pay-as-you-go type), not a price.
LEFTOVER_COLUMNS = [Column("outcome", "outcome", 10), Column("cost_class", "cost class", 9),
                    Column("resource_id", "id", 8), Column("name", "name", 7, shrink=True),
                    Column("resource_type", "type", 6), Column("region", "region", 5)]


def reasons(result: dict[str, Any]) -> list[str]:
    """Why, in full, once per distinct reason (the table has no room for sentences); leftovers after images."""
    lines = []
    for key, label in (("decisions", ""), ("leftovers", "leftover ")):
        counted = Counter((str(r.get("outcome")), str(r.get("reason"))) for r in result.get(key) or [])
        lines += [f"{n} × {label}{outcome}: {reason}" for (outcome, reason), n in sorted(counted.items())]
    return lines


def explain(result: dict[str, Any]) -> list[str]:
    """Lines to print above the table; marks refused rows in `result` for display."""
    status = result.get("status")
    if status == "disabled":
        return [f"cleanup is off: {result.get('reason') or 'the policy has no cleanup: section'}. "
                "Add one (cleanup: {template_scratch: {}, retention: {}}) to turn it on."]
    if status != "refused":
        return _leftover_summary(result)
    counts, limits = result.get("counts") or {}, result.get("limits") or {}
    error = (result.get("error") or {}).get("message", "the plan exceeds the blast radius")
    for row in result.get("decisions") or []:
        if row.get("outcome") == "would_delete":
            row["outcome"] = "refused"
    for row in result.get("leftovers") or []:
        if row.get("outcome") == "would_release":
            row["outcome"] = "refused"
    return [
        f"REFUSED: {error}",
        f"  would delete {counts.get('planned_delete', 0)} of {counts.get('considered', 0)} considered; "
        f"limits: max_deletions {limits.get('max_deletions')}, max_share {_pct(limits.get('max_share'))}"
        + (f" (applies above {limits['share_floor']} deletions)" if limits.get("share_floor") is not None else ""),
        "  nothing was deleted; raise the limits in the policy's cleanup: section, or narrow its rules",
        *_leftover_summary(result),
    ]


def _leftover_summary(result: dict[str, Any]) -> list[str]:
    """One line on failed builds' leftovers, when there are any."""
    counts = result.get("leftover_counts") or {}
    if not counts.get("found"):
        return []
    return [f"failed-build leftovers: {counts['found']} found, {counts.get('planned_release', 0)} to release "
            "(instances show an hourly cost class, not a price; release needs release_failed_build_instances: true)"]


def _pct(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, (int, float)) else "-"
