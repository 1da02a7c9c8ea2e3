"""SDK client cache: one client per (service, region, endpoint, credentials).

The credential triple is part of the key because FC hands out temporary STS credentials: a new
triple gets a new client, so a stale client can never sign with expired keys. The cache is bounded
(LRU) so a long-lived instance does not grow without limit. `reset_clients()` is for tests.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from shared.config import Credentials

_MAX_CLIENTS = 64
_CLIENTS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_LOCK = threading.Lock()


def reset_clients() -> None:
    """Forget every cached client."""
    with _LOCK:
        _CLIENTS.clear()


def loopback_endpoint(endpoint: str | None) -> tuple[str | None, str]:
    """Split IMAGE_RELAY_ENDPOINT into the SDK's (endpoint host:port, protocol)."""
    if not endpoint:
        return None, "https"
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    return parts.netloc, parts.scheme or "http"


def reveal(value: Any) -> str | None:
    """The plain text of a credential field, whether kept as `SecretStr` or `str`."""
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else str(value)


def openapi_config(region: str, credentials: Credentials, endpoint: str | None, *, host: str | None = None) -> Any:
    """A tea-openapi `Config` for an RPC/ROA client; with `endpoint`, every call goes there over its scheme.

    With `host` (a service whose region is its host name: CR `cr.<region>.aliyuncs.com`, EventBridge, KMS,
    RAM) the client keeps that host and, with `endpoint`, goes through the emulator as its HTTP proxy."""
    from alibabacloud_tea_openapi.utils_models import Config

    address, protocol = loopback_endpoint(endpoint)
    if host is not None:
        address, protocol, proxy = host, ("http" if endpoint else "https"), address
    else:
        proxy = None
    return Config(
        access_key_id=credentials.access_key_id,
        access_key_secret=reveal(credentials.access_key_secret),
        security_token=reveal(credentials.security_token),
        region_id=region,
        endpoint=address,
        protocol=protocol,
        http_proxy=f"http://{proxy}" if proxy else None,
        connect_timeout=5000,
        read_timeout=10000,
    )


def cached_client(
    service: str, region: str, credentials: Credentials, endpoint: str | None, build: Callable[[], Any]
) -> Any:
    """Return the cached client for this key, building it on first use."""
    key = (
        service,
        region,
        endpoint,
        credentials.access_key_id,
        reveal(credentials.access_key_secret),
        reveal(credentials.security_token),
    )
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is not None:
            _CLIENTS.move_to_end(key)
            return client
    client = build()
    with _LOCK:
        _CLIENTS[key] = client
        while len(_CLIENTS) > _MAX_CLIENTS:
            _CLIENTS.popitem(last=False)
    return client
