"""Wire errors of the emulator (moto's ``ServiceException``), kept apart from the project's own errors.

Every error the emulator answers with is an :class:`EmulatorError` carrying the Alibaba ``Code``, the HTTP
status and the ``Message``. ``dispatch`` turns it into the JSON body the SDK parses (alibaba-api.md §2.1, §7.4).

UNCONFIRMED choices recorded here (real behaviour not verified):

* ``MissingAuthorization`` 400 when a request carries neither an ACS3 ``Authorization`` header nor a v1
  ``Signature`` parameter.
* ``InvalidAction.NotFound`` 404 for an action the emulator does not implement.
* ``InvalidVersion`` 400 when ``x-acs-version``/``Version`` names no registered service.
* ``MissingParameter`` 400 for an absent required parameter (message names the parameter).
* ``InvalidParameter`` 400 for a parameter that does not parse (int, bool, JSON list).
* ``Throttling.User`` is answered with HTTP 400 and **no** ``x-acs-retry-after`` header, so tea-openapi
  0.4.6 raises ``ClientException`` rather than ``ThrottlingException`` (§7.4).
"""

from __future__ import annotations


class EmulatorError(Exception):
    """Any error answered on the wire: an Alibaba error ``code``, an HTTP ``status`` and a ``message``."""

    code: str = "InternalError"
    status: int = 500
    message: str = "The request processing has failed due to some unknown error."

    def __init__(self, code: str | None = None, status: int | None = None, message: str | None = None) -> None:
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.message = message or type(self).message
        super().__init__(f"{self.status} {self.code}: {self.message}")


class MissingParameterError(EmulatorError):
    """Raised when a required parameter is absent."""

    def __init__(self, name: str) -> None:
        super().__init__(
            "MissingParameter",
            400,
            f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
        )


class InvalidParameterError(EmulatorError):
    """Raised when a parameter value cannot be parsed or is out of range."""

    def __init__(self, name: str, detail: str = "is not valid", code: str = "InvalidParameter") -> None:
        super().__init__(code, 400, f'The specified parameter "{name}" {detail}.')


class PagingParameterError(EmulatorError):
    """PageSize / PageNumber / MaxResults out of range (UNCONFIRMED codes ``InvalidParameter.<Name>``)."""

    status = 400

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"InvalidParameter.{name}", 400, f"The specified parameter {name} {detail}.")


class InvalidRegionIdError(EmulatorError):
    """Raised when ``RegionId`` names a region that is not enabled."""

    code = "InvalidRegionId.NotFound"
    status = 400
    message = "The specified RegionId does not exist."


class MissingAuthorizationError(EmulatorError):
    """Raised when a request is not signed at all (UNCONFIRMED code and status)."""

    code = "MissingAuthorization"
    status = 400
    message = "The request is not signed: no Authorization header and no Signature parameter."


class InvalidAccessKeyIdError(EmulatorError):
    """Raised when the AccessKey id is unknown (404, as real ECS answers)."""

    code = "InvalidAccessKeyId.NotFound"
    status = 404
    message = "Specified access key is not found."


class SignatureDoesNotMatchError(EmulatorError):
    """Raised when the signature does not verify against the AccessKey secret."""

    code = "SignatureDoesNotMatch"
    status = 400
    message = "Specified signature is not matched with our calculation."

    def __init__(self, string_to_sign: str | None = None) -> None:
        """Append the server's string-to-sign as the service does (``… server string to sign is:<sts>``)."""
        message = type(self).message
        if string_to_sign is not None:
            message += f" server string to sign is:{string_to_sign}"
        super().__init__(message=message)


class InvalidActionError(EmulatorError):
    """Raised for an action the emulated service does not implement (UNCONFIRMED status)."""

    code = "InvalidAction.NotFound"
    status = 404
    message = "Specified api is not found, please check your url and method."


class InvalidVersionError(EmulatorError):
    """Raised when the API version names no registered service (UNCONFIRMED)."""

    code = "InvalidVersion"
    status = 400
    message = "Specified parameter Version is not valid."


class ThrottlingUserError(EmulatorError):
    """Injected by the fault plan: user flow control (HTTP 400, no retry-after header)."""

    code = "Throttling.User"
    status = 400
    message = "Request was denied due to user flow control."


class ServiceUnavailableError(EmulatorError):
    """Injected by the fault plan, or a modelled lost response (503)."""

    code = "ServiceUnavailable"
    status = 503
    message = "The request has failed due to a temporary failure of the server."


class InternalServerError(EmulatorError):
    """Injected by the fault plan (500)."""

    code = "InternalError"
    status = 500
    message = "The request processing has failed due to some unknown error, exception or failure."


class DryRunOperationError(EmulatorError):
    """Raised when ``DryRun=true`` passed every check (400, UNCONFIRMED status; SDK raises ClientException)."""

    code = "DryRunOperation"
    status = 400
    message = "Request validation has been passed with DryRun flag set."


class SeedError(ValueError):
    """A seed that validated structurally but contradicts the state (e.g. an image in a disabled region).

    ``loc`` names the offending field the way pydantic does (``images.0.region``); the control plane answers
    400 with it.
    """

    def __init__(self, loc: str, msg: str) -> None:
        self.loc = loc
        self.msg = msg
        super().__init__(f"{loc}: {msg}")
