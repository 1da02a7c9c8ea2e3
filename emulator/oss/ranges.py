"""OSS byte ranges and CRC-64: what GetObject answers to ``Range`` and what ``x-oss-hash-crc64ecma`` carries.

Range (OSS "HTTP Range requests" + error 416 pages: help.aliyun.com/document_detail/39571.htm,
https://www.alibabacloud.com/help/doc-detail/202447.htm, "scope download" of the PHP v2 SDK guide):

* one range ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n``; several ranges: only the first is served;
* a valid range → 206 with ``Content-Range: bytes a-b/size``;
* default behaviour: a malformed or out-of-bounds range is ignored → 200 with the whole object;
* with ``x-oss-range-behavior: standard`` (the v2 SDKs' downloaders send it): an end past the object is cut to
  the last byte (206), a start at or past the size → 416 ``InvalidRange``; a malformed range is still ignored
  (UNCONFIRMED for the standard behaviour).

CRC-64: ``x-oss-hash-crc64ecma`` is the decimal CRC-64/ECMA-182 of the **whole** object (reflected, init and
xor-out all ones: the CRC oss2, alibabacloud-oss-v2 and ali-oss compute), on PutObject, GetObject (ranged reads
too) and HeadObject answers. Computed with ``crcmod``'s C extension (already installed with oss2) rather
than a pure-Python table that would take seconds per MB.
"""

from __future__ import annotations

import re

import crcmod

_crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
_RANGE = re.compile(r"^\s*bytes=(\d*)-(\d*)\s*$")


def crc64ecma(data: bytes) -> str:
    """The decimal CRC-64/ECMA of ``data`` as OSS sends it."""
    return str(_crc64(data))


class UnsatisfiableRange(Exception):
    """``x-oss-range-behavior: standard`` and the range starts at or past the end of the object."""


def byte_range(header: str | None, size: int, standard: bool) -> tuple[int, int] | None:
    """Return the inclusive ``(first, last)`` byte range to serve, or None for the whole object (200).

    Raises :class:`UnsatisfiableRange` for a start at or past ``size`` under the standard behaviour.
    """
    if not header:
        return None
    match = _RANGE.match(header.split(",", 1)[0])
    if match is None or (match.group(1) == "" and match.group(2) == ""):
        return None
    start_text, end_text = match.groups()
    if start_text == "":  # suffix: the last n bytes
        n = int(end_text)
        if n == 0:
            return None
        if n > size:
            return (0, size - 1) if standard and size else None
        return size - n, size - 1
    start = int(start_text)
    end = int(end_text) if end_text else size - 1
    if end < start:
        return None
    if start >= size:
        if standard:
            raise UnsatisfiableRange()
        return None
    if end >= size:
        if not standard and end_text:
            return None
        end = size - 1
    return start, end
