"""OSS wire ↔ python: one method per object/bucket operation, XML bodies and OSS headers.

Listing follows alibaba-api.md §7.5: empty query values count as absent; with ``encoding-type=url`` the
``Key``, ``Prefix``, ``Marker``/``NextMarker``, ``StartAfter``, ``Delimiter`` and continuation tokens are
URL-encoded (``/`` as ``%2F``).

UNCONFIRMED choices:

* ``max-keys`` defaults to 100 and must be 1–1000 (else 400 ``InvalidArgument``);
* the v2 continuation token is the URL-safe base64 of the last key or common prefix of the page;
* ``Owner`` is listed in v1 always and in v2 only with ``fetch-owner=true`` (ID and DisplayName = account);
* HEAD and ``?objectMeta`` answer the same headers; GetObject ignores conditional headers; ``Range`` and
  ``x-oss-hash-crc64ecma`` follow :mod:`emulator.oss.ranges` (an object with a declared size carries no CRC:
  its stored bytes are a placeholder, and its ranges are cut from the placeholder);
* ``x-oss-forbid-overwrite`` is compared case-insensitively with ``true``/``false``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from emulator.core.dispatch import HttpResponse
from emulator.oss import exceptions as exc
from emulator.oss.models import Listing, OssBackend, OssObject
from emulator.oss.ranges import UnsatisfiableRange, byte_range

XML = "application/xml"
DEFAULT_MAX_KEYS = 100
MAX_MAX_KEYS = 1000
EMULATED_SIZE = "x-oss-meta-emulated-size"


@dataclass
class OssRequest:
    """A parsed path-style OSS request."""

    method: str
    bucket: str
    key: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def param(self, name: str) -> str | None:
        """A query parameter; an empty value counts as absent (§7.5)."""
        value = self.query.get(name)
        return value if value else None


def xml_document(root: str, inner: str) -> bytes:
    """Wrap ``inner`` in ``<root>`` with the XML declaration."""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'.encode()


def tag(name: str, value: object) -> str:
    """One escaped element."""
    return f"<{name}>{escape(str(value))}</{name}>"


def iso_ms(epoch: float) -> str:
    """``2024-01-01T00:00:00.000Z`` as OSS listings show it."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def error_xml(error: exc.OssError, request_id: str, host_id: str) -> bytes:
    """Render ``<Error><Code/><Message/><RequestId/><HostId/>…<EC/></Error>``."""
    extra = "".join(tag(k, v) for k, v in error.extra.items())
    inner = (
        tag("Code", error.code)
        + tag("Message", error.message)
        + tag("RequestId", request_id)
        + tag("HostId", host_id)
        + extra
        + tag("EC", error.ec)
    )
    return xml_document("Error", inner)


def error_response(error: exc.OssError, request_id: str, host_id: str, head: bool) -> HttpResponse:
    """An XML error; HEAD errors carry it base64-encoded in ``x-oss-err`` and have no body."""
    body = error_xml(error, request_id, host_id)
    headers = {"x-oss-request-id": request_id, "x-oss-ec": error.ec}
    if head:
        headers["x-oss-err"] = base64.b64encode(body).decode()
        return HttpResponse(error.status, headers=headers, raw=b"", content_type=XML)
    return HttpResponse(error.status, headers=headers, raw=body, content_type=XML)


def object_headers(obj: OssObject) -> dict[str, str]:
    """The headers GET and HEAD share."""
    headers = {
        "ETag": f'"{obj.etag}"',
        "Last-Modified": formatdate(obj.last_modified, usegmt=True),
        "x-oss-object-type": obj.object_type,
        "x-oss-storage-class": "Standard",
        "Accept-Ranges": "bytes",
    }
    headers.update({f"x-oss-meta-{k}": v for k, v in obj.metadata.items()})
    if obj.declared_size is not None:
        headers[EMULATED_SIZE] = str(obj.declared_size)
    else:
        headers["x-oss-hash-crc64ecma"] = obj.crc64
    return headers


def _forbid_overwrite(headers: Mapping[str, str]) -> bool:
    """Parse ``x-oss-forbid-overwrite`` (absent = false)."""
    value = headers.get("x-oss-forbid-overwrite")
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise exc.InvalidArgumentError(
            "x-oss-forbid-overwrite", value, message="The x-oss-forbid-overwrite header must be true or false."
        )
    return value.lower() == "true"


def _max_keys(req: OssRequest) -> int:
    """``max-keys`` bounded to 1–1000."""
    raw = req.param("max-keys")
    if raw is None:
        return DEFAULT_MAX_KEYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_MAX_KEYS:
        raise exc.InvalidArgumentError("max-keys", raw, message="max-keys must be between 1 and 1000.", ec="")
    return int(raw)


class OssResponses:
    """One method per operation: ``OssRequest`` in, ``HttpResponse`` out (request id added by the service)."""

    def __init__(self, backend: OssBackend) -> None:
        self.backend = backend

    def put_object(self, req: OssRequest) -> HttpResponse:
        """PutObject with ``x-oss-forbid-overwrite`` and ``x-oss-meta-*``."""
        forbid = _forbid_overwrite(req.headers)
        metadata = {k[len("x-oss-meta-") :]: v for k, v in req.headers.items() if k.startswith("x-oss-meta-")}
        obj = self.backend.put_object(
            req.bucket,
            req.key,
            req.body,
            forbid_overwrite=forbid,
            content_type=req.headers.get("content-type") or "application/octet-stream",
            metadata=metadata,
        )
        headers = {"ETag": f'"{obj.etag}"', "x-oss-hash-crc64ecma": obj.crc64}
        return HttpResponse(200, headers=headers, raw=b"", content_type=XML)

    def get_object(self, req: OssRequest) -> HttpResponse:
        """GetObject: the stored body (a placeholder for declared-size objects), or one byte range of it."""
        obj = self.backend.get(req.bucket, req.key)
        headers = object_headers(obj)
        standard = (req.headers.get("x-oss-range-behavior") or "").strip().lower() == "standard"
        try:
            cut = byte_range(req.headers.get("range"), len(obj.body), standard)
        except UnsatisfiableRange:
            raise exc.InvalidRangeError(len(obj.body)) from None
        if cut is None:
            return HttpResponse(200, headers=headers, raw=obj.body, content_type=obj.content_type)
        first, last = cut
        headers["Content-Range"] = f"bytes {first}-{last}/{len(obj.body)}"
        return HttpResponse(206, headers=headers, raw=obj.body[first : last + 1], content_type=obj.content_type)

    def head_object(self, req: OssRequest) -> HttpResponse:
        """HeadObject and GetObjectMeta (``?objectMeta``): Content-Length is the (declared) size."""
        obj = self.backend.get(req.bucket, req.key)
        headers = object_headers(obj)
        headers["Content-Length"] = str(obj.size)
        return HttpResponse(200, headers=headers, raw=b"", content_type=obj.content_type)

    def delete_object(self, req: OssRequest) -> HttpResponse:
        """DeleteObject: 204 even when the key is missing."""
        self.backend.delete(req.bucket, req.key)
        return HttpResponse(204, raw=b"", content_type=XML)

    def get_bucket_location(self, req: OssRequest) -> HttpResponse:
        """GetBucketLocation (``GET /<bucket>?location``): ``<LocationConstraint>oss-<region></LocationConstraint>``
        (https://www.alibabacloud.com/help/en/oss/developer-reference/getbucketlocation); a missing bucket is
        404 NoSuchBucket."""
        region = self.backend.bucket_region(req.bucket)
        if region is None:
            raise exc.NoSuchBucketError(req.bucket)
        return HttpResponse(200, raw=xml_document("LocationConstraint", escape(f"oss-{region}")), content_type=XML)

    def list_objects(self, req: OssRequest) -> HttpResponse:
        """ListObjects (v1): prefix, delimiter, marker, max-keys, encoding-type."""
        prefix, delimiter = req.param("prefix") or "", req.param("delimiter") or ""
        marker, max_keys = req.param("marker") or "", _max_keys(req)
        url = req.param("encoding-type") == "url"
        page = self.backend.list_objects(req.bucket, prefix, delimiter, marker, max_keys)
        enc = _encoder(url)
        inner = (
            tag("Name", req.bucket)
            + tag("Prefix", enc(prefix))
            + tag("Marker", enc(marker))
            + tag("MaxKeys", max_keys)
            + tag("Delimiter", enc(delimiter))
            + (tag("EncodingType", "url") if url else "")
            + tag("IsTruncated", str(page.truncated).lower())
            + (tag("NextMarker", enc(page.next_marker)) if page.truncated else "")
            + self._rows(page, enc, owner=True)
        )
        return HttpResponse(200, raw=xml_document("ListBucketResult", inner), content_type=XML)

    def list_objects_v2(self, req: OssRequest) -> HttpResponse:
        """ListObjectsV2: prefix, delimiter, continuation-token, start-after, max-keys, encoding-type."""
        prefix, delimiter = req.param("prefix") or "", req.param("delimiter") or ""
        token, start_after = req.param("continuation-token"), req.param("start-after") or ""
        max_keys = _max_keys(req)
        url = req.param("encoding-type") == "url"
        after = max(start_after, _decode_token(token)) if token else start_after
        page = self.backend.list_objects(req.bucket, prefix, delimiter, after, max_keys)
        enc = _encoder(url)
        next_token = base64.urlsafe_b64encode(page.next_marker.encode()).decode() if page.truncated else ""
        inner = (
            tag("Name", req.bucket)
            + tag("Prefix", enc(prefix))
            + tag("MaxKeys", max_keys)
            + tag("Delimiter", enc(delimiter))
            + (tag("StartAfter", enc(start_after)) if start_after else "")
            + (tag("ContinuationToken", enc(token)) if token else "")
            + (tag("EncodingType", "url") if url else "")
            + tag("IsTruncated", str(page.truncated).lower())
            + (tag("NextContinuationToken", enc(next_token)) if page.truncated else "")
            + tag("KeyCount", len(page.objects) + len(page.prefixes))
            + self._rows(page, enc, owner=req.param("fetch-owner") == "true")
        )
        return HttpResponse(200, raw=xml_document("ListBucketResult", inner), content_type=XML)

    def _rows(self, page: Listing, enc: Any, owner: bool) -> str:
        """``<Contents>`` rows then ``<CommonPrefixes>``."""
        account = self.backend.state.account_id
        owner_xml = f"<Owner>{tag('ID', account)}{tag('DisplayName', account)}</Owner>" if owner else ""
        rows = "".join(
            "<Contents>"
            + tag("Key", enc(o.key))
            + tag("LastModified", iso_ms(o.last_modified))
            + tag("ETag", f'"{o.etag}"')
            + tag("Type", "Normal")
            + tag("Size", o.size)
            + tag("StorageClass", "Standard")
            + owner_xml
            + "</Contents>"
            for o in page.objects
        )
        return rows + "".join(f"<CommonPrefixes>{tag('Prefix', enc(p))}</CommonPrefixes>" for p in page.prefixes)


def _encoder(url: bool) -> Any:
    """Return the value encoder of a listing: URL-encoding (``/`` included) or identity."""
    if url:
        return lambda s: quote(s, safe="")
    return lambda s: s


def _decode_token(token: str) -> str:
    """Decode a continuation token of :meth:`OssResponses.list_objects_v2`."""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise exc.InvalidArgumentError(
            "continuation-token", token, message="The continuation-token is not valid.", ec=""
        ) from None
