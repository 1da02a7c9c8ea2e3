"""JSON-lines logs: fixed keys, bound invocation, extras, and secrets that never reach a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from shared.config import Credentials
from shared.logs import bind_invocation, configure_logging, get_logger, register_secret
from shared.runtime import FCCredentials, make_local_context


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    configure_logging("DEBUG", stream=buf)
    yield buf
    configure_logging("INFO")


def _lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_one_json_object_per_line_with_fixed_keys(stream: io.StringIO) -> None:
    log = get_logger("copy")
    log.info("image.copied", extra={"image_id": "m-1", "regions": ["cn-beijing"]})
    log.debug("tick.done")
    first, second = _lines(stream)
    assert {"level", "message", "timestamp", "logger", "request_id", "function"} <= set(first)
    assert first["level"] == "INFO" and first["message"] == "image.copied"
    assert first["logger"] == "image_relay.copy"
    assert first["image_id"] == "m-1" and first["regions"] == ["cn-beijing"]
    assert first["timestamp"].endswith("+00:00")
    assert second["level"] == "DEBUG"


def test_level_filter(stream: io.StringIO) -> None:
    configure_logging("WARNING", stream=stream)
    get_logger("x").info("hidden")
    get_logger("x").warning("shown")
    assert [line["message"] for line in _lines(stream)] == ["shown"]


def test_bind_invocation_sets_and_resets(stream: io.StringIO) -> None:
    log = get_logger("h")
    ctx = make_local_context("image_created")
    with bind_invocation(ctx):
        log.info("inside")
    log.info("outside")
    inside, outside = _lines(stream)
    assert inside["request_id"] == ctx.request_id and inside["function"] == "image_created"
    assert outside["request_id"] is None and outside["function"] is None


def test_does_not_propagate_to_root(stream: io.StringIO) -> None:
    # FC's runtime prints root-logger records in its own text format: a line must not appear twice.
    # (pytest 9's caplog attaches to non-propagating loggers too, so check the flag itself.)
    assert logging.getLogger("image_relay").propagate is False
    get_logger("p").info("once")
    assert len(_lines(stream)) == 1


SECRET = "Zq8sEcReT-value-000111"
TOKEN = "CAIS-sts-token-abcdef987"


def test_registered_secret_never_appears(stream: io.StringIO) -> None:
    register_secret(SECRET)
    log = get_logger("leak")
    log.info("message holds %s", SECRET)
    log.info(f"f-string holds {SECRET}")
    log.info("extra holds it", extra={"detail": f"x{SECRET}y", "nested": {"list": [SECRET]}})
    try:
        raise RuntimeError(f"SDK said: bad signature for {SECRET}")
    except RuntimeError:
        log.exception("call.failed")
    text = stream.getvalue()
    assert SECRET not in text
    lines = _lines(stream)
    assert len(lines) == 4
    assert lines[0]["message"] == "message holds ***"
    assert lines[2]["detail"] == "x***y" and lines[2]["nested"] == {"list": ["***"]}
    assert "RuntimeError: SDK said: bad signature for ***" in lines[3]["exception"]


def test_sensitive_keys_are_masked_without_registration(stream: io.StringIO) -> None:
    get_logger("k").info(
        "cfg",
        extra={"cfg": {"access_key_secret": "unregistered-1", "security_token": "unregistered-2",
                       "password": "p4ss", "client_token": "copy-abc-1", "access_key_id": "LTAI"}},
    )
    cfg = _lines(stream)[0]["cfg"]
    assert cfg["access_key_secret"] == "***" and cfg["security_token"] == "***" and cfg["password"] == "***"
    assert cfg["client_token"] == "copy-abc-1" and cfg["access_key_id"] == "LTAI"


def test_credentials_and_context_register_their_secrets(stream: io.StringIO) -> None:
    Credentials(access_key_id="id", access_key_secret="creds-secret-xyz", security_token=TOKEN)
    ctx = make_local_context("f", credentials=FCCredentials("id2", "ctx-secret-xyz", "ctx-token-xyz"))
    with bind_invocation(ctx):
        get_logger("c").error("oops %s %s %s %s", "creds-secret-xyz", TOKEN, "ctx-secret-xyz", "ctx-token-xyz")
    text = stream.getvalue()
    for secret in ("creds-secret-xyz", TOKEN, "ctx-secret-xyz", "ctx-token-xyz"):
        assert secret not in text
    assert _lines(stream)[0]["message"] == "oops *** *** *** ***"


def test_secret_with_json_special_characters(stream: io.StringIO) -> None:
    odd = 'se"cr\\et/+=='
    register_secret(odd)
    get_logger("j").info("value", extra={"v": odd})
    assert "cr" not in stream.getvalue().split('"v":')[1]
    assert _lines(stream)[0]["v"] == "***"
