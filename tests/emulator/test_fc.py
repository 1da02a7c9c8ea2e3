"""Function Compute through the REAL fc-open 2021-04-06 SDK: sync, async, stateful dedupe, errors, router."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_fc_open20210406 import models as fc_models
from alibabacloud_fc_open20210406.client import Client as FcClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_util import models as util_models

from emulator import Emulator, EmulatorControl
from emulator.fc.cron import Cron
from emulator.fc.patterns import pattern_matches
from emulator.fc.router import EventRouter
from emulator.fc.template import read_template

SVC = "image-relay"
RT = util_models.RuntimeOptions()

TEMPLATE: dict[str, Any] = {
    "ROSTemplateFormatVersion": "2015-09-01",
    "Parameters": {"ServiceName": {"Type": "String", "Default": "image-relay"}},
    "Resources": {
        "Service": {"Type": "ALIYUN::FC::Service", "Properties": {"ServiceName": {"Ref": "ServiceName"}}},
        "EchoFunction": {"Type": "ALIYUN::FC::Function", "Properties": {
            "ServiceName": {"Fn::GetAtt": ["Service", "ServiceName"]}, "FunctionName": "echo",
            "Handler": "functions.echo.handler.handler", "Timeout": 30}},
        "Tick": {"Type": "ALIYUN::FC::Trigger", "Properties": {
            "FunctionName": {"Fn::GetAtt": ["EchoFunction", "FunctionName"]}, "TriggerName": "every-5",
            "TriggerType": "timer", "TriggerConfig": {"cronExpression": "0 */5 * * * *", "payload": "p", "enable": True}}},
        "Images": {"Type": "ALIYUN::FC::Trigger", "Properties": {
            "FunctionName": "EchoFunction.FunctionName", "TriggerType": "eventbridge",
            "TriggerConfig": {"triggerEnable": True, "eventRuleFilterPattern": json.dumps(
                {"source": ["acs.ecs"], "type": ["ecs:ActionTrail:ApiCall"], "data": {"eventName": ["CreateImage"]}})}}},
        "Off": {"Type": "ALIYUN::FC::Trigger", "Properties": {
            "FunctionName": "echo", "TriggerType": "timer",
            "TriggerConfig": {"cronExpression": "0 * * * * *", "enable": False}}},
    },
}


class Recorder:
    """A runner that records its calls; raises while ``fail`` > 0."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, dict[str, Any]]] = []
        self.fail = 0
        self.lock = threading.Lock()

    def __call__(self, event: bytes, ctx: dict[str, Any]) -> str:
        with self.lock:
            self.calls.append((event, ctx))
            if self.fail > 0:
                self.fail -= 1
                raise RuntimeError("boom")
        logging.getLogger("echo").warning("got %d bytes", len(event))
        return "echo:" + event.decode()


@pytest.fixture
def recorder(emulator: Emulator) -> Iterator[Recorder]:
    rec = Recorder()
    emulator.fc.backend.register(SVC, "echo", rec, timeout=30, handler="functions.echo.handler.handler")
    yield rec
    emulator.fc.backend.wait_idle(10)


@pytest.fixture
def fc(emulator: Emulator) -> FcClient:
    config = open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret",
                                    endpoint=emulator.endpoint, protocol="http")
    return FcClient(config)


def invoke(fc: FcClient, body: bytes, function: str = "echo", **headers: Any) -> Any:
    return fc.invoke_function_with_options(
        SVC, function, fc_models.InvokeFunctionRequest(body=body), fc_models.InvokeFunctionHeaders(**headers), RT)


def stateful(fc: FcClient, invocation_id: str) -> Any:
    return fc.get_stateful_async_invocation_with_options(
        SVC, "echo", invocation_id, fc_models.GetStatefulAsyncInvocationRequest(),
        fc_models.GetStatefulAsyncInvocationHeaders(), RT).body


def test_sync_invocation_returns_the_body_and_passes_an_fc_context(fc: FcClient, recorder: Recorder,
                                                                    control: EmulatorControl) -> None:
    answer = invoke(fc, b'{"x":1}', x_fc_invocation_type="Sync")
    assert answer.status_code == 200
    assert answer.body == b'echo:{"x":1}'
    assert answer.headers["x-fc-request-id"]
    (event, ctx), = recorder.calls
    assert event == b'{"x":1}'
    assert ctx["credentials"] == {"access_key_id": "test-ak", "access_key_secret": "test-secret", "security_token": ""}
    assert ctx["function"] == {"name": "echo", "handler": "functions.echo.handler.handler", "memory": 512, "timeout": 30}
    assert ctx["service"]["name"] == SVC and ctx["region"] == "cn-hangzhou" and ctx["account_id"] == "1234567890123456"
    assert ctx["request_id"] == answer.headers["x-fc-request-id"]
    [entry] = [r for r in control.requests() if r["service"] == "fc"]
    assert (entry["action"], entry["status"], entry["params"]["function"]) == ("InvokeFunction", 200, "echo")


def test_sync_tail_log(fc: FcClient, recorder: Recorder) -> None:
    answer = invoke(fc, b"abc", x_fc_log_type="Tail")
    log = base64.b64decode(answer.headers["x-fc-log-result"]).decode()
    assert "FC Invoke Start RequestId" in log and "got 3 bytes" in log


def test_unhandled_error_is_200_with_the_error_type_header(fc: FcClient, recorder: Recorder) -> None:
    recorder.fail = 1
    answer = invoke(fc, b"x")
    assert answer.status_code == 200
    assert answer.headers["x-fc-error-type"] == "UnhandledInvocationError"
    body = json.loads(answer.body)
    assert body["errorMessage"] == "boom" and body["errorType"] == "RuntimeError"
    assert isinstance(body["stackTrace"], list)


def test_async_is_202_with_an_empty_body(fc: FcClient, recorder: Recorder, emulator: Emulator) -> None:
    answer = invoke(fc, b"later", x_fc_invocation_type="Async")
    assert answer.status_code == 202
    assert answer.body in (b"", None)
    assert answer.headers["x-fc-request-id"]
    assert emulator.fc.backend.wait_idle(10)
    assert recorder.calls[0][0] == b"later"
    assert recorder.calls[0][1]["invocation_type"] == "Async"


def test_duplicate_stateful_id_is_409_with_both_key_pairs(fc: FcClient, recorder: Recorder,
                                                          emulator: Emulator) -> None:
    first = invoke(fc, b"1", x_fc_invocation_type="Async", x_fc_stateful_async_invocation_id="task-1")
    assert first.status_code == 202
    with pytest.raises(ClientException) as info:
        invoke(fc, b"2", x_fc_invocation_type="Async", x_fc_stateful_async_invocation_id="task-1")
    assert info.value.code == "StatefulAsyncInvocationAlreadyExists"
    assert info.value.status_code == 409
    assert info.value.data["ErrorCode"] == "StatefulAsyncInvocationAlreadyExists"
    assert info.value.data["ErrorMessage"] and info.value.data["RequestId"]
    emulator.fc.backend.wait_idle(10)
    assert [c[0] for c in recorder.calls] == [b"1"]


def test_stateful_invocation_statuses(fc: FcClient, recorder: Recorder, emulator: Emulator) -> None:
    invoke(fc, b"ok", x_fc_invocation_type="Async", x_fc_stateful_async_invocation_id="good-1")
    recorder_fail = Recorder()
    recorder_fail.fail = 99
    emulator.fc.backend.register(SVC, "bad", recorder_fail)
    fc.invoke_function_with_options(SVC, "bad", fc_models.InvokeFunctionRequest(body=b"x"),
                                    fc_models.InvokeFunctionHeaders(x_fc_invocation_type="Async",
                                                                    x_fc_stateful_async_invocation_id="bad-1"), RT)
    assert emulator.fc.backend.wait_idle(10)
    good = stateful(fc, "good-1")
    assert (good.invocation_id, good.status, good.return_payload) == ("good-1", "Succeeded", "echo:ok")
    assert good.started_time > 0 and good.end_time >= good.started_time and good.already_retried_times == 0
    assert (good.service_name, good.function_name, good.qualifier) == (SVC, "echo", "LATEST")
    bad = fc.get_stateful_async_invocation_with_options(
        SVC, "bad", "bad-1", fc_models.GetStatefulAsyncInvocationRequest(),
        fc_models.GetStatefulAsyncInvocationHeaders(), RT).body
    assert bad.status == "Failed"
    assert bad.already_retried_times == 3
    assert len(recorder_fail.calls) == 4  # 1 + fc_async_retries (default 3)
    assert "boom" in bad.invocation_error_message


def test_async_retry_then_success_and_configurable_retries(fc: FcClient, recorder: Recorder, emulator: Emulator,
                                                           control: EmulatorControl) -> None:
    recorder.fail = 2
    invoke(fc, b"r", x_fc_invocation_type="Async", x_fc_stateful_async_invocation_id="retry-1")
    emulator.fc.backend.wait_idle(10)
    got = stateful(fc, "retry-1")
    assert (got.status, got.already_retried_times) == ("Succeeded", 2)
    control.configure(fc_async_retries=0)
    recorder.fail = 1
    invoke(fc, b"r", x_fc_invocation_type="Async", x_fc_stateful_async_invocation_id="retry-2")
    emulator.fc.backend.wait_idle(10)
    assert stateful(fc, "retry-2").status == "Failed"


def test_running_invocation_has_end_time_zero(fc: FcClient, emulator: Emulator) -> None:
    gate = threading.Event()
    emulator.fc.backend.register(SVC, "echo", lambda body, ctx: gate.wait(10) and "done")
    invoke(fc, b"", x_fc_invocation_type="Async", x_fc_stateful_async_invocation_id="slow-1")
    try:
        for _ in range(100):
            got = stateful(fc, "slow-1")
            if got.status == "Running":
                break
        assert (got.status, got.end_time) == ("Running", 0)
    finally:
        gate.set()
    emulator.fc.backend.wait_idle(10)
    assert stateful(fc, "slow-1").status == "Succeeded"


def test_unknown_invocation_function_and_service_are_404(fc: FcClient, recorder: Recorder) -> None:
    with pytest.raises(ClientException) as info:
        stateful(fc, "nope")
    assert (info.value.code, info.value.status_code) == ("StatefulAsyncInvocationNotFound", 404)
    with pytest.raises(ClientException) as info:
        invoke(fc, b"", function="missing")
    assert (info.value.code, info.value.status_code) == ("FunctionNotFound", 404)
    assert info.value.data["ErrorCode"] == "FunctionNotFound"
    with pytest.raises(ClientException) as info:
        fc.invoke_function_with_options("no-such-svc", "echo", fc_models.InvokeFunctionRequest(body=b""),
                                        fc_models.InvokeFunctionHeaders(), RT)
    assert info.value.code == "ServiceNotFound"


def test_bad_signature_is_refused(emulator: Emulator, recorder: Recorder) -> None:
    config = open_api_models.Config(access_key_id="test-ak", access_key_secret="wrong",
                                    endpoint=emulator.endpoint, protocol="http")
    with pytest.raises(ClientException) as info:
        invoke(FcClient(config), b"x")
    assert info.value.code == "SignatureDoesNotMatch"
    assert recorder.calls == []


def test_faults_apply_to_invoke_function(fc: FcClient, recorder: Recorder, control: EmulatorControl) -> None:
    control.set_faults(throttle_rate=1.0, actions=["InvokeFunction"])
    with pytest.raises(ClientException) as info:
        invoke(fc, b"x")
    assert info.value.code == "Throttling.User"
    assert recorder.calls == []


# --- router -----------------------------------------------------------------------------------------------


def test_template_reading() -> None:
    wiring = read_template(TEMPLATE)
    assert wiring.functions["echo"].service == "image-relay" and wiring.functions["echo"].timeout == 30
    [timer] = wiring.timers
    assert (timer.name, timer.function, timer.payload, timer.cron.expression) == ("every-5", "echo", "p",
                                                                                 "0 */5 * * * *")
    [rule] = wiring.rules
    assert (rule.name, rule.function) == ("Images", "echo")
    assert wiring.ignored == [{"trigger": "Off", "reason": "disabled"}]


def test_cron_subset() -> None:
    every5 = Cron.parse("0 */5 * * * *")
    assert every5.fire_times(0, 900) == [300.0, 600.0, 900.0]
    assert Cron.parse("@every 10m").fire_times(0, 1200) == [600.0, 1200.0]
    assert Cron.parse("30 0 8 * * SAT").fire_times(0, 86400 * 7) == [86400 * 2 + 8 * 3600 + 30]  # Sat 3 Jan 1970
    with pytest.raises(ValueError):
        Cron.parse("0 0 L * * *")
    with pytest.raises(ValueError):
        Cron.parse("* * *")


def test_pattern_subset() -> None:
    pattern = {"source": ["acs.ecs"], "data": {"eventName": ["CreateImage", {"prefix": "Copy"}]}}
    assert pattern_matches(pattern, {"source": "acs.ecs", "data": {"eventName": "CopyImage"}})
    assert not pattern_matches(pattern, {"source": "acs.ecs", "data": {"eventName": "DeleteImage"}})
    assert not pattern_matches(pattern, {"source": "acs.cr", "data": {"eventName": "CreateImage"}})
    assert pattern_matches({"data": {"x": [{"exists": False}]}}, {"data": {}})


def test_router_delivers_events_and_timer_ticks(recorder: Recorder, make_client: Any) -> None:
    from alibabacloud_ecs20140526 import models as ecs_models

    with Emulator(port=0) as emu:
        emu.fc.backend.register(SVC, "echo", recorder)
        router = EventRouter(emu.fc, TEMPLATE)
        emu.control.configure(duplicates=1)
        emu.control.seed({"snapshots": [{"region": "cn-hangzhou", "snapshot_id": "s-1"}]})
        answer = emu.control._call("POST", "ecs/create-image", {"region": "cn-hangzhou", "name": "app-x"})
        assert answer["event"]["data"]["responseElements"]["ImageId"] == answer["ImageId"]
        # an API CreateImage publishes the event too
        from alibabacloud_ecs20140526.client import Client
        config = open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret",
                                        endpoint=emu.endpoint, protocol="http")
        made = Client(config).create_image(ecs_models.CreateImageRequest(region_id="cn-hangzhou", snapshot_id="s-1"))
        assert emu.fc.backend.wait_idle(10)
        events = [json.loads(body) for body, _ in recorder.calls]
        ids = [e["data"]["responseElements"]["ImageId"] for e in events]
        assert sorted(ids) == sorted([answer["ImageId"]] * 2 + [made.body.image_id] * 2)  # 1 + duplicates each
        assert {e["data"]["eventName"] for e in events} == {"CreateImage"}
        recorder.calls.clear()
        emu.control.configure(duplicates=0)
        start = emu.control.clock()["epoch"]
        emu.control.advance(600)
        assert emu.fc.backend.wait_idle(10)
        ticks = [json.loads(body) for body, _ in recorder.calls]
        assert len(ticks) == 2
        assert all(t["triggerName"] == "every-5" and t["payload"] == "p" for t in ticks)
        assert all(start < _epoch(t["triggerTime"]) <= start + 600 for t in ticks)
        assert router.describe()["deliveries"] == 4


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
