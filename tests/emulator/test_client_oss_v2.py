"""Contract: the OSS SDK v2 (``alibabacloud-oss-v2``, signature v4) against the emulator, CRC-64 checks on.

Pointing it at the emulator: ``cfg.endpoint = "http://127.0.0.1:PORT"`` (an IP endpoint: path style), or
virtual-hosted style with the real host name and the emulator as HTTP proxy:
``cfg.endpoint = "http://oss-cn-hangzhou.aliyuncs.com"; cfg.proxy_host = {"http": "http://127.0.0.1:PORT"}``
(a dict keyed by scheme: the SDK's string form ``{"http://": …}`` is not matched by ``requests``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest

from emulator import Emulator, EmulatorControl

BUCKET = "v2-bucket"
DATA = os.urandom(3 * 1024 * 1024 + 123)  # four 1 MiB parts, the last one short
# CRC-64/ECMA-182 as OSS computes it (reflected, init/xor-out all ones); check value of "123456789".
CRC_CHECK = "11051210869376104954"


@pytest.fixture(autouse=True)
def _bucket(control: EmulatorControl) -> None:
    control.seed({"buckets": [{"region": "cn-hangzhou", "name": BUCKET}]})


def _client(emulator: Emulator, virtual_host: bool = False, secret: str = "test-secret") -> oss.Client:
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider("test-ak", secret)
    cfg.region = "cn-hangzhou"
    if virtual_host:
        cfg.endpoint = "http://oss-cn-hangzhou.aliyuncs.com"
        cfg.proxy_host = {"http": emulator.url}
    else:
        cfg.endpoint = emulator.url
    return oss.Client(cfg)


@pytest.fixture(params=["path", "virtual-host"])
def client(request: pytest.FixtureRequest, emulator: Emulator) -> oss.Client:
    return _client(emulator, virtual_host=request.param == "virtual-host")


def test_put_answers_the_crc64_of_the_body(client: oss.Client) -> None:
    put = client.put_object(oss.PutObjectRequest(bucket=BUCKET, key="crc/check.txt", body=b"123456789"))
    assert (put.status_code, put.hash_crc64) == (200, CRC_CHECK)
    head = client.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="crc/check.txt"))
    assert (head.hash_crc64, head.content_length, head.object_type) == (CRC_CHECK, 9, "Normal")


def test_ranged_get_is_206_with_the_whole_objects_crc(client: oss.Client) -> None:
    client.put_object(oss.PutObjectRequest(bucket=BUCKET, key="r.bin", body=DATA))
    got = client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="r.bin", range_header="bytes=10-19",
                                                 range_behavior="standard"))
    assert (got.status_code, got.content_range, got.content_length) == (206, f"bytes 10-19/{len(DATA)}", 10)
    assert got.body.read() == DATA[10:20]
    whole = client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="r.bin"))
    assert got.hash_crc64 == whole.hash_crc64  # the CRC names the whole object, not the range
    assert whole.body.read() == DATA


def test_range_past_the_end_is_416_invalid_range(client: oss.Client) -> None:
    client.put_object(oss.PutObjectRequest(bucket=BUCKET, key="small", body=b"0123456789"))
    with pytest.raises(oss.exceptions.OperationError) as info:
        client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="small", range_header="bytes=10-20",
                                               range_behavior="standard"))
    error = info.value.unwrap()
    assert isinstance(error, oss.exceptions.ServiceError)
    assert (error.status_code, error.code) == (416, "InvalidRange")


def test_multipart_upload_then_multipart_download_with_crc_checks(client: oss.Client, tmp_path: Path) -> None:
    uploaded = client.uploader(part_size=1024 * 1024).upload_from(
        oss.PutObjectRequest(bucket=BUCKET, key="big/image.raw"), io.BytesIO(DATA))
    head = client.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="big/image.raw"))
    assert head.object_type == "Multipart" and head.content_length == len(DATA)
    assert uploaded.hash_crc64 == head.hash_crc64 and head.etag.strip('"').endswith("-4")
    target = tmp_path / "image.raw"
    # the downloader reads 512 KiB ranges in parallel and checks the combined CRC against HEAD's
    downloaded = client.downloader(part_size=512 * 1024).download_file(
        oss.GetObjectRequest(bucket=BUCKET, key="big/image.raw"), str(target))
    assert downloaded.written == len(DATA) and target.read_bytes() == DATA


def test_virtual_host_request_is_logged_with_its_bucket(emulator: Emulator, control: EmulatorControl) -> None:
    _client(emulator, virtual_host=True).put_object(oss.PutObjectRequest(bucket=BUCKET, key="vh/k", body=b"x"))
    last = control.requests()[-1]
    assert (last["action"], last["params"]["bucket"], last["params"]["key"], last["status"]) == (
        "PutObject", BUCKET, "vh/k", 200)


def test_wrong_secret_is_signature_does_not_match(emulator: Emulator) -> None:
    with pytest.raises(oss.exceptions.OperationError) as info:
        _client(emulator, virtual_host=True, secret="wrong").put_object(
            oss.PutObjectRequest(bucket=BUCKET, key="k", body=b"x"))
    error = info.value.unwrap()
    assert isinstance(error, oss.exceptions.ServiceError)
    assert (error.status_code, error.code) == (403, "SignatureDoesNotMatch")
