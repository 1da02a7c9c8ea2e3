"""Outcome alerts end to end: a copy that ends FAILED is told exactly once, to EventBridge (PutEvents in the
emulator) and to a signed webhook, however often the ticks are delivered, and no secret is in either."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from scripts import sample_world as scene
from shared.runtime import FCCredentials, make_local_context

WEB = "m-bp1demoweb0001"
AK_SECRET = "Zq9sEcReT-alerts-never-print-me"
HOOK_SECRET = "SEC-webhook-never-print-me-77"
HOOK_TOKEN = "robot-token-never-print-me-42"
ALERTS = """
alerts:
  eventbridge: {bus: relay-alerts, region: cn-hangzhou}
  webhook: {url_env: RELAY_HOOK_URL, secret_env: RELAY_HOOK_SECRET, style: dingtalk}
  daily_summary: false
"""
FAILING = scene.POLICY_YAML.replace("key-sg-1", "key-sg-missing")


class Robot:
    """A DingTalk-like robot on loopback that checks the signature and keeps what it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                robot.received.append((self.path, json.loads(body)))
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                ts, sign = query["timestamp"][0], query["sign"][0]
                expected = base64.b64encode(hmac.new(HOOK_SECRET.encode(), f"{ts}\n{HOOK_SECRET}".encode(),
                                                     hashlib.sha256).digest()).decode()
                ok = sign == expected and query["access_token"][0] == HOOK_TOKEN
                answer = json.dumps({"errcode": 0 if ok else 310000, "errmsg": "ok" if ok else "sign not match"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/robot/send?access_token={HOOK_TOKEN}"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def robot(world):
    robot = Robot()
    world.monkeypatch.setenv("RELAY_HOOK_URL", robot.url)
    world.monkeypatch.setenv("RELAY_HOOK_SECRET", HOOK_SECRET)
    world.emu.control.seed({"event_buses": [{"region": "cn-hangzhou", "name": "relay-alerts"}],
                            "access_keys": [{"id": "STS.alerts-ak", "secret": AK_SECRET}]})
    yield robot
    robot.close()


def _tick(world, when: str | None = None) -> dict:
    from scripts.invoke import invoke

    ctx = make_local_context("reconcile", credentials=FCCredentials("STS.alerts-ak", AK_SECRET, "sts-token"))
    return json.loads(invoke("reconcile", scene.timer_event(when), context=ctx))


def test_a_failed_copy_is_alerted_exactly_once_with_no_secret(world, robot):
    world.set_policy(FAILING + ALERTS)
    world.invoke("image_created", world.event(WEB))
    results = [_tick(world) for _ in range(3)]  # duplicated ticks, as a redelivering timer would
    assert [r["alerts"]["sent"] for r in results] == [1, 0, 0]
    events = world.emu.control.eventbridge_events()
    assert len(events) == 1 and len(world.calls("PutEvents", 200)) == 1
    event = events[0]
    assert event["bus"] == "relay-alerts" and event["event"]["Type"] == "image-relay:Copy:Failed"
    assert event["event"]["Subject"] == f"copy/cn-hangzhou/{WEB}/ap-southeast-1"
    data = event["event"]["Data"]
    assert data["target_region"] == "ap-southeast-1" and "key-sg-missing" in data["reason"]
    assert data["retry_command"] == f"image-relay retry cn-hangzhou {WEB} --target-region ap-southeast-1"
    assert len(robot.received) == 1
    path, message = robot.received[0]
    assert message["msgtype"] == "markdown" and "key-sg-missing" in message["markdown"]["text"]
    assert "image-relay retry cn-hangzhou" in message["markdown"]["text"]
    blob = json.dumps(events) + json.dumps(message) + json.dumps(results)
    for secret in (AK_SECRET, HOOK_SECRET, HOOK_TOKEN):
        assert secret not in blob
    records = list(world.ledger().scan("alert/"))
    assert [(r.state.value, r.data["sinks"]) for r in records] == [("DONE", ["eventbridge", "webhook"])]


def test_a_retried_copy_that_fails_again_is_a_new_alert(world, robot):
    world.set_policy(FAILING + ALERTS)
    world.invoke("image_created", world.event(WEB))
    _tick(world)
    world.invoke("image_created", json.dumps({"action": "retry_failed", "region": "cn-hangzhou",
                                              "image_id": WEB}).encode())
    _tick(world), _tick(world)
    assert len(world.emu.control.eventbridge_events()) == 2
    assert len({e["event"]["Id"] for e in world.emu.control.eventbridge_events()}) == 2


def test_an_unreachable_bus_is_retried_by_the_next_tick(world, robot):
    world.set_policy(FAILING + ALERTS.replace("relay-alerts", "not-yet-created"))
    world.invoke("image_created", world.event(WEB))
    first = _tick(world)
    assert first["alerts"]["sent"] == 1  # the webhook took it; the bus error is recorded, not raised
    record = next(iter(world.ledger().scan("alert/")))
    assert record.state.value == "DONE" and "EventBusNotExist" in record.reason


def test_no_sink_configured_means_no_alert_and_no_call(world):
    world.set_policy(FAILING)
    world.invoke("image_created", world.event(WEB))
    assert "alerts" not in _tick(world)
    assert world.calls("PutEvents") == [] and list(world.ledger().scan("alert/")) == []


def test_the_daily_summary_lists_only_failures_once_a_day(world, robot):
    world.set_policy(FAILING + ALERTS.replace("daily_summary: false", "daily_summary: true"))
    world.invoke("image_created", world.event(WEB))
    _tick(world, "2026-11-25T00:30:00Z")  # before summary_hour_utc (1): the outcome alert only
    _tick(world, "2026-11-25T01:05:00Z")
    _tick(world, "2026-11-25T01:10:00Z")
    types = [e["event"]["Type"] for e in world.emu.control.eventbridge_events()]
    assert types == ["image-relay:Copy:Failed", "image-relay:Summary:Daily"]
    summary = world.emu.control.eventbridge_events()[1]["event"]["Data"]
    assert [f["retry_command"] for f in summary["failures"]] == [
        f"image-relay retry cn-hangzhou {WEB} --target-region ap-southeast-1"]


def test_a_refused_cleanup_is_alerted_once(world, robot):
    world.set_policy(scene.POLICY_YAML + ALERTS + "cleanup: {template_scratch: {min_age_hours: 1}, max_deletions: 1}\n")
    world.emu.control.seed({"images": [
        {"region": "cn-hangzhou", "image_id": f"m-bp1scratch{i}", "name": f"TemplateScratch-{i}",
         "creation_time": "2020-01-01T00:00:00Z"} for i in range(3)]})
    timer = json.dumps({"triggerName": "cleanup-daily", "payload": ""}).encode()
    reports = [world.invoke("cleanup", timer) for _ in range(2)]
    assert [r["status"] for r in reports] == ["refused", "refused"]
    assert [r["alerts"].get("sent") for r in reports] == [1, 0]
    events = world.emu.control.eventbridge_events()
    assert [e["event"]["Type"] for e in events] == ["image-relay:Cleanup:Refused"]
    assert events[0]["event"]["Data"]["planned_delete"] == 3
