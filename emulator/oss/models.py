"""OSS state and rules: buckets per region and their objects. No HTTP here.

``OssBackend`` is also the in-process API other emulated services call (the ECS export writes its files
through it); every method runs with ``State.lock`` held by the caller.

Emulator choices (UNCONFIRMED where real OSS was not checked):

* **declared sizes**: exported disk images are huge, so an object may carry ``declared_size``. HEAD
  ``Content-Length``, the listing ``Size`` and the ``x-oss-meta-emulated-size`` header (GET and HEAD) report
  it; GET returns the small stored placeholder body (its real length as ``Content-Length``). The ETag is the
  MD5 of the stored body. ``x-oss-meta-emulated-size`` is an emulator-only header.
* ETag = upper-case hex MD5 of the body, quoted on the wire (a multipart object: MD5 of the parts' binary
  MD5s, ``-<part count>``, as S3-style stores do; UNCONFIRMED for OSS); ``crc64`` is the whole body's
  CRC-64/ECMA (``emulator.oss.ranges``).
* ``LastModified`` = the virtual clock when written (an export's files carry the time the settle ran, which
  is at or after the task's finish time).
* ``get`` raises ``NoSuchBucket``/``NoSuchKey``; ``exists`` is False for a missing bucket too.
* listing order is the byte order of the UTF-8 keys (Python ``str`` order, identical for these keys).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.core.errors import SeedError
from emulator.oss import exceptions as exc
from emulator.oss.ranges import crc64ecma
from emulator.oss.seed import OssSeed

if TYPE_CHECKING:
    from emulator.core.state import State

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass
class Bucket:
    """A bucket: name and region."""

    name: str
    region: str


@dataclass
class OssObject:
    """One stored object."""

    key: str
    body: bytes
    etag: str
    last_modified: float
    content_type: str = DEFAULT_CONTENT_TYPE
    declared_size: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    object_type: str = "Normal"
    _crc64: str | None = field(default=None, repr=False, compare=False)

    @property
    def crc64(self) -> str:
        """The decimal CRC-64/ECMA of the stored body (computed once)."""
        if self._crc64 is None:
            self._crc64 = crc64ecma(self.body)
        return self._crc64

    @property
    def size(self) -> int:
        """The size OSS reports: the declared size when there is one, else the body length."""
        return self.declared_size if self.declared_size is not None else len(self.body)


@dataclass
class Listing:
    """One page of ListObjects: objects, common prefixes and where the next page starts."""

    objects: list[OssObject]
    prefixes: list[str]
    truncated: bool
    next_marker: str


class OssBackend:
    """All OSS state of one emulator."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.reset()

    def reset(self) -> None:
        """Drop every bucket and object."""
        self.buckets: dict[str, Bucket] = {}
        self.objects: dict[str, dict[str, OssObject]] = {}
        self.uploads: dict[str, Any] = {}  # multipart uploads in progress (emulator.oss.multipart)

    # --- seeding ---------------------------------------------------------------------------------------

    def validate_seed(self, seed: OssSeed, regions: list[str]) -> None:
        """Raise ``SeedError`` for a bucket in a disabled region or an object in an unknown bucket."""
        for n, b in enumerate(seed.buckets):
            if b.region not in regions:
                raise SeedError(f"buckets.{n}.region", f"region {b.region!r} is not enabled")
        known = set(self.buckets) | {b.name for b in seed.buckets}
        for n, o in enumerate(seed.objects):
            if o.bucket not in known:
                raise SeedError(f"objects.{n}.bucket", f"bucket {o.bucket!r} is neither seeded nor existing")

    def apply_seed(self, seed: OssSeed) -> None:
        """Add seeded buckets, then objects (validated beforehand)."""
        for b in seed.buckets:
            self.buckets[b.name] = Bucket(b.name, b.region)
            self.objects.setdefault(b.name, {})
        for o in seed.objects:
            self.put_object(
                o.bucket,
                o.key,
                o.body.encode(),
                content_type=o.content_type,
                declared_size=o.declared_size,
                metadata=o.metadata,
            )

    # --- in-process API --------------------------------------------------------------------------------

    def bucket_region(self, name: str) -> str | None:
        """Return the region of bucket ``name``, or None when it does not exist."""
        bucket = self.buckets.get(name)
        return bucket.region if bucket is not None else None

    def _bucket_objects(self, bucket: str) -> dict[str, OssObject]:
        """Return the object map of ``bucket`` or raise ``NoSuchBucket``."""
        if bucket not in self.buckets:
            raise exc.NoSuchBucketError(bucket)
        return self.objects.setdefault(bucket, {})

    def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        forbid_overwrite: bool = False,
        content_type: str = DEFAULT_CONTENT_TYPE,
        declared_size: int | None = None,
        metadata: dict[str, str] | None = None,
        etag: str | None = None,
        object_type: str = "Normal",
    ) -> OssObject:
        """Store an object; raise ``NoSuchBucket``, or ``FileAlreadyExists`` when forbidden to overwrite."""
        objects = self._bucket_objects(bucket)
        if forbid_overwrite and key in objects:
            raise exc.FileAlreadyExistsError()
        obj = OssObject(
            key=key,
            body=bytes(body),
            etag=etag or hashlib.md5(body).hexdigest().upper(),  # noqa: S324 - OSS ETag, not security
            last_modified=self.state.clock.now(),
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            declared_size=declared_size,
            metadata=dict(metadata or {}),
            object_type=object_type,
        )
        objects[key] = obj
        return obj

    def get(self, bucket: str, key: str) -> OssObject:
        """Return the object or raise ``NoSuchBucket`` / ``NoSuchKey``."""
        obj = self._bucket_objects(bucket).get(key)
        if obj is None:
            raise exc.NoSuchKeyError(key)
        return obj

    def exists(self, bucket: str, key: str) -> bool:
        """Return True when the object exists (False for a missing bucket too)."""
        return key in self.objects.get(bucket, {}) and bucket in self.buckets

    def delete(self, bucket: str, key: str) -> None:
        """Delete an object; a missing key is fine, a missing bucket raises ``NoSuchBucket``."""
        self._bucket_objects(bucket).pop(key, None)

    def list_objects(
        self, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int
    ) -> Listing:
        """List keys after ``after`` under ``prefix``, rolling up at ``delimiter``; at most ``max_keys`` rows.

        A common prefix counts as one row; ``next_marker`` is the last key or common prefix returned.
        """
        objects = self._bucket_objects(bucket)
        found: list[OssObject] = []
        prefixes: list[str] = []
        last = ""
        for key in sorted(objects):
            if key <= after or not key.startswith(prefix):
                continue
            rolled: str | None = None
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    rolled = key[: cut + len(delimiter)]
            if rolled is not None and (rolled <= after or (prefixes and prefixes[-1] == rolled)):
                continue
            if len(found) + len(prefixes) >= max_keys:
                return Listing(found, prefixes, True, last)
            if rolled is not None:
                prefixes.append(rolled)
                last = rolled
            else:
                found.append(objects[key])
                last = key
        return Listing(found, prefixes, False, "")
