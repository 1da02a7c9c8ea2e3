"""Structured JSON-lines logging with per-invocation keys and secret redaction.

Why: FC ships stdout/stderr to SLS line by line, so one JSON object per line is queryable
there and parseable in tests (house style §6). Each line carries ``level, message, timestamp,
logger, request_id, function`` plus whatever ``extra=`` gave.

Why redaction lives in the formatter: invariant 5 says no AccessKey secret or security token
may appear in a log line, and secrets reach log calls by accident (an SDK exception message, a
dumped config dict, a traceback). So every string that goes into a line (message, extras,
exception text, stack) is scrubbed of registered secrets, and values under keys that look
like secrets are replaced wholesale. Named ``logs`` so it does not shadow stdlib ``logging``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import threading
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote, quote_plus

ROOT_LOGGER = "image_relay"
MASK = "***"
# Secrets shorter than this are not registered: masking "ab" everywhere would wreck every line
# and real AccessKey secrets and STS tokens are far longer.
MIN_SECRET_LENGTH = 4

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("function", default=None)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_SENSITIVE_KEY = re.compile(r"secret|password|passwd|security_?token|^token$|authorization", re.IGNORECASE)
# A ClientToken is a deterministic idempotency key, not a credential; keeping it visible helps debugging.
_NOT_SENSITIVE = frozenset({"client_token", "clienttoken"})
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it would appear in a log line from now on.

    Examples
    --------
    >>> register_secret("s3cr3t-value")
    >>> redact("key is s3cr3t-value")
    'key is ***'
    """
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)
            # The JSON-escaped form too, in case a secret holds quotes or backslashes; and the
            # URL-encoded forms (an STS token holds '/', '+' and '='), as a signed URL or a query
            # string in an SDK error would carry them (issue #10, defect 13).
            _secrets.update({json.dumps(value)[1:-1], quote(value, safe=""), quote(value), quote_plus(value),
                             quote(value, safe="").lower()})


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` with ``***``."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def register_env_secrets(env: dict[str, str] | None = None) -> None:
    """Register the ``ALIBABA_CLOUD_*`` secret and token of the environment (the CLI does at start)."""
    import os

    source = os.environ if env is None else env
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"):
        register_secret(source.get(name))


def scrub(value: Any) -> Any:
    """``value`` made JSON-safe and secret-free: registered secrets masked, secret-looking keys
    replaced. For every exit that is not a log line: CLI errors, alerts, answers.

    Examples
    --------
    >>> register_secret("tok/en+value=")
    >>> scrub({"error": "bad url ?SecurityToken=tok%2Fen%2Bvalue%3D", "password": "x"})
    {'error': 'bad url ?SecurityToken=***', 'password': '***'}
    """
    return _clean(value)


def _is_sensitive_key(key: str) -> bool:
    return key.lower() not in _NOT_SENSITIVE and bool(_SENSITIVE_KEY.search(key))


def _clean(value: Any, depth: int = 0) -> Any:
    """Make ``value`` JSON-safe and secret-free; unknown objects become redacted strings."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact(value)
    if depth > 8:
        return redact(str(value))
    if isinstance(value, dict):
        return {
            str(k): MASK if _is_sensitive_key(str(k)) and v is not None else _clean(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, redacted twice: per value and on the finished line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "message": record.getMessage(),
            "timestamp": dt.datetime.fromtimestamp(record.created, tz=dt.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "logger": record.name,
            "request_id": _request_id.get(),
            "function": _function.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        line = json.dumps(_clean(entry), ensure_ascii=False, separators=(",", ":"))
        return redact(line)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (pytest swaps it)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


_configured = False
_config_lock = threading.Lock()


def configure_logging(level: int | str = "INFO", stream: IO[str] | None = None) -> logging.Logger:
    """(Re)install the JSON handler on the ``image_relay`` logger; tests pass a ``StringIO``.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> _ = configure_logging("INFO", stream=buf)
    >>> get_logger("demo").info("image.copied")
    >>> json.loads(buf.getvalue())["message"]
    'image.copied'
    """
    global _configured
    root = logging.getLogger(ROOT_LOGGER)
    with _config_lock:
        for old in list(root.handlers):
            if getattr(old, "_image_relay", False):
                root.removeHandler(old)
        handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
        handler._image_relay = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(level.upper() if isinstance(level, str) else level)
        # FC's runtime configures the root logger with its own text format; do not print twice.
        root.propagate = False
        _configured = True
    return root


def get_logger(name: str) -> logging.Logger:
    """A logger under ``image_relay``; configures stderr JSON output on first use."""
    if not _configured:
        configure_logging()
    if name != ROOT_LOGGER and not name.startswith(ROOT_LOGGER + "."):
        name = f"{ROOT_LOGGER}.{name}"
    return logging.getLogger(name)


class InvocationBinding:
    """Binds ``request_id``/``function`` for this invocation; a context manager that unbinds."""

    def __init__(self, request_id: str | None, function: str | None) -> None:
        self.request_id = request_id
        self.function = function
        self._tokens = (_request_id.set(request_id), _function.set(function))

    def reset(self) -> None:
        """Restore the previous binding."""
        _request_id.reset(self._tokens[0])
        _function.reset(self._tokens[1])

    def __enter__(self) -> InvocationBinding:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.reset()


def bind_invocation(context: Any) -> InvocationBinding:
    """Put the FC context's request id and function name on every following line.

    Also registers the context's credentials as secrets, so they can never be logged.

    Examples
    --------
    >>> from shared.runtime import make_local_context
    >>> with bind_invocation(make_local_context("reconcile")) as b:
    ...     b.function
    'reconcile'
    """
    creds = getattr(context, "credentials", None)
    if creds is not None:
        register_secret(getattr(creds, "access_key_secret", None))
        register_secret(getattr(creds, "security_token", None))
    function = getattr(getattr(context, "function", None), "name", None)
    return InvocationBinding(getattr(context, "request_id", None), function)
