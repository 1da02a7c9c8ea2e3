"""CreateImage from snapshots (alibaba-api.md §1.8) on the virtual clock.

The new image exists at once as ``Creating`` and becomes ``Available`` ``create_image_seconds`` (default 120,
read at creation) later, or ``CreateFailed`` when the injected failure drew it: ``create_image_fail_rate``
(0..1) is drawn once per created image from ``random.Random(<faults seed>)`` (restarted whenever the fault
plan is replaced; no draw while the rate is 0). Images above 2048 GiB are allowed on this path (CopyImage
answers ``SizeExceed.Image`` for them). The image's disks reference the given snapshots; ``Encrypted`` and
the KMS key of each disk follow its snapshot.

UNCONFIRMED choices:

* rule order: RegionId (400 ``InvalidRegionId.NotFound``), ClientToken replay (scope account + CreateImage +
  region, same semantics as CopyImage), ``InstanceId`` (400 ``InvalidParameter.InstanceId``: creating from
  an instance is not emulated), mappings, ImageName, Description, Architecture, BootMode, tags, snapshots
  (404 ``InvalidSnapshotId.NotFound``, 403 ``IncorrectSnapshotStatus``), sizes, name uniqueness (400
  ``InvalidImageName.Duplicated`` among the account's images of the region), quota (403 ``QuotaExceed.Image``,
  counting every image the account owns in the region), DryRun (400 ``DryRunOperation``);
* ``DiskDeviceMapping.N`` wins over ``SnapshotId`` when both are given; neither → 400 ``MissingParameter``
  (``SnapshotId``); a mapping without SnapshotId → 400 ``InvalidParameter.DiskDeviceMapping``;
* ``DiskType`` defaults to ``system`` for the first mapping and ``data`` for the others; there must be
  exactly one system disk; ``Device`` defaults to ``/dev/xvda`` for the system disk and ``/dev/xvdb``,
  ``/dev/xvdc``… for data disks in order; duplicate devices or a snapshot used twice → 400
  ``InvalidParameter.DiskDeviceMapping``;
* ``Size`` defaults to the snapshot's size; it must be ≥ the snapshot's size and ≤ 2048 GiB for the system
  disk, ≤ 32768 GiB for a data disk (400 ``InvalidParameter.Size``);
* **every** referenced snapshot (not only the system disk's) must be ``accomplished`` (a snapshot of a copy
  still running counts as progressing);
* the image ``Size`` is the sum of its disk sizes (so a copy of a >2 TiB image still gets
  ``SizeExceed.Image``);
* without ``ImageName`` the name is the new image id; without ``Description`` it is ``""``;
* ``Platform`` defaults to ``Customized Linux``; ``OSType`` is ``windows`` when Platform starts with
  ``Windows`` (case-insensitive), else ``linux``; ``Architecture`` ``i386|x86_64|arm64`` (default x86_64, else
  400 ``InvalidParameter.Architecture``); ``BootMode`` ``BIOS|UEFI|UEFI-Preferred`` (default BIOS, else 400
  ``InvalidParameter.BootMode``); ImageFamily, ImageVersion, Features, ResourceGroupId and the other
  options are accepted and ignored;
* ``IsCopied`` is false; a ``CreateFailed`` image keeps no snapshot in use (DeleteSnapshot works at once)
  and can be removed with DeleteImage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from emulator.core.errors import DryRunOperationError, InvalidParameterError, MissingParameterError
from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, Disk, Image, Snapshot, new_resource_id
from emulator.ecs.models_copy import validate_description, validate_image_name
from emulator.ecs.models_tags import validate_tags
from emulator.ecs.models_templates import validate_family

ARCHITECTURES = ("i386", "x86_64", "arm64")
BOOT_MODES = ("BIOS", "UEFI", "UEFI-Preferred")
MAX_SYSTEM_GIB = 2048
MAX_DATA_GIB = 32768
_DATA_LETTERS = "bcdefghijklmnopqrstuvwxyz"


@dataclass
class DiskMapping:
    """One ``DiskDeviceMapping.N`` entry (all parts optional on the wire)."""

    snapshot_id: str | None = None
    size_gib: int | None = None
    device: str | None = None
    disk_type: str | None = None


@dataclass
class CreateImageRequest:
    """CreateImage parameters, already parsed from the wire."""

    region: str
    mappings: list[DiskMapping] = field(default_factory=list)
    snapshot_id: str | None = None
    instance_id: str | None = None
    name: str | None = None
    description: str | None = None
    platform: str | None = None
    architecture: str | None = None
    boot_mode: str | None = None
    family: str | None = None
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    client_token: str | None = None
    dry_run: bool = False
    fingerprint: dict[str, str] = field(default_factory=dict)


@dataclass
class _Resolved:
    """A mapping with every part filled."""

    snapshot_id: str
    size_gib: int | None
    device: str
    disk_type: str


class CreateImageMixin(BackendBase):
    """CreateImage from snapshots."""

    _fail_rng: random.Random | None = None
    _fail_plan: object | None = None

    def create_image(self, req: CreateImageRequest) -> str:
        """Validate and create the image (Creating); return the new (or replayed) ImageId."""
        self.check_region(req.region)
        replay = self.replay_token("CreateImage", req.region, req.client_token, req.fingerprint)
        if replay is not None:
            return replay["ImageId"]
        if req.instance_id is not None:
            raise InvalidParameterError(
                "InstanceId", "is not supported by the emulator (create from snapshots)",
                code="InvalidParameter.InstanceId",
            )
        mappings = self._mappings(req)
        self._check_options(req)
        if req.family is not None:
            validate_family(req.family)
        disks = self._disks(req.region, mappings)
        owned = [i for i in self.region_images(req.region) if i.owner_id == self.state.current_account]
        if req.name is not None and any(i.name == req.name for i in owned):
            raise exc.InvalidImageNameDuplicatedError()
        if len(owned) >= self.state.config.image_quota:
            raise exc.QuotaExceedImageError()
        if req.dry_run:
            raise DryRunOperationError()
        image_id = new_resource_id("m", req.region)
        platform = req.platform or "Customized Linux"
        image = Image(
            region=req.region,
            image_id=image_id,
            name=req.name or image_id,
            size_gib=sum(d.size_gib for d in disks),
            owner_id=self.state.current_account,
            owner_alias="self",
            creation_time=self.now,
            seq=self.next_seq(),
            description=req.description or "",
            status="Creating",
            os_type="windows" if platform.lower().startswith("windows") else "linux",
            platform=platform,
            architecture=req.architecture or "x86_64",
            tags=validate_tags(req.tags),
            disks=disks,
            ready_at=self.now + self.state.config.create_image_seconds,
            boot_mode=req.boot_mode or "BIOS",
            fail_on_ready=self._draw_failure(),
            family=req.family or "",
        )
        self.images[image_id] = image
        self.remember_token("CreateImage", req.region, req.client_token, req.fingerprint, {"ImageId": image_id})
        return image_id

    def _mappings(self, req: CreateImageRequest) -> list[_Resolved]:
        """Normalise the mappings: types and devices filled, exactly one system disk, system first."""
        given = req.mappings
        if not given and req.snapshot_id is not None:
            given = [DiskMapping(snapshot_id=req.snapshot_id, disk_type="system")]
        if not given:
            raise MissingParameterError("SnapshotId")
        out: list[_Resolved] = []
        letters = iter(_DATA_LETTERS)
        for n, m in enumerate(given):
            disk_type = (m.disk_type or ("system" if n == 0 else "data")).lower()
            if disk_type not in ("system", "data") or m.snapshot_id is None:
                raise exc.InvalidDiskDeviceMappingError()
            device = m.device or ("/dev/xvda" if disk_type == "system" else f"/dev/xvd{next(letters, 'z')}")
            out.append(_Resolved(m.snapshot_id, m.size_gib, device, disk_type))
        systems = [m for m in out if m.disk_type == "system"]
        devices = [m.device for m in out]
        snaps = [m.snapshot_id for m in out]
        if len(systems) != 1 or len(set(devices)) != len(devices) or len(set(snaps)) != len(snaps):
            raise exc.InvalidDiskDeviceMappingError()
        return sorted(out, key=lambda m: m.disk_type != "system")

    def _check_options(self, req: CreateImageRequest) -> None:
        """Name, description, architecture, boot mode and tag rules."""
        if req.name is not None:
            validate_image_name(req.name)
        if req.description is not None:
            validate_description(req.description)
        if req.architecture is not None and req.architecture not in ARCHITECTURES:
            raise InvalidParameterError("Architecture", "is not supported", code="InvalidParameter.Architecture")
        if req.boot_mode is not None and req.boot_mode not in BOOT_MODES:
            raise InvalidParameterError("BootMode", "is not supported", code="InvalidParameter.BootMode")
        validate_tags(req.tags)

    def _disks(self, region: str, mappings: list[_Resolved]) -> list[Disk]:
        """Resolve each mapping's snapshot (exists, accomplished) and size; return the image disks."""
        disks: list[Disk] = []
        for m in mappings:
            snap = self._usable_snapshot(region, m.snapshot_id)
            size = m.size_gib if m.size_gib is not None else snap.size_gib
            limit = MAX_SYSTEM_GIB if m.disk_type == "system" else MAX_DATA_GIB
            if not snap.size_gib <= size <= limit:
                raise InvalidParameterError(
                    "DiskDeviceMapping.Size",
                    f"must be at least the snapshot size and at most {limit} GiB",
                    code="InvalidParameter.Size",
                )
            disks.append(Disk(m.device, m.disk_type, size, snap.snapshot_id, snap.encrypted, snap.kms_key_id))
        return disks

    def _usable_snapshot(self, region: str, snapshot_id: str) -> Snapshot:
        """The account's snapshot of the region, accomplished."""
        snap = self.snapshots.get(snapshot_id)
        if snap is None or snap.region != region or snap.owner_id != self.state.current_account:
            raise exc.InvalidSnapshotIdNotFoundError()
        maker = self.images.get(snap.for_image) if snap.for_image else None
        copying = maker is not None and maker.status in ("Waiting", "Creating")
        if snap.status != "accomplished" or copying:
            raise exc.IncorrectSnapshotStatusError()
        return snap

    def _draw_failure(self) -> bool:
        """Draw whether this image ends CreateFailed (seeded by the fault plan's seed)."""
        rate = self.state.config.create_image_fail_rate
        if rate <= 0:
            return False
        plan = self.state.faults.config
        if self._fail_rng is None or self._fail_plan is not plan:
            self._fail_plan = plan
            self._fail_rng = random.Random(plan.seed)
        return self._fail_rng.random() < rate
