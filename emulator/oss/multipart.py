"""OSS multipart upload: InitiateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
ListParts (OSS API reference, "Multipart upload"; the SDKs' uploaders — alibabacloud-oss-v2 ``Uploader``,
ali-oss ``multipartUpload``, oss2 ``resumable_upload`` — use them for large files).

Wire shapes:

* ``POST /<b>/<k>?uploads`` → ``<InitiateMultipartUploadResult><Bucket/><Key/><UploadId/>``;
* ``PUT /<b>/<k>?partNumber=N&uploadId=U`` (N 1–10000) → 200, ``ETag`` and ``x-oss-hash-crc64ecma`` of the
  part;
* ``POST /<b>/<k>?uploadId=U`` with ``<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…`` (or the
  header ``x-oss-complete-all: yes`` and no body) → ``<CompleteMultipartUploadResult><Location/><Bucket/>
  <Key/><ETag/>`` and the whole object's ``x-oss-hash-crc64ecma``; the object's type is ``Multipart``;
* ``DELETE /<b>/<k>?uploadId=U`` → 204; ``GET /<b>/<k>?uploadId=U`` (ListParts) →
  ``<ListPartsResult>`` with every part (no paging: ``IsTruncated`` false).

UNCONFIRMED choices: no minimum part size is enforced (real OSS wants ≥100 KiB for all but the last part);
``x-oss-forbid-overwrite`` is honoured at initiate and complete; parts of an upload whose bucket is gone
answer ``NoSuchBucket``; the object ETag is ``MD5(concat(part MD5s))-<count>`` upper-case; an unknown or
finished upload id is 404 ``NoSuchUpload``; ``encoding-type=url`` URL-encodes ``Key`` in the XML answers.
"""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import quote

from emulator.core.dispatch import HttpResponse
from emulator.oss import exceptions as exc
from emulator.oss.models import OssBackend
from emulator.oss.ranges import crc64ecma
from emulator.oss.responses import XML, OssRequest, _forbid_overwrite, tag, xml_document

MAX_PART = 10000


@dataclass
class Upload:
    """A multipart upload in progress."""

    bucket: str
    key: str
    content_type: str
    metadata: dict[str, str]
    forbid_overwrite: bool
    parts: dict[int, bytes] = field(default_factory=dict)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()  # noqa: S324 - OSS ETag, not security


def _key(req: OssRequest) -> str:
    return quote(req.key, safe="") if req.param("encoding-type") == "url" else req.key


def _upload(backend: OssBackend, req: OssRequest) -> Upload:
    upload_id = req.query.get("uploadId", "")
    found = backend.uploads.get(upload_id)
    if not isinstance(found, Upload) or (found.bucket, found.key) != (req.bucket, req.key):
        raise exc.NoSuchUploadError(upload_id)
    return found


def initiate(backend: OssBackend, req: OssRequest) -> HttpResponse:
    """InitiateMultipartUpload."""
    forbid = _forbid_overwrite(req.headers)
    if forbid and backend.exists(req.bucket, req.key):
        raise exc.FileAlreadyExistsError()
    backend._bucket_objects(req.bucket)  # NoSuchBucket
    upload_id = uuid.uuid4().hex.upper()
    backend.uploads[upload_id] = Upload(
        req.bucket, req.key, req.headers.get("content-type") or "application/octet-stream",
        {k[len("x-oss-meta-") :]: v for k, v in req.headers.items() if k.startswith("x-oss-meta-")}, forbid,
    )
    inner = tag("Bucket", req.bucket) + tag("Key", _key(req)) + tag("UploadId", upload_id)
    if req.param("encoding-type") == "url":
        inner += tag("EncodingType", "url")
    return HttpResponse(200, raw=xml_document("InitiateMultipartUploadResult", inner), content_type=XML)


def upload_part(backend: OssBackend, req: OssRequest) -> HttpResponse:
    """UploadPart: store (or replace) part N."""
    upload = _upload(backend, req)
    raw = req.query.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PART:
        raise exc.InvalidArgumentError("partNumber", raw, message="Part number must be an integer between 1 and 10000.", ec="")
    upload.parts[int(raw)] = bytes(req.body)
    headers = {"ETag": f'"{_md5(req.body)}"', "x-oss-hash-crc64ecma": crc64ecma(req.body)}
    return HttpResponse(200, headers=headers, raw=b"", content_type=XML)


def _listed_parts(req: OssRequest, upload: Upload) -> list[int]:
    """Part numbers named by the Complete body (or every part with ``x-oss-complete-all: yes``)."""
    if (req.headers.get("x-oss-complete-all") or "").lower() == "yes":
        return sorted(upload.parts)
    try:
        root = ET.fromstring(req.body or b"")
    except ET.ParseError:
        raise exc.MalformedXMLError() from None
    numbers: list[int] = []
    for part in root.findall("Part"):
        number_text, etag = part.findtext("PartNumber") or "", (part.findtext("ETag") or "").strip('"').upper()
        if not number_text.strip().isdigit():
            raise exc.MalformedXMLError()
        number = int(number_text)
        if number not in upload.parts or _md5(upload.parts[number]) != etag:
            raise exc.InvalidPartError()
        if numbers and number <= numbers[-1]:
            raise exc.InvalidPartOrderError()
        numbers.append(number)
    if not numbers:
        raise exc.MalformedXMLError()
    return numbers


def complete(backend: OssBackend, req: OssRequest) -> HttpResponse:
    """CompleteMultipartUpload: the named parts, in order, become the object."""
    upload = _upload(backend, req)
    numbers = _listed_parts(req, upload)
    body = b"".join(upload.parts[n] for n in numbers)
    digest = hashlib.md5(b"".join(bytes.fromhex(_md5(upload.parts[n])) for n in numbers))  # noqa: S324
    etag = f"{digest.hexdigest().upper()}-{len(numbers)}"
    forbid = upload.forbid_overwrite or _forbid_overwrite(req.headers)
    obj = backend.put_object(req.bucket, req.key, body, forbid_overwrite=forbid, content_type=upload.content_type,
                             metadata=upload.metadata, etag=etag, object_type="Multipart")
    del backend.uploads[req.query["uploadId"]]
    host = req.headers.get("host", "oss.aliyuncs.com")
    inner = (tag("Location", f"http://{host}/{req.bucket}/{quote(req.key)}") + tag("Bucket", req.bucket)
             + tag("Key", _key(req)) + tag("ETag", f'"{etag}"'))
    if req.param("encoding-type") == "url":
        inner = tag("EncodingType", "url") + inner
    return HttpResponse(200, headers={"ETag": f'"{etag}"', "x-oss-hash-crc64ecma": obj.crc64},
                        raw=xml_document("CompleteMultipartUploadResult", inner), content_type=XML)


def abort(backend: OssBackend, req: OssRequest) -> HttpResponse:
    """AbortMultipartUpload: forget the upload and its parts."""
    _upload(backend, req)
    del backend.uploads[req.query["uploadId"]]
    return HttpResponse(204, raw=b"", content_type=XML)


def list_parts(backend: OssBackend, req: OssRequest) -> HttpResponse:
    """ListParts: every uploaded part, ascending."""
    upload = _upload(backend, req)
    rows = "".join(
        "<Part>" + tag("PartNumber", n) + tag("LastModified", "1970-01-01T00:00:00.000Z")
        + tag("ETag", f'"{_md5(data)}"') + tag("HashCrc64ecma", crc64ecma(data)) + tag("Size", len(data)) + "</Part>"
        for n, data in sorted(upload.parts.items())
    )
    inner = (tag("Bucket", req.bucket) + tag("Key", _key(req)) + tag("UploadId", req.query["uploadId"])
             + tag("PartNumberMarker", 0) + tag("NextPartNumberMarker", max(upload.parts, default=0))
             + tag("MaxParts", 1000) + tag("IsTruncated", "false") + rows)
    return HttpResponse(200, raw=xml_document("ListPartsResult", inner), content_type=XML)


def operation(req: OssRequest) -> str | None:
    """The multipart operation of ``req``, or None when it is not one."""
    if not (req.bucket and req.key):
        return None
    if req.method == "POST" and "uploads" in req.query:
        return "InitiateMultipartUpload"
    if "uploadId" not in req.query:
        return None
    if req.method == "PUT" and "partNumber" in req.query:
        return "UploadPart"
    return {"POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(req.method)


HANDLERS = {
    "InitiateMultipartUpload": initiate,
    "UploadPart": upload_part,
    "CompleteMultipartUpload": complete,
    "AbortMultipartUpload": abort,
    "ListParts": list_parts,
}
