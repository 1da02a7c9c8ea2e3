"""Send each outcome alert once, to every configured sink, de-duplicated through the ledger.

How once: an alert's ledger key is claimed create-if-absent before anything is sent, so of N ticks
(or N duplicated deliveries) that see the same failure, exactly one sends; it ends DONE. A send that
fails ends FAILED and retryable, and a later sweep re-claims it by compare-and-set. A claim left
PENDING by a crash is taken over after `STALE_SECONDS`. Nothing here may fail the invocation that
called it: errors are logged (never a secret) and left for the next sweep.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from shared.alerts.outcomes import ALERT_PREFIX, Alert, record_outcomes, summary
from shared.errors import ImageRelayError, LedgerConflictError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger, redact, scrub
from shared.policy.alerts import AlertsPolicy

log = get_logger(__name__)
STALE_SECONDS = 600


class Sink(Protocol):
    """Somewhere an alert goes (EventBridge, a webhook)."""

    name: str

    def send(self, alert: Alert, now: dt.datetime) -> None:
        """Deliver one alert; raise `ImageRelayError` on failure."""


class EventBridgeSinkAdapter:
    """PutEvents of one CloudEvent per alert."""

    name = "eventbridge"

    def __init__(self, gateway: Any, region: str, bus: str, source: str) -> None:
        self.gateway, self.region, self.bus, self.source = gateway, region, bus, source

    def send(self, alert: Alert, now: dt.datetime) -> None:
        self.gateway.put_events(self.region, self.bus, [{
            "id": alert.event_id, "source": self.source, "type": alert.type, "subject": alert.subject,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": {"title": alert.title, **alert.data}}])


class WebhookSinkAdapter:
    """One robot message per alert: the title, the reason and the replay command."""

    name = "webhook"

    def __init__(self, sender: Any) -> None:
        self.sender = sender

    def send(self, alert: Alert, now: dt.datetime) -> None:
        lines = [f"- {k.replace('_', ' ')}: {v}" for k, v in alert.data.items()
                 if v not in (None, "", [], {}) and k not in ("failures", "retry_command")]
        for item in alert.data.get("failures") or []:
            lines.append(f"- {item['title']}: {item.get('reason')}\n  `{item.get('retry_command')}`")
        if alert.data.get("retry_command"):
            lines.append(f"\nreplay: `{alert.data['retry_command']}`")
        self.sender.send(alert.title, "\n".join(lines))


def _claim(ledger: Ledger, alert: Alert, now: dt.datetime) -> Record | None:
    """The alert's record if this caller may send it now; None when another sent or is sending it."""
    record, created = ledger.ensure(Record(key=alert.key, kind="alert", created_at=now, updated_at=now,
                                           data={"type": alert.type, "subject": alert.subject}))
    if created:
        return record
    stale = (now - record.updated_at).total_seconds() > STALE_SECONDS
    try:
        if record.state is State.FAILED and record.retryable:
            return ledger.transition(record.key, record, state=State.PENDING, updated_at=now)
        if record.state is State.PENDING and stale:
            return ledger.transition(record.key, record, state=State.PENDING, updated_at=now)
    except LedgerConflictError:
        return None  # another sweep took it
    return None


def send_once(ledger: Ledger, sinks: list[Sink], alert: Alert, now: dt.datetime) -> bool:
    """Send `alert` to every sink unless it was (or is being) sent; True when this call sent it."""
    record = _claim(ledger, alert, now)
    if record is None:
        return False
    # An alert is an exit (invariant 5): a quoted reason may carry a cloud error's text.
    alert = dataclasses.replace(alert, title=redact(alert.title), subject=redact(alert.subject),
                                data=scrub(alert.data))
    failures = []
    for sink in sinks:
        try:
            sink.send(alert, now)
        except ImageRelayError as exc:
            failures.append(f"{sink.name}: {exc}")
            log.warning("alert.send_failed", extra={"key": alert.key, "sink": sink.name, **exc.log_fields()})
    try:
        if failures and len(failures) == len(sinks):
            ledger.transition(record.key, record, state=State.FAILED, retryable=True, reason="; ".join(failures),
                              updated_at=now)
            return False
        ledger.transition(record.key, record, state=State.DONE, reason="; ".join(failures) or None,
                          updated_at=now, data={**record.data, "sent_at": now.isoformat(),
                                                "sinks": [s.name for s in sinks]})
    except LedgerConflictError:
        log.warning("alert.record_conflict", extra={"key": alert.key})
    log.info("alert.sent", extra={"key": alert.key, "type": alert.type})
    return True


def sweep(ledger: Ledger, policy: AlertsPolicy, sinks: list[Sink], now: dt.datetime,
          records: Callable[[], Iterable[Record]] | None = None) -> dict[str, int]:
    """Alert every outcome not yet alerted; once a day after `summary_hour_utc`, the summary of failures."""
    if not sinks:
        return {"sent": 0}
    scanned = records() if records is not None else (
        r for prefix, states in (("copy/", (State.FAILED,)), ("export/", (State.FAILED,)), ("acr/", (State.FAILED,)),
                                 ("build/", (State.FAILED, State.DONE)))
        for r in ledger.by_state(prefix, *states))
    alerts = record_outcomes(scanned)
    sent = sum(1 for alert in alerts if send_once(ledger, sinks, alert, now))
    if policy.daily_summary and alerts and now.hour >= policy.summary_hour_utc:
        if send_once(ledger, sinks, summary(alerts, now.date().isoformat()), now):
            sent += 1
    return {"sent": sent, "open_failures": len(alerts)}


def alerted(ledger: Ledger) -> list[Record]:
    """Every alert record (what was sent, when, to which sinks)."""
    return list(ledger.scan(ALERT_PREFIX))
