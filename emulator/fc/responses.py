"""FC wire answers: InvokeFunction (sync 200 / async 202) and GetStatefulAsyncInvocation.

Every answer carries ``X-Fc-Request-Id`` (and ``x-acs-request-id``). A sync answer's body is the function's
return value as raw bytes (``application/octet-stream``, UNCONFIRMED content type); a function error adds
``X-Fc-Error-Type: UnhandledInvocationError``. Async answers 202 with an empty body.
"""

from __future__ import annotations

from emulator.core.dispatch import HttpResponse
from emulator.core.errors import EmulatorError
from emulator.fc.exceptions import fc_error_body
from emulator.fc.models import Invocation, RunResult

OCTET = "application/octet-stream"


def request_headers(request_id: str) -> dict[str, str]:
    """The request-id headers of every FC answer."""
    return {"X-Fc-Request-Id": request_id, "x-acs-request-id": request_id}


def sync_response(result: RunResult, request_id: str) -> HttpResponse:
    """200 with the return value; the error type header when the function raised."""
    headers = request_headers(request_id)
    if result.error_type:
        headers["X-Fc-Error-Type"] = result.error_type
    if result.log:
        headers["X-Fc-Log-Result"] = result.log
    return HttpResponse(200, headers=headers, raw=result.body, content_type=OCTET)


def async_response(request_id: str, invocation: Invocation) -> HttpResponse:
    """202, empty body."""
    headers = request_headers(request_id)
    if invocation.stateful:
        headers["X-Fc-Stateful-Async-Invocation-Id"] = invocation.invocation_id
    return HttpResponse(202, headers=headers, raw=b"", content_type=OCTET)


def invocation_response(invocation: Invocation, request_id: str) -> HttpResponse:
    """200 with the StatefulAsyncInvocation JSON."""
    return HttpResponse(200, invocation.to_json(), headers=request_headers(request_id))


def error_response(error: EmulatorError, request_id: str) -> HttpResponse:
    """The error status with both FC and tea-openapi key pairs."""
    return HttpResponse(error.status, fc_error_body(error, request_id), headers=request_headers(request_id))
