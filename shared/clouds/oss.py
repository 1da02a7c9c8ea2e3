"""The OSS adapter: typed object calls over ``oss2``, errors translated, retries bounded by the deadline.

Why it looks like this:
- ``put_if_absent`` sends ``x-oss-forbid-overwrite: true``: OSS's only create-if-absent primitive.
  PutObject ``If-Match`` is not documented (alibaba-api.md §7.5, §8), so there is no native
  compare-and-set; the ledger builds one from version chains (``shared/ledger/store/oss.py``).
- Lost responses: a retried ``put_if_absent`` whose first try did land (the answer was lost) gets
  409 ``FileAlreadyExists`` and returns False. The adapter cannot tell "someone else" from "our own
  earlier try", so a caller that must know writes a unique id into the body and, on False, reads
  the object back and compares (the ledger store does exactly that).
- Endpoints: the real cloud is ``https://oss-<region>.aliyuncs.com`` (virtual-host); the emulator
  (``IMAGE_RELAY_ENDPOINT``) is an IP, where oss2 uses path style by itself (§7.5, §7.6).
- Signing: v4 (``oss2.AuthV4``, or ``StsAuth`` with v4 when an STS token is present) is the
  recommended signer and needs the region; the emulator verifies v1 and v4.
- ``calls`` counts HTTP calls (retries included), for summaries and the benchmark.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import oss2

from shared.clouds._clients import cached_client, reveal
from shared.clouds._errors import translate_oss
from shared.clouds._retry import RetryPolicy, call_with_retry
from shared.clouds.oss_types import ObjectInfo, from_epoch
from shared.config import Credentials
from shared.runtime import Deadline

T = TypeVar("T")

#: list_objects_v2 page size: the service maximum, so a scan costs as few calls as possible.
PAGE_SIZE = 1000
_TIMEOUT_SECONDS = 10  # oss2 defaults to 60 s, longer than most FC ticks have left

BucketFor = Callable[[str, str], Any]


def oss_endpoint(region: str, endpoint: str | None) -> str:
    """The endpoint URL oss2 should use for ``region``.

    Examples
    --------
    >>> oss_endpoint("cn-beijing", None)
    'https://oss-cn-beijing.aliyuncs.com'
    >>> oss_endpoint("cn-beijing", "http://127.0.0.1:8000")
    'http://127.0.0.1:8000'
    """
    if endpoint:
        return endpoint if "://" in endpoint else f"http://{endpoint}"
    return f"https://oss-{region}.aliyuncs.com"


def _auth(credentials: Credentials) -> Any:
    secret = reveal(credentials.access_key_secret) or ""
    token = reveal(credentials.security_token)
    if token:
        return oss2.StsAuth(credentials.access_key_id, secret, token, auth_version=oss2.AUTH_VERSION_4)
    return oss2.AuthV4(credentials.access_key_id, secret)


class OssGateway:
    """OSS for one set of credentials; ``bucket_for(region, bucket)`` is injectable for tests."""

    def __init__(
        self,
        bucket_for: BucketFor,
        *,
        retry: RetryPolicy | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self._bucket_for = bucket_for
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self.calls = 0

    @classmethod
    def connect(
        cls,
        credentials: Credentials | Callable[[], Credentials],
        *,
        endpoint: str | None = None,
        retry: RetryPolicy | None = None,
        deadline: Deadline | None = None,
    ) -> OssGateway:
        """Real ``oss2.Bucket`` objects, cached per (endpoint, region, bucket, credentials).

        ``credentials`` may be a zero-argument provider, read on every call: a long-lived user (the
        ledger store of a warm FC instance) then follows STS rotation, and the cache key (which
        holds the triple) hands out a new client for new credentials.
        """
        provide = credentials if callable(credentials) else (lambda: credentials)

        def bucket_for(region: str, bucket: str) -> Any:
            url = oss_endpoint(region, endpoint)
            creds = provide()

            def build() -> Any:
                return oss2.Bucket(
                    _auth(creds),
                    url,
                    bucket,
                    region=region,
                    connect_timeout=_TIMEOUT_SECONDS,
                    # A named emulator host (not an IP) still needs path style; the real cloud does not.
                    is_path_style=bool(endpoint),
                )

            return cached_client(f"oss:{bucket}", region, creds, url, build)

        return cls(bucket_for, retry=retry, deadline=deadline)

    # -- plumbing ---------------------------------------------------------------------------------

    def _call(self, region: str, bucket: str, op: Callable[[Any], T]) -> T:
        def once() -> T:
            self.calls += 1
            try:
                return op(self._bucket_for(region, bucket))
            except Exception as exc:  # oss2 raises OssError subclasses and, rarely, raw socket errors
                raise translate_oss(exc) from exc

        return call_with_retry(once, self.retry, self.deadline)

    @staticmethod
    def _headers(content_type: str, metadata: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Content-Type": content_type}
        for name, value in (metadata or {}).items():
            headers[f"x-oss-meta-{name}"] = value
        return headers

    # -- objects ----------------------------------------------------------------------------------

    def put_if_absent(
        self,
        region: str,
        bucket: str,
        key: str,
        body: bytes,
        content_type: str = "application/json",
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        """Create ``key`` only if it does not exist; False when it already does (409 FileAlreadyExists).

        False after a retry can also mean our own first try landed: see the module docstring.
        """
        headers = self._headers(content_type, metadata)
        headers["x-oss-forbid-overwrite"] = "true"

        def op(b: Any) -> bool:
            try:
                b.put_object(key, body, headers=headers)
            except oss2.exceptions.ServerError as exc:
                if exc.status == 409 and exc.code == "FileAlreadyExists":
                    return False
                raise
            return True

        return self._call(region, bucket, op)

    def put(
        self,
        region: str,
        bucket: str,
        key: str,
        body: bytes,
        content_type: str = "application/json",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write ``key`` unconditionally (overwrites); returns the new ETag without quotes."""
        headers = self._headers(content_type, metadata)
        result = self._call(region, bucket, lambda b: b.put_object(key, body, headers=headers))
        return str(result.etag or "").strip('"')

    def get(self, region: str, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist (NoSuchKey)."""

        def op(b: Any) -> bytes | None:
            try:
                return bytes(b.get_object(key).read())  # read inside: a body cut short is retried too
            except oss2.exceptions.NoSuchKey:
                return None

        return self._call(region, bucket, op)

    def head(self, region: str, bucket: str, key: str) -> ObjectInfo | None:
        """Size, ETag and time of ``key``, or None when it does not exist."""

        def op(b: Any) -> ObjectInfo | None:
            try:
                meta = b.head_object(key)
            except (oss2.exceptions.NoSuchKey, oss2.exceptions.NotFound):
                return None
            return ObjectInfo(
                key=key,
                size=int(meta.content_length or 0),
                etag=str(meta.etag or "").strip('"'),
                last_modified=from_epoch(meta.last_modified),
            )

        return self._call(region, bucket, op)

    def delete(self, region: str, bucket: str, key: str) -> None:
        """Delete ``key``; OSS answers 204 for a missing key too, so this is idempotent."""

        def op(b: Any) -> None:
            try:
                b.delete_object(key)
            except oss2.exceptions.NoSuchKey:
                return None
            return None

        self._call(region, bucket, op)

    def iter_objects(
        self, region: str, bucket: str, prefix: str, delimiter: str = "", *, page_size: int = PAGE_SIZE
    ) -> Iterator[ObjectInfo]:
        """Objects under ``prefix`` in key order, ``page_size`` a call (list_objects_v2 paging).

        With ``delimiter="/"`` only the direct children are listed (common prefixes are skipped).
        """
        token = ""
        while True:

            def op(b: Any, t: str = token) -> Any:
                return b.list_objects_v2(prefix=prefix, delimiter=delimiter, continuation_token=t, max_keys=page_size)

            page = self._call(region, bucket, op)
            for obj in page.object_list:
                yield ObjectInfo(
                    key=obj.key,
                    size=int(obj.size or 0),
                    etag=str(obj.etag or "").strip('"'),
                    last_modified=from_epoch(obj.last_modified),
                )
            token = page.next_continuation_token or ""
            if not page.is_truncated or not token:
                return
