"""Which ledger outcomes deserve an alert, and the command that replays each (pure).

An outcome is a piece of work that ended where a person must act: a copy, export or ACR sync FAILED
for good (not `retryable`: the function will not try again by itself), an export skipped because the
cloud would refuse it, a cleanup run refused by its blast radius, an Image Builder build that failed or whose
image was withheld (TEST_FAILED by default: built, nothing handed on). Its alert key names the outcome
*and* the attempt, so a retried copy that fails again is a new outcome, while every tick that sees
the same failure finds the same key (the ledger de-duplicates it).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.ledger.record import Record, State

ALERT_PREFIX = "alert/"
_WILL_RETRY = re.compile(r";\s*will retry.*$")


def clean_reason(reason: str | None) -> str | None:
    """A reason without a "will retry" promise (the alert and the status row say the truth themselves)."""
    return _WILL_RETRY.sub("", reason).strip() if reason else reason


def manual_command(function: str, request: dict[str, Any]) -> str:
    """The shell command that sends a manual request to a function (works in any POSIX shell)."""
    return f"echo '{json.dumps(request)}' | image-relay invoke {function}"


def copy_retry_command(source_region: str, image_id: str, target_region: str) -> str:
    """`image-relay retry …` for one failed copy."""
    return f"image-relay retry {source_region} {image_id} --target-region {target_region}"


@dataclass(frozen=True)
class Alert:
    """One outcome to tell people about: `key` is its ledger key (one alert per key, ever)."""

    key: str
    type: str
    subject: str
    title: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        """A stable id (a repeat downstream de-duplicates by it)."""
        return "ir-" + hashlib.sha256(self.key.encode()).hexdigest()[:32]


def _copy(record: Record) -> Alert:
    target = record.data["target"]
    command = copy_retry_command(target["source_region"], target["image_id"], target["target_region"])
    return Alert(
        key=f"{ALERT_PREFIX}copy-failed/{record.key}#{record.attempt}", type="image-relay:Copy:Failed",
        subject=record.key, title=f"copy of {target.get('source_name')} to {target['target_region']} failed",
        data={"outcome": "copy_failed", "key": record.key, "rule": target.get("rule"),
              "source_region": target["source_region"], "image_id": target["image_id"],
              "source_name": target.get("source_name"), "target_region": target["target_region"],
              "reason": clean_reason(record.reason), "retry_command": command})


def _export(record: Record) -> Alert:
    target = record.data.get("target") or {}
    skipped = bool(record.data.get("skipped"))
    request = {"action": "export", "region": target.get("region"), "image_id": target.get("image_id")}
    outcome = "export_skipped" if skipped else "export_failed"
    return Alert(
        key=f"{ALERT_PREFIX}{outcome.replace('_', '-')}/{record.key}#{record.attempt}",
        type="image-relay:Export:Skipped" if skipped else "image-relay:Export:Failed", subject=record.key,
        title=f"export of {target.get('image_name')} in {target.get('region')} {'skipped' if skipped else 'failed'}",
        data={"outcome": outcome, "key": record.key, "rule": target.get("rule"), "region": target.get("region"),
              "image_id": target.get("image_id"), "bucket": target.get("bucket"),
              "reason": clean_reason(record.reason),
              "retry_command": None if skipped else manual_command("export_batch", request)})


def _acr(record: Record) -> Alert:
    target = record.data.get("target") or {}
    source = target.get("source") or {}
    request = {"action": "replicate_tag", "instance_id": source.get("instance_id"),
               "namespace": source.get("namespace"), "repository": source.get("repository"),
               "tag": source.get("tag")}
    tag = f"{source.get('namespace')}/{source.get('repository')}:{source.get('tag')}"
    return Alert(
        key=f"{ALERT_PREFIX}acr-failed/{record.key}#{record.attempt}", type="image-relay:Acr:Failed",
        subject=record.key, title=f"ACR sync of {tag} to {target.get('target_region')} failed",
        data={"outcome": "acr_failed", "key": record.key, "rule": target.get("rule"), "tag": tag,
              "target_region": target.get("target_region"), "reason": clean_reason(record.reason),
              "retry_command": manual_command("acr_push", request)})


def _build(record: Record) -> Alert:
    """A build that failed, or whose image was built but withheld (TEST_FAILED, …): nothing was handed on."""
    withheld = record.state is State.DONE
    outcome = "build_withheld" if withheld else "build_failed"
    rule, stage = record.data.get("rule"), record.data.get("stage")
    return Alert(
        key=f"{ALERT_PREFIX}{outcome.replace('_', '-')}/{record.key}#{record.attempt}",
        type="image-relay:Build:Withheld" if withheld else "image-relay:Build:Failed", subject=record.key,
        title=f"build of rule {rule} ended {stage}: " + ("image not handed on" if withheld else "no image"),
        data={"outcome": outcome, "key": record.key, "rule": rule, "region": record.data.get("region"),
              "pipeline_id": record.data.get("pipeline_id"), "execution_id": record.cloud_id, "stage": stage,
              "image_id": record.data.get("image_id") or None, "reason": clean_reason(record.reason),
              "retry_command": f"image-relay build {rule}"})


def record_outcomes(records: Iterable[Record]) -> list[Alert]:
    """An alert for every record that ended FAILED for good (copies, exports incl. skips, ACR syncs, builds),
    and for every build whose image was withheld (DONE, ``distribute`` false)."""
    out = []
    for record in records:
        if record.kind == "build" and record.state is State.DONE and record.data.get("distribute") is False:
            out.append(_build(record))
            continue
        if record.state is not State.FAILED or record.retryable:
            continue
        if record.kind == "build":
            out.append(_build(record))
        elif record.kind == "copy" and "target" in record.data:
            out.append(_copy(record))
        elif record.kind == "export":
            out.append(_export(record))
        elif record.kind == "acr":
            out.append(_acr(record))
    return out


def cleanup_refused(report: dict[str, Any]) -> Alert:
    """The alert for a refused cleanup run (one per day: the daily run is refused the same way)."""
    day = str(report.get("now", ""))[:10]
    counts, limits = report.get("counts") or {}, report.get("limits") or {}
    return Alert(
        key=f"{ALERT_PREFIX}cleanup-refused/{day}", type="image-relay:Cleanup:Refused", subject=f"cleanup/{day}",
        title="cleanup refused by its blast radius; nothing was deleted",
        data={"outcome": "cleanup_refused", "reason": (report.get("error") or {}).get("message"),
              "planned_delete": counts.get("planned_delete"), "considered": counts.get("considered"),
              "limits": limits, "retry_command": "image-relay cleanup  (dry run: read the plan, then raise "
                                                 "the limits in the policy's cleanup: section)"})


def summary(alerts: list[Alert], day: str) -> Alert:
    """The daily summary: only failures, each with its replay command."""
    items = [{"title": a.title, "reason": a.data.get("reason"), "retry_command": a.data.get("retry_command")}
             for a in alerts]
    return Alert(key=f"{ALERT_PREFIX}summary/{day}", type="image-relay:Summary:Daily", subject=f"summary/{day}",
                 title=f"{len(items)} failure(s) still open on {day}", data={"outcome": "daily_summary",
                                                                             "failures": items})
