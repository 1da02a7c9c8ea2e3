"""The base of the RPC adapters (ECS, CR, ESS, STS, EventBridge): one client per region (built by `connect`,
cached per region and credentials), every call retried, counted and translated in one place.

Listings go through `_pages`/`_paged` (PageNumber/PageSize: until a short page or `TotalCount`) and
`_token_pages` (MaxResults/NextToken: until no token), so each adapter writes only its request and its items.

`check(body)` is the hook for services that report failures inside a 200 answer (CR's
`IsSuccess: false`); it raises the project's error or returns nothing.

One parse per response: for the hot listing calls named in `RAW_METHODS` (100 images a page, each
with its disk mappings and tags, every tick), the SDK's typed `<method>(request)` would build a
response model from the wire dict (`from_map`) that we would only turn back into a dict (`to_map`).
Those calls go through the same SDK client's generic `call_api` instead, with the same typed,
validated request and the same `Params` the generated method uses, and keep the body the wire gave.
Everything else (writes, single reads) keeps the generated methods.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from shared.clouds._clients import cached_client
from shared.clouds._errors import translate
from shared.clouds._retry import RetryPolicy, call_with_retry
from shared.config import Credentials
from shared.runtime import Deadline

G = TypeVar("G", bound="RpcGateway")


def items_at(body: dict[str, Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """The list at ``body[keys[0]][keys[1]]…`` (``("Images", "Image")``), empty when any step is missing."""
    value: Any = body
    for key in keys:
        value = (value if isinstance(value, dict) else {}).get(key)
    return list(value or [])


def action_of(method: str) -> str:
    """The API action of an SDK method name: `describe_images` → `DescribeImages`."""
    return "".join(part.capitalize() for part in method.split("_"))


class RpcGateway:
    """Calls `method(request)` on the region's SDK client; `client_for(region)` is injectable for tests."""

    #: The service's API version (the generated methods' `Params.version`); set by each adapter.
    API_VERSION = ""
    #: SDK methods answered through `call_api` with the body kept as the wire's dict (see module docstring).
    RAW_METHODS: frozenset[str] = frozenset()
    #: The service's name in the client cache; set by each adapter with `sdk_client`.
    SERVICE = ""

    @classmethod
    def sdk_client(cls, region: str, credentials: Credentials, endpoint: str | None) -> Any:
        """The official SDK's client for `region` (`endpoint`: the emulator); written by each adapter."""
        raise NotImplementedError

    @classmethod
    def connect(cls: type[G], credentials: Credentials | Callable[[], Credentials], *, endpoint: str | None = None,
                retry: RetryPolicy | None = None, deadline: Deadline | None = None) -> G:
        """Real SDK clients, cached per region and credentials; `endpoint` sends them to the emulator.

        `credentials` may be a callable asked before each call (another account's STS credentials, renewed
        by `shared.clouds.sts.AccountSessions`)."""

        def client_for(region: str) -> Any:
            creds = credentials() if callable(credentials) else credentials
            return cached_client(cls.SERVICE, region, creds, endpoint, lambda: cls.sdk_client(region, creds, endpoint))

        return cls(client_for, retry=retry, deadline=deadline)

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
            client = self._client_for(region)
            try:
                if method in self.RAW_METHODS:
                    body = self._raw(client, method, request)
                else:
                    response = getattr(client, method)(request)
                    body = response.body.to_map() if response.body is not None else {}
            except Exception as exc:  # the SDK raises many unrelated types; all are translated
                raise translate(exc) from exc
            body = body if isinstance(body, dict) else {}
            self.check(body)
            return body

        return call_with_retry(once, self.retry, self.deadline, idempotent=idempotent)

    def _pages(self, region: str, method: str, keys: tuple[str, ...], request_for: Callable[[int], Any], *,
               size: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """(body, items) of each page of a PageNumber/PageSize listing (``request_for(page)``, pages of
        ``size``), until a page comes back empty or ``TotalCount`` items have been read."""
        page = 1
        while True:
            body = self._call(region, method, request_for(page))
            items = items_at(body, keys)
            yield body, items
            if not items or page * size >= int(body.get("TotalCount") or 0):
                return
            page += 1

    def _paged(self, region: str, method: str, keys: tuple[str, ...], request_for: Callable[[int], Any], *,
               size: int) -> Iterator[dict[str, Any]]:
        """Every item of a PageNumber/PageSize listing, page after page (`_pages`)."""
        for _body, items in self._pages(region, method, keys, request_for, size=size):
            yield from items

    def _token_pages(self, region: str, method: str, keys: tuple[str, ...],
                     request_for: Callable[[str | None], Any]) -> Iterator[dict[str, Any]]:
        """Every item of a MaxResults/NextToken listing (``request_for(token)``), page after page."""
        token: str | None = None
        while True:
            body = self._call(region, method, request_for(token))
            yield from items_at(body, keys)
            token = body.get("NextToken") or None
            if not token:
                return

    def _raw(self, client: Any, method: str, request: Any) -> Any:
        """`client.<method>(request)` as the generated code does it, minus the response model."""
        from alibabacloud_tea_openapi import utils_models
        from alibabacloud_tea_openapi.utils import Utils
        from darabonba.runtime import RuntimeOptions

        request.validate()
        params = utils_models.Params(action=action_of(method), version=self.API_VERSION, protocol="HTTPS",
                                     pathname="/", method="POST", auth_type="AK", style="RPC",
                                     req_body_type="formData", body_type="json")
        answer = client.call_api(params, utils_models.OpenApiRequest(query=Utils.query(request.to_map())),
                                 RuntimeOptions())
        return answer.get("body") if isinstance(answer, dict) else None
