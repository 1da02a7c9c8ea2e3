"""From a source image and the export rules to the exports it should have, and what ECS would refuse.

ECS refuses some images outright (alibaba-api.md §1.5); checking first means a clear skip reason in
the ledger and no doomed ExportImage call.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.clouds.ecs_types import ExportImageSpec, Image
from shared.policy import Policy

MAX_DATA_DISKS = 4
MAX_DATA_DISK_GIB = 500


def export_key(region: str, image_id: str, image_format: str) -> str:
    """Business key of one export (design.md): `export/<region>/<image-id>/<format>`."""
    return f"export/{region}/{image_id}/{image_format}"


class ExportTarget(BaseModel):
    """One desired export; stored as the ledger record's `data["target"]`."""

    model_config = ConfigDict(frozen=True)

    key: str
    rule: str
    region: str
    image_id: str
    image_name: str
    bucket: str
    oss_prefix: str
    image_format: str
    role_name: str
    window: str | None = None
    max_concurrent: int = 1
    size_gib: int = 0

    def spec(self) -> ExportImageSpec:
        """The ExportImage call for this target."""
        return ExportImageSpec(
            region=self.region,
            image_id=self.image_id,
            bucket=self.bucket,
            oss_prefix=self.oss_prefix,
            image_format=self.image_format,
            role_name=self.role_name,
        )

    @property
    def object_prefix(self) -> str:
        """Every object of this image's exports starts with this (ECS names them prefix_image_task…)."""
        return f"{self.oss_prefix}_{self.image_id}_"


def refusal(image: Image) -> str | None:
    """Why ECS would refuse to export `image`, with the code it would answer; None when it can go."""
    if any(d.encrypted for d in image.disks):
        return "image has encrypted snapshots, which ECS cannot export [ImageNotSupported]"
    if image.os_type.lower() == "windows" or image.platform.lower().startswith("windows"):
        return "Windows images cannot be exported [ImageNotSupported]"
    if image.product_code:
        return f"image derives from Marketplace product {image.product_code} and cannot be exported [ImageNotSupported]"
    data = [d for d in image.disks if d.type == "data"]
    if len(data) > MAX_DATA_DISKS or any(d.size_gib > MAX_DATA_DISK_GIB for d in data):
        return (f"image has {len(data)} data disks (largest {max((d.size_gib for d in data), default=0)} GiB); "
                f"ECS exports at most {MAX_DATA_DISKS} of at most {MAX_DATA_DISK_GIB} GiB "
                "[InvalidImage.DiskAmountOrSize]")
    return None


def targets_for(policy: Policy, image: Image) -> list[ExportTarget]:
    """Every export `image` should have: one per (matching rule's format), first rule winning per format."""
    chosen: dict[str, ExportTarget] = {}
    for rule in policy.export_rules_for(image.region, image.name, image.tags):
        key = export_key(image.region, image.image_id, rule.format)
        if key in chosen:
            continue
        chosen[key] = ExportTarget(
            key=key,
            rule=rule.name,
            region=image.region,
            image_id=image.image_id,
            image_name=image.name,
            bucket=rule.bucket[image.region],
            oss_prefix=rule.oss_prefix,
            image_format=rule.format,
            role_name=rule.role_name,
            window=rule.window,
            max_concurrent=rule.max_concurrent,
            size_gib=image.size_gib,
        )
    return list(chosen.values())
