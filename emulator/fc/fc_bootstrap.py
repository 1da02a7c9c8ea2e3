"""The FC python3.10 runtime's side of one emulated invocation: run INSIDE the child interpreter.

Started by ``emulator.fc.runtime.ProcessRunner`` as ``python3.10 -I -S fc_bootstrap.py REQUEST RESULT``:
isolated mode and no site-packages, so the function sees the standard library and its code directory only,
as on FC (alibaba-api.md §5). Standard library only, by necessity: nothing else is importable here.

REQUEST is a JSON file ``{"code_dir", "handler": "<file>.<function>", "event_b64", "context": {...}}``; the
context mirrors FC 2.0's Python ``context`` (request_id, credentials, function, service, region,
account_id). RESULT receives ``{"body_b64"}`` or ``{"errorType", "errorMessage", "stackTrace"}``; the
function's own output stays on stdout/stderr (the emulator brackets it with ``FC Invoke Start/End``).
"""
from __future__ import annotations

import base64
import importlib
import json
import sys
import traceback
from typing import Any


class Credentials:
    """``context.credentials``: the service role's STS triple."""

    def __init__(self, access_key_id: str, access_key_secret: str, security_token: str) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token


class FunctionMeta:
    """``context.function``: timeout in seconds, memory in MB."""

    def __init__(self, name: str, handler: str, memory: int, timeout: int) -> None:
        self.name, self.handler, self.memory, self.timeout = name, handler, memory, timeout


class ServiceMeta:
    """``context.service``."""

    def __init__(self, name: str, log_project: str = "", log_store: str = "", qualifier: str = "LATEST",
                 version_id: str = "") -> None:
        self.name, self.log_project, self.log_store = name, log_project, log_store
        self.qualifier, self.version_id = qualifier, version_id


class FCContext:
    """FC 2.0's Python context object (no ``get_remaining_time_in_millis``: FC has none)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        creds = raw.get("credentials") or {}
        fn = raw["function"]
        svc = raw.get("service") or {}
        self.request_id = raw["request_id"]
        self.credentials = Credentials(creds.get("access_key_id", ""), creds.get("access_key_secret", ""),
                                       creds.get("security_token", ""))
        self.function = FunctionMeta(fn["name"], fn["handler"], int(fn["memory"]), int(fn["timeout"]))
        self.service = ServiceMeta(svc.get("name", ""), svc.get("log_project", ""), svc.get("log_store", ""),
                                   svc.get("qualifier", "LATEST"), svc.get("version_id", ""))
        self.region = raw["region"]
        self.account_id = raw["account_id"]


def _encode(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, default=str).encode()


def main(request_path: str, result_path: str) -> int:
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    sys.path.insert(0, request["code_dir"])
    context = FCContext(request["context"])
    try:
        module_name, _, attr = request["handler"].rpartition(".")
        handler = getattr(importlib.import_module(module_name), attr)
        body = _encode(handler(base64.b64decode(request["event_b64"]), context))
        result: dict[str, Any] = {"body_b64": base64.b64encode(body).decode()}
    except Exception as error:  # the function's failure: FC's UnhandledInvocationError
        result = {"errorType": type(error).__name__, "errorMessage": str(error),
                  "stackTrace": [line.rstrip("\n") for line in traceback.format_exception(type(error), error,
                                                                                        error.__traceback__)][-20:]}
    sys.stdout.flush()
    sys.stderr.flush()
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
