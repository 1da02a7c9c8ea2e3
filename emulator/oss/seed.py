"""The OSS part of ``POST /_emulator/seed`` (pydantic, extra keys forbidden).

* ``buckets: [{"region", "name"}]``: name 3–63 characters of ``[a-z0-9-]``, not starting or ending with ``-``
  (oss2 ``is_valid_bucket_name``), region enabled. Bucket names are global: seeding an existing name moves it.
* ``objects: [{"bucket", "key", "body", "content_type"?, "declared_size"?, "metadata"?}]``: ``body`` is UTF-8
  text; the bucket must exist already or be seeded in the same call. An existing key is replaced.
"""

from __future__ import annotations

from pydantic import Field

from emulator.core.state import StrictModel

BUCKET_NAME = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"


class SeedBucket(StrictModel):
    """A bucket in a region."""

    region: str
    name: str = Field(pattern=BUCKET_NAME)


class SeedObject(StrictModel):
    """An object to pre-create (e.g. to make an export collide with it)."""

    bucket: str
    key: str = Field(min_length=1, max_length=1023)
    body: str = ""
    content_type: str = "application/octet-stream"
    declared_size: int | None = Field(default=None, ge=0)
    metadata: dict[str, str] = Field(default_factory=dict)


class OssSeed(StrictModel):
    """Seed keys contributed by the OSS service."""

    buckets: list[SeedBucket] = Field(default_factory=list)
    objects: list[SeedObject] = Field(default_factory=list)
