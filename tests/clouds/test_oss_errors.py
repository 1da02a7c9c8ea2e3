"""OSS error translation (`_errors.translate_oss`) over the real oss2 exception classes, no sockets."""
from __future__ import annotations

import oss2
import pytest

from shared.clouds._errors import translate_oss
from shared.clouds.oss import oss_endpoint
from shared.errors import (
    CloudAuthError,
    CloudConflictError,
    InvalidCloudRequestError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)


def _server_error(status: int, code: str, message: str = "msg") -> oss2.exceptions.OssError:
    details = {"Code": code, "Message": message} if code else {}
    # StringToSign is what oss2 keeps for SignatureDoesNotMatch; it must never reach our message.
    details["StringToSign"] = "x-oss-security-token:SECRET-TOKEN"
    return oss2.exceptions.ServerError(status, {"x-oss-request-id": "R1"}, b"<Error/>", details)


@pytest.mark.parametrize("status, code, cls, retryable", [
    (409, "FileAlreadyExists", CloudConflictError, False),
    (412, "PreconditionFailed", CloudConflictError, False),
    (404, "NoSuchKey", ResourceNotFoundError, False),
    (404, "NoSuchBucket", ResourceNotFoundError, False),
    (404, "", ResourceNotFoundError, False),
    (403, "AccessDenied", CloudAuthError, False),
    (403, "SignatureDoesNotMatch", CloudAuthError, False),
    (503, "ServiceUnavailable", ServiceUnavailableError, True),
    (500, "InternalError", ServiceUnavailableError, True),
    (503, "SlowDown", ThrottledError, True),
    (503, "QpsLimitExceeded", ThrottledError, True),
    (400, "InvalidArgument", InvalidCloudRequestError, False),
])
def test_translate_oss_by_status_and_code(status, code, cls, retryable):
    err = translate_oss(_server_error(status, code))
    assert type(err) is cls and err.retryable is retryable
    assert err.status == status and err.request_id == "R1"
    assert err.code == (code or "NotFound")
    assert "SECRET-TOKEN" not in str(err) and "StringToSign" not in str(err)


def test_transport_error_is_retryable_and_names_no_url():
    cause = ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /b/k?x=1")
    err = translate_oss(oss2.exceptions.RequestError(cause))
    assert isinstance(err, ServiceUnavailableError) and err.retryable and err.code == "TransportError"
    assert "127.0.0.1" not in str(err) and "/b/k" not in str(err)


def test_crc_mismatch_is_retryable():
    err = translate_oss(oss2.exceptions.InconsistentError("crc mismatch", "R2"))
    assert isinstance(err, ServiceUnavailableError) and err.retryable and err.code == "InconsistentError"


def test_client_side_refusal_is_not_retried():
    err = translate_oss(oss2.exceptions.ClientError("bad bucket name"))
    assert isinstance(err, InvalidCloudRequestError) and not err.retryable and err.code == "ClientError"


def test_endpoint_per_region_or_emulator():
    assert oss_endpoint("cn-beijing", None) == "https://oss-cn-beijing.aliyuncs.com"
    assert oss_endpoint("cn-beijing", "http://127.0.0.1:9000") == "http://127.0.0.1:9000"
    assert oss_endpoint("cn-beijing", "127.0.0.1:9000") == "http://127.0.0.1:9000"
