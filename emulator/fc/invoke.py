"""InvokeFunction, as both FC APIs answer it (``emulator.fc.urls``: 2021-04-06, ``emulator.fc.api2016``:
2016-08-15): the invocation type, the stateful async id and the async delay read from the headers, the
function run at once (Sync) or queued on the backend (Async, 202), and the lost-response fault after the effect.

The two APIs differ only in how a caller is admitted (ACS3 signing, or the 2016 ``FC`` signature read before
the call is routed) and in the spelling of the header named in an error; each passes its own ``admit``.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from emulator.fc import exceptions as exc
from emulator.fc.gate import header, lose
from emulator.fc.responses import async_response, sync_response

if TYPE_CHECKING:
    from emulator.core.dispatch import HttpRequest, HttpResponse
    from emulator.core.state import State
    from emulator.fc.models import FcBackend

STATEFUL_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")


def invocation_headers(request: HttpRequest) -> tuple[str, str | None, str]:
    """(invocation type as sent, stateful async invocation id or None, raw ``X-Fc-Async-Delay``)."""
    kind = (header(request, "x-fc-invocation-type") or "Sync").strip()
    stateful_id = (header(request, "x-fc-stateful-async-invocation-id") or "").strip() or None
    return kind, stateful_id, (header(request, "x-fc-async-delay") or "").strip()


def async_delay(raw: str) -> float:
    """``X-Fc-Async-Delay`` in seconds: an integer in [0, 3600] (help.aliyun.com/document_detail/181866)."""
    if not raw:
        return 0.0
    if not raw.isdigit() or int(raw) > 3600:
        raise exc.InvalidArgumentError(f"X-Fc-Async-Delay must be an integer from 0 to 3600 seconds, got {raw[:40]!r}")
    return float(int(raw))


def invoke(state: State, backend: FcBackend, request: HttpRequest, request_id: str, *, service: str, function: str,
           qualifier: str, admit: Callable[[], tuple[str, str, str]], type_header: str = "X-Fc-Invocation-Type",
           delays: bool = True) -> tuple[HttpResponse, str | None]:
    """Run or queue one invocation; the answer and the function's error type (None when it did not fail).

    ``admit`` authenticates and draws the call's fault (state lock held) and returns the credentials the
    function receives; ``delays`` False ignores ``X-Fc-Async-Delay`` (the 2016 plug-in never read it)."""
    kind, stateful_id, raw_delay = invocation_headers(request)
    with state.lock:
        credentials = admit()
        spec = backend.lookup(service, function)
        if kind.lower() not in ("sync", "async"):
            raise exc.InvalidArgumentError(f"{type_header} must be Sync or Async, got {kind[:40]!r}")
        if kind.lower() == "async":
            if stateful_id is not None and not STATEFUL_ID.match(stateful_id):
                raise exc.InvalidArgumentError(f"invalid stateful async invocation id {stateful_id[:140]!r}")
            invocation = backend.submit_async(spec, request.body, request_id, credentials, qualifier, stateful_id,
                                              async_delay(raw_delay) if delays else 0.0)
            lose(state, "InvokeFunction")
            return async_response(request_id, invocation), None
    tail = (header(request, "x-fc-log-type") or "").strip().lower() == "tail"
    result = backend.run_sync(spec, request.body, request_id, credentials, qualifier, tail)
    with state.lock:
        lose(state, "InvokeFunction")
    return sync_response(result, request_id), result.error_type or None
