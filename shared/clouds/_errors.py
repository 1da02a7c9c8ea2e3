"""Translate SDK exceptions into the project's error hierarchy, once, here.

tea-openapi raises `ClientException` (4xx), `ServerException` (5xx), `ThrottlingException` (a
`x-acs-retry-after` header) with `.code`, `.status_code` and `.request_id`; a transport failure is an
`UnretryableException` (alibaba-api.md §7.4). Messages are rebuilt from code and message only: the
SDK's own `str()` embeds the response, and a transport error can embed a URL, so neither is passed on.

oss2 raises `OssError` subclasses with `.status`, `.code`, `.message`, `.request_id` (§7.5); a negative
status is client-side (-2 `RequestError`: transport; -3 `InconsistentError`: CRC mismatch). Its
`details` can hold the StringToSign (which carries the STS token on v1), so only code and message
are read, never `str(exc)`, `details` or `headers`.
"""
from __future__ import annotations

import re
from typing import Any

from shared.errors import (
    BuildInProgressError,
    CloudAuthError,
    CloudConflictError,
    CloudError,
    InvalidCloudRequestError,
    QuotaExceededError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)

_CONFLICT_CODES = frozenset(
    {
        "IdempotentParameterMismatch",
        "InvalidImageName.Duplicated",
        "OperationDenied.ImageCopying",
        "ImageUsingByInstance",
        "ImageUseShared",
        "ImageIsExporting",
        "ImageIsImporting",
        "IncorrectImageStatus",
        "InvalidStatus.ImagePipelineExecution",  # cancel of a build past BUILDING
        "InvalidStatus.CancelFailed",  # cancel of a build already ended
    }
)
# Codes that deserve their own class: callers act on them (a busy template defers its slot).
_SPECIFIC: dict[str, type[CloudError]] = {"InvalidImagePipeline.HasRunningExecution": BuildInProgressError}
_AUTH_PREFIXES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "NoPermission", "InvalidSecurityToken",
                  "MissingSecurityToken")
_RETRYABLE_5XX = frozenset({"InternalError", "ServiceUnavailable", "UnknownError"})
# Missing resources whose codes look otherwise: KMS's `Forbidden.KeyNotFound` (a missing key, not a denied
# call) and RAM's `EntityNotExist.Role` / `.Policy`.
_NOT_FOUND_CODES = frozenset({"Forbidden.KeyNotFound", "Forbidden.AliasNotFound"})
_NOT_FOUND_PREFIXES = ("EntityNotExist",)
_URL = re.compile(r"https?://\S+")

# OSS answers throttling with 503 and these codes; they are back-off signals, not outages.
_OSS_THROTTLING = frozenset(
    {"SlowDown", "QpsLimitExceeded", "RequestRateLimitExceeded", "DownloadTrafficRateLimitExceeded",
     "UploadTrafficRateLimitExceeded", "TooManyRequests"}
)
_OSS_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound"})
_OSS_CONFLICT = frozenset({"FileAlreadyExists", "PreconditionFailed", "ObjectNotAppendable", "Conflict"})
_OSS_AUTH = frozenset(
    {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidSecurityToken",
     "SecurityTokenExpired", "RequestTimeTooSkewed"}
)


def classify(code: str, status: int | None, message: str, request_id: str | None) -> CloudError:
    """Pick the project error class for a wire error code and HTTP status."""
    kwargs: dict[str, Any] = {"code": code, "status": status, "request_id": request_id}
    text = f"{code}: {message}" if message else code
    if code.startswith("Throttling"):
        return ThrottledError(text, retryable=True, **kwargs)
    if code in _SPECIFIC:
        return _SPECIFIC[code](text, **kwargs)
    if code in _RETRYABLE_5XX or (status is not None and status >= 500):
        return ServiceUnavailableError(text, retryable=True, **kwargs)
    if code in _NOT_FOUND_CODES or code.startswith(_NOT_FOUND_PREFIXES):
        return ResourceNotFoundError(text, **kwargs)
    if code.endswith("NotFound") and not code.startswith(_AUTH_PREFIXES):
        return ResourceNotFoundError(text, **kwargs)
    if code.startswith(_AUTH_PREFIXES):
        return CloudAuthError(text, **kwargs)
    if code.startswith("QuotaExceed"):
        return QuotaExceededError(text, **kwargs)
    if code in _CONFLICT_CODES:
        return CloudConflictError(text, **kwargs)
    return InvalidCloudRequestError(text, **kwargs)


def business_error(code: str, message: str, request_id: str | None) -> CloudError:
    """An HTTP 200 answer with `IsSuccess: false` (Container Registry, alibaba-api.md §3).

    CR's business codes are UPPER_SNAKE (`REPO_NOT_EXIST`); a `…NOT_EXIST` code is a missing
    resource, anything else an invalid request. Neither is retryable.
    """
    if code.upper().endswith(("NOT_EXIST", "NOT_FOUND")):
        return ResourceNotFoundError(f"{code}: {message}" if message else code, code=code, status=200,
                                     request_id=request_id)
    return classify(code, 200, message, request_id)


def translate(exc: BaseException) -> CloudError:
    """Map any exception raised by an SDK call to a `CloudError` (callers `raise … from exc`)."""
    if isinstance(exc, CloudError):
        return exc
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
        message = _URL.sub("<url>", str(getattr(exc, "message", "") or ""))
        # tea prefixes the message with "code: <status>, " and appends " request id: …"; keep the human part.
        message = re.sub(r"^code: \d+, ", "", message)
        message = re.sub(r" request id: \S+$", "", message)
        # SignatureDoesNotMatch ends with the server's string-to-sign, which on v1 carries an STS token.
        message = message.split(" server string to sign is:", 1)[0]
        return classify(code, int(status) if status else None, message, getattr(exc, "request_id", None))
    kind = type(exc).__name__
    return ServiceUnavailableError(
        f"transport error ({kind}): the endpoint did not answer", code="TransportError", retryable=True
    )


def translate_oss(exc: BaseException) -> CloudError:
    """Map an ``oss2`` exception to a `CloudError` by ``.status`` and ``.code`` (callers `raise … from exc`).

    Examples
    --------
    >>> class E(Exception): status, code, message, request_id = 409, "FileAlreadyExists", "exists", "R1"
    >>> type(translate_oss(E())).__name__
    'CloudConflictError'
    """
    if isinstance(exc, CloudError):
        return exc
    status = getattr(exc, "status", None)
    if not isinstance(status, int):
        return translate(exc)  # not an oss2 error at all (a bug in our code path, or a raw socket error)
    if status < 0:
        return _oss_client_side(exc, status)
    code = str(getattr(exc, "code", "") or "") or _code_for_status(status)
    message = _URL.sub("<url>", str(getattr(exc, "message", "") or ""))
    text = f"{code}: {message}" if message else code
    kwargs: dict[str, Any] = {"code": code, "status": status, "request_id": getattr(exc, "request_id", None) or None}
    if code in _OSS_THROTTLING or code.startswith("Throttling") or status == 429:
        return ThrottledError(text, retryable=True, **kwargs)
    if status >= 500:
        return ServiceUnavailableError(text, retryable=True, **kwargs)
    if code in _OSS_NOT_FOUND or status == 404:
        return ResourceNotFoundError(text, **kwargs)
    if code in _OSS_CONFLICT or status in (409, 412):
        return CloudConflictError(text, **kwargs)
    if code in _OSS_AUTH or status == 403:
        return CloudAuthError(text, **kwargs)
    return InvalidCloudRequestError(text, **kwargs)


def _code_for_status(status: int) -> str:
    # HEAD answers carry no body; oss2 leaves the code empty when x-oss-err is absent too.
    return {404: "NotFound", 409: "Conflict", 403: "AccessDenied"}.get(status, f"HTTP{status}")


def _oss_client_side(exc: BaseException, status: int) -> CloudError:
    kind = type(exc).__name__
    if status == -2:  # RequestError wraps a requests exception whose text names the URL: never copied
        return ServiceUnavailableError(
            f"transport error ({kind}): the endpoint did not answer", code="TransportError", retryable=True
        )
    if status == -3:  # the body's CRC64 did not match: a corrupted transfer, worth another try
        return ServiceUnavailableError(
            "response failed its CRC64 check", code="InconsistentError", retryable=True
        )
    return InvalidCloudRequestError(f"oss2 refused the request before sending ({kind})", code="ClientError")
