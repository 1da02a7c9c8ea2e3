"""OSS ledger store: production's ledger, as append-only version chains (``oss://bucket/prefix``).

The protocol
------------
OSS gives create-if-absent (``x-oss-forbid-overwrite: true`` → 409 ``FileAlreadyExists``) but no
compare-and-set (PutObject ``If-Match`` is not documented; alibaba-api.md §7.5, §8). So a record is
never overwritten: each version is its own object, created with forbid-overwrite::

    <prefix>/<record key>/v<version:012d>.json   = {"write_id": w, "prev": w_parent, "record": {...}}

- ``create``  = put-if-absent of ``v1``. Exactly one creator wins.
- ``get``     = list ``<prefix>/<key>/`` (delimiter ``/``: only this key's versions) and read the
  highest version. If it vanished between list and read (garbage-collected after two newer writes),
  list again.
- ``replace(record, expected_version=v)`` = put-if-absent of ``v(v+1)``. Of N racers holding ``v``
  exactly one creates ``v(v+1)``; the others get ``LedgerConflictError``. The winner then deletes
  versions older than ``v`` (best effort), keeping ``v`` so a reader that listed just before the
  write still finds an object to read. The highest version is never deleted.
- ``scan(prefix)`` = list everything under ``<prefix>/<prefix-arg>`` and keep the highest version per
  record key. The record key is everything between the store prefix and the last ``/v…json``
  segment, so keys may contain ``/`` and ``%`` (``copy/cn-hangzhou/m-x/cn-beijing``, ``event/a%2Fb``).
  Records are returned in key order (object order differs: ``/`` sorts after ``-``).

Why every write is confirmed
----------------------------
1. Lost responses: a put whose answer was lost is retried by the adapter and then reports "already
   exists". Every body carries a unique ``write_id``; on "already exists" the store reads that
   version back and it is ours iff the ids match.
2. Holes: garbage collection deletes old versions, so a writer far behind (``expected_version`` at
   least three behind, or a ``create`` of a key whose ``v1`` was collected) could put into a freed
   slot. Such an object is never the highest version, so no reader ever takes it as current; but the
   writer must not believe it won. After each successful put the store lists the key again: if ours
   is the highest, we won. If a higher version exists, ``v(n+1)`` tells: its ``prev`` is the
   ``write_id`` of the version its writer read, so ``prev == ours`` means someone built on our write
   (we won). Otherwise we lost: our object is deleted and the caller gets a conflict. The one case
   this cannot decide (three or more writes landed on top of ours before we listed) is reported as
   a conflict: the caller re-reads, which is always safe.

Finished records (``Record.is_finished``: DONE, CANCELLED, FAILED for good) get a marker object
``<prefix>/<record key>/finished-v<version:012d>-<STATE>`` (create-if-absent) when that version is written. A tick
reads only active records (``scan_active``): a key whose newest version has its marker is skipped from the
listing alone, without a GET, so a tick's requests follow the work in flight, not the history. A re-opened
record (a person's retry writes a newer version) is active again because the marker names the old version.
``scan`` and ``get`` still read finished records (``status`` history, event dedupe: ``create`` of ``v1``
still finds the chain).

A request costs: ``get`` = LIST + GET; ``create`` = PUT + LIST; ``replace`` = PUT + LIST + DELETE of
the version before last (+ a GET of the parent when this store did not read it itself).
"""
from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlsplit

from shared.errors import CloudError, ConfigError, LedgerConflictError, LedgerStoreError
from shared.ledger.record import Record, State
from shared.ledger.store.base import LedgerStore

if TYPE_CHECKING:
    from shared.clouds.oss_types import ObjectInfo

DEFAULT_REGION = "cn-hangzhou"
_VERSION_RE = re.compile(r"^v(\d{12})\.json\Z")
_FINISHED_RE = re.compile(r"^finished-v(\d{12})-([A-Z]+)\Z")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
_PARENT_CACHE_SIZE = 4096
_READ_ATTEMPTS = 4
_SCAN_WORKERS = 8


class ObjectStore(Protocol):
    """The four ``OssGateway`` methods the store needs (a fake implements them in unit tests)."""

    def put_if_absent(
        self, region: str, bucket: str, key: str, body: bytes, content_type: str = ..., metadata: Any = ...
    ) -> bool: ...

    def get(self, region: str, bucket: str, key: str) -> bytes | None: ...

    def delete(self, region: str, bucket: str, key: str) -> None: ...

    def iter_objects(self, region: str, bucket: str, prefix: str, delimiter: str = ...) -> Iterator[ObjectInfo]: ...


@dataclass(frozen=True)
class _Version:
    """One version object as read back: the record plus the chain bookkeeping."""

    record: Record
    write_id: str
    prev: str | None


class OssStore(LedgerStore):
    """Ledger records as version chains under ``prefix`` in one bucket (see the module docstring)."""

    def __init__(self, objects: ObjectStore, bucket: str, prefix: str = "", *, region: str = DEFAULT_REGION) -> None:
        self.objects = objects
        self.bucket = bucket
        self.region = region
        self.root = prefix.strip("/") + "/" if prefix.strip("/") else ""
        # write_id of versions this store has read or written: the ``prev`` of the next write.
        self._parents: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._lock = threading.Lock()

    # -- the four primitives ------------------------------------------------------------------------

    def get(self, key: str) -> Record | None:
        for _ in range(_READ_ATTEMPTS):
            versions = self._versions(key)
            if not versions:
                return None
            found = self._read(key, versions[-1])
            if found is not None:
                return found.record
        raise LedgerStoreError(f"{key}: the newest version kept vanishing while being read")

    def create(self, record: Record) -> bool:
        stored = record.model_copy(update={"version": 1})
        return self._write(stored, prev=None)[0]

    def replace(self, record: Record, expected_version: int) -> Record:
        key = record.key
        parent = self._parent_id(key, expected_version)
        if parent is None:
            raise LedgerConflictError(f"{key}: version {expected_version} does not exist (record missing or newer)")
        stored = record.model_copy(update={"version": expected_version + 1})
        won, versions = self._write(stored, prev=parent)
        if not won:
            raise LedgerConflictError(f"{key}: version is not {expected_version}")
        if stored.is_finished:
            self._mark_finished(key, stored.version, stored.state)
        for old in versions:
            if old < expected_version:  # keep the one we replaced: a reader may have just listed it
                self._delete_quietly(key, old)
        return stored

    def scan(self, prefix: str) -> Iterator[Record]:
        return self.scan_keys(prefix, lambda _key: True)

    def scan_active(self, prefix: str, keep: Callable[[str], bool] | None = None) -> Iterator[Record]:
        """Like ``scan_keys``, without reading records whose newest version is marked finished."""
        return iter(self.active_and_finished(prefix, keep)[0])

    def active_and_finished(self, prefix: str, keep: Callable[[str], bool] | None = None,
                            ) -> tuple[list[Record], dict[str, State]]:
        """One listing: the active records (one GET each, in parallel) and the finished keys' states."""
        newest: dict[str, int] = {}
        marked: dict[str, tuple[int, State]] = {}
        for info in self._list(self.root + prefix, delimiter=""):
            name = info.key[len(self.root):]
            if "/" not in name:
                continue
            key, leaf = name.rsplit("/", 1)
            if (m := _VERSION_RE.match(leaf)) is not None:
                newest[key] = max(int(m.group(1)), newest.get(key, 0))
            elif (m := _FINISHED_RE.match(leaf)) is not None and int(m.group(1)) >= marked.get(key, (0,))[0]:
                marked[key] = (int(m.group(1)), State(m.group(2)))
        finished = {key: state for key, (version, state) in marked.items() if newest.get(key) == version}
        wanted = sorted(k for k in newest if k.startswith(prefix) and k not in finished and (keep is None or keep(k)))
        with ThreadPoolExecutor(max_workers=_SCAN_WORKERS) as pool:
            records = [r for r in pool.map(lambda k: self._read_newest(k, newest[k]), wanted) if r is not None]
        return records, finished

    def finished_states(self, prefix: str) -> dict[str, State]:
        """Key → state of the records under ``prefix`` whose newest version carries a finished marker."""
        return self.active_and_finished(prefix, lambda _key: False)[1]

    def _mark_finished(self, key: str, version: int, state: State) -> None:
        # Best effort: without the marker the record is only read once more per tick, never misread.
        name = f"{self.root}{key}/finished-v{version:012d}-{state.value}"
        try:
            self.objects.put_if_absent(self.region, self.bucket, name, b"")
        except CloudError:
            pass

    def scan_keys(self, prefix: str, keep: Callable[[str], bool]) -> Iterator[Record]:
        """One listing, then one GET per kept record: ``keep`` decides on the key, before the GET."""
        newest: dict[str, int] = {}
        for info in self._list(self.root + prefix, delimiter=""):
            parsed = self._parse(info.key)
            if parsed is not None and parsed[0].startswith(prefix) and keep(parsed[0]):
                key, version = parsed
                newest[key] = max(version, newest.get(key, 0))
        keys = sorted(newest)
        if len(keys) <= 1:
            records = [self._read_newest(k, newest[k]) for k in keys]
        else:
            # One GET per record, in parallel: a scan is on every tick's path.
            with ThreadPoolExecutor(max_workers=_SCAN_WORKERS) as pool:
                records = list(pool.map(lambda k: self._read_newest(k, newest[k]), keys))
        yield from (r for r in records if r is not None)

    # -- writing ------------------------------------------------------------------------------------

    def _write(self, stored: Record, prev: str | None) -> tuple[bool, list[int]]:
        """Put ``stored`` as its version if absent and confirm we won; returns (won, versions seen)."""
        key, version = stored.key, stored.version
        write_id = uuid.uuid4().hex
        body = json.dumps(
            {"write_id": write_id, "prev": prev, "record": stored.model_dump(mode="json")}, sort_keys=True
        ).encode()
        created = self._io(lambda: self.objects.put_if_absent(self.region, self.bucket, self._name(key, version), body))
        if not created:
            # "Already exists" is either a rival or our own earlier try whose answer was lost.
            existing = self._read(key, version)
            if existing is None or existing.write_id != write_id:
                return False, []
        versions = self._versions(key)
        if self._confirmed(key, version, write_id, versions):
            self._remember(key, version, write_id)
            return True, versions
        self._delete_quietly(key, version)  # never the newest, so no reader depends on it
        return False, versions

    def _confirmed(self, key: str, version: int, write_id: str, versions: list[int]) -> bool:
        """True if our put of ``version`` is part of the live chain (see "Why every write is confirmed")."""
        if not versions or versions[-1] <= version:
            return True
        child = self._read(key, version + 1)
        return child is not None and child.prev == write_id

    def _parent_id(self, key: str, version: int) -> str | None:
        if version < 1:
            return None
        with self._lock:
            known = self._parents.get((key, version))
        if known is not None:
            return known
        found = self._read(key, version)
        return found.write_id if found is not None else None

    # -- reading ------------------------------------------------------------------------------------

    def _read(self, key: str, version: int) -> _Version | None:
        raw = self._io(lambda: self.objects.get(self.region, self.bucket, self._name(key, version)))
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
            found = _Version(Record.model_validate(doc["record"]), str(doc["write_id"]), doc.get("prev"))
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerStoreError(f"{key}: version {version} is not a ledger record: {type(exc).__name__}") from exc
        self._remember(key, version, found.write_id)
        return found

    def _read_newest(self, key: str, version: int) -> Record | None:
        found = self._read(key, version)
        return found.record if found is not None else self.get(key)

    def _versions(self, key: str) -> list[int]:
        base = f"{self.root}{key}/"
        found = []
        for info in self._list(base, delimiter="/"):
            match = _VERSION_RE.match(info.key[len(base) :])
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def _list(self, prefix: str, delimiter: str) -> list[ObjectInfo]:
        found: list[ObjectInfo] = self._io(
            lambda: list(self.objects.iter_objects(self.region, self.bucket, prefix, delimiter))
        )
        return found

    # -- helpers ------------------------------------------------------------------------------------

    def _name(self, key: str, version: int) -> str:
        return f"{self.root}{key}/v{version:012d}.json"

    def _parse(self, name: str) -> tuple[str, int] | None:
        """(record key, version) of a version object's name, or None for anything else."""
        if not name.startswith(self.root) or "/" not in name[len(self.root) :]:
            return None
        key, leaf = name[len(self.root) :].rsplit("/", 1)
        match = _VERSION_RE.match(leaf)
        return (key, int(match.group(1))) if match and key else None

    def _remember(self, key: str, version: int, write_id: str) -> None:
        with self._lock:
            self._parents[(key, version)] = write_id
            self._parents.move_to_end((key, version))
            while len(self._parents) > _PARENT_CACHE_SIZE:
                self._parents.popitem(last=False)

    def _delete_quietly(self, key: str, version: int) -> None:
        # Garbage collection only: a failure leaves an old object behind, never a wrong answer.
        try:
            self.objects.delete(self.region, self.bucket, self._name(key, version))
        except CloudError:
            pass

    def _io(self, fn: Callable[[], Any]) -> Any:
        """Run one adapter call; a cloud failure becomes ``LedgerStoreError`` (with its retryability)."""
        try:
            return fn()
        except CloudError as exc:
            err = LedgerStoreError(f"ledger oss://{self.bucket}/{self.root}: {exc}")
            err.retryable = exc.retryable
            raise err from exc


def parse_oss_url(url: str, env: dict[str, str] | None = None) -> tuple[str, str, str]:
    """(bucket, prefix, region) of ``oss://bucket/prefix?region=…``; region defaults to FC_REGION.

    Examples
    --------
    >>> parse_oss_url("oss://relay-state/ledger/v1?region=cn-beijing")
    ('relay-state', 'ledger/v1', 'cn-beijing')
    >>> parse_oss_url("oss://relay-state", {"FC_REGION": "cn-shanghai"})
    ('relay-state', '', 'cn-shanghai')
    """
    source = os.environ if env is None else env
    parts = urlsplit(url)
    bucket = parts.netloc
    if not _BUCKET_RE.match(bucket):
        raise ConfigError(f"{bucket!r} is not a valid OSS bucket name", field="IMAGE_RELAY_STATE")
    region = (parse_qs(parts.query).get("region") or [""])[0] or source.get("FC_REGION") or DEFAULT_REGION
    return bucket, parts.path.strip("/"), region


def open_oss_store(url: str, objects: ObjectStore | None = None) -> OssStore:
    """The store for ``IMAGE_RELAY_STATE=oss://…``; without ``objects``, an ``OssGateway`` from the env.

    Credentials are read per call (``credentials_from(None)``: FC exposes ``ALIBABA_CLOUD_*``), so a
    warm instance picks up rotated STS credentials; the endpoint is ``IMAGE_RELAY_ENDPOINT``.
    """
    bucket, prefix, region = parse_oss_url(url)
    if objects is None:
        objects = _gateway_from_env()
    return OssStore(objects, bucket, prefix, region=region)


def _gateway_from_env() -> ObjectStore:
    from shared.clouds._retry import RetryPolicy
    from shared.clouds.oss import OssGateway
    from shared.config import credentials_from, get_settings

    settings = get_settings()
    credentials_from(None)  # fail at open time, with the variable named, rather than on first use
    return OssGateway.connect(
        lambda: credentials_from(None),
        endpoint=settings.endpoint,
        retry=RetryPolicy(base_seconds=settings.retry_base_seconds, max_attempts=settings.retry_max_attempts),
    )


__all__ = ["ObjectStore", "OssStore", "open_oss_store", "parse_oss_url"]
