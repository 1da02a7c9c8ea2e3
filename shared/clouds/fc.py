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

from shared.clouds.fc_invoke import MAX_ASYNC_DELAY, FcInvoker, _runtime

__all__ = ["MAX_ASYNC_DELAY", "FcGateway"]


class FcGateway(FcInvoker):
    """FC for one region and set of credentials: invoke (`FcInvoker`), invocation status, deployment."""

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

