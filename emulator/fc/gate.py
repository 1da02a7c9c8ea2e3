"""What every 2021-04-06 FC call passes before it acts: ACS3 authentication (``emulator.core.auth``), the fault
drawn for its action, and, after the effect, the lost-response fault (a 503 once the work is done).

Why a module of its own: the invocation calls (``emulator.fc.urls``) and the management calls
(``emulator.fc.management``) are admitted the same way; as functions over the shared ``State`` neither
plug-in has to hold the other to use them (issue #12: no mutual references).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.core.auth import authenticate
from emulator.core.errors import ServiceUnavailableError

if TYPE_CHECKING:
    from emulator.core.dispatch import HttpRequest
    from emulator.core.state import State


def header(request: HttpRequest, name: str) -> str | None:
    """The value of header ``name`` (lower case), whatever case the client sent it in."""
    return next((v for k, v in request.headers.items() if k.lower() == name), None)


def admit(state: State, request: HttpRequest, query: dict[str, str], action: str | None) -> tuple[str, str, str]:
    """Authenticate and draw faults (state lock held); return the caller's credentials triple
    (AccessKey id, secret, security token: what the invoked function receives)."""
    key_id = authenticate(request.method, request.target, request.headers, request.body, query, state.access_keys)
    if action is not None:
        fault = state.faults.before_action(action)
        if fault is not None:
            raise fault
    token = header(request, "x-acs-security-token") or ""
    return key_id, state.access_keys[key_id], token


def lose(state: State, action: str) -> None:
    """Raise the lost-response fault drawn for ``action``, if any (state lock held; the effect stays)."""
    if state.faults.lose_response(action):
        raise ServiceUnavailableError()
