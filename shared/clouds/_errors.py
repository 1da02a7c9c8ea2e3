"""Translate SDK exceptions into the project's error hierarchy, once, here.

tea-openapi raises `ClientException` (4xx), `ServerException` (5xx), `ThrottlingException` (a
`x-acs-retry-after` header) with `.code`, `.status_code` and `.request_id`; a transport failure is an
`UnretryableException` (alibaba-api.md §7.4). Messages are rebuilt from code and message only: the
SDK's own `str()` embeds the response, and a transport error can embed a URL, so neither is passed on.
"""
from __future__ import annotations

import re
from typing import Any

from shared.errors import (
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
    }
)
_AUTH_PREFIXES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "NoPermission", "InvalidSecurityToken")
_RETRYABLE_5XX = frozenset({"InternalError", "ServiceUnavailable", "UnknownError"})
_URL = re.compile(r"https?://\S+")


def classify(code: str, status: int | None, message: str, request_id: str | None) -> CloudError:
    """Pick the project error class for a wire error code and HTTP status."""
    kwargs: dict[str, Any] = {"code": code, "status": status, "request_id": request_id}
    text = f"{code}: {message}" if message else code
    if code.startswith("Throttling"):
        return ThrottledError(text, retryable=True, **kwargs)
    if code in _RETRYABLE_5XX or (status is not None and status >= 500):
        return ServiceUnavailableError(text, retryable=True, **kwargs)
    if code.endswith("NotFound") and not code.startswith(_AUTH_PREFIXES):
        return ResourceNotFoundError(text, **kwargs)
    if code.startswith(_AUTH_PREFIXES):
        return CloudAuthError(text, **kwargs)
    if code.startswith("QuotaExceed"):
        return QuotaExceededError(text, **kwargs)
    if code in _CONFLICT_CODES:
        return CloudConflictError(text, **kwargs)
    return InvalidCloudRequestError(text, **kwargs)


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
        return classify(code, int(status) if status else None, message, getattr(exc, "request_id", None))
    kind = type(exc).__name__
    return ServiceUnavailableError(
        f"transport error ({kind}): the endpoint did not answer", code="TransportError", retryable=True
    )
