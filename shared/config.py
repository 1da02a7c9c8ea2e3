"""Settings from the environment, and credentials from the FC context or the environment.

Why a model: a bad value must fail at cold start with the env var named (invariant 6),
not deep inside a handler. ``get_settings()`` is one of the two allowed globals (a cache);
tests call ``reset_settings()``.

Credentials never print their secret or token: the fields are excluded from ``repr``/``str``
and the values are registered with the log redactor as soon as they are read (invariant 5).
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import ConfigError
from shared.logs import register_secret

ENV_POLICY = "IMAGE_RELAY_POLICY"
ENV_STATE = "IMAGE_RELAY_STATE"
ENV_ENDPOINT = "IMAGE_RELAY_ENDPOINT"
ENV_LOG_LEVEL = "IMAGE_RELAY_LOG_LEVEL"
ENV_RETRY_BASE = "IMAGE_RELAY_RETRY_BASE_SECONDS"
ENV_RETRY_MAX = "IMAGE_RELAY_RETRY_MAX_ATTEMPTS"
ENV_FANOUT = "IMAGE_RELAY_FANOUT_THRESHOLD"
ENV_ACCOUNT = "IMAGE_RELAY_ACCOUNT_ID"
ENV_WAKEUPS = "IMAGE_RELAY_WAKEUPS"
ENV_AK_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_AK_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
#: Where FC unpacked the code package (alibaba-api.md §5); a relative IMAGE_RELAY_POLICY is resolved against it.
ENV_CODE_PATH = "FC_FUNC_CODE_PATH"

# FC's only writable directory is /tmp (alibaba-api.md §5).
DEFAULT_STATE = "sqlite:////tmp/image-relay/ledger.db"

_FIELD_TO_ENV = {
    "policy": ENV_POLICY,
    "state": ENV_STATE,
    "endpoint": ENV_ENDPOINT,
    "log_level": ENV_LOG_LEVEL,
    "retry_base_seconds": ENV_RETRY_BASE,
    "retry_max_attempts": ENV_RETRY_MAX,
    "fanout_threshold": ENV_FANOUT,
    "account_id": ENV_ACCOUNT,
    "wakeups": ENV_WAKEUPS,
}
_ENDPOINT_RE = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?/?\Z")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseModel):
    """Process settings; build with ``Settings.from_env()`` or ``get_settings()``.

    Examples
    --------
    >>> Settings.from_env({"IMAGE_RELAY_STATE": "memory://"}).state
    'memory://'
    """

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    policy: str | None = None
    state: str = DEFAULT_STATE
    endpoint: str | None = None
    log_level: str = "INFO"
    retry_base_seconds: float = Field(default=0.5, gt=0, le=300)
    retry_max_attempts: int = Field(default=6, ge=1, le=100)
    # A reconcile tick with more active copy records than this fans out by destination region.
    fanout_threshold: int = Field(default=5000, ge=1)
    # The function's own Alibaba Cloud account, for runs without an FC context (the CLI); in FC the
    # context's account_id is used. Events from any other account are refused (invariant 8).
    account_id: str | None = Field(default=None, pattern=r"^[0-9]{1,40}$")  # pydantic: Rust regex, $ = end of text
    # reconcile schedules itself (FC async InvokeFunction with x-fc-async-delay) at each destination
    # region's earliest expected copy end, instead of waiting for the next timer tick.
    wakeups: bool = False

    @field_validator("policy", "endpoint", "account_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("state")
    @classmethod
    def _check_state(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must be memory://, sqlite:///<abs path>, oss://<bucket>/<prefix> or a path")
        if value.startswith("sqlite://") and not value.startswith("sqlite:///"):
            raise ValueError("sqlite URLs need three slashes: sqlite:///<path>")
        if "://" in value and value.split("://", 1)[0] not in ("memory", "sqlite", "oss"):
            raise ValueError(f"unknown scheme in {value!r}")
        return value

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not _ENDPOINT_RE.match(value):
            raise ValueError("must look like http://127.0.0.1:8000")
        return value.rstrip("/") if value else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _check_level(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            if value not in _LEVELS:
                raise ValueError(f"must be one of {', '.join(_LEVELS)}")
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); a bad value raises ``ConfigError``."""
        source = os.environ if env is None else env
        raw = {name: source[var] for name, var in _FIELD_TO_ENV.items() if var in source}
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else ""
            var = _FIELD_TO_ENV.get(name, name)
            raise ConfigError(first["msg"], field=var) from None

    def require_policy(self) -> str:
        """Return the policy location; functions need one, so a missing one is a ``ConfigError``."""
        if not self.policy:
            raise ConfigError("not set; point it at the policy YAML file", field=ENV_POLICY)
        return self.policy

    @property
    def log_level_number(self) -> int:
        """The stdlib ``logging`` level number."""
        return int(logging.getLevelName(self.log_level))


def resolve_code_path(path: str, env: Mapping[str, str] | None = None) -> str:
    """A relative ``path`` is relative to the code package root ``FC_FUNC_CODE_PATH``, if FC set it.

    Why: template.yml ships the policy inside the code package and names it relative to the package
    (``policy.yml``); FC tells the function where the package is, so no ``/code`` is hard-coded.

    Examples
    --------
    >>> resolve_code_path("policy.yml", {"FC_FUNC_CODE_PATH": "/code"})
    '/code/policy.yml'
    >>> resolve_code_path("/etc/policy.yml", {"FC_FUNC_CODE_PATH": "/code"})
    '/etc/policy.yml'
    >>> resolve_code_path("policy.yml", {})
    'policy.yml'
    """
    source = os.environ if env is None else env
    root = source.get(ENV_CODE_PATH, "").strip()
    if not root or os.path.isabs(path):
        return path
    return os.path.join(root, path)


@functools.cache
def get_settings() -> Settings:
    """Settings from ``os.environ``, read once per process (cold start)."""
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (tests, or after changing the environment)."""
    get_settings.cache_clear()


class Credentials(BaseModel):
    """An AccessKey pair with an optional STS token; ``repr``/``str`` never show secret or token."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    access_key_id: str = Field(min_length=1)
    access_key_secret: str = Field(min_length=1, repr=False)
    security_token: str | None = Field(default=None, repr=False)

    def model_post_init(self, __context: Any) -> None:
        register_secret(self.access_key_secret)
        if self.security_token:
            register_secret(self.security_token)


def credentials_from(context: Any = None, env: Mapping[str, str] | None = None) -> Credentials:
    """Prefer the FC context's STS triple, else the ``ALIBABA_CLOUD_*`` env vars.

    FC 2.0 puts credentials on ``context.credentials``; FC 3.0 (python3.12) drops them and
    sets the env vars instead (alibaba-api.md §5), so both are read.

    Examples
    --------
    >>> credentials_from(None, {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s"})
    Credentials(access_key_id='id')
    """
    ctx_creds = getattr(context, "credentials", None)
    if ctx_creds is not None and getattr(ctx_creds, "access_key_id", None):
        return Credentials(
            access_key_id=ctx_creds.access_key_id,
            access_key_secret=ctx_creds.access_key_secret,
            security_token=getattr(ctx_creds, "security_token", None) or None,
        )
    source = os.environ if env is None else env
    key_id = source.get(ENV_AK_ID, "").strip()
    secret = source.get(ENV_AK_SECRET, "").strip()
    if not key_id:
        raise ConfigError("no credentials in the FC context and this variable is not set", field=ENV_AK_ID)
    if not secret:
        raise ConfigError(f"not set although {ENV_AK_ID} is", field=ENV_AK_SECRET)
    return Credentials(
        access_key_id=key_id,
        access_key_secret=secret,
        security_token=source.get(ENV_TOKEN, "").strip() or None,
    )
