"""DescribeImages / DeleteImage / DescribeInstances rules and seeding of images, instances and KMS keys.

UNCONFIRMED choices:

* DescribeImages ``ImageId`` accepts a comma-separated list; ``ImageName`` is a case-sensitive substring
  match; ``Tag.N`` with only a Key matches any value; sort is newest ``CreationTime`` first.
* ``ImageOwnerAlias`` empty → system + self + others (marketplace excluded, per the SDK doc-comment).
* DeleteImage rule order: ownership (403 ``Forbidden``), export in progress (403 ``ImageIsExporting``),
  copy in progress, source of a copy in progress, shared, in use, DryRun. A missing
  image is ignored (200) even with DryRun.
* DeleteImage of the *source* of a copy that is still Waiting/Creating (whoever started it, console included)
  → 403 ``OperationDenied.ImageCopying``, even with ``Force``. The DeleteImage error table documents this code
  as "The specified image is being copied" / "The image is being copied. Try again later."
  (https://www.alibabacloud.com/help/doc-detail/25537.htm, api-ecs-2014-05-26-deleteimage); the table does not
  say whether it covers the source as well as the copy, so applying it to the source is UNCONFIRMED, chosen as
  the reading that protects data (a deleted source would leave the copy without its snapshots).
* DeleteImage does NOT look at launch templates, scaling configurations or image families: ECS lets an image
  they name be deleted (the template or the scaling group then fails at launch time). Guarding those is the
  caller's job (image-relay's cleanup does it).
* ``ImageFamily`` filter of DescribeImages is an exact match.
* Seeding an ``image_id`` that already exists replaces it.
* Every seeded image disk references a Snapshot object of the image's region: the disk's ``snapshot_id``
  when given (a snapshot seeded under ``snapshots`` in the same or an earlier seed is reused as it is,
  otherwise one is created), else a fresh ``s-<region flavour>…`` id; created ones are ``accomplished``
  (``progressing`` while a seeded ``Creating`` image is not yet Available), owned like the image.
* ``shared_with`` feeds the same share list as ModifyImageSharePermission (SharedTime = the image's
  ``creation_time``); duplicates are dropped.
* DeleteImage keeps the image's snapshots (Usage turns ``none``), as real ECS retains them.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from emulator.core.errors import DryRunOperationError, SeedError
from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, Disk, Image, Instance, Snapshot, new_resource_id
from emulator.ecs.seed import EcsSeed, SeedImage, SeedSnapshot

OWNER_ALIASES = ("system", "self", "others", "marketplace")
DEFAULT_OWNER_ALIASES = ("system", "self", "others")


@dataclass
class ImageFilter:
    """DescribeImages filters, parsed from the wire."""

    region: str
    image_ids: list[str] | None = None
    name: str | None = None
    statuses: list[str] | None = None
    owner_alias: str | None = None
    usage: str | None = None
    os_type: str | None = None
    family: str | None = None
    tags: list[tuple[str, str | None]] = field(default_factory=list)


class ImagesMixin(BackendBase):
    """Seeding, DescribeImages, DeleteImage and DescribeInstances."""

    # --- seeding ---------------------------------------------------------------------------------------

    def validate_ecs_seed(self, seed: EcsSeed, regions: list[str]) -> None:
        """Raise ``SeedError`` naming the first field whose region is not in ``regions``."""
        groups: dict[str, list[str]] = {
            "images": [i.region for i in seed.images],
            "instances": [i.region for i in seed.instances],
            "kms_keys": [k.region for k in seed.kms_keys],
            "snapshots": [s.region for s in seed.snapshots],
            "launch_templates": [t.region for t in seed.launch_templates],
        }
        for group, used in groups.items():
            for n, region in enumerate(used):
                if region not in regions:
                    raise SeedError(f"{group}.{n}.region", f"region {region!r} is not enabled")

    def apply_ecs_seed(self, seed: EcsSeed) -> None:
        """Add seeded snapshots, images, instances and KMS keys (validated beforehand)."""
        for snap in seed.snapshots:
            self.snapshots[snap.snapshot_id] = self._seed_snapshot(snap)
        for image in seed.images:
            built = self._seed_image(image)
            self.images[image.image_id] = built
            self.add_image_snapshots(built)
        for inst in seed.instances:
            self.instances[inst.instance_id] = Instance(
                region=inst.region,
                instance_id=inst.instance_id,
                image_id=inst.image_id,
                name=inst.name or inst.instance_id,
                status=inst.status,
                creation_time=self.creation_epoch(inst.creation_time),
                tags=dict(inst.tags),
                instance_type=inst.instance_type,
                vswitch_id=inst.vswitch_id,
                vpc_id=inst.vpc_id,
            )
        for key in seed.kms_keys:
            self.kms_keys.add((key.region, key.key_id))

    def _seed_image(self, s: SeedImage) -> Image:
        """Build an Image from its seed, filling the documented defaults."""
        owner = s.owner_id or self.state.current_account
        mine = owner == self.state.current_account or owner in self.state.registry.accounts
        alias = s.owner_alias or ("self" if mine else "others")  # as its owner sees it (``alias_for``)
        created = self.creation_epoch(s.creation_time)
        disks = [
            Disk(d.device, d.type, d.size_gib, d.snapshot_id or new_resource_id("s", s.region),
                 d.encrypted or bool(d.kms_key_id), d.kms_key_id)
            for d in (s.disks or [])
        ] or [Disk("/dev/xvda", "system", s.size_gib, new_resource_id("s", s.region))]
        return Image(
            region=s.region,
            image_id=s.image_id,
            name=s.name or s.image_id,
            size_gib=s.size_gib,
            owner_id=owner,
            owner_alias=alias,
            creation_time=created,
            seq=self.next_seq(),
            description=s.description,
            status=s.status,
            os_type=s.os_type,
            platform=s.platform,
            architecture=s.architecture,
            tags=dict(s.tags),
            disks=disks,
            shared_with=list(dict.fromkeys(s.shared_with)),
            share_times={account: created for account in s.shared_with},
            is_copied=s.is_copied,
            marketplace=s.marketplace,
            product_code=s.product_code,
            ready_at=self.now + s.ready_after_seconds if s.status == "Creating" else None,
            family=s.family or "",
        )

    def _seed_snapshot(self, s: SeedSnapshot) -> Snapshot:
        """Build a standalone Snapshot from its seed (a ``progressing`` one runs at ``snapshot_gib_per_minute``)."""
        return Snapshot(
            region=s.region,
            snapshot_id=s.snapshot_id,
            owner_id=s.owner_id or self.state.current_account,
            name=s.name or s.snapshot_id,
            size_gib=s.size_gib,
            disk_type=s.disk_type,
            creation_time=self.creation_epoch(s.creation_time),
            seq=self.next_seq(),
            description=s.description,
            status=s.status,
            encrypted=s.encrypted or bool(s.kms_key_id),
            kms_key_id=s.kms_key_id,
            retention_days=s.retention_days,
            tags=dict(s.tags),
            duration=s.size_gib / self.state.config.snapshot_gib_per_minute * 60.0,
        )

    # --- DescribeImages --------------------------------------------------------------------------------

    def describe_images(self, f: ImageFilter) -> list[Image]:
        """Return the images of the region matching every filter, newest first."""
        self.check_region(f.region)
        return [i for i in self.region_images(f.region) if self.visible(i) and self._matches(i, f)]

    def _matches(self, image: Image, f: ImageFilter) -> bool:
        """Apply one image against the DescribeImages filters."""
        statuses = f.statuses or ["Available"]
        aliases = (f.owner_alias,) if f.owner_alias else DEFAULT_OWNER_ALIASES
        checks = (
            f.image_ids is None or image.image_id in f.image_ids,
            f.name is None or f.name in image.name,
            "ALL" in statuses or image.status in statuses,
            self.alias_for(image) in aliases,
            f.os_type is None or image.os_type == f.os_type.lower(),
            f.usage is None or (f.usage == "instance") == self.in_use(image),
            f.family is None or image.family == f.family,
            all(image.tags.get(k) == v if v is not None else k in image.tags for k, v in f.tags),
        )
        return all(checks)

    # --- DeleteImage -----------------------------------------------------------------------------------

    def delete_image(self, region: str, image_id: str, force: bool, dry_run: bool) -> None:
        """Delete a custom image; a missing image is ignored (idempotent, alibaba-api.md §1.4)."""
        self.check_region(region)
        image = self.image_in(region, image_id)
        if image is None:
            return
        if image.owner_id != self.state.current_account:
            raise exc.ForbiddenError()
        if self.exporting(image):
            raise exc.ImageIsExportingError()
        if image.copying or self.copy_source_busy(image):
            raise exc.ImageCopyingError()
        if image.shared_with:
            raise exc.ImageUseSharedError()
        if self.in_use(image) and not force:
            raise exc.ImageUsingByInstanceError()
        if dry_run:
            raise DryRunOperationError()
        del self.images[image_id]

    # --- DescribeInstances -----------------------------------------------------------------------------

    def describe_instances(
        self, region: str, image_id: str | None, instance_ids: list[str] | None,
        tags: list[tuple[str, str | None]] | None = None, name: str | None = None,
    ) -> list[Instance]:
        """Return the instances of the region matching ``ImageId`` / ``InstanceIds`` / ``Tag.N`` /
        ``InstanceName`` (``*`` wildcards), ordered by id."""
        self.check_region(region)
        found = [
            i
            for i in self.instances.values()
            if i.region == region
            and (image_id is None or i.image_id == image_id)
            and (instance_ids is None or i.instance_id in instance_ids)
            and all(i.tags.get(k) == v if v is not None else k in i.tags for k, v in tags or [])
            and (name is None or fnmatch.fnmatchcase(i.name, name))
        ]
        return sorted(found, key=lambda i: i.instance_id)
