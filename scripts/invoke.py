"""Run a function's handler in-process with an FC-like context (request id, credentials, timeout).

Shared by the CLI, the demo and the tests, so they all exercise the same entry points that FC calls.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from typing import Any

from shared.runtime import FCContext, FCCredentials, make_local_context

#: function name → (handler module, default timeout in seconds), as template.yml declares them.
FUNCTIONS: dict[str, tuple[str, int]] = {
    "image_created": ("functions.image_created.handler", 120),
    "reconcile": ("functions.reconcile.handler", 600),
    "export_batch": ("functions.export_batch.handler", 600),
    "acr_push": ("functions.acr_push.handler", 120),
    "cleanup": ("functions.cleanup.handler", 600),
}

#: The emulator's default AccessKey pair (not a secret: it only opens the local emulator).
EMULATOR_CREDENTIALS = ("test-ak", "test-secret")


def load_handler(function: str) -> Callable[[bytes, Any], Any]:
    """Import `functions/<function>/handler.py` and return its `handler`."""
    if function not in FUNCTIONS:
        raise KeyError(f"unknown function {function!r}; known: {', '.join(sorted(FUNCTIONS))}")
    module = importlib.import_module(FUNCTIONS[function][0])
    return module.handler  # type: ignore[no-any-return]


def local_credentials(env: Mapping[str, str] | None = None) -> FCCredentials | None:
    """The ALIBABA_CLOUD_* credentials, or the emulator's pair when IMAGE_RELAY_ENDPOINT is set."""
    env = os.environ if env is None else env
    if env.get("ALIBABA_CLOUD_ACCESS_KEY_ID") and env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        return FCCredentials(
            env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or "",
        )
    if env.get("IMAGE_RELAY_ENDPOINT"):
        return FCCredentials(*EMULATOR_CREDENTIALS, "")
    return None


def invoke(function: str, event: bytes, *, timeout: int | None = None, region: str = "cn-hangzhou",
           context: FCContext | None = None) -> Any:
    """Call the handler the way FC does: raw event bytes and a context."""
    handler = load_handler(function)
    if context is None:
        context = make_local_context(
            function,
            timeout=timeout or FUNCTIONS[function][1],
            credentials=local_credentials(),
            region=region,
        )
    return handler(event, context)
