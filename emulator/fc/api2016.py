"""FC 2.0's first API version, 2016-08-15 (the ``aliyun-fc2`` Python client, ``@alicloud/fc2`` for Node, and
many users' scripts), over the same functions as the 2021-04-06 plug-in (``emulator.fc.urls``).

Claimed: every path starting with ``/2016-08-15/`` (registered before OSS, which claims the rest). Emulated:

* ``POST /2016-08-15/services/{s}[.{qualifier}]/functions/{f}/invocations`` — InvokeFunction: headers
  ``x-fc-invocation-type: Sync|Async`` (default Sync), ``x-fc-log-type: Tail``,
  ``x-fc-stateful-async-invocation-id``; sync 200 with the return value (``x-fc-error-type`` when the function
  raised), async 202. The qualifier rides on the service name (``svc.LATEST``), as ``aliyun-fc2`` sends it;
* ``GET /2016-08-15/services`` (ListServices: ``limit``, ``nextToken``, ``prefix``, ``startKey``),
  ``GET .../services/{s}`` (GetService), ``GET .../services/{s}/functions`` (ListFunctions, same paging),
  ``GET .../services/{s}/functions/{f}`` (GetFunction) — the reads the project's CLI and scripts use.

Anything else under ``/2016-08-15/`` → 400 ``PathNotSupported`` "'<METHOD>' against '<path>' is not supported"
(the FC error-code table's code and message) plus which calls the emulator does emulate: an FC-style JSON
error, never another service's answer.

Signature: FC's own scheme (https://help.aliyun.com/document_detail/52877.html, as ``fc2.auth.Auth`` signs):
``Authorization: FC <AccessKeyId>:base64(HMAC-SHA256(secret, VERB\\nContent-MD5\\nContent-Type\\nDate\\n
<sorted x-fc-* headers "k:v\\n"><unescaped path>))``; the query string is not signed on API paths (the
client signs ListServices/ListFunctions without their paging parameters; only HTTP-trigger ``/proxy/`` paths
sign queries, which are not emulated). Errors (FC error-code
table, https://www.alibabacloud.com/help/en/functioncompute/error-codes): no or another scheme → 403
``AccessDenied``; unknown key → 403 ``InvalidAccessKeyID``; mismatch → 403 ``SignatureNotMatch``; unknown service
/ function → 404 ``ServiceNotFound`` / ``FunctionNotFound``. Bodies carry ``ErrorCode``/``ErrorMessage`` (what
``aliyun-fc2`` reads) and ``Code``/``Message``/``RequestId`` (``emulator.fc.exceptions.fc_error_body``); every
answer has ``X-Fc-Request-Id``.

Services and functions are the FC plug-in's: functions registered in-process and what the 2021-04-06
CreateService/CreateFunction recorded (``emulator.fc.management``), whose fields win.

UNCONFIRMED choices: for an in-process function the fields the emulator cannot know are defaults (``runtime``
``python3.10``, ``codeSize`` 0, ``description`` "", ``role`` "", times = the emulator's start as ISO-8601);
ids are stable UUIDs derived from the names; list order is by name; ``nextToken`` is the next name
(``limit`` default 20, 1–100); the request-log action names are the 2016 operation names; faults apply to
InvokeFunction only; the Date header's age is not checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel

from emulator.core.dispatch import HttpResponse
from emulator.core.errors import EmulatorError, InvalidActionError
from emulator.fc import exceptions as exc
from emulator.fc.gate import header
from emulator.fc.invoke import invocation_headers, invoke
from emulator.fc.responses import error_response, request_headers

if TYPE_CHECKING:
    from emulator.core.dispatch import HttpRequest
    from emulator.fc.models import FcBackend, FunctionSpec
    from emulator.fc.urls import FcService

VERSION = "2016-08-15"
PREFIX = f"/{VERSION}/"
_INVOKE = re.compile(rf"^/{VERSION}/services/([^/]+)/functions/([^/]+)/invocations/?$")
_FUNCTION = re.compile(rf"^/{VERSION}/services/([^/]+)/functions/([^/]+)/?$")
_FUNCTIONS = re.compile(rf"^/{VERSION}/services/([^/]+)/functions/?$")
_SERVICE = re.compile(rf"^/{VERSION}/services/([^/]+)/?$")
_SERVICES = re.compile(rf"^/{VERSION}/services/?$")
EMULATED = ("POST .../services/{s}/functions/{f}/invocations, GET .../services, GET .../services/{s}, "
            "GET .../services/{s}/functions, GET .../services/{s}/functions/{f}")


class AccessDeniedError(EmulatorError):
    """Not signed with the FC scheme (403)."""

    def __init__(self) -> None:
        super().__init__("AccessDenied", 403, "the request is not signed with the FC signature (FC <ak>:<signature>)")


class InvalidAccessKeyIdError(EmulatorError):
    """Unknown AccessKey id (403, FC error-code table)."""

    def __init__(self, key_id: str) -> None:
        super().__init__("InvalidAccessKeyID", 403, f"invalid access key ID '{key_id[:64]}'")


class SignatureNotMatchError(EmulatorError):
    """FC signature mismatch (403, FC error-code table)."""

    def __init__(self) -> None:
        super().__init__("SignatureNotMatch", 403, "The request signature we calculated does not match the signature "
                                                   "you provided. Check your access key and signing method")


class PathNotSupportedError(EmulatorError):
    """A 2016-08-15 call the emulator does not emulate (400, FC error-code table's PathNotSupported)."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__("PathNotSupported", 400, f"'{method}' against '{path[:200]}' is not supported by the "
                                                  f"emulator; emulated 2016-08-15 calls: {EMULATED}")


def fc_string_to_sign(method: str, path: str, headers: Mapping[str, str]) -> str:
    """The FC 2016 string-to-sign of an API path (``fc2.auth.Auth.sign_request``); ``path`` unescaped."""
    h = {k.lower(): v for k, v in headers.items()}
    fc_headers = "".join(f"{k}:{v}\n" for k, v in sorted((k, v) for k, v in h.items() if k.startswith("x-fc-")))
    resource = path
    return "\n".join([method.upper(), h.get("content-md5", ""), h.get("content-type", ""), h.get("date", ""),
                      fc_headers + resource])


def authenticate_fc(method: str, path: str, headers: Mapping[str, str], secrets: Mapping[str, str]) -> str:
    """Verify ``Authorization: FC <ak>:<sig>``; return the AccessKey id."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not authorization.startswith("FC ") or ":" not in authorization:
        raise AccessDeniedError()
    key_id, _, signature = authorization[3:].strip().rpartition(":")
    secret = secrets.get(key_id)
    if secret is None:
        raise InvalidAccessKeyIdError(key_id)
    sts = fc_string_to_sign(method, path, headers)
    expected = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, signature.strip()):
        raise SignatureNotMatchError()
    return key_id


def _stable_id(*names: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "fc:" + "/".join(names)))


class Fc2016Seed(BaseModel):
    """The 2016 API contributes no seed keys."""


class Fc2016Service:
    """The 2016-08-15 plug-in: an ``HttpService`` over the FC backend of :class:`FcService`."""

    name = "fc"
    version = "fc-2016-08-15"
    host_id = "fc.aliyuncs.com"
    seed_model: type[BaseModel] = Fc2016Seed
    handles_own_lock = True

    def __init__(self, fc: FcService) -> None:
        self.fc = fc
        self.state = fc.state
        self.started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    @property
    def backend(self) -> FcBackend:
        return self.fc.backend

    # --- Service protocol: the state belongs to FcService -------------------------------------------

    def reset(self) -> None:
        """Nothing of its own."""

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Nothing to validate."""

    def apply_seed(self, seed: BaseModel) -> None:
        """Nothing to seed."""

    def settle(self, now: float) -> None:
        """No timed events of its own."""

    def call(self, action: str, params: Any) -> dict[str, Any]:
        """Not RPC."""
        raise InvalidActionError()

    # --- HttpService ---------------------------------------------------------------------------------

    def matches(self, request: HttpRequest) -> bool:
        """Every ``/2016-08-15/…`` path."""
        return urlsplit(request.target).path.startswith(PREFIX)

    def handle(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, dict[str, Any]]:
        """Answer one call (without the state lock: a sync invocation runs project code)."""
        u = urlsplit(request.target)
        path = unquote(u.path)
        query = dict(parse_qsl(u.query, keep_blank_values=True))
        entry: dict[str, Any] = {"region": self.backend.region, "action": f"Unsupported:{request.method}",
                                 "code": None, "params": {"path": path}}
        try:
            with self.state.lock:
                key_id = authenticate_fc(request.method, path, request.headers, self.state.access_keys)
                credentials = (key_id, self.state.access_keys[key_id], header(request, "x-fc-security-token") or "")
            if (m := _INVOKE.match(path)) and request.method == "POST":
                return self._invoke(request, request_id, m.group(1), m.group(2), credentials, entry), entry
            if request.method == "GET":
                body = self._read(path, query, entry)
                if body is not None:
                    return HttpResponse(200, body, headers=request_headers(request_id)), entry
            raise PathNotSupportedError(request.method, path)
        except EmulatorError as error:
            entry["code"] = error.code
            return error_response(error, request_id), entry

    # --- reads ---------------------------------------------------------------------------------------

    def _managed(self) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
        """Services and function configs recorded by the 2021 CreateService/CreateFunction (if any)."""
        management = getattr(self.fc, "management", None)
        return dict(getattr(management, "services", {}) or {}), dict(getattr(management, "configs", {}) or {})

    def _service_names(self) -> list[str]:
        services, _ = self._managed()
        return sorted({s for s, _ in self.backend.functions} | set(services))

    def _read(self, path: str, query: dict[str, str], entry: dict[str, Any]) -> dict[str, Any] | None:
        """GetService / GetFunction / ListServices / ListFunctions, or None for another path."""
        with self.state.lock:
            if _SERVICES.match(path):
                entry.update(action="ListServices", params={})
                page, token = _page(self._service_names(), query)
                return {"services": [self._service(n) for n in page], "nextToken": token}
            if m := _SERVICE.match(path):
                service = m.group(1).split(".", 1)[0]
                entry.update(action="GetService", params={"service": service})
                if service not in self._service_names():
                    raise exc.ServiceNotFoundError(service)
                return self._service(service)
            if m := _FUNCTIONS.match(path):
                service = m.group(1).split(".", 1)[0]
                entry.update(action="ListFunctions", params={"service": service})
                if service not in self._service_names():
                    raise exc.ServiceNotFoundError(service)
                names = sorted(f for s, f in self.backend.functions if s == service)
                page, token = _page(names, query)
                return {"functions": [self._function(self.backend.functions[(service, n)]) for n in page],
                        "nextToken": token}
            if m := _FUNCTION.match(path):
                service = m.group(1).split(".", 1)[0]
                entry.update(action="GetFunction", params={"service": service, "function": m.group(2)})
                return self._function(self.backend.lookup(service, m.group(2)))
        return None

    def _service(self, name: str) -> dict[str, Any]:
        services, _ = self._managed()
        return services.get(name) or {
            "serviceName": name, "serviceId": _stable_id(name), "description": "", "role": "",
            "logConfig": {"project": "", "logstore": ""}, "internetAccess": True,
            "createdTime": self.started, "lastModifiedTime": self.started,
        }

    def _function(self, spec: FunctionSpec) -> dict[str, Any]:
        _, configs = self._managed()
        default = {
            "functionId": _stable_id(spec.service, spec.name), "functionName": spec.name, "description": "",
            "runtime": "python3.10", "handler": spec.handler, "timeout": spec.timeout,
            "memorySize": spec.memory, "initializer": "", "initializationTimeout": 3, "codeSize": 0,
            "codeChecksum": "", "environmentVariables": {}, "instanceConcurrency": 1, "instanceType": "e1",
            "createdTime": self.started, "lastModifiedTime": self.started,
        }
        return {**default, **configs.get((spec.service, spec.name), {})}

    # --- InvokeFunction ------------------------------------------------------------------------------

    def _invoke(
        self, request: HttpRequest, request_id: str, service_part: str, function: str,
        credentials: tuple[str, str, str], entry: dict[str, Any],
    ) -> HttpResponse:
        service, _, qualifier = service_part.partition(".")
        qualifier = qualifier or "LATEST"
        kind, stateful_id, _ = invocation_headers(request)
        entry.update(action="InvokeFunction", params={
            "service": service, "function": function, "qualifier": qualifier, "invocationType": kind,
            **({"statefulInvocationId": stateful_id} if stateful_id else {}), "api": VERSION,
        })

        def admit() -> tuple[str, str, str]:  # authenticated before routing: only the fault is drawn here
            fault = self.state.faults.before_action("InvokeFunction")
            if fault is not None:
                raise fault
            return credentials

        response, error_type = invoke(self.state, self.backend, request, request_id, service=service,
                                      function=function, qualifier=qualifier, admit=admit,
                                      type_header="x-fc-invocation-type", delays=False)
        if error_type:
            entry["code"] = error_type
        return response


def _page(names: list[str], query: dict[str, str]) -> tuple[list[str], str]:
    """One page of names: ``prefix``, ``startKey``/``nextToken`` (first name of the page), ``limit`` 1–100."""
    prefix = query.get("prefix") or ""
    start = query.get("nextToken") or query.get("startKey") or ""
    raw_limit = query.get("limit") or "20"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise exc.InvalidArgumentError(f"limit must be between 1 and 100, got {raw_limit[:20]!r}")
    chosen = [n for n in names if n.startswith(prefix) and n >= start]
    limit = int(raw_limit)
    return chosen[:limit], (chosen[limit] if len(chosen) > limit else "")
