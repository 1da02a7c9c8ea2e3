"""ECS data classes and the base of the backend mixins (ids, lookups, region checks). No HTTP here.

The backend is composed of mixins (``models_images``, ``models_copy``, ``models_tags``) so each file stays
small. All methods run with ``State.lock`` held by the dispatcher or the control plane.

Image ids are region-flavoured like the real ones (``m-bp1…`` hangzhou, ``m-2ze…`` beijing, ``m-uf6…``
shanghai, ``m-t4n…`` ap-southeast-1, ``m-wz9…`` shenzhen, ``m-j6c…`` hongkong; any other region ``m-`` + 20
hex characters). Snapshot ids use the same scheme with ``s-``.

Every image disk references a real :class:`Snapshot` of the image's region (``add_image_snapshots``): seeded
images, CopyImage copies (their snapshots show ``progressing`` while the copy runs) and CreateImage images
(which reference the snapshots they were created from).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.core.errors import InvalidRegionIdError
from emulator.core.state import parse_iso
from emulator.ecs import exceptions as exc

if TYPE_CHECKING:
    from emulator.core.state import State
    from emulator.oss.models import OssBackend

ID_PREFIXES: dict[str, str] = {
    "cn-hangzhou": "bp1",
    "cn-beijing": "2ze",
    "cn-shanghai": "uf6",
    "ap-southeast-1": "t4n",
    "cn-shenzhen": "wz9",
    "cn-hongkong": "j6c",
    "cn-zhangjiakou": "8vb",
    "cn-qingdao": "m5e",
}


def new_resource_id(kind: str, region: str) -> str:
    """Return a fresh id such as ``m-bp1a2b3c…`` for ``kind`` ``m`` in cn-hangzhou."""
    prefix = ID_PREFIXES.get(region)
    if prefix is None:
        return f"{kind}-{uuid.uuid4().hex[:20]}"
    return f"{kind}-{prefix}{uuid.uuid4().hex[:17]}"


@dataclass
class Disk:
    """One DiskDeviceMapping entry."""

    device: str
    type: str
    size_gib: int
    snapshot_id: str
    encrypted: bool = False
    kms_key_id: str = ""


@dataclass
class CopyJob:
    """The copy task behind an image created by CopyImage; FIFO order is ``seq``."""

    seq: int
    source_region: str
    source_image_id: str
    started_at: float | None = None
    duration: float = 0.0

    def end(self) -> float | None:
        """Return the virtual time the copy completes, or None while it waits for a slot."""
        return None if self.started_at is None else self.started_at + self.duration


@dataclass
class Image:
    """A custom (or seeded system/others) image in one region."""

    region: str
    image_id: str
    name: str
    size_gib: int
    owner_id: str
    owner_alias: str
    creation_time: float
    seq: int
    description: str = ""
    status: str = "Available"
    os_type: str = "linux"
    platform: str = "CentOS"
    architecture: str = "x86_64"
    tags: dict[str, str] = field(default_factory=dict)
    disks: list[Disk] = field(default_factory=list)
    shared_with: list[str] = field(default_factory=list)
    is_copied: bool = False
    kms_key_id: str = ""
    copy: CopyJob | None = None
    ready_at: float | None = None
    marketplace: bool = False
    product_code: str = ""
    boot_mode: str = "BIOS"
    fail_on_ready: bool = False
    share_times: dict[str, float] = field(default_factory=dict)
    family: str = ""  # ImageFamily ("" = none)

    @property
    def copying(self) -> bool:
        """True while this image is a copy still Waiting or Creating."""
        return self.copy is not None and self.status in ("Waiting", "Creating")

    def progress(self, now: float) -> int:
        """Return the percentage shown as ``Progress`` (floor, 100 only when Available)."""
        if self.status != "Creating":
            return 100 if self.status == "Available" else 0
        start, end = self._window()
        if end is None or end <= start:
            return 0
        return max(0, min(99, math.floor((now - start) / (end - start) * 100)))

    def remain_time(self, now: float) -> int:
        """Return the seconds left before the image becomes Available (0 when unknown or done)."""
        _, end = self._window()
        return 0 if end is None or self.status != "Creating" else max(0, math.ceil(end - now))

    def _window(self) -> tuple[float, float | None]:
        """Return (start, end) of the Creating phase."""
        if self.copy is not None:
            return (self.copy.started_at or self.creation_time), self.copy.end()
        return self.creation_time, self.ready_at


@dataclass
class ExportTask:
    """An ExportImage task (``t-…``); ``status`` Processing → Finished | Failed | Cancelled."""

    task_id: str
    region: str
    image_id: str
    bucket: str
    prefix: str
    image_format: str
    role_name: str
    objects: list[tuple[str, int]]  # (object key, declared size in bytes), one per disk
    creation_time: float
    seq: int
    duration: float
    status: str = "Processing"
    finished_time: float | None = None
    error_code: str = ""
    error_msg: str = ""

    @property
    def end(self) -> float:
        """The virtual time the export completes."""
        return self.creation_time + self.duration

    def progress(self, now: float) -> int:
        """Whole percent done (100 only once Finished or Failed at the end)."""
        if self.status in ("Finished", "Failed"):
            return 100
        at = now if self.status == "Processing" else (self.finished_time or now)
        if self.duration <= 0:
            return 0
        return max(0, min(99, math.floor((at - self.creation_time) / self.duration * 100)))


@dataclass
class Snapshot:
    """A snapshot (``s-…``): of an image disk, seeded, or a CopySnapshot copy (``progressing`` → ``accomplished``).

    ``for_image`` names the image whose creation made it (seed or CopyImage): while that image is ``Waiting``
    or ``Creating`` the snapshot shows ``progressing`` with the image's progress.
    """

    region: str
    snapshot_id: str
    owner_id: str
    name: str
    size_gib: int
    disk_type: str
    creation_time: float
    seq: int
    description: str = ""
    status: str = "accomplished"
    encrypted: bool = False
    kms_key_id: str = ""
    source_region: str = ""
    source_snapshot_id: str = ""
    retention_days: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    for_image: str = ""

    @property
    def end(self) -> float:
        """The virtual time a CopySnapshot copy completes."""
        return self.creation_time + self.duration


@dataclass
class LaunchTemplateVersion:
    """One version of a launch template; only what says which image it launches."""

    number: int
    image_id: str
    creation_time: float
    description: str = ""


@dataclass
class LaunchTemplate:
    """A launch template (``lt-…``) and every one of its versions (DescribeLaunchTemplateVersions)."""

    region: str
    template_id: str
    name: str
    creation_time: float
    seq: int
    default_version: int = 1
    versions: dict[int, LaunchTemplateVersion] = field(default_factory=dict)

    @property
    def latest_version(self) -> int:
        """The highest version number (0 when the template has no version)."""
        return max(self.versions, default=0)


@dataclass
class Instance:
    """An instance: answers "is this image in use?" and shows Image Builder's intermediate instances."""

    region: str
    instance_id: str
    image_id: str
    name: str
    status: str = "Running"
    creation_time: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)
    instance_type: str = "ecs.g6.large"
    charge_type: str = "PostPaid"
    vpc_id: str = ""
    vswitch_id: str = ""
    description: str = ""


class BackendBase:
    """State shared by the mixins, plus lookups and the region checks."""

    oss: OssBackend | None = None  # where ExportImage writes its files (set by EcsService)

    def __init__(self, state: State) -> None:
        self.state = state
        self.reset()

    def reset(self) -> None:
        """Drop every ECS resource."""
        self.images: dict[str, Image] = {}
        self.instances: dict[str, Instance] = {}
        self.kms_keys: set[tuple[str, str]] = set()
        self.client_tokens: dict[tuple[str, str, str, str], tuple[dict[str, str], dict[str, str]]] = {}
        self.tasks: dict[str, ExportTask] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.launch_templates: dict[str, LaunchTemplate] = {}
        self._seq = 0
        self._settled_at = self.state.clock.now()

    def next_seq(self) -> int:
        """Return a monotonically increasing creation sequence (tie-break for 'newest first' and FIFO)."""
        self._seq += 1
        return self._seq

    @property
    def now(self) -> float:
        """Return the virtual now."""
        return self.state.clock.now()

    def check_region(self, region: str | None) -> str:
        """Return ``region`` if it is enabled, else raise ``InvalidRegionId.NotFound``."""
        if region is None or not self.state.region_enabled(region):
            raise InvalidRegionIdError()
        return region

    def image_in(self, region: str, image_id: str) -> Image | None:
        """Return the image if it exists in ``region`` and the calling account may see it."""
        image = self.images.get(image_id)
        return image if image is not None and image.region == region and self.visible(image) else None

    def own_image(self, region: str, image_id: str) -> Image:
        """The calling account's image of ``region`` (404 ``InvalidImageId.NotFound`` when missing or unseen,
        403 ``Forbidden`` when another account owns it): what sharing and modifying an image require."""
        self.check_region(region)
        image = self.image_in(region, image_id)
        if image is None:
            raise exc.InvalidImageIdNotFoundError()
        if image.owner_id != self.state.current_account:
            raise exc.ForbiddenError()
        return image

    def visible(self, image: Image) -> bool:
        """True when the calling account sees ``image``: public (system, marketplace), its own, shared with it.

        An image seeded with an owner that is no registered account (the single-account seeds' "others"
        images) counts as shared with the home account, as it always did.
        """
        account = self.state.current_account
        if image.owner_alias in ("system", "marketplace") or image.owner_id == account or account in image.shared_with:
            return True
        return account == self.state.account_id and image.owner_id not in self.state.registry.accounts

    def alias_for(self, image: Image) -> str:
        """``ImageOwnerAlias`` as the calling account sees it: the stored alias for the owner, else ``others``."""
        if image.owner_alias in ("system", "marketplace") or image.owner_id == self.state.current_account:
            return image.owner_alias
        return "others"

    def kms_key_ok(self, region: str, key_id: str) -> bool:
        """True when the calling account has KMS key ``key_id`` in ``region`` (seed ``kms_keys`` belong to the
        home account, ``accounts[].kms_keys`` to that account)."""
        account = self.state.current_account
        home = account == self.state.account_id and (region, key_id) in self.kms_keys
        return home or self.state.kms_key_exists(account, region, key_id)

    def region_images(self, region: str) -> list[Image]:
        """Return the images of ``region`` newest first."""
        found = [i for i in self.images.values() if i.region == region]
        return sorted(found, key=lambda i: (i.creation_time, i.seq), reverse=True)

    def exporting(self, image: Image) -> bool:
        """Return True while an ExportImage task of the image is Processing."""
        return any(
            t.image_id == image.image_id and t.region == image.region and t.status == "Processing"
            for t in self.tasks.values()
        )

    def copy_source_busy(self, image: Image) -> bool:
        """Return True while a copy made from ``image`` (any region) is still Waiting or Creating."""
        return any(
            i.copying and i.copy is not None and i.copy.source_image_id == image.image_id
            and i.copy.source_region == image.region
            for i in self.images.values()
        )

    def in_use(self, image: Image) -> bool:
        """Return True when an instance in the image's region runs it."""
        return any(i.image_id == image.image_id and i.region == image.region for i in self.instances.values())

    def creation_epoch(self, value: str | None) -> float:
        """Parse a seeded ``creation_time`` or default to now."""
        return self.now if value is None else parse_iso(value)

    def add_image_snapshots(self, image: Image) -> None:
        """Make sure every disk of ``image`` references a Snapshot object of the image's region.

        A disk whose ``snapshot_id`` is unknown gets a new accomplished snapshot under that id (owned like
        the image, ``for_image`` = the image); an existing snapshot is left as it is.
        """
        for disk in image.disks:
            if disk.snapshot_id in self.snapshots:
                continue
            self.snapshots[disk.snapshot_id] = Snapshot(
                region=image.region,
                snapshot_id=disk.snapshot_id,
                owner_id=image.owner_id,
                name=f"Image{'System' if disk.type == 'system' else 'Data'}Snapshot-{image.image_id}",
                size_gib=disk.size_gib,
                disk_type=disk.type,
                creation_time=image.creation_time,
                seq=self.next_seq(),
                description=f"Created for image {image.image_id}",
                encrypted=disk.encrypted,
                kms_key_id=disk.kms_key_id,
                for_image=image.image_id,
            )

    def holds_snapshot(self, image: Image, snapshot_id: str) -> bool:
        """True when ``image`` keeps ``snapshot_id`` in use (a ``CreateFailed`` image holds nothing)."""
        return image.status != "CreateFailed" and any(d.snapshot_id == snapshot_id for d in image.disks)

    def snapshot_users(self, snapshot: Snapshot) -> list[Image]:
        """Return the images of the snapshot's region that keep it in use."""
        return [
            i for i in self.images.values() if i.region == snapshot.region and self.holds_snapshot(i, snapshot.snapshot_id)
        ]

    def replay_token(
        self, action: str, region: str, token: str | None, fingerprint: dict[str, str]
    ) -> dict[str, str] | None:
        """Return the recorded result of a ClientToken replay (same token, same parameters), None when new.

        Same token with other parameters → ``IdempotentParameterMismatch``. Scope: account + action + region.
        """
        if token is None:
            return None
        if len(token) > 64 or not token.isascii():
            raise exc.InvalidClientTokenMalformedError()
        recorded = self.client_tokens.get((self.state.current_account, action, region, token))
        if recorded is None:
            return None
        params, result = recorded
        if params != fingerprint:
            raise exc.IdempotentParameterMismatchError()
        return result

    def remember_token(
        self, action: str, region: str, token: str | None, fingerprint: dict[str, str], result: dict[str, str]
    ) -> None:
        """Record the result of a successful call made with a ClientToken (tokens never expire)."""
        if token is not None:
            self.client_tokens[(self.state.current_account, action, region, token)] = (dict(fingerprint), dict(result))
