"""FC functions created from a code package, through the REAL fc-open 2021-04-06 SDK (issue #11).

CreateService / CreateFunction (inline zip or an OSS object) / CreateTrigger, then invocations that run in
their own python3.10, isolated (``-I -S``): the standard library and the code directory only, FC's
environment variables, an FC context object, the timeout enforced.
"""
from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from typing import Any

import pytest
from alibabacloud_fc_open20210406 import models as fc_models
from alibabacloud_fc_open20210406.client import Client as FcClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_util import models as util_models

from emulator import Emulator
from emulator.fc.runtime import ProcessRunner

RT = util_models.RuntimeOptions()
INDEX = '''
import json, os, sys, time

def handler(event, context):
    try:
        import pydantic  # importable in the emulator's own interpreter, never in the function's
        leaked = True
    except ImportError:
        leaked = False
    names = ("FC_FUNC_CODE_PATH", "FC_FUNCTION_NAME", "FC_SERVICE_NAME", "FC_REGION", "FC_ACCOUNT_ID",
             "FC_FUNCTION_HANDLER", "FC_FUNCTION_MEMORY_SIZE", "GREETING", "ALIBABA_CLOUD_ACCESS_KEY_ID",
             "HTTP_PROXY", "VIRTUAL_ENV")
    print("hello from the function")
    return json.dumps({
        "version": list(sys.version_info[:2]), "path0": sys.path[0], "no_site": "site" not in sys.modules,
        "pydantic": leaked, "env": {n: os.environ.get(n) for n in names}, "event": event.decode(),
        "ctx": {"request_id": context.request_id, "function": [context.function.name, context.function.handler,
                context.function.memory, context.function.timeout], "service": context.service.name,
                "region": context.region, "account_id": context.account_id,
                "key": context.credentials.access_key_id},
    })

def sleepy(event, context):
    time.sleep(30)

def boom(event, context):
    raise ValueError("bad input")
'''


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def fc(emulator: Emulator) -> FcClient:
    return FcClient(open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret",
                                           endpoint=emulator.endpoint, protocol="http", region_id="cn-hangzhou"))


@pytest.fixture
def service(fc: FcClient) -> str:
    name = f"svc-{uuid.uuid4().hex[:8]}"
    fc.create_service_with_options(fc_models.CreateServiceRequest(service_name=name, description="t"),
                                   fc_models.CreateServiceHeaders(), RT)
    return name


def _create(fc: FcClient, service: str, name: str, handler: str = "index.handler", timeout: int = 60,
            runtime: str = "python3.10", code: fc_models.Code | None = None) -> Any:
    code = code or fc_models.Code(zip_file=base64.b64encode(_zip({"index.py": INDEX})).decode())
    request = fc_models.CreateFunctionRequest(function_name=name, handler=handler, runtime=runtime,
                                              timeout=timeout, memory_size=256, code=code,
                                              environment_variables={"GREETING": "hi"})
    return fc.create_function_with_options(service, request, fc_models.CreateFunctionHeaders(), RT)


def _invoke(fc: FcClient, service: str, name: str, body: bytes = b"{}") -> Any:
    return fc.invoke_function_with_options(service, name, fc_models.InvokeFunctionRequest(body=body),
                                           fc_models.InvokeFunctionHeaders(x_fc_log_type="Tail"), RT)


def test_a_function_from_a_zip_runs_in_an_isolated_python310_with_fc_env_and_context(fc, service, emulator):
    # GIVEN a function created from an inline zip
    created = _create(fc, service, "probe").body.to_map()
    assert created["functionName"] == "probe" and created["handler"] == "index.handler"
    assert created["runtime"] == "python3.10" and created["codeSize"] > 0 and created["timeout"] == 60
    # WHEN it is invoked
    response = _invoke(fc, service, "probe", b'{"n": 1}')
    # THEN it ran in python3.10 with the stdlib and its code directory only, FC's variables and context
    out = json.loads(response.body)
    code_dir = emulator.fc.backend.functions[(service, "probe")].runner.code_dir  # type: ignore[attr-defined]
    assert out["version"] == [3, 10] and out["pydantic"] is False and out["no_site"] is True
    assert out["path0"] == str(code_dir) and out["event"] == '{"n": 1}'
    assert out["env"] == {"FC_FUNC_CODE_PATH": str(code_dir), "FC_FUNCTION_NAME": "probe", "FC_SERVICE_NAME": service,
                          "FC_REGION": "cn-hangzhou", "FC_ACCOUNT_ID": emulator.fc.state.account_id,
                          "FC_FUNCTION_HANDLER": "index.handler", "FC_FUNCTION_MEMORY_SIZE": "256",
                          "GREETING": "hi", "ALIBABA_CLOUD_ACCESS_KEY_ID": "test-ak", "HTTP_PROXY": None,
                          "VIRTUAL_ENV": None}
    assert out["ctx"] == {"request_id": response.headers["x-fc-request-id"],
                          "function": ["probe", "index.handler", 256, 60], "service": service,
                          "region": "cn-hangzhou", "account_id": emulator.fc.state.account_id, "key": "test-ak"}
    tail = base64.b64decode(response.headers["x-fc-log-result"]).decode()
    assert "hello from the function" in tail and f"FC Invoke End RequestId: {out['ctx']['request_id']}" in tail


def test_the_timeout_is_enforced_and_a_handler_error_is_unhandled(fc, service):
    _create(fc, service, "slow", handler="index.sleepy", timeout=1)
    _create(fc, service, "boom", handler="index.boom")
    slow = _invoke(fc, service, "slow")
    assert slow.headers["x-fc-error-type"] == "UnhandledInvocationError"
    assert json.loads(slow.body)["errorMessage"] == "Function timed out after 1 seconds"
    boom = _invoke(fc, service, "boom")
    assert boom.headers["x-fc-error-type"] == "UnhandledInvocationError"
    assert json.loads(boom.body)["errorMessage"] == "ValueError: bad input"


def test_code_from_an_oss_object_and_a_timer_trigger_that_fires_it(fc, service, emulator):
    from shared.clouds.oss import OssGateway
    from shared.config import Credentials

    emulator.control.seed({"buckets": [{"region": "cn-hangzhou", "name": "code-bucket"}]})
    OssGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                       endpoint=emulator.url).put("cn-hangzhou", "code-bucket", "pkg/code.zip", _zip({"index.py": INDEX}))
    _create(fc, service, "timed", code=fc_models.Code(oss_bucket_name="code-bucket", oss_object_name="pkg/code.zip"))
    trigger = fc.create_trigger_with_options(service, "timed", fc_models.CreateTriggerRequest(
        trigger_name="every-5", trigger_type="timer",
        trigger_config=json.dumps({"cronExpression": "0 */5 * * * *", "enable": True, "payload": "tick"})),
        fc_models.CreateTriggerHeaders(), RT).body.to_map()
    assert trigger["triggerName"] == "every-5" and trigger["triggerType"] == "timer"
    emulator.control.advance(300)
    assert emulator.fc.backend.wait_idle(60)
    runs = [i for i in emulator.control.fc_invocations() if i["functionName"] == "timed"]
    assert [r["status"] for r in runs] == ["Succeeded"]
    assert json.loads(json.loads(runs[0]["returnPayload"])["event"])["payload"] == "tick"


@pytest.mark.parametrize("case, status, code, message", [
    ("no-service", 404, "ServiceNotFound", "service 'nope-svc' does not exist"),
    ("duplicate", 409, "FunctionAlreadyExists", "function 'dup' already exists"),
    ("runtime", 400, "InvalidArgument", "runtime 'nodejs18' is not emulated (only python3.10, python3.9)"),
    ("oss", 400, "InvalidArgument", "code object oss://nope-bucket/x.zip does not exist"),
    ("not-zip", 400, "InvalidArgument", "code is not a zip file"),
])
def test_create_function_errors(fc, service, case, status, code, message):
    kwargs: dict[str, Any] = {}
    target = service
    if case == "no-service":
        target = "nope-svc"
    elif case == "duplicate":
        _create(fc, service, "dup")
    elif case == "runtime":
        kwargs["runtime"] = "nodejs18"
    elif case == "oss":
        kwargs["code"] = fc_models.Code(oss_bucket_name="nope-bucket", oss_object_name="x.zip")
    else:
        kwargs["code"] = fc_models.Code(zip_file=base64.b64encode(b"not a zip").decode())
    with pytest.raises(ClientException) as caught:
        _create(fc, target, "dup" if case == "duplicate" else f"f-{case}", **kwargs)
    data = caught.value.data
    assert (caught.value.status_code, data["ErrorCode"], data["ErrorMessage"]) == (status, code, message)


def test_the_runner_builds_its_environment_from_scratch(tmp_path):
    runner = ProcessRunner(tmp_path, "index.handler", "python3.10", {"A": "1"})
    env = runner.env({"credentials": {"access_key_id": "k", "access_key_secret": "s", "security_token": "t"},
                      "function": {"name": "f", "handler": "index.handler", "memory": 128, "timeout": 3},
                      "service": {"name": "s"}, "region": "r", "account_id": "1"})
    assert env["A"] == "1" and env["FC_QUALIFIER"] == "LATEST" and env["ALIBABA_CLOUD_SECURITY_TOKEN"] == "t"
    assert not {k for k in env if "PROXY" in k.upper() or k.startswith("PYTHON")}
