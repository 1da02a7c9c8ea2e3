"""The base of the RPC adapters (ECS, CR): one client per region, every call retried, counted and
translated in one place.

`check(body)` is the hook for services that report failures inside a 200 answer (CR's
`IsSuccess: false`); it raises the project's error or returns nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.clouds._errors import translate
from shared.clouds._retry import RetryPolicy, call_with_retry
from shared.runtime import Deadline


class RpcGateway:
    """Calls `method(request)` on the region's SDK client; `client_for(region)` is injectable for tests."""

    def __init__(self, client_for: Callable[[str], Any], *, retry: RetryPolicy | None = None,
                 deadline: Deadline | None = None) -> None:
        self._client_for = client_for
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self.calls = 0

    def check(self, body: dict[str, Any]) -> None:
        """Raise for a failure reported in a successful HTTP answer; nothing by default."""

    def _call(self, region: str, method: str, request: Any, *, idempotent: bool = True) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            self.calls += 1
            try:
                response = getattr(self._client_for(region), method)(request)
            except Exception as exc:  # the SDK raises many unrelated types; all are translated
                raise translate(exc) from exc
            body = response.body.to_map() if response.body is not None else {}
            body = body if isinstance(body, dict) else {}
            self.check(body)
            return body

        return call_with_retry(once, self.retry, self.deadline, idempotent=idempotent)
