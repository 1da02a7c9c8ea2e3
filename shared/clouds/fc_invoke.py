"""Function Compute, invoke only (fc-open 2021-04-06): what the functions themselves call.

Why a module of its own: the RAM actions the functions' role is granted are derived per adapter module
that a handler reaches (scripts/ram.py). reconcile invokes itself for its wake-ups
(shared/replication/wake.py), so this module is reached; the deployment and invocation-status calls of
`shared/clouds/fc.py` (the operator CLI's) must not be, or the role would be granted CreateFunction.
FC needs an explicit endpoint (`<account>.<region>.fc.aliyuncs.com`, alibaba-api.md §7.1); against the
emulator the loopback endpoint is used. A duplicate stateful id is answered 409
`StatefulAsyncInvocationAlreadyExists`, which callers treat as "already started" (task dedupe).
"""
from __future__ import annotations

from typing import Any, TypeVar

from alibabacloud_fc_open20210406 import models as fc_models
from alibabacloud_fc_open20210406.client import Client as FcClient

from shared.clouds._clients import cached_client, openapi_config
from shared.clouds._errors import translate
from shared.clouds._retry import RetryPolicy, call_with_retry
from shared.config import Credentials
from shared.runtime import Deadline

_G = TypeVar("_G", bound="FcInvoker")

#: The longest `x-fc-async-delay` FC accepts, in seconds.
MAX_ASYNC_DELAY = 3600


class FcInvoker:
    """FC InvokeFunction for one region and set of credentials."""

    def __init__(self, client: Any, *, retry: RetryPolicy | None = None, deadline: Deadline | None = None) -> None:
        self._client = client
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self.calls = 0

    @classmethod
    def connect(cls: type[_G], credentials: Credentials, *, region: str, account_id: str,
                endpoint: str | None = None, retry: RetryPolicy | None = None) -> _G:
        """A client for `region`; `endpoint` (the emulator) replaces the account's FC endpoint."""
        target = endpoint or f"https://{account_id}.{region}.fc.aliyuncs.com"

        def build() -> Any:
            return FcClient(openapi_config(region, credentials, target))

        return cls(cached_client("fc", region, credentials, target, build), retry=retry)

    def _call(self, fn: Any) -> Any:
        def once() -> Any:
            self.calls += 1
            try:
                return fn()
            except Exception as exc:  # the SDK raises many unrelated types; all are translated
                raise translate(exc) from exc

        return call_with_retry(once, self.retry, self.deadline)

    def invoke(self, service: str, function: str, payload: bytes, *, asynchronous: bool = False,
               invocation_id: str | None = None, delay_seconds: int | None = None) -> dict[str, Any]:
        """Invoke; sync answers the function's output, async (202) the request id.

        `delay_seconds` (async only) runs it that much later: the `x-fc-async-delay` header, an integer
        in [0, 3600] (help.aliyun.com/document_detail/181866), which the SDK has no field for.
        """
        if delay_seconds is not None and not 0 <= delay_seconds <= MAX_ASYNC_DELAY:
            raise ValueError(f"delay_seconds must be 0..{MAX_ASYNC_DELAY}, got {delay_seconds}")
        headers = fc_models.InvokeFunctionHeaders(
            common_headers={"x-fc-async-delay": str(delay_seconds)} if asynchronous and delay_seconds else None,
            x_fc_invocation_type="Async" if asynchronous else "Sync",
            x_fc_stateful_async_invocation_id=invocation_id if asynchronous else None,
        )
        request = fc_models.InvokeFunctionRequest(body=payload)
        response = self._call(lambda: self._client.invoke_function_with_options(
            service, function, request, headers, _runtime()))
        out_headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        body = response.body or b""
        return {
            "status_code": response.status_code,
            "request_id": out_headers.get("x-fc-request-id"),
            "error_type": out_headers.get("x-fc-error-type"),
            "body": body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body),
        }



def _runtime() -> Any:
    from alibabacloud_tea_util.models import RuntimeOptions

    return RuntimeOptions()
