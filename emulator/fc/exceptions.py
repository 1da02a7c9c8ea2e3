"""FC errors. FC answers ``{"ErrorCode","ErrorMessage"}``; tea-openapi reads only ``Code``/``Message``
(alibaba-api.md §5, §7.4), so every FC error body carries both pairs plus ``RequestId``.

UNCONFIRMED: the messages; ``InvalidArgument`` 400 for a stateful id outside ``[A-Za-z_][A-Za-z0-9_-]{0,127}``
or an unknown ``X-Fc-Invocation-Type``; ``StatefulAsyncInvocationNotFound`` is 404.
"""

from __future__ import annotations

from typing import Any

from emulator.core.errors import EmulatorError


class ServiceNotFoundError(EmulatorError):
    """The service is not registered."""

    def __init__(self, service: str) -> None:
        super().__init__("ServiceNotFound", 404, f"service '{service}' does not exist")


class FunctionNotFoundError(EmulatorError):
    """The function is not registered in its service."""

    def __init__(self, service: str, function: str) -> None:
        super().__init__("FunctionNotFound", 404, f"function '{function}' does not exist in service '{service}'")


class StatefulAsyncInvocationAlreadyExistsError(EmulatorError):
    """A stateful async invocation id was submitted twice (409, alibaba-api.md §5)."""

    def __init__(self, invocation_id: str) -> None:
        super().__init__(
            "StatefulAsyncInvocationAlreadyExists", 409, f"stateful async invocation '{invocation_id}' already exists"
        )


class StatefulAsyncInvocationNotFoundError(EmulatorError):
    """No stateful async invocation with that id."""

    def __init__(self, invocation_id: str) -> None:
        super().__init__(
            "StatefulAsyncInvocationNotFound", 404, f"stateful async invocation '{invocation_id}' does not exist"
        )


class InvalidArgumentError(EmulatorError):
    """A malformed header value."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidArgument", 400, message)


def fc_error_body(error: EmulatorError, request_id: str) -> dict[str, Any]:
    """Both key pairs plus RequestId (the SDK parses ``Code``; FC's own clients parse ``ErrorCode``)."""
    return {
        "ErrorCode": error.code,
        "ErrorMessage": error.message,
        "Code": error.code,
        "Message": error.message,
        "RequestId": request_id,
    }
