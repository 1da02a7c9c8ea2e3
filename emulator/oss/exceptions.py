"""OSS wire errors: XML ``<Error>`` bodies with an ``EC`` (error center) code.

Statuses and codes follow alibaba-api.md §7.5 / §8. UNCONFIRMED choices:

* ``EC`` values other than ``0026-00000201`` (FileAlreadyExists) and ``0017-00000279`` (bad
  ``x-oss-forbid-overwrite``) are plausible look-alikes, not verified against real OSS.
* an unsigned request → 403 ``AccessDenied`` (anonymous access is not emulated);
* an unknown AccessKey → 403 ``InvalidAccessKeyId``; a bad signature → 403 ``SignatureDoesNotMatch``;
* a method/sub-resource the emulator does not implement (bucket creation, ListBuckets, multipart, …) →
  501 ``NotImplemented``;
* ``max-keys`` outside 1–1000 or a malformed ``continuation-token`` → 400 ``InvalidArgument``;
* the EC values of ``InvalidRange``, ``NoSuchUpload``, ``InvalidPart``, ``InvalidPartOrder`` and
  ``MalformedXML`` (look-alikes), and ``ActualObjectSize`` in the ``InvalidRange`` body.
"""

from __future__ import annotations

from emulator.core.errors import EmulatorError


class OssError(EmulatorError):
    """An OSS error: code, status, message, EC and extra XML fields (``Key``, ``BucketName``)."""

    ec: str = ""

    def __init__(
        self,
        code: str | None = None,
        status: int | None = None,
        message: str | None = None,
        ec: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, status, message)
        self.ec = ec if ec is not None else type(self).ec
        self.extra = dict(extra or {})


class NoSuchBucketError(OssError):
    """The bucket does not exist (404)."""

    code = "NoSuchBucket"
    status = 404
    message = "The specified bucket does not exist."
    ec = "0015-00000101"

    def __init__(self, bucket: str) -> None:
        super().__init__(extra={"BucketName": bucket})


class NoSuchKeyError(OssError):
    """The object does not exist (404)."""

    code = "NoSuchKey"
    status = 404
    message = "The specified key does not exist."
    ec = "0026-00000001"

    def __init__(self, key: str) -> None:
        super().__init__(extra={"Key": key})


class FileAlreadyExistsError(OssError):
    """``x-oss-forbid-overwrite: true`` and the key exists (409)."""

    code = "FileAlreadyExists"
    status = 409
    message = "The object you specified already exists and can not be overwritten."
    ec = "0026-00000201"


class InvalidRangeError(OssError):
    """``x-oss-range-behavior: standard`` and a range starting past the object (416, OSS error page 416)."""

    code = "InvalidRange"
    status = 416
    message = "The requested range cannot be satisfied"
    ec = "0003-00000401"

    def __init__(self, size: int) -> None:
        super().__init__(extra={"ActualObjectSize": str(size)})


class NoSuchUploadError(OssError):
    """A multipart upload id that is unknown, completed or aborted (404)."""

    code = "NoSuchUpload"
    status = 404
    message = "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    ec = "0042-00000002"

    def __init__(self, upload_id: str) -> None:
        super().__init__(extra={"UploadId": upload_id})


class InvalidPartError(OssError):
    """CompleteMultipartUpload names a part that was not uploaded or whose ETag differs (400)."""

    code = "InvalidPart"
    status = 400
    message = "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag."
    ec = "0042-00000205"


class InvalidPartOrderError(OssError):
    """CompleteMultipartUpload lists parts out of ascending order (400)."""

    code = "InvalidPartOrder"
    status = 400
    message = "The list of parts was not in ascending order. Parts list must specified in order by part number."
    ec = "0042-00000206"


class MalformedXMLError(OssError):
    """A request body that is not the XML the operation takes (400)."""

    code = "MalformedXML"
    status = 400
    message = "The XML you provided was not well-formed or did not validate against our published schema."
    ec = "0042-00000201"


class InvalidArgumentError(OssError):
    """A header or query value OSS does not accept (400)."""

    code = "InvalidArgument"
    status = 400
    message = "The argument is invalid."
    ec = "0017-00000279"

    def __init__(self, name: str, value: str, message: str | None = None, ec: str | None = None) -> None:
        super().__init__(message=message, ec=ec, extra={"ArgumentName": name, "ArgumentValue": value})


class AccessDeniedError(OssError):
    """An unsigned request (403)."""

    code = "AccessDenied"
    status = 403
    message = "You have no right to access this object because of bucket acl."
    ec = "0003-00000001"


class InvalidAccessKeyIdError(OssError):
    """The AccessKey id is unknown (403)."""

    code = "InvalidAccessKeyId"
    status = 403
    message = "The OSS Access Key Id you provided does not exist in our records."
    ec = "0002-00000902"


class SignatureDoesNotMatchError(OssError):
    """The signature does not verify (403)."""

    code = "SignatureDoesNotMatch"
    status = 403
    message = "The request signature we calculated does not match the signature you provided."
    ec = "0002-00000040"


class NotImplementedOssError(OssError):
    """An OSS operation the emulator does not implement (501)."""

    code = "NotImplemented"
    status = 501
    message = "The emulator does not implement this OSS operation."
    ec = "0000-00000000"


class ServiceUnavailableOssError(OssError):
    """Injected throttling/unavailability or a lost response (503)."""

    code = "ServiceUnavailable"
    status = 503
    message = "Please reduce your request rate."
    ec = "0000-00000503"


class InternalOssError(OssError):
    """Injected server error (500)."""

    code = "InternalError"
    status = 500
    message = "We encountered an internal error. Please try again."
    ec = "0000-00000500"
