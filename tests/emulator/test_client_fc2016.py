"""Contract: the FC 2016-08-15 API through the ``aliyun-fc2`` client (FC's own ``FC <ak>:<sig>`` signature).

Pointing it at the emulator: ``fc2.Client(endpoint="http://127.0.0.1:PORT", accessKeyID=…, accessKeySecret=…)``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import fc2
import pytest

from emulator import Emulator, EmulatorControl

SVC = "relay-2016"


@pytest.fixture(autouse=True)
def _functions(emulator: Emulator) -> Iterator[None]:
    backend = emulator.fc.backend
    saved = dict(backend.functions)
    backend.register(SVC, "echo", lambda body, ctx: {"got": body.decode(), "qualifier": ctx["service"]["qualifier"],
                                                     "ak": ctx["credentials"]["access_key_id"]}, timeout=30)
    backend.register(SVC, "boom", lambda body, ctx: 1 / 0)
    backend.register(SVC, "alpha", lambda body, ctx: "a")
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.CRITICAL)  # fc2 logs every 4xx at ERROR with the request headers
    yield
    backend.functions.clear()
    backend.functions.update(saved)
    root.setLevel(level)


@pytest.fixture
def client(emulator: Emulator) -> fc2.Client:
    return fc2.Client(endpoint=emulator.url, accessKeyID="test-ak", accessKeySecret="test-secret")


def _error(call: Any) -> fc2.fc_exceptions.FcError:
    with pytest.raises(fc2.fc_exceptions.FcError) as info:
        call()
    return info.value


def test_invoke_sync_returns_the_functions_answer(client: fc2.Client, control: EmulatorControl) -> None:
    answer = client.invoke_function(SVC, "echo", payload=b"hello")
    assert json.loads(answer.data) == {"got": "hello", "qualifier": "LATEST", "ak": "test-ak"}
    assert answer.headers["X-Fc-Request-Id"]
    last = control.requests()[-1]
    assert (last["service"], last["action"], last["status"], last["params"]["api"]) == (
        "fc", "InvokeFunction", 200, "2016-08-15")


def test_invoke_with_a_qualifier_and_async(client: fc2.Client, emulator: Emulator) -> None:
    answer = client.invoke_function(SVC, "echo", payload=b"later", qualifier="prod",
                                    headers={"x-fc-invocation-type": "Async"})
    assert answer.data == b"" and answer.headers["X-Fc-Request-Id"]
    assert emulator.fc.backend.wait_idle(10)
    [invocation] = [i for i in emulator.control.fc_invocations() if i["functionName"] == "echo"]
    assert (invocation["qualifier"], invocation["status"], json.loads(invocation["returnPayload"])["got"]) == (
        "prod", "Succeeded", "later")


def test_a_raising_function_is_an_fc_error(client: fc2.Client) -> None:
    error = _error(lambda: client.invoke_function(SVC, "boom"))
    assert error.status_code == 200 and json.loads(error.message)["errorType"] == "ZeroDivisionError"


def test_reads(client: fc2.Client) -> None:
    service = client.get_service(SVC).data
    assert service["serviceName"] == SVC and service["serviceId"]
    function = client.get_function(SVC, "echo").data
    assert (function["functionName"], function["timeout"], function["memorySize"]) == ("echo", 30, 512)
    assert SVC in [s["serviceName"] for s in client.list_services().data["services"]]
    first = client.list_functions(SVC, limit=2).data
    assert ([f["functionName"] for f in first["functions"]], first["nextToken"]) == (["alpha", "boom"], "echo")
    rest = client.list_functions(SVC, limit=2, nextToken=first["nextToken"]).data
    assert ([f["functionName"] for f in rest["functions"]], rest["nextToken"]) == (["echo"], "")
    assert [f["functionName"] for f in client.list_functions(SVC, prefix="b").data["functions"]] == ["boom"]


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        (lambda c: c.get_function(SVC, "nope"), 404, "FunctionNotFound"),
        (lambda c: c.get_service("no-such-service"), 404, "ServiceNotFound"),
        (lambda c: c.invoke_function("no-such-service", "echo"), 404, "ServiceNotFound"),
        (lambda c: c.delete_service(SVC), 400, "PathNotSupported"),
        (lambda c: c.list_triggers(SVC, "echo"), 400, "PathNotSupported"),
    ],
)
def test_errors_are_fc_json(client: fc2.Client, call: Any, status: int, code: str) -> None:
    error = _error(lambda: call(client))
    body = json.loads(error.message)
    assert (error.status_code, error.err_code, body["ErrorCode"]) == (status, code, code)
    if code == "PathNotSupported":
        assert "is not supported by the emulator" in body["ErrorMessage"]


def test_wrong_secret_and_unknown_key(emulator: Emulator) -> None:
    wrong = fc2.Client(endpoint=emulator.url, accessKeyID="test-ak", accessKeySecret="nope")
    assert (_error(wrong.list_services).status_code, _error(wrong.list_services).err_code) == (
        403, "SignatureNotMatch")
    unknown = fc2.Client(endpoint=emulator.url, accessKeyID="nobody", accessKeySecret="x")
    assert _error(unknown.list_services).err_code == "InvalidAccessKeyID"


def test_a_service_created_through_the_2021_api_is_read_by_fc2(client: fc2.Client, emulator: Emulator) -> None:
    from alibabacloud_fc_open20210406 import models as fc_models
    from alibabacloud_fc_open20210406.client import Client as FcClient
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_tea_util import models as util_models

    tea = FcClient(open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret",
                                          endpoint=emulator.endpoint, protocol="http", region_id="cn-hangzhou"))
    tea.create_service_with_options(fc_models.CreateServiceRequest(service_name="made-2021", description="new"),
                                    fc_models.CreateServiceHeaders(), util_models.RuntimeOptions())
    service = client.get_service("made-2021").data
    assert (service["serviceName"], service["description"]) == ("made-2021", "new")
    assert client.list_functions("made-2021").data == {"functions": [], "nextToken": ""}
