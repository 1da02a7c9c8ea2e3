"""The ECS part of ``POST /_emulator/seed`` (pydantic, extra keys forbidden).

Defaults (UNCONFIRMED, emulator choices): ``name`` = the image id, ``size_gib`` 40, ``status`` Available,
``os_type`` linux, ``platform`` CentOS, ``architecture`` x86_64, one system disk ``/dev/xvda`` of
``size_gib``, owner = the seeded account (alias ``self``; another owner id defaults to alias ``others``),
``creation_time`` = the virtual now, ``ready_after_seconds`` 600 for a ``Creating`` image. ``marketplace``
(bool) or a non-empty ``product_code`` marks an image derived from a Marketplace image (ExportImage refuses it).
``family`` sets the image's ImageFamily. ``launch_templates``: ``name`` = the id, ``default_version`` = the lowest
version number, ``creation_time`` = the virtual now; a version's ``image_id`` need not exist (a template may
name an image that was deleted since, as in ECS).
``snapshots`` (standalone, UNCONFIRMED defaults): ``name`` = the id, ``size_gib`` 40, ``disk_type`` system,
``status`` accomplished (a ``progressing`` one completes after ``size_gib / snapshot_gib_per_minute``
minutes from its ``creation_time``), owner = the account; a ``kms_key_id`` implies ``encrypted`` (for a
snapshot and for an image's disk: an encrypted disk without one is encrypted with the service key).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from emulator.core.state import StrictModel
from emulator.ecs.seed_pipelines import PipelineSeed

ImageStatus = Literal["Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated"]


class SeedDisk(StrictModel):
    """One disk of a seeded image."""

    device: str = "/dev/xvda"
    type: Literal["system", "data"] = "system"
    size_gib: int = Field(default=40, ge=1)
    encrypted: bool = False
    kms_key_id: str = ""  # the key the disk's snapshot is encrypted with ("" = the service key); implies encrypted
    snapshot_id: str | None = None


class SeedImage(StrictModel):
    """A seeded image; only ``region`` and ``image_id`` are required."""

    region: str
    image_id: str = Field(min_length=1)
    name: str | None = None
    description: str = ""
    size_gib: int = Field(default=40, ge=1)
    status: ImageStatus = "Available"
    os_type: Literal["linux", "windows"] = "linux"
    platform: str = "CentOS"
    architecture: str = "x86_64"
    tags: dict[str, str] = Field(default_factory=dict)
    disks: list[SeedDisk] | None = None
    owner_id: str | None = None
    owner_alias: Literal["self", "others", "system", "marketplace"] | None = None
    shared_with: list[str] = Field(default_factory=list)
    creation_time: str | None = None
    ready_after_seconds: float = Field(default=600, ge=0)
    is_copied: bool = False
    marketplace: bool = False
    product_code: str = ""
    #: ImageFamily of the image (DescribeImageFromFamily returns a family's newest Available image).
    family: str | None = Field(default=None, min_length=2, max_length=128)


class SeedInstance(StrictModel):
    """A seeded instance: what makes an image "in use", and what a leftover of a build looks like."""

    region: str
    instance_id: str = Field(min_length=1)
    image_id: str
    name: str | None = None
    status: str = "Running"
    tags: dict[str, str] = Field(default_factory=dict)
    instance_type: str = "ecs.g6.large"
    creation_time: str | None = None
    vswitch_id: str = ""
    vpc_id: str = ""


class SeedKmsKey(StrictModel):
    """A KMS key usable by CopyImage ``KMSKeyId`` in its region."""

    region: str
    key_id: str = Field(min_length=1)


class SeedSnapshot(StrictModel):
    """A standalone snapshot (DescribeSnapshots / CopySnapshot / CreateImage input)."""

    region: str
    snapshot_id: str = Field(min_length=1)
    name: str | None = None
    description: str = ""
    size_gib: int = Field(default=40, ge=1)
    disk_type: Literal["system", "data"] = "system"
    status: Literal["progressing", "accomplished", "failed"] = "accomplished"
    encrypted: bool = False
    kms_key_id: str = ""
    retention_days: int | None = Field(default=None, ge=1, le=65536)
    tags: dict[str, str] = Field(default_factory=dict)
    creation_time: str | None = None
    owner_id: str | None = None


class SeedLaunchTemplateVersion(StrictModel):
    """One version of a seeded launch template."""

    version_number: int = Field(ge=1)
    image_id: str = ""
    description: str = ""


class SeedLaunchTemplate(StrictModel):
    """A seeded launch template with its versions (the default version is the first one unless given)."""

    region: str
    launch_template_id: str = Field(min_length=1)
    name: str | None = None
    versions: list[SeedLaunchTemplateVersion] = Field(min_length=1)
    default_version: int | None = Field(default=None, ge=1)
    creation_time: str | None = None


class EcsSeed(PipelineSeed):
    """Seed keys contributed by the ECS service (Image Builder's ``image_pipelines`` / ``vswitches`` included)."""

    images: list[SeedImage] = Field(default_factory=list)
    instances: list[SeedInstance] = Field(default_factory=list)
    kms_keys: list[SeedKmsKey] = Field(default_factory=list)
    snapshots: list[SeedSnapshot] = Field(default_factory=list)
    launch_templates: list[SeedLaunchTemplate] = Field(default_factory=list)
