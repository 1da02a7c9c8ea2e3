"""DescribeImages / DeleteImage / DescribeInstances rules and seeding of images, instances and KMS keys.

UNCONFIRMED choices:

* DescribeImages ``ImageId`` accepts a comma-separated list; ``ImageName`` is a case-sensitive substring
  match; ``Tag.N`` with only a Key matches any value; sort is newest ``CreationTime`` first.
* ``ImageOwnerAlias`` empty → system + self + others (marketplace excluded, per the SDK doc-comment).
* DeleteImage rule order: ownership (403 ``Forbidden``), export in progress (403 ``ImageIsExporting``),
  copy in progress, shared, in use, DryRun. A missing
  image is ignored (200) even with DryRun.
* Seeding an ``image_id`` that already exists replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.core.errors import DryRunOperationError, SeedError
from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, Disk, Image, Instance, new_resource_id
from emulator.ecs.seed import EcsSeed, SeedImage

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
        }
        for group, used in groups.items():
            for n, region in enumerate(used):
                if region not in regions:
                    raise SeedError(f"{group}.{n}.region", f"region {region!r} is not enabled")

    def apply_ecs_seed(self, seed: EcsSeed) -> None:
        """Add seeded images, instances and KMS keys (validated beforehand)."""
        for image in seed.images:
            self.images[image.image_id] = self._seed_image(image)
        for inst in seed.instances:
            self.instances[inst.instance_id] = Instance(
                region=inst.region,
                instance_id=inst.instance_id,
                image_id=inst.image_id,
                name=inst.name or inst.instance_id,
                status=inst.status,
                creation_time=self.now,
            )
        for key in seed.kms_keys:
            self.kms_keys.add((key.region, key.key_id))

    def _seed_image(self, s: SeedImage) -> Image:
        """Build an Image from its seed, filling the documented defaults."""
        owner = s.owner_id or self.state.account_id
        alias = s.owner_alias or ("self" if owner == self.state.account_id else "others")
        created = self.creation_epoch(s.creation_time)
        disks = [
            Disk(d.device, d.type, d.size_gib, d.snapshot_id or new_resource_id("s", s.region), d.encrypted)
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
            shared_with=list(s.shared_with),
            is_copied=s.is_copied,
            marketplace=s.marketplace,
            product_code=s.product_code,
            ready_at=self.now + s.ready_after_seconds if s.status == "Creating" else None,
        )

    # --- DescribeImages --------------------------------------------------------------------------------

    def describe_images(self, f: ImageFilter) -> list[Image]:
        """Return the images of the region matching every filter, newest first."""
        self.check_region(f.region)
        return [i for i in self.region_images(f.region) if self._matches(i, f)]

    def _matches(self, image: Image, f: ImageFilter) -> bool:
        """Apply one image against the DescribeImages filters."""
        statuses = f.statuses or ["Available"]
        aliases = (f.owner_alias,) if f.owner_alias else DEFAULT_OWNER_ALIASES
        checks = (
            f.image_ids is None or image.image_id in f.image_ids,
            f.name is None or f.name in image.name,
            "ALL" in statuses or image.status in statuses,
            image.owner_alias in aliases,
            f.os_type is None or image.os_type == f.os_type.lower(),
            f.usage is None or (f.usage == "instance") == self.in_use(image),
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
        if image.owner_id != self.state.account_id:
            raise exc.ForbiddenError()
        if self.exporting(image):
            raise exc.ImageIsExportingError()
        if image.copying:
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
        self, region: str, image_id: str | None, instance_ids: list[str] | None
    ) -> list[Instance]:
        """Return the instances of the region matching ``ImageId`` / ``InstanceIds``, ordered by id."""
        self.check_region(region)
        found = [
            i
            for i in self.instances.values()
            if i.region == region
            and (image_id is None or i.image_id == image_id)
            and (instance_ids is None or i.instance_id in instance_ids)
        ]
        return sorted(found, key=lambda i: i.instance_id)
