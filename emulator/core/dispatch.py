"""API dispatch: pick the service, authenticate, inject faults, run the action, log it.

Two kinds of services plug in:

* RPC services (:class:`Service`: ECS, CR) are keyed by their API version (``x-acs-version`` header for
  the ACS3 signer, ``Version`` parameter for v1), because ECS and CR share path ``/`` (alibaba-api.md §7.2).
  The action comes from ``x-acs-action`` first and ``Action`` second, like moto's ``_get_action``. The RPC
  style allows GET and POST (the legacy Python SDK and ``@alicloud/pop-core`` send GET); :func:`is_rpc`
  tells an RPC call from an OSS one on the shared path ``/``. ``Format=XML`` answers and errors are XML
  (:mod:`emulator.core.render`); without ``Format`` (Tea SDKs) or with ``Format=JSON`` they are JSON.
* HTTP services (:class:`HttpService`: OSS, later FC) claim a request through ``matches(request)`` and answer
  it whole (their own signature scheme, error format, content type and raw body). They are asked in
  registration order before the RPC lookup, so a more specific one (FC's ROA paths) must be registered
  before a catch-all one (OSS claims every request that is not ``POST /`` RPC). An HTTP service with
  ``handles_own_lock = True`` (FC: its sync invocations run project handlers that call the emulator back) is
  called without the state lock and takes it itself; only its request-log entry is written under the lock.

A service whose region is not a parameter (CR: no ``RegionId``, the region is the host
``cr.<region>.aliyuncs.com``) also implements :class:`HostRoutedService`: the dispatcher then asks it for the
request's region (request log) and runs the action with the whole request.

Targets may be absolute (forward-proxy mode, ``POST http://cr.cn-hangzhou.aliyuncs.com/?…``): routing and the
signature checkers only use ``urlsplit(target).path`` and ``.query``.

Every API call, including auth failures and injected faults, is appended to the request log, with the
``account`` it acted as (``emulator.core.accounts``: the dispatcher sets ``State.caller`` from the verified
AccessKey and security token for the duration of the call, and clears it after). A 200 body with
``IsSuccess: false`` (CR business failure) is logged with its ``Code`` in ``code``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from pydantic import BaseModel

from emulator.core.auth import authenticate
from emulator.core.errors import (
    EmulatorError,
    InternalServerError,
    InvalidVersionError,
    MissingParameterError,
    ServiceUnavailableError,
)
from emulator.core.params import Params
from emulator.core.render import XML, to_xml, wants_xml, xml_root
from emulator.core.state import State


class Service(Protocol):
    """What a service (ECS, later CR/FC/OSS) provides to the core."""

    name: str
    version: str
    host_id: str
    seed_model: type[BaseModel]

    def reset(self) -> None:
        """Drop every resource of the service."""

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Raise ``SeedError`` when the seed references something absent (e.g. a disabled region)."""

    def apply_seed(self, seed: BaseModel) -> None:
        """Add the service's part of a validated seed (the model is the composed seed model)."""

    def settle(self, now: float) -> None:
        """Process every timed event (copy completion, …) up to virtual time ``now``."""

    def call(self, action: str, params: Params) -> dict[str, Any]:
        """Run ``action`` and return the JSON body (without RequestId); raise ``EmulatorError``."""


@dataclass
class HttpRequest:
    """The parts of an HTTP request that dispatch and the signature checkers need."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str]


JSON = "application/json;charset=utf-8"


@dataclass
class HttpResponse:
    """Status, headers and a body: JSON (``body``) unless ``raw`` bytes are given with their content type.

    A ``Content-Length`` in ``headers`` wins over the payload length (HEAD answers report the object size
    without sending it).
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = JSON

    def encode(self) -> bytes:
        """Return the raw bytes, or serialize the body as UTF-8 JSON."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False).encode()


@runtime_checkable
class HostRoutedService(Protocol):
    """An RPC service whose region comes from the request (its host), not from ``RegionId`` (CR)."""

    def request_region(self, request: HttpRequest, params: Params) -> str | None:
        """Return the region logged for ``request``."""

    def handle_request(self, request: HttpRequest, action: str, params: Params) -> dict[str, Any]:
        """Run ``action`` with the whole request at hand (like ``Service.call``)."""


@runtime_checkable
class ControlService(Protocol):
    """A service with its own control endpoints (``/_emulator/<service>/…``)."""

    def handle_control(self, method: str, name: str, payload: Any) -> HttpResponse | None:
        """Answer the control call ``name`` (path after ``/_emulator/``), or None when it is not this one's."""


@runtime_checkable
class HttpService(Protocol):
    """A service with its own wire protocol (OSS): it claims requests and answers them whole."""

    name: str

    def matches(self, request: HttpRequest) -> bool:
        """Return True when this service answers ``request``."""

    def handle(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, dict[str, Any]]:
        """Answer ``request`` (state lock held); return the response and the request-log fields
        ``region, action, code, params`` (``status``, ``request_id``, ``time`` and ``service`` are added)."""


def is_rpc(request: HttpRequest) -> bool:
    """True for an RPC-style call on path ``/``: any POST, or a GET naming an action (``x-acs-action`` or
    ``Action``); a bare ``GET /`` stays OSS's (ListBuckets)."""
    if urlsplit(request.target).path not in ("", "/"):
        return False
    if request.method == "POST":
        return True
    has_header = any(k.lower() == "x-acs-action" for k in request.headers)
    return request.method == "GET" and (has_header or "Action" in request.params)


def new_request_id() -> str:
    """Return an upper-case UUID, the shape of real ECS RequestIds."""
    return str(uuid.uuid4()).upper()


def error_body(error: EmulatorError, request_id: str, host_id: str, product: str) -> dict[str, Any]:
    """Build the ECS error body ``{RequestId, HostId, Code, Message, Recommend}`` (alibaba-api.md §2.1)."""
    return {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product={product}",
    }


class Dispatcher:
    """Routes API calls to registered services under the state lock."""

    def __init__(self, state: State, services: list[Service]) -> None:
        self.state = state
        self.http_services: list[HttpService] = [s for s in services if isinstance(s, HttpService)]
        self.services: dict[str, Service] = {s.version: s for s in services if not isinstance(s, HttpService)}

    def _header(self, request: HttpRequest, name: str) -> str | None:
        """Case-insensitive header lookup."""
        return next((v for k, v in request.headers.items() if k.lower() == name), None)

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one API call; never raises."""
        for http_service in self.http_services:
            if http_service.matches(request):
                return self._handle_http(http_service, request)
        params = Params(request.params)
        action = self._header(request, "x-acs-action") or params.get_str("Action")
        version = self._header(request, "x-acs-version") or params.get_str("Version")
        service = self.services.get(version or "")
        request_id = new_request_id()
        latency = self.state.faults.config.latency_ms
        if latency:
            time.sleep(latency / 1000.0)
        with self.state.lock:
            try:
                self.state.caller = self.state.caller_key = None
                body = self._run(request, params, action, service)
                response = HttpResponse(200, {"RequestId": request_id, **body})
                code: str | None = str(body.get("Code")) if body.get("IsSuccess") is False else None
            except EmulatorError as error:
                host = service.host_id if service else "aliyuncs.com"
                product = service.name.capitalize() if service else "Unknown"
                response = HttpResponse(error.status, error_body(error, request_id, host, product))
                code = error.code
            if wants_xml(params.raw):
                payload = response.body if isinstance(response.body, dict) else {}
                response.raw = to_xml(xml_root(action, response.status >= 400), payload)
                response.content_type = XML
            response.headers["x-acs-request-id"] = request_id
            account = self.state.current_account
            self.state.caller = self.state.caller_key = None
            self.state.requests.append(
                {
                    "service": service.name if service else None,
                    "account": account,
                    "region": self._region(request, params, service),
                    "action": action,
                    "status": response.status,
                    "code": code,
                    "params": params.business(),
                    "request_id": request_id,
                    "time": self.state.clock.now(),
                }
            )
            return response

    def _region(self, request: HttpRequest, params: Params, service: Service | None) -> str | None:
        """The region of the request log: the service's view for host-routed services, else ``RegionId``."""
        if isinstance(service, HostRoutedService):
            return service.request_region(request, params)
        return params.get_str("RegionId")

    def _handle_http(self, service: HttpService, request: HttpRequest) -> HttpResponse:
        """Answer a request claimed by an HTTP service and log it like an RPC call."""
        request_id = new_request_id()
        latency = self.state.faults.config.latency_ms
        if latency:
            time.sleep(latency / 1000.0)
        if getattr(service, "handles_own_lock", False):
            # FC runs handlers that call back into the emulator: the service takes the lock itself, briefly.
            response, entry = service.handle(request, request_id)
        with self.state.lock:
            if not getattr(service, "handles_own_lock", False):
                response, entry = service.handle(request, request_id)
            self.state.requests.append(
                {
                    "service": service.name,
                    "region": entry.get("region"),
                    "action": entry.get("action"),
                    "status": response.status,
                    "code": entry.get("code"),
                    "params": entry.get("params", {}),
                    "request_id": request_id,
                    "time": self.state.clock.now(),
                }
            )
            return response

    def _run(
        self, request: HttpRequest, params: Params, action: str | None, service: Service | None
    ) -> dict[str, Any]:
        """Authenticate, inject faults, settle timed events and run the action (lock held)."""
        if not action:
            raise MissingParameterError("Action")
        if service is None:
            raise InvalidVersionError()
        key_id = authenticate(
            request.method, request.target, request.headers, request.body, params.raw, self.state.secrets()
        )
        token = self._header(request, "x-acs-security-token") or params.get_str("SecurityToken")
        self.state.caller_key = key_id
        self.state.caller = self.state.registry.resolve(
            key_id, token, self.state.clock.now(), self.state.account_id
        )
        fault = self.state.faults.before_action(action)
        if fault is not None:
            raise fault
        service.settle(self.state.clock.now())
        try:
            if isinstance(service, HostRoutedService):
                body = service.handle_request(request, action, params)
            else:
                body = service.call(action, params)
        except EmulatorError:
            raise
        except Exception as exc:  # a bug in a model must still answer JSON, not kill the connection
            raise InternalServerError(message=f"emulator bug: {exc!r}") from exc
        if self.state.faults.lose_response(action):
            raise ServiceUnavailableError()
        return body
