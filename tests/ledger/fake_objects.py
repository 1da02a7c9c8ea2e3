"""An in-memory stand-in for the four ``OssGateway`` methods the OSS ledger store uses.

Why a fake as well as the emulator: the version-chain protocol has cases HTTP cannot stage on
demand (a put that lands but whose answer is lost, a write landing between a list and a read);
hooks here make them deterministic, while the contract suite covers the real SDK path.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from shared.clouds.oss_types import ObjectInfo
from shared.errors import ServiceUnavailableError


class FakeObjects:
    """Objects per (region, bucket, key), with forbid-overwrite semantics and fault hooks."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], bytes] = {}
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        #: keys whose next successful put reports False (the retry after a lost answer sees 409)
        self.lose_answer: set[str] = set()
        #: keys whose next successful put raises after landing (every retry's answer was lost)
        self.fail_after_write: set[str] = set()
        #: called after a put lands, before the answer returns: lets a test slip a rival write in
        self.after_put: Callable[[str], None] | None = None
        #: called after a listing: lets a test change the bucket between list and read
        self.after_list: Callable[[str], None] | None = None

    def put_if_absent(
        self, region: str, bucket: str, key: str, body: bytes, content_type: str = "application/json",
        metadata: Any = None,
    ) -> bool:
        with self._lock:
            self.calls.append(("put_if_absent", key))
            if (region, bucket, key) in self.objects:
                return False
            self.objects[(region, bucket, key)] = bytes(body)
        if self.after_put is not None:
            self.after_put(key)
        if key in self.fail_after_write:
            self.fail_after_write.discard(key)
            raise ServiceUnavailableError("ServiceUnavailable: answer lost", code="ServiceUnavailable", status=503)
        if key in self.lose_answer:
            self.lose_answer.discard(key)
            return False
        return True

    def get(self, region: str, bucket: str, key: str) -> bytes | None:
        with self._lock:
            self.calls.append(("get", key))
            return self.objects.get((region, bucket, key))

    def delete(self, region: str, bucket: str, key: str) -> None:
        with self._lock:
            self.calls.append(("delete", key))
            self.objects.pop((region, bucket, key), None)

    def iter_objects(self, region: str, bucket: str, prefix: str, delimiter: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            self.calls.append(("list", prefix))
            names = sorted(k for (r, b, k) in self.objects if (r, b) == (region, bucket) and k.startswith(prefix))
            found = [
                (name, self.objects[(region, bucket, name)])
                for name in names
                if not delimiter or delimiter not in name[len(prefix):]
            ]
        if self.after_list is not None:
            self.after_list(prefix)
        epoch = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        for name, body in found:
            yield ObjectInfo(key=name, size=len(body), etag=hashlib.md5(body).hexdigest().upper(), last_modified=epoch)

    def names(self, bucket: str = "relay-state") -> list[str]:
        """Every object key in ``bucket``, sorted."""
        with self._lock:
            return sorted(k for (_, b, k) in self.objects if b == bucket)
