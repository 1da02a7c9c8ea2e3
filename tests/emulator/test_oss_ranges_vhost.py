"""OSS Range reads (default and ``standard`` behaviour), CRC-64 headers and virtual-hosted style, via oss2 and
raw HTTP (issue #17)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
from email.utils import formatdate

import oss2
import pytest

from emulator import Emulator, EmulatorControl

BUCKET = "relay-exports"
BODY = bytes(range(256)) * 4  # 1,024 bytes


def _crc64(data: bytes) -> str:
    """The CRC oss2 computes for its own checks (independent of the emulator's code)."""
    crc = oss2.utils.Crc64(0)
    crc.update(data)
    return str(crc.crc)


@pytest.fixture(autouse=True)
def _bucket(control: EmulatorControl) -> None:
    control.seed({"buckets": [{"region": "cn-hangzhou", "name": BUCKET}]})


@pytest.fixture
def bucket(emulator: Emulator) -> oss2.Bucket:
    b = oss2.Bucket(oss2.Auth("test-ak", "test-secret"), emulator.url, BUCKET)
    b.put_object("obj", BODY)  # oss2 checks the answered CRC-64 (enable_crc=True): a wrong one raises
    return b


@pytest.mark.parametrize(
    ("range_header", "status", "content", "content_range"),
    [
        ("bytes=0-9", 206, BODY[:10], "bytes 0-9/1024"),
        ("bytes=-10", 206, BODY[-10:], "bytes 1014-1023/1024"),
        ("bytes=1000-", 206, BODY[1000:], "bytes 1000-1023/1024"),
        ("bytes=0-9,20-29", 206, BODY[:10], "bytes 0-9/1024"),  # several ranges: OSS serves the first
        ("bytes=0-1024", 200, BODY, None),  # end past the object: the Range is ignored by default
        ("bytes=1024-2000", 200, BODY, None),
        ("bytes=-2000", 200, BODY, None),
        ("byte=0-9", 200, BODY, None),  # malformed
    ],
)
def test_default_range_behaviour(bucket: oss2.Bucket, range_header: str, status: int, content: bytes,
                                 content_range: str | None) -> None:
    got = bucket.get_object("obj", headers={"Range": range_header})
    assert (got.status, got.read()) == (status, content)
    assert got.headers["x-oss-hash-crc64ecma"] == _crc64(BODY)
    assert got.headers.get("Content-Range") == content_range


def test_standard_range_behaviour(bucket: oss2.Bucket) -> None:
    standard = {"x-oss-range-behavior": "standard"}
    cut = bucket.get_object("obj", headers={**standard, "Range": "bytes=1000-2000"})
    assert (cut.status, cut.read(), cut.headers["Content-Range"]) == (206, BODY[1000:], "bytes 1000-1023/1024")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.get_object("obj", headers={**standard, "Range": "bytes=1024-2000"})
    assert (info.value.status, info.value.code) == (416, "InvalidRange")


def test_head_carries_the_crc(bucket: oss2.Bucket) -> None:
    head = bucket.head_object("obj")
    assert head.headers["x-oss-hash-crc64ecma"] == _crc64(BODY)
    assert head.headers["x-oss-object-type"] == "Normal"


def test_oss2_virtual_host_through_the_emulator_as_proxy(emulator: Emulator, bucket: oss2.Bucket) -> None:
    vhost = oss2.Bucket(oss2.AuthV4("test-ak", "test-secret"), "http://oss-cn-hangzhou.aliyuncs.com", BUCKET,
                        region="cn-hangzhou", proxies={"http": emulator.url})
    assert vhost.get_object("obj").read() == BODY
    vhost.put_object("dir/new", b"via vhost")
    assert bucket.get_object("dir/new").read() == b"via vhost"
    assert [o.key for o in oss2.ObjectIteratorV2(vhost)] == ["dir/new", "obj"]


@pytest.mark.parametrize("host_suffix", ["localhost", "127.0.0.1", "127.0.0.1.nip.io"])
def test_bucket_in_a_loopback_host_name(emulator: Emulator, bucket: oss2.Bucket, host_suffix: str) -> None:
    # GIVEN a v1-signed GET whose Host names the bucket (``relay-exports.localhost:PORT``) and whose path is the key
    date = formatdate(usegmt=True)
    sts = f"GET\n\n\n{date}\n/{BUCKET}/obj"
    sig = base64.b64encode(hmac.new(b"test-secret", sts.encode(), hashlib.sha1).digest()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    conn.request("GET", "/obj", headers={"Host": f"{BUCKET}.{host_suffix}:{emulator.port}", "Date": date,
                                         "Authorization": f"OSS test-ak:{sig}"})
    response = conn.getresponse()
    # THEN it reads the object of that bucket
    assert (response.status, response.read()) == (200, BODY)
    conn.close()


def test_ip_host_is_path_style(emulator: Emulator, bucket: oss2.Bucket) -> None:
    # oss2 on an IP endpoint sends /<bucket>/<key> with Host 127.0.0.1:PORT: never read as a bucket "127"
    assert bucket.get_object("obj").read() == BODY
    assert bucket.object_exists("nope") is False


def test_oss2_multipart_upload_round_trip(bucket: oss2.Bucket) -> None:
    # WHEN two parts are uploaded and completed
    upload_id = bucket.init_multipart_upload("mp/obj").upload_id
    first, second = b"a" * 300, b"b" * 100
    parts = [oss2.models.PartInfo(1, bucket.upload_part("mp/obj", upload_id, 1, first).etag),
             oss2.models.PartInfo(2, bucket.upload_part("mp/obj", upload_id, 2, second).etag)]
    assert [p.part_number for p in bucket.list_parts("mp/obj", upload_id).parts] == [1, 2]
    done = bucket.complete_multipart_upload("mp/obj", upload_id, parts)
    # THEN the object is the parts in order, typed Multipart, and its CRC is the whole body's
    assert done.status == 200 and done.crc == int(_crc64(first + second))
    got = bucket.get_object("mp/obj")
    assert got.read() == first + second and got.headers["x-oss-object-type"] == "Multipart"
    # an aborted upload is gone
    other = bucket.init_multipart_upload("mp/other").upload_id
    assert bucket.abort_multipart_upload("mp/other", other).status == 204
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part("mp/other", other, 1, b"x")


def test_complete_with_a_wrong_etag_is_invalid_part(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("mp/bad").upload_id
    bucket.upload_part("mp/bad", upload_id, 1, b"data")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.complete_multipart_upload("mp/bad", upload_id, [oss2.models.PartInfo(1, '"' + "0" * 32 + '"')])
    assert (info.value.status, info.value.code) == (400, "InvalidPart")
    assert bucket.object_exists("mp/bad") is False
