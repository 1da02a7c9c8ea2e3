"""The Function Compute adapter (fc-open 2021-04-06): invoke a function, read a stateful invocation, and
create services, functions and triggers (what ROS does for template.yml; `image-relay local up --package`
does it against the emulator).

Used by `image-relay invoke --remote`, `local up --package` and, later, by the reconcile fan-out. FC needs an explicit
endpoint (`<account>.<region>.fc.aliyuncs.com`, alibaba-api.md §7.1); against the emulator the
loopback endpoint is used. A duplicate stateful id is answered 409
`StatefulAsyncInvocationAlreadyExists`, which callers treat as "already started" (task dedupe).
"""
from __future__ import annotations

import base64
import json
from typing import Any

from alibabacloud_fc_open20210406 import models as fc_models
from alibabacloud_fc_open20210406.client import Client as FcClient

from shared.clouds._clients import cached_client, openapi_config
from shared.clouds._errors import translate
from shared.clouds._retry import RetryPolicy, call_with_retry
from shared.config import Credentials
from shared.runtime import Deadline

#: The longest `x-fc-async-delay` FC accepts, in seconds.
MAX_ASYNC_DELAY = 3600


class FcGateway:
    """FC for one region and set of credentials."""

    def __init__(self, client: Any, *, retry: RetryPolicy | None = None, deadline: Deadline | None = None) -> None:
        self._client = client
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self.calls = 0

    @classmethod
    def connect(cls, credentials: Credentials, *, region: str, account_id: str, endpoint: str | None = None,
                retry: RetryPolicy | None = None) -> FcGateway:
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

    def invocation(self, service: str, function: str, invocation_id: str) -> dict[str, Any]:
        """A stateful async invocation's state (status, times, error, return payload)."""
        request = fc_models.GetStatefulAsyncInvocationRequest()
        response = self._call(lambda: self._client.get_stateful_async_invocation(service, function, invocation_id,
                                                                                  request))
        body = response.body.to_map() if response.body is not None else {}
        return body if isinstance(body, dict) else {}


    def create_service(self, name: str, *, description: str = "", role: str = "",
                       log_project: str = "", log_store: str = "", internet_access: bool = True) -> dict[str, Any]:
        """CreateService; answers the service as FC describes it."""
        log_config = fc_models.LogConfig(project=log_project, logstore=log_store) if log_project else None
        request = fc_models.CreateServiceRequest(service_name=name, description=description, role=role or None,
                                                 log_config=log_config, internet_access=internet_access)
        response = self._call(lambda: self._client.create_service_with_options(
            request, fc_models.CreateServiceHeaders(), _runtime()))
        return _body(response)

    def create_function(self, service: str, name: str, *, handler: str, runtime: str, timeout: int, memory: int,
                        environment: dict[str, str], oss_bucket: str | None = None, oss_object: str | None = None,
                        zip_file: bytes | None = None, description: str = "",
                        instance_concurrency: int = 1) -> dict[str, Any]:
        """CreateFunction from a code package: an OSS object (as ROS passes it) or the zip itself."""
        code = fc_models.Code(
            oss_bucket_name=oss_bucket, oss_object_name=oss_object,
            zip_file=base64.b64encode(zip_file).decode() if zip_file is not None else None)
        request = fc_models.CreateFunctionRequest(
            function_name=name, handler=handler, runtime=runtime, timeout=timeout, memory_size=memory,
            environment_variables=environment, code=code, description=description,
            instance_concurrency=instance_concurrency)
        response = self._call(lambda: self._client.create_function_with_options(
            service, request, fc_models.CreateFunctionHeaders(), _runtime()))
        return _body(response)

    def create_trigger(self, service: str, function: str, name: str, kind: str, config: dict[str, Any]) -> dict[str, Any]:
        """CreateTrigger; ``config`` goes on the wire as the JSON string FC expects."""
        request = fc_models.CreateTriggerRequest(trigger_name=name, trigger_type=kind,
                                                 trigger_config=json.dumps(config, separators=(",", ":")))
        response = self._call(lambda: self._client.create_trigger_with_options(
            service, function, request, fc_models.CreateTriggerHeaders(), _runtime()))
        return _body(response)


def _body(response: Any) -> dict[str, Any]:
    body = response.body.to_map() if response.body is not None else {}
    return body if isinstance(body, dict) else {}


def _runtime() -> Any:
    from alibabacloud_tea_util.models import RuntimeOptions

    return RuntimeOptions()
