"""The single error hierarchy of image-relay.

Why one tree: handlers catch ``ImageRelayError`` at the edge and turn it into a result a
person can act on (``to_dict()``), while retry loops look only at ``retryable``. SDK errors
are translated into ``CloudError`` subclasses in ``shared/clouds/_errors.py`` and nowhere
else, so no other module ever sees an ``alibabacloud_*`` exception.

Invariant 5 of the design (no secret in an error) is the caller's job: never put a credential
into a message. ``shared/logs.py`` redacts as a second guard.
"""

from __future__ import annotations

from typing import Any


class ImageRelayError(Exception):
    """Root of every error image-relay raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description for handler results and log lines.

        Examples
        --------
        >>> ConfigError("must be a list", field="copy_rules").to_dict()["field"]
        'copy_rules'
        """
        out: dict[str, Any] = {
            "error": type(self).__name__,
            "message": self.message,
            "retryable": self.retryable,
        }
        return out

    def log_fields(self) -> dict[str, Any]:
        """``to_dict()`` safe for ``logging``'s ``extra=`` (which refuses the key ``message``)."""
        out = self.to_dict()
        out["error_message"] = out.pop("message", "")
        return out


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """The dotted path a field error names: ``("copy_rules", 0, "match")`` → ``copy_rules[0].match``.

    Examples
    --------
    >>> field_path(("data", "referencedResources", "ACS::ECS::Image", 0))
    'data.referencedResources.ACS::ECS::Image[0]'
    """
    path = prefix
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else (f"{path}.{part}" if path else str(part))
    return path


class _FieldError(ImageRelayError):
    """Base for errors about one input field; ``str(err)`` starts with the field path."""

    def __init__(self, message: str, field: str | None = None, *, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        # where in a file (a policy's YAML): 1-based, None when not from a file
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        return f"{self.field}: {self.message}{where}" if self.field else f"{self.message}{where}"

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["field"] = self.field
        if self.line is not None:
            out.update(line=self.line, column=self.column)
        return out


class ConfigError(_FieldError):
    """Settings or policy are invalid; ``field`` names the env var or dotted policy path."""


class EventValidationError(_FieldError):
    """A trigger payload is malformed or not one we handle; ``field`` names the bad key."""


class LedgerError(ImageRelayError):
    """Base for ledger failures."""


class LedgerConflictError(LedgerError):
    """A compare-and-set or create-if-absent lost the race; re-read and decide again."""


class LedgerTransitionError(LedgerError):
    """A state change the ledger's state machine forbids (e.g. DONE to STARTED); a bug, not a race."""


class LedgerStoreError(LedgerError):
    """The ledger store's I/O failed; retrying may help."""

    retryable = True


class CloudError(ImageRelayError):
    """A cloud API call failed; carries the wire ``code``, HTTP ``status`` and ``request_id``."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.request_id = request_id
        # Subclasses set a class-level default (ThrottledError is retryable); an explicit
        # argument wins so the adapter can override for odd codes.
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        # Adapters may already have put the code in front of the message; do not repeat it.
        if self.message.startswith(self.code):
            return self.message
        return f"{self.code}: {self.message}" if self.message else self.code

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update(code=self.code, status=self.status, request_id=self.request_id)
        return out


class ResourceNotFoundError(CloudError):
    """The named cloud resource does not exist (``…NotFound``)."""


class CloudConflictError(CloudError):
    """The call conflicts with existing state (IdempotentParameterMismatch, name duplicated…)."""


class BuildInProgressError(CloudConflictError):
    """The image template already runs a build task (one per template); start again once it ended."""


class ThrottledError(CloudError):
    """The API throttled us; back off and retry."""

    retryable = True


class ServiceUnavailableError(CloudError):
    """The service answered 5xx or not at all; retry with the same ClientToken."""

    retryable = True


class CloudAuthError(CloudError):
    """Credentials are invalid or the RAM policy denies the call."""


class QuotaExceededError(CloudError):
    """A quota is exhausted (QuotaExceed.Image, …); a person must raise it or clean up."""


class InvalidCloudRequestError(CloudError):
    """The cloud rejected the request's parameters; retrying unchanged cannot help."""


class DeadlineExceededError(ImageRelayError):
    """The invocation is about to hit its FC timeout; stop and leave the rest to the next tick."""


class PlanLimitExceededError(ImageRelayError):
    """A plan would act on more resources than its blast-radius limit allows."""


class DuplicateInvocationError(ImageRelayError):
    """A fan-out invocation id was submitted twice (FC answers 409 StatefulAsyncInvocationAlreadyExists)."""


__all__ = [
    "BuildInProgressError",
    "CloudAuthError",
    "CloudConflictError",
    "CloudError",
    "ConfigError",
    "DeadlineExceededError",
    "DuplicateInvocationError",
    "EventValidationError",
    "ImageRelayError",
    "InvalidCloudRequestError",
    "LedgerConflictError",
    "LedgerError",
    "LedgerStoreError",
    "LedgerTransitionError",
    "PlanLimitExceededError",
    "QuotaExceededError",
    "ResourceNotFoundError",
    "ServiceUnavailableError",
    "ThrottledError",
]
