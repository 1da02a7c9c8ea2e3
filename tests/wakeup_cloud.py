"""Wake at the ETA (issue #16), shared by the features' wake-up tests: `LocalCloud` on the virtual clock
(FC functions, the template's timers, delayed invocations) and what those tests read back from it.

Nothing here measures wall time.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import sample_world as scene
from scripts.invoke import invoke
from scripts.local import LocalCloud
from shared.ledger import Ledger, open_store
from shared.ledger.record import Record


def clouds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The body of a `local` fixture: `local(policy, seed, wakeups=True, **emulator_config)` starts a LocalCloud
    (stopped at the end of the test)."""
    started: list[LocalCloud] = []

    def build(policy: str, seed: dict[str, Any], *, wakeups: bool = True, **config: Any) -> LocalCloud:
        monkeypatch.setenv("IMAGE_RELAY_WAKEUPS", "true" if wakeups else "false")
        (tmp_path / "policy.yml").write_text(policy)
        cloud = LocalCloud(policy=tmp_path / "policy.yml", state=f"sqlite:///{tmp_path / 'ledger.db'}").start()
        started.append(cloud)
        cloud.emulator.control.seed(seed)
        if config:
            cloud.emulator.control.configure(**config)
        return cloud

    yield build
    for cloud in started:
        cloud.stop()


def records(cloud: LocalCloud, prefix: str) -> list[Record]:
    """The ledger's records under `prefix`."""
    return list(Ledger(open_store(cloud.state_url)).scan(prefix))


def now_of(cloud: LocalCloud) -> dt.datetime:
    """The emulator's virtual now."""
    return dt.datetime.fromtimestamp(cloud.emulator.state.clock.now(), tz=dt.timezone.utc)


def run_until(cloud: LocalCloud, until: dt.datetime) -> None:
    """Step from event to event (timers, wake-ups) until one at or past `until` has run."""
    while cloud.advance_to_next_event(horizon=300) < until.timestamp():
        pass


def fired(cloud: LocalCloud, stem: str) -> list[dict[str, Any]]:
    """Delayed invocations whose id starts with `stem` that ran."""
    return [i for i in cloud.emulator.control.fc_invocations()
            if i["invocationId"].startswith(stem) and i["status"] == "Succeeded"]


def calls(cloud: LocalCloud, action: str, region: str | None = None) -> int:
    """API calls of `action` (in `region`) so far."""
    return sum(1 for c in cloud.emulator.control.requests()
               if c["action"] == action and region in (None, c["region"]))


def tick(at: dt.datetime) -> dict[str, Any]:
    """One plain reconcile timer tick at `at`; its summary."""
    result: dict[str, Any] = json.loads(invoke("reconcile", scene.timer_event(at.strftime("%Y-%m-%dT%H:%M:%SZ"))))
    return result
