"""OSS through the real oss2 SDK: Auth v1, StsAuth and AuthV4 on the emulator's port (path style)."""

from __future__ import annotations

from collections.abc import Callable

import oss2
import pytest

from emulator import Emulator, EmulatorControl, EmulatorControlError

BUCKET = "relay-exports"
ODD_KEY = "目录/文件 1+2.raw"

BucketFactory = Callable[..., oss2.Bucket]


@pytest.fixture(autouse=True)
def _bucket(control: EmulatorControl) -> None:
    control.seed({"buckets": [{"region": "cn-hangzhou", "name": BUCKET}, {"region": "cn-shanghai", "name": "sh-bkt"}]})


@pytest.fixture
def make_bucket(emulator: Emulator) -> BucketFactory:
    def build(name: str = BUCKET, auth: str = "v1", secret: str = "test-secret", ak: str = "test-ak") -> oss2.Bucket:
        if auth == "v4":
            return oss2.Bucket(oss2.AuthV4(ak, secret), emulator.url, name, region="cn-hangzhou")
        if auth == "sts":
            return oss2.Bucket(oss2.StsAuth(ak, secret, "sts-token"), emulator.url, name)
        return oss2.Bucket(oss2.Auth(ak, secret), emulator.url, name)

    return build


@pytest.fixture(params=["v1", "sts", "v4"])
def bucket(request: pytest.FixtureRequest, make_bucket: BucketFactory) -> oss2.Bucket:
    return make_bucket(auth=request.param)


def test_put_get_head_delete_round_trip(bucket: oss2.Bucket) -> None:
    # WHEN
    put = bucket.put_object(ODD_KEY, b"hello", headers={"x-oss-meta-origin": "test", "Content-Type": "text/plain"})
    # THEN the ETag is the upper-case MD5 (quoted on the wire, oss2 strips quotes) and a request id is set
    assert put.status == 200 and put.etag == "5D41402ABC4B2A76B9719D911017C592"
    assert put.headers["ETag"] == '"5D41402ABC4B2A76B9719D911017C592"'
    assert put.request_id
    got = bucket.get_object(ODD_KEY)
    assert got.read() == b"hello" and got.content_type == "text/plain"
    assert got.headers["x-oss-meta-origin"] == "test"
    head = bucket.head_object(ODD_KEY)
    assert head.content_length == 5 and head.etag == put.etag and head.request_id
    assert bucket.object_exists(ODD_KEY) is True
    assert bucket.get_object_meta(ODD_KEY).content_length == 5
    # WHEN deleted (twice: a missing key is fine)
    assert bucket.delete_object(ODD_KEY).status == 204
    assert bucket.delete_object(ODD_KEY).status == 204
    assert bucket.object_exists(ODD_KEY) is False


def test_forbid_overwrite_refuses_and_keeps_the_object(bucket: oss2.Bucket) -> None:
    bucket.put_object("marker", b"first")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.put_object("marker", b"second", headers={"x-oss-forbid-overwrite": "true"})
    assert (info.value.status, info.value.code, info.value.ec) == (409, "FileAlreadyExists", "0026-00000201")
    assert info.value.request_id
    assert bucket.get_object("marker").read() == b"first"
    # false (or absent) overwrites; a new key with true is created
    bucket.put_object("marker", b"third", headers={"x-oss-forbid-overwrite": "false"})
    assert bucket.get_object("marker").read() == b"third"
    bucket.put_object("fresh", b"x", headers={"x-oss-forbid-overwrite": "true"})
    assert bucket.object_exists("fresh")


def test_forbid_overwrite_with_a_bad_value_is_invalid_argument(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.put_object("k", b"x", headers={"x-oss-forbid-overwrite": "yes"})
    assert (info.value.status, info.value.code) == (400, "InvalidArgument")
    assert bucket.object_exists("k") is False


def test_missing_key_and_missing_bucket_codes(make_bucket: BucketFactory) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey) as key_info:
        make_bucket().get_object("absent")
    assert (key_info.value.status, key_info.value.code) == (404, "NoSuchKey")
    # HEAD has no body: the error travels in x-oss-err
    with pytest.raises(oss2.exceptions.NoSuchKey):
        make_bucket().head_object("absent")
    with pytest.raises(oss2.exceptions.NoSuchBucket) as bucket_info:
        make_bucket("no-such-bucket").get_object("k")
    assert (bucket_info.value.status, bucket_info.value.code) == (404, "NoSuchBucket")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        make_bucket("no-such-bucket").object_exists("k")


@pytest.mark.parametrize("auth", ["v1", "sts", "v4"])
def test_bad_secret_and_unknown_key_are_refused(make_bucket: BucketFactory, auth: str) -> None:
    with pytest.raises(oss2.exceptions.OssError) as info:
        make_bucket(auth=auth, secret="wrong").put_object("k", b"x")
    assert (info.value.status, info.value.code) == (403, "SignatureDoesNotMatch")
    with pytest.raises(oss2.exceptions.OssError) as unknown:
        make_bucket(auth=auth, ak="nobody").get_object("k")
    assert (unknown.value.status, unknown.value.code) == (403, "InvalidAccessKeyId")
    assert make_bucket().object_exists("k") is False


def _fill(bucket: oss2.Bucket) -> list[str]:
    keys = ["a/1", "a/2", "a/b/3", "b/1", "c", "d/x/y", ODD_KEY]
    for key in keys:
        bucket.put_object(key, key.encode())
    return sorted(keys)


def test_list_objects_v1_prefix_delimiter_and_marker_paging(bucket: oss2.Bucket) -> None:
    keys = _fill(bucket)
    top = bucket.list_objects(delimiter="/", max_keys=100)
    assert [o.key for o in top.object_list] == ["c"]
    assert top.prefix_list == ["a/", "b/", "d/", "目录/"]
    assert top.is_truncated is False
    under_a = bucket.list_objects(prefix="a/", delimiter="/")
    assert [o.key for o in under_a.object_list] == ["a/1", "a/2"] and under_a.prefix_list == ["a/b/"]
    # paging two rows at a time, no delimiter
    seen: list[str] = []
    marker = ""
    while True:
        page = bucket.list_objects(marker=marker, max_keys=2)
        seen += [o.key for o in page.object_list]
        if not page.is_truncated:
            break
        marker = page.next_marker
    assert seen == keys
    # the iterator pages with the delimiter: a common prefix is one row and is not repeated
    rows = [(o.key, o.is_prefix()) for o in oss2.ObjectIterator(bucket, delimiter="/", max_keys=1)]
    assert rows == [("a/", True), ("b/", True), ("c", False), ("d/", True), ("目录/", True)]


def test_list_objects_v2_continuation_start_after_and_sizes(bucket: oss2.Bucket) -> None:
    keys = _fill(bucket)
    seen: list[str] = []
    token = ""
    while True:
        page = bucket.list_objects_v2(continuation_token=token, max_keys=3)
        seen += [o.key for o in page.object_list]
        if not page.is_truncated:
            break
        token = page.next_continuation_token
    assert seen == keys
    after = bucket.list_objects_v2(start_after="b/1")
    assert [o.key for o in after.object_list] == ["c", "d/x/y", ODD_KEY]
    [row] = bucket.list_objects_v2(prefix="目录/", delimiter="/").object_list
    assert (row.key, row.size, row.etag, row.type, row.storage_class) == (ODD_KEY, len(ODD_KEY.encode()), row.etag, "Normal", "Standard")
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, prefix="a/", max_keys=1)] == ["a/1", "a/2", "a/b/3"]


def test_list_keys_are_url_encoded_on_the_wire(bucket: oss2.Bucket) -> None:
    # oss2 lists with encoding-type=url and unquotes: an un-encoded "%41" would come back as "A"
    bucket.put_object("pct%41/x y+z", b"x")
    assert [o.key for o in bucket.list_objects_v2().object_list] == ["pct%41/x y+z"]
    assert bucket.list_objects(delimiter="/").prefix_list == ["pct%41/"]


def test_oss_calls_are_logged_with_the_bucket_region(control: EmulatorControl, make_bucket: BucketFactory) -> None:
    make_bucket("sh-bkt").put_object("k/1", b"x")
    make_bucket("sh-bkt").list_objects_v2()
    entries = [r for r in control.requests() if r["service"] == "oss"]
    assert [(r["action"], r["region"], r["status"]) for r in entries] == [
        ("PutObject", "cn-shanghai", 200),
        ("ListObjectsV2", "cn-shanghai", 200),
    ]
    assert entries[0]["params"] == {"bucket": "sh-bkt", "key": "k/1"}


def test_faults_apply_to_oss_actions(control: EmulatorControl, make_bucket: BucketFactory) -> None:
    control.set_faults(error_rate=1.0, actions=["PutObject"])
    with pytest.raises(oss2.exceptions.OssError) as info:
        make_bucket().put_object("k", b"x")
    assert (info.value.status, info.value.code) in ((503, "ServiceUnavailable"), (500, "InternalError"))
    assert make_bucket().object_exists("k") is False  # HeadObject is not targeted
    control.set_faults(throttle_rate=1.0, actions=["GetObject"])
    make_bucket().put_object("k", b"x")
    with pytest.raises(oss2.exceptions.ServerError) as throttled:
        make_bucket().get_object("k")
    assert (throttled.value.status, throttled.value.code) == (503, "ServiceUnavailable")


def test_declared_size_objects_report_the_declared_size(
    control: EmulatorControl, make_bucket: BucketFactory
) -> None:
    control.seed({"objects": [{"bucket": BUCKET, "key": "big.raw", "body": "placeholder", "declared_size": 40 << 30}]})
    bucket = make_bucket()
    assert bucket.head_object("big.raw").content_length == 40 << 30
    [row] = bucket.list_objects_v2().object_list
    assert row.size == 40 << 30
    got = bucket.get_object("big.raw")
    assert got.read() == b"placeholder" and got.headers["x-oss-meta-emulated-size"] == str(40 << 30)


def test_seed_rejects_objects_in_unknown_buckets(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError):
        control.seed({"objects": [{"bucket": "ghost", "key": "k"}]})
    with pytest.raises(EmulatorControlError):
        control.seed({"buckets": [{"region": "cn-hangzhou", "name": "Bad_Name"}]})
