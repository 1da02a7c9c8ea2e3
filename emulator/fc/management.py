"""FC 2021-04-06 management calls: CreateService, CreateFunction (from a code package), CreateTrigger.

What ROS does for ``ALIYUN::FC::Service`` / ``Function`` / ``Trigger`` (issue #11), through the same ROA
paths the fc-open SDK (``alibabacloud_fc_open20210406`` 2.0.12, ``create_*_with_options``) calls:

* ``POST /2021-04-06/services`` — body ``{serviceName, description, role, logConfig, internetAccess, …}``
  → 200 with the service (``serviceName, serviceId, description, role, logConfig, internetAccess,
  createdTime, lastModifiedTime``); a second one → 409 ``ServiceAlreadyExists``.
* ``POST /2021-04-06/services/{service}/functions`` — body ``{functionName, handler, runtime, timeout,
  memorySize, environmentVariables, code: {zipFile (base64) | ossBucketName + ossObjectName}, …}`` → 200
  with the function (``functionId, functionName, handler, runtime, timeout, memorySize,
  environmentVariables, codeSize, codeChecksum, createdTime, lastModifiedTime``). The zip is unpacked into
  a per-function code directory and every invocation runs there in its own python3.10
  (``emulator.fc.runtime``). Errors: 404 ``ServiceNotFound``; 409 ``FunctionAlreadyExists``; 400
  ``InvalidArgument`` (a missing field, a code that is not a zip, a runtime the emulator cannot run:
  python3.9 / python3.10 only, UNCONFIRMED message texts); a missing OSS code object → 400
  ``InvalidArgument`` naming it (UNCONFIRMED: FC's code for it).
* ``POST /2021-04-06/services/{service}/functions/{function}/triggers`` — body ``{triggerName, triggerType,
  triggerConfig (a JSON string), …}`` → 200 with the trigger; ``timer`` and ``eventbridge`` triggers are
  wired into the event router (created on first use), others are stored only. 409 ``TriggerAlreadyExists``.

Times are ISO 8601 UTC of the virtual clock. ``codeChecksum`` (FC: a CRC-64 of the code) is not
answered: computing CRC-64 of a 20 MB zip in pure Python takes seconds (emulator simplification). Code directories live under one temporary root per
emulator, removed when the process exits.
"""
from __future__ import annotations

import atexit
import base64
import binascii
import io
import json
import re
import shutil
import tempfile
import threading
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from emulator.core.dispatch import HttpResponse
from emulator.fc import exceptions as exc
from emulator.fc.gate import admit, lose
from emulator.fc.responses import request_headers
from emulator.fc.router import EventRouter
from emulator.fc.runtime import ProcessRunner, RuntimeNotFoundError, find_python

if TYPE_CHECKING:
    from emulator.core.dispatch import HttpRequest
    from emulator.core.state import State
    from emulator.fc.models import FcBackend
    from emulator.fc.router import RouterSlot

VERSION = "2021-04-06"
_SERVICES = re.compile(rf"^/{VERSION}/services/?$")
_FUNCTIONS = re.compile(rf"^/{VERSION}/services/([^/]+)/functions/?$")
_TRIGGERS = re.compile(rf"^/{VERSION}/services/([^/]+)/functions/([^/]+)/triggers/?$")
RUNTIMES = {"python3.10": "3.10", "python3.9": "3.9"}


class ServiceAlreadyExistsError(exc.EmulatorError):
    """CreateService for a name that exists."""

    def __init__(self, service: str) -> None:
        super().__init__("ServiceAlreadyExists", 409, f"service '{service}' already exists")


class FunctionAlreadyExistsError(exc.EmulatorError):
    """CreateFunction for a name that exists in the service."""

    def __init__(self, function: str) -> None:
        super().__init__("FunctionAlreadyExists", 409, f"function '{function}' already exists")


class TriggerAlreadyExistsError(exc.EmulatorError):
    """CreateTrigger for a name that exists on the function."""

    def __init__(self, trigger: str) -> None:
        super().__init__("TriggerAlreadyExists", 409, f"trigger '{trigger}' already exists")


def _now(state: State) -> str:
    return datetime.fromtimestamp(state.clock.now(), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise exc.InvalidArgumentError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise exc.InvalidArgumentError("the request body is not a JSON object")
    return body


def _required(body: dict[str, Any], *names: str) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise exc.InvalidArgumentError(f"{name} is required")


class FcManagement:
    """The deployed services, functions (code directories) and triggers of one FC emulator.

    It registers functions in the FC backend and wires triggers into the router slot; it holds neither the FC
    service nor anything that holds it back."""

    def __init__(self, state: State, backend: FcBackend, routes: RouterSlot, oss: Any = None) -> None:
        self.state = state
        self.backend = backend
        self.routes = routes
        self.oss = oss
        self.services: dict[str, dict[str, Any]] = {}
        self.configs: dict[tuple[str, str], dict[str, Any]] = {}
        self.triggers: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._root: Path | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Nothing: deployed code, like registered functions, survives a state reset."""

    def code_root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="fc-emulator-code-"))
            atexit.register(shutil.rmtree, self._root, True)
        return self._root

    def handle(self, request: HttpRequest, path: str, request_id: str, entry: dict[str, Any]) -> HttpResponse | None:
        """Answer a management call (lock NOT held), or None when the path is not one."""
        if request.method != "POST":
            return None
        args: tuple[str, ...] = ()
        if _SERVICES.match(path):
            action = "CreateService"
        elif m := _FUNCTIONS.match(path):
            action, args = "CreateFunction", (unquote(m.group(1)),)
        elif m := _TRIGGERS.match(path):
            action, args = "CreateTrigger", (unquote(m.group(1)), unquote(m.group(2)))
        else:
            return None
        entry.update(action=action, params={"path": path})
        with self.state.lock:
            admit(self.state, request, {}, action)
        body = _body(request)
        answer = getattr(self, f"_{action}")(*args, body)
        with self.state.lock:
            lose(self.state, action)
        return HttpResponse(200, answer, headers=request_headers(request_id))

    # --- actions (named after the API) ------------------------------------------------------------------

    def _CreateService(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - the API name
        _required(body, "serviceName")
        name = str(body["serviceName"])
        with self._lock:
            if name in self.services:
                raise ServiceAlreadyExistsError(name)
            now = _now(self.state)
            self.services[name] = {
                "serviceName": name, "serviceId": str(uuid.uuid4()), "description": body.get("description", ""),
                "role": body.get("role", ""), "logConfig": body.get("logConfig") or {},
                "internetAccess": body.get("internetAccess", True), "createdTime": now, "lastModifiedTime": now,
            }
            return dict(self.services[name])

    def _CreateFunction(self, service: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        _required(body, "functionName", "handler", "runtime", "code")
        name, runtime = str(body["functionName"]), str(body["runtime"])
        if service not in self.services and not any(s == service for s, _ in self.backend.functions):
            raise exc.ServiceNotFoundError(service)
        if (service, name) in self.configs:
            raise FunctionAlreadyExistsError(name)
        if runtime not in RUNTIMES:
            raise exc.InvalidArgumentError(f"runtime {runtime!r} is not emulated (only {', '.join(RUNTIMES)})")
        try:
            python = find_python(RUNTIMES[runtime])
        except RuntimeNotFoundError as error:
            raise exc.InvalidArgumentError(str(error)) from None
        data = self._code(body["code"])
        code_dir = self.code_root() / service / name
        if code_dir.exists():
            shutil.rmtree(code_dir)
        code_dir.mkdir(parents=True)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                archive.extractall(code_dir)
        except zipfile.BadZipFile:
            raise exc.InvalidArgumentError("code is not a zip file") from None
        env = {str(k): str(v) for k, v in (body.get("environmentVariables") or {}).items()}
        timeout, memory = int(body.get("timeout") or 3), int(body.get("memorySize") or 128)
        runner = ProcessRunner(code_dir, str(body["handler"]), python, env)
        self.backend.register(service, name, runner, timeout=timeout, handler=str(body["handler"]), memory=memory)
        now = _now(self.state)
        config = {
            "functionId": str(uuid.uuid4()), "functionName": name, "description": body.get("description", ""),
            "handler": body["handler"], "runtime": runtime, "timeout": timeout, "memorySize": memory,
            "instanceConcurrency": body.get("instanceConcurrency", 1), "environmentVariables": env,
            "codeSize": len(data), "createdTime": now, "lastModifiedTime": now,
        }
        with self._lock:
            self.configs[(service, name)] = config
        return dict(config)

    def _code(self, code: Any) -> bytes:
        """The zip bytes of ``code``: inline base64 ``zipFile`` or an object of the emulated OSS."""
        if not isinstance(code, dict):
            raise exc.InvalidArgumentError("code must be an object")
        if code.get("zipFile"):
            try:
                return base64.b64decode(str(code["zipFile"]), validate=True)
            except binascii.Error:
                raise exc.InvalidArgumentError("code.zipFile is not base64") from None
        bucket, key = code.get("ossBucketName"), code.get("ossObjectName")
        if not bucket or not key or self.oss is None:
            raise exc.InvalidArgumentError("code needs zipFile or ossBucketName and ossObjectName")
        if not self.oss.exists(str(bucket), str(key)):
            raise exc.InvalidArgumentError(f"code object oss://{bucket}/{key} does not exist")
        return bytes(self.oss.get(str(bucket), str(key)).body)

    def _CreateTrigger(self, service: str, function: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        _required(body, "triggerName", "triggerType", "triggerConfig")
        self.backend.lookup(service, function)
        name, kind = str(body["triggerName"]), str(body["triggerType"])
        config = body["triggerConfig"]
        parsed = json.loads(config) if isinstance(config, str) else config
        if not isinstance(parsed, dict):
            raise exc.InvalidArgumentError("triggerConfig must be a JSON object")
        with self._lock:
            if (service, function, name) in self.triggers:
                raise TriggerAlreadyExistsError(name)
            now = _now(self.state)
            trigger = {"triggerId": str(uuid.uuid4()), "triggerName": name, "triggerType": kind,
                       "triggerConfig": json.dumps(parsed), "qualifier": body.get("qualifier", "LATEST"),
                       "invocationRole": body.get("invocationRole", ""), "sourceArn": body.get("sourceArn", ""),
                       "createdTime": now, "lastModifiedTime": now}
            self.triggers[(service, function, name)] = trigger
        with self.state.lock:
            router = self.routes.router or EventRouter(self.routes, {})  # no template yet: wire a router now
            router.add_trigger(name, service, function, kind.lower(), parsed)
        return dict(trigger)
