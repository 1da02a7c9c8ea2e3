"""The OSS adapter through the real oss2 SDK against the emulator: semantics, paging, faults, secrets."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from emulator import Emulator
from shared.clouds._clients import reset_clients
from shared.clouds._retry import RetryPolicy
from shared.clouds.oss import OssGateway
from shared.config import Credentials
from shared.errors import CloudAuthError, CloudError, ResourceNotFoundError, ServiceUnavailableError
from shared.ledger.record import Record, State
from shared.ledger.store.oss import OssStore

REGION = "cn-hangzhou"
BUCKET = "relay-gw"
CREDS = Credentials(access_key_id="test-ak", access_key_secret="test-secret")


@pytest.fixture
def oss(emu: Emulator) -> Iterator[Emulator]:
    emu.control.reset()
    emu.control.seed({"buckets": [{"region": REGION, "name": BUCKET}]})
    reset_clients()
    yield emu
    emu.control.set_faults()
    reset_clients()


def _gateway(emu: Emulator, creds: Credentials = CREDS, attempts: int = 4) -> OssGateway:
    return OssGateway.connect(creds, endpoint=emu.url, retry=RetryPolicy(base_seconds=0.001, max_attempts=attempts))


def _logged(emu: Emulator, action: str) -> list[dict[str, object]]:
    return [r for r in emu.control.requests() if r["action"] == action]


def test_put_if_absent_creates_once_and_never_overwrites(oss: Emulator) -> None:
    gw = _gateway(oss)
    # GIVEN a new key WHEN it is put-if-absent twice with different bodies
    first = gw.put_if_absent(REGION, BUCKET, "locks/a.json", b'{"n": 1}')
    second = gw.put_if_absent(REGION, BUCKET, "locks/a.json", b'{"n": 2}')
    # THEN the first wins, the second reports False and the object keeps the first body
    assert (first, second) == (True, False)
    assert gw.get(REGION, BUCKET, "locks/a.json") == b'{"n": 1}'
    assert [r["status"] for r in _logged(oss, "PutObject")] == [200, 409]


def test_put_overwrites_and_returns_the_etag(oss: Emulator) -> None:
    gw = _gateway(oss)
    gw.put(REGION, BUCKET, "k", b"one")
    etag = gw.put(REGION, BUCKET, "k", b"two")
    info = gw.head(REGION, BUCKET, "k")
    assert gw.get(REGION, BUCKET, "k") == b"two"
    assert info is not None and info.etag == etag and not etag.startswith('"')


def test_get_and_head_of_a_missing_key_are_none(oss: Emulator) -> None:
    gw = _gateway(oss)
    assert gw.get(REGION, BUCKET, "missing/key") is None
    assert gw.head(REGION, BUCKET, "missing/key") is None


def test_head_gives_size_and_metadata_round_trips(oss: Emulator) -> None:
    gw = _gateway(oss)
    gw.put_if_absent(REGION, BUCKET, "dir/obj%2Fweird.bin", b"x" * 1234, content_type="application/octet-stream",
                     metadata={"source": "m-1"})
    info = gw.head(REGION, BUCKET, "dir/obj%2Fweird.bin")
    assert info is not None and info.key == "dir/obj%2Fweird.bin" and info.size == 1234
    assert info.last_modified.tzinfo is not None


def test_delete_is_idempotent(oss: Emulator) -> None:
    gw = _gateway(oss)
    gw.put(REGION, BUCKET, "gone", b"1")
    gw.delete(REGION, BUCKET, "gone")
    gw.delete(REGION, BUCKET, "gone")  # a missing key is not an error
    assert gw.get(REGION, BUCKET, "gone") is None


def test_iter_objects_pages_through_everything_in_key_order(oss: Emulator) -> None:
    gw = _gateway(oss)
    keys = [f"many/{i:03d}.json" for i in range(25)] + ["many/sub/deep.json", "other/x"]
    for key in keys:
        gw.put(REGION, BUCKET, key, b"{}")
    before = len(_logged(oss, "ListObjectsV2"))
    # WHEN listing with a page of 10 THEN 26 objects arrive over 3 calls, in key order
    listed = [o.key for o in gw.iter_objects(REGION, BUCKET, "many/", page_size=10)]
    assert listed == sorted(k for k in keys if k.startswith("many/"))
    assert len(_logged(oss, "ListObjectsV2")) - before == 3
    # AND with the delimiter only the direct children are objects
    direct = [o.key for o in gw.iter_objects(REGION, BUCKET, "many/", delimiter="/")]
    assert len(direct) == 25 and "many/sub/deep.json" not in direct


def test_default_page_is_the_service_maximum(oss: Emulator) -> None:
    gw = _gateway(oss)
    gw.put(REGION, BUCKET, "p/1", b"")
    list(gw.iter_objects(REGION, BUCKET, "p/"))
    assert _logged(oss, "ListObjectsV2")[-1]["params"]["max-keys"] == "1000"


def test_a_503_is_retried_then_raised_with_its_code(oss: Emulator) -> None:
    gw = _gateway(oss, attempts=3)
    oss.control.set_faults(error_rate=1.0, actions=["PutObject"], seed=1)
    with pytest.raises(ServiceUnavailableError) as err:
        gw.put_if_absent(REGION, BUCKET, "faulty", b"{}")
    assert err.value.code in ("ServiceUnavailable", "InternalError") and err.value.status in (500, 503)
    assert err.value.retryable is True and err.value.request_id
    assert gw.calls == 3 and len(_logged(oss, "PutObject")) == 3
    # other operations are untouched by the fault plan
    assert gw.get(REGION, BUCKET, "faulty") is None


def test_missing_bucket_is_not_found(oss: Emulator) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        _gateway(oss).get(REGION, "no-such-bucket", "k")
    assert err.value.code == "NoSuchBucket" and err.value.status == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_secret_or_url_in_any_raised_error(oss: Emulator) -> None:
    secret, token = "s3cr3t-value-XYZ", "sts-token-value-ABC"
    wrong = Credentials(access_key_id="test-ak", access_key_secret=secret)
    sts = Credentials(access_key_id="test-ak", access_key_secret=secret, security_token=token)
    dead = OssGateway.connect(sts, endpoint=f"http://127.0.0.1:{_free_port()}",
                              retry=RetryPolicy(base_seconds=0.001, max_attempts=2))
    errors: list[CloudError] = []
    for call in (
        lambda: _gateway(oss, wrong).get(REGION, BUCKET, "k"),  # SignatureDoesNotMatch (v4)
        lambda: _gateway(oss, sts).put(REGION, BUCKET, "k", b"x"),  # STS signer, wrong secret
        lambda: dead.get(REGION, BUCKET, "k"),  # transport: connection refused
    ):
        with pytest.raises(CloudError) as err:
            call()
        errors.append(err.value)
    assert isinstance(errors[0], CloudAuthError) and errors[0].code == "SignatureDoesNotMatch"
    assert errors[2].code == "TransportError" and errors[2].retryable
    for error in errors:
        text = " ".join([str(error), repr(error), json.dumps(error.to_dict())])
        assert secret not in text and token not in text and "http://" not in text and "127.0.0.1" not in text


def test_ledger_store_survives_lost_put_answers(oss: Emulator) -> None:
    # GIVEN every PutObject lands but its answer is lost (503 after the effect)
    oss.control.set_faults(lost_response_rate=1.0, actions=["PutObject"], seed=3)
    store = OssStore(_gateway(oss), BUCKET, "ledger", region=REGION)
    record = Record(key="copy/cn-hangzhou/m-x/cn-beijing", kind="copy")
    # WHEN creating and replacing: each retry sees 409 FileAlreadyExists
    assert store.create(record) is True
    stored = store.replace(record.model_copy(update={"state": State.STARTED}), expected_version=1)
    # THEN the store recognises its own writes by write id, and a second create still loses
    assert stored.version == 2
    assert store.create(record) is False
    got = store.get(record.key)
    assert got is not None and got.state is State.STARTED and got.version == 2
    assert {r["status"] for r in _logged(oss, "PutObject")} >= {503, 409}
