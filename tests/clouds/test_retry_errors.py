"""The adapter's own logic: error translation and the deadline-bounded retry (no sockets)."""
from __future__ import annotations

import random

import pytest

from shared.clouds._clients import loopback_endpoint
from shared.clouds._errors import classify, translate
from shared.clouds._retry import RetryPolicy, call_with_retry
from shared.clouds.ecs_types import Image
from shared.errors import (
    CloudAuthError,
    CloudConflictError,
    DeadlineExceededError,
    InvalidCloudRequestError,
    QuotaExceededError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)
from shared.runtime import Deadline


@pytest.mark.parametrize("code, status, cls, retryable", [
    ("Throttling.User", 400, ThrottledError, True),
    ("ServiceUnavailable", 503, ServiceUnavailableError, True),
    ("InternalError", 500, ServiceUnavailableError, True),
    ("InvalidImageId.NotFound", 404, ResourceNotFoundError, False),
    ("InvalidAccessKeyId.NotFound", 404, CloudAuthError, False),
    ("SignatureDoesNotMatch", 400, CloudAuthError, False),
    ("QuotaExceed.Image", 403, QuotaExceededError, False),
    ("IdempotentParameterMismatch", 400, CloudConflictError, False),
    ("InvalidImageName.Duplicated", 400, CloudConflictError, False),
    ("InvalidParameter.EncryptedIllegal", 400, InvalidCloudRequestError, False),
])
def test_classify_maps_wire_codes(code, status, cls, retryable):
    err = classify(code, status, "msg", "req-1")
    assert type(err) is cls
    assert err.code == code and err.status == status and err.request_id == "req-1"
    assert err.retryable is retryable


class FakeSdkError(Exception):
    def __init__(self) -> None:
        self.code = "InvalidImageId.NotFound"
        self.status_code = 404
        self.request_id = "R1"
        self.message = "code: 404, The specified ImageId does not exist. request id: R1"


def test_translate_keeps_code_and_strips_sdk_noise():
    err = translate(FakeSdkError())
    assert isinstance(err, ResourceNotFoundError)
    assert err.message == "InvalidImageId.NotFound: The specified ImageId does not exist."


def test_translate_drops_the_server_string_to_sign():
    # SignatureDoesNotMatch messages end with the server's string-to-sign, which carries SecurityToken on v1.
    error = FakeSdkError()
    error.code, error.status_code = "SignatureDoesNotMatch", 400
    error.message = ("code: 400, Specified signature is not matched with our calculation. server string to sign "
                     "is:POST&%2F&SecurityToken%3DCAIS-secret-token request id: R1")
    err = translate(error)
    assert isinstance(err, CloudAuthError)
    assert err.message == "SignatureDoesNotMatch: Specified signature is not matched with our calculation."


def test_translate_transport_error_is_retryable_and_names_no_url():
    err = translate(ConnectionError("http://127.0.0.1:1/?Signature=abc refused"))
    assert isinstance(err, ServiceUnavailableError) and err.retryable
    assert "127.0.0.1" not in str(err) and "Signature" not in str(err)


def _policy(**kw) -> tuple[RetryPolicy, list[float]]:
    slept: list[float] = []
    return RetryPolicy(sleep=slept.append, rng=random.Random(0), **kw), slept


def test_retry_recovers_from_throttling():
    policy, slept = _policy(base_seconds=0.01, max_attempts=5)
    outcomes = iter([classify("Throttling.User", 400, "", None), classify("InternalError", 500, "", None), "ok"])

    def call() -> str:
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    assert call_with_retry(call, policy) == "ok"
    assert len(slept) == 2 and policy.retries == 2


def test_retry_stops_after_max_attempts_with_the_last_error():
    policy, slept = _policy(base_seconds=0.01, max_attempts=3)
    calls = []

    def call() -> None:
        calls.append(1)
        raise classify("Throttling.User", 400, "", None)

    with pytest.raises(ThrottledError):
        call_with_retry(call, policy)
    assert len(calls) == 3 and len(slept) == 2


def test_non_retryable_error_is_not_retried():
    policy, slept = _policy()
    calls = []

    def call() -> None:
        calls.append(1)
        raise classify("InvalidImageId.NotFound", 404, "", None)

    with pytest.raises(ResourceNotFoundError):
        call_with_retry(call, policy)
    assert calls == [1] and slept == []


def test_retry_never_sleeps_past_the_deadline():
    now = [0.0]
    deadline = Deadline(10.0, clock=lambda: now[0])
    policy, slept = _policy(base_seconds=100.0, cap_seconds=100.0, max_attempts=10)
    policy.rng = random.Random(1)
    calls = []

    def call() -> None:
        calls.append(1)
        raise classify("ServiceUnavailable", 503, "", None)

    with pytest.raises(ServiceUnavailableError):
        call_with_retry(call, policy, deadline)
    assert all(s < 10.0 for s in slept)
    now[0] = 11.0
    with pytest.raises(DeadlineExceededError):
        call_with_retry(call, policy, deadline)


def test_loopback_endpoint_split():
    assert loopback_endpoint("http://127.0.0.1:8000") == ("127.0.0.1:8000", "http")
    assert loopback_endpoint("127.0.0.1:9") == ("127.0.0.1:9", "http")
    assert loopback_endpoint(None) == (None, "https")


def test_image_from_wire_reads_the_documented_types():
    raw = {"ImageId": "m-1", "ImageName": "app", "Status": "Creating", "Progress": "37%", "Size": 40,
           "ImageOwnerAlias": "self", "ImageOwnerId": 123, "Usage": "instance",
           "Tags": {"Tag": [{"TagKey": "team", "TagValue": "web"}]},
           "DiskDeviceMappings": {"DiskDeviceMapping": [{"Device": "/dev/xvda", "Size": "40", "Encrypted": True}]}}
    image = Image.from_wire("cn-hangzhou", raw)
    assert image.progress == 37 and image.size_gib == 40 and image.owner_id == "123"
    assert image.tags == {"team": "web"} and image.encrypted and image.disks[0].size_gib == 40


def test_error_log_fields_are_accepted_by_logging(caplog):
    import logging

    err = classify("ServiceUnavailable", 503, "down", "r")
    logging.getLogger("image_relay.test").warning("x", extra={"key": "k", **err.log_fields()})
    assert err.log_fields()["error_message"].startswith("ServiceUnavailable")
