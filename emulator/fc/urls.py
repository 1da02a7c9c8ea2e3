"""FC routing: the ROA paths of fc-open 2021-04-06 and the service plug-in (an ``HttpService``).

Claimed requests: any target whose path starts with ``/2021-04-06/`` (so FC must be registered before OSS,
which claims every non-RPC request). Answered:

* ``POST /2021-04-06/services/{service}/functions/{function}/invocations[?qualifier=]`` — InvokeFunction.
  Headers: ``X-Fc-Invocation-Type: Sync|Async`` (default Sync), ``X-Fc-Stateful-Async-Invocation-Id``,
  ``X-Fc-Log-Type: Tail|None``. Sync → 200 with the return value; async → 202 empty body + ``X-Fc-Request-Id``;
  a stateful id seen before for that function → 409 ``StatefulAsyncInvocationAlreadyExists``.
  ``X-Fc-Async-Delay: <0..3600>`` delays an async invocation on the virtual clock (see ``emulator.fc.models``).
* ``GET …/functions/{function}/stateful-async-invocations/{id}`` — GetStatefulAsyncInvocation.
* any other ``/2021-04-06/`` path → 404 ``InvalidAction.NotFound`` (UNCONFIRMED; not emulated).

Requests are ACS3-signed (``emulator.core.auth``; the canonical URI is the encoded path as sent). The
credentials handed to the function are the calling AccessKey pair (+ ``x-acs-security-token``). Faults
apply with the action names ``InvokeFunction`` / ``GetStatefulAsyncInvocation`` (a lost response is a 503
after the effect: an async invocation stays queued). Request log: service ``fc``, region = the backend's
region (``cn-hangzhou``), params ``{service, function, qualifier, invocationType, statefulInvocationId}``.

The service takes the state lock itself (``handles_own_lock``) and releases it while a sync function runs,
because project handlers call the emulator back over HTTP.

Control calls (``/_emulator/fc/*``, unsigned): ``GET fc/invocations`` → every async invocation (JSON list);
``GET fc/triggers`` → the router's wiring (functions, timers, event rules) when a router is attached.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel

from emulator.core.dispatch import HttpResponse
from emulator.core.errors import EmulatorError, InvalidActionError
from emulator.fc.gate import admit, lose
from emulator.fc.invoke import invocation_headers, invoke
from emulator.fc.management import FcManagement
from emulator.fc.models import FcBackend
from emulator.fc.responses import error_response, invocation_response
from emulator.fc.router import EventRouter, RouterSlot

if TYPE_CHECKING:
    from emulator.core.dispatch import HttpRequest
    from emulator.core.state import State

VERSION = "2021-04-06"
PREFIX = f"/{VERSION}/"
_INVOKE = re.compile(rf"^/{VERSION}/services/([^/]+)/functions/([^/]+)/invocations/?$")
_STATEFUL = re.compile(rf"^/{VERSION}/services/([^/]+)/functions/([^/]+)/stateful-async-invocations/([^/]+)/?$")


class FcSeed(BaseModel):
    """FC contributes no seed keys (functions are registered in-process)."""


class FcService:
    """The FC plug-in: an ``HttpService`` and ``ControlService`` over :class:`FcBackend`.

    It holds the backend, the management calls and the router slot; none of them holds it back (the
    management calls and the router reach the backend and the router through the slot, not through this).
    """

    name = "fc"
    version = "fc-2021-04-06"
    host_id = "fc.aliyuncs.com"
    seed_model: type[BaseModel] = FcSeed
    handles_own_lock = True

    def __init__(self, state: State, oss: Any = None) -> None:
        self.state = state
        self.backend = FcBackend(state)
        self.routes = RouterSlot(self.backend, state)
        # CreateService/CreateFunction/CreateTrigger (emulator/fc/management.py); ``oss`` serves code packages.
        self.management = FcManagement(state, self.backend, self.routes, oss)

    @property
    def router(self) -> EventRouter | None:
        """The event router wired to this FC (a template's, or the one CreateTrigger made), if any."""
        return self.routes.router

    # --- Service protocol ----------------------------------------------------------------------------

    def attach(self, router: EventRouter) -> None:
        """Settle, reset and describe ``router`` with this service (the router holds only the backend)."""
        self.routes.attach(router)

    def reset(self) -> None:
        """Forget invocations (registered functions and the router's wiring stay)."""
        self.backend.reset()
        if self.router is not None:
            self.router.reset()

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Nothing to validate."""

    def apply_seed(self, seed: BaseModel) -> None:
        """Nothing to seed."""

    def settle(self, now: float) -> None:
        """Fire delayed invocations due by ``now``, then the router's timers up to ``now``."""
        self.backend.fire_due(now)
        if self.router is not None:
            self.router.on_time(now)

    def call(self, action: str, params: Any) -> dict[str, Any]:
        """FC is not RPC."""
        raise InvalidActionError()

    # --- HttpService ---------------------------------------------------------------------------------

    def matches(self, request: HttpRequest) -> bool:
        """Every ``/2021-04-06/…`` path is FC's."""
        return urlsplit(request.target).path.startswith(PREFIX)

    def handle(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, dict[str, Any]]:
        """Answer one FC call (called WITHOUT the state lock)."""
        u = urlsplit(request.target)
        query = dict(parse_qsl(u.query, keep_blank_values=True))
        qualifier = query.get("qualifier") or "LATEST"
        entry: dict[str, Any] = {"region": self.backend.region, "action": None, "code": None, "params": {}}
        try:
            if (m := _INVOKE.match(u.path)) and request.method == "POST":
                service, function = unquote(m.group(1)), unquote(m.group(2))
                return self._invoke(request, request_id, service, function, qualifier, entry), entry
            if (m := _STATEFUL.match(u.path)) and request.method == "GET":
                service, function, inv_id = (unquote(g) for g in m.groups())
                entry.update(action="GetStatefulAsyncInvocation",
                             params={"service": service, "function": function, "invocationId": inv_id})
                with self.state.lock:
                    admit(self.state, request, query, "GetStatefulAsyncInvocation")
                    self.backend.lookup(service, function)
                    invocation = self.backend.get_invocation(service, function, inv_id)
                    lose(self.state, "GetStatefulAsyncInvocation")
                return invocation_response(invocation, request_id), entry
            managed = self.management.handle(request, u.path, request_id, entry)
            if managed is not None:
                return managed, entry
            entry["action"] = f"Unsupported:{request.method}"
            with self.state.lock:
                admit(self.state, request, query, None)
            raise InvalidActionError()
        except EmulatorError as error:
            entry["code"] = error.code
            return error_response(error, request_id), entry

    def _invoke(
        self, request: HttpRequest, request_id: str, service: str, function: str, qualifier: str,
        entry: dict[str, Any],
    ) -> HttpResponse:
        kind, stateful_id, raw_delay = invocation_headers(request)
        entry.update(action="InvokeFunction", params={
            "service": service, "function": function, "qualifier": qualifier, "invocationType": kind,
            **({"statefulInvocationId": stateful_id} if stateful_id else {}),
            **({"asyncDelay": raw_delay} if raw_delay else {}),
        })
        query = dict(parse_qsl(urlsplit(request.target).query))
        response, error_type = invoke(self.state, self.backend, request, request_id, service=service,
                                      function=function, qualifier=qualifier,
                                      admit=lambda: admit(self.state, request, query, "InvokeFunction"))
        if error_type:
            entry["code"] = error_type
        return response

    # --- ControlService ------------------------------------------------------------------------------

    def handle_control(self, method: str, name: str, payload: Any) -> HttpResponse | None:
        """``GET /_emulator/fc/invocations`` and ``GET /_emulator/fc/triggers``."""
        if (method, name) == ("GET", "fc/invocations"):
            with self.backend._lock:
                listing = [i.to_json() for i in self.backend.invocations.values()]
            return HttpResponse(200, listing)
        if (method, name) == ("GET", "fc/triggers"):
            return HttpResponse(200, self.router.describe() if self.router is not None else {})
        return None
