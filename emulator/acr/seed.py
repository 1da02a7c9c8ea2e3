"""The CR part of ``POST /_emulator/seed`` (pydantic, extra keys forbidden) and the push control body.

Defaults (UNCONFIRMED, emulator choices): instance ``name`` = its id, ``specification`` Enterprise_Advanced;
``repo_id`` generated ``crr-`` + 16 lower-case alphanumerics; tag ``size_bytes`` 10 MiB, ``pushed_at`` (ISO-8601)
= the virtual now; instance ``account_id`` = the seed's home account (a partner's id from the ``accounts`` key
puts the instance in that account: only that account's credentials see it). A repo's namespace is created implicitly. Cross-references (instance enabled region,
namespace/repo/tag → existing instance, tag → existing repo) are checked by the backend and reported with the
field's ``loc`` (``acr_tags.0.repo``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from emulator.core.state import StrictModel

Specification = Literal["Enterprise_Advanced", "Enterprise_Standard", "Enterprise_Basic"]
DEFAULT_SIZE = 10 * 1024 * 1024


class SeedAcrInstance(StrictModel):
    """A CR Enterprise Edition instance."""

    region: str
    instance_id: str = Field(min_length=1)
    name: str | None = None
    specification: Specification = "Enterprise_Advanced"
    account_id: str | None = Field(default=None, pattern=r"^\d{16}$")


class SeedAcrNamespace(StrictModel):
    """A namespace of an instance."""

    instance_id: str
    name: str = Field(min_length=1)


class SeedAcrRepo(StrictModel):
    """A repository (its namespace is created when absent)."""

    instance_id: str
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    repo_id: str | None = None


class SeedAcrTag(StrictModel):
    """One tag of a seeded repository."""

    instance_id: str
    namespace: str = Field(min_length=1)
    repo: str = Field(min_length=1)
    tag: str = Field(min_length=1)
    digest: str = Field(min_length=1)
    size_bytes: int = Field(default=DEFAULT_SIZE, ge=0)
    pushed_at: str | None = None


class AcrSeed(StrictModel):
    """Seed keys contributed by the CR service."""

    acr_instances: list[SeedAcrInstance] = Field(default_factory=list)
    acr_namespaces: list[SeedAcrNamespace] = Field(default_factory=list)
    acr_repos: list[SeedAcrRepo] = Field(default_factory=list)
    acr_tags: list[SeedAcrTag] = Field(default_factory=list)


class AcrPush(StrictModel):
    """Body of ``POST /_emulator/acr/push``."""

    instance_id: str = Field(min_length=1)
    namespace: str = Field(min_length=1)
    repo: str = Field(min_length=1)
    tag: str = Field(min_length=1)
    digest: str = Field(min_length=1)
    size_bytes: int = Field(default=DEFAULT_SIZE, ge=0)
