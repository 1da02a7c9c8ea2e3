"""From a source image and the export rules to the exports it should have, and what ECS would refuse.

ECS refuses some images outright (alibaba-api.md §1.5); checking first means a clear skip reason in
the ledger and no doomed ExportImage call. Only what the current documents agree on is refused here:
where the ExportImage API reference and the export guide disagree, the planner does not refuse what ECS
may accept, it lets ECS answer and the executor records that answer. Data disks: the guide ("Export a
custom image", requirements) allows each data disk up to 2,048 GiB and gives no count; the older
"at most 4 data disks of at most 500 GiB" came from Terraform's alicloud_image_export page, so only a data
disk over 2,048 GiB is refused up front.

ImageFormat is honoured only in the regions the ExportImage API reference lists (usage notes, revision of
2026-01); elsewhere ECS exports RAW whatever the rule asks. `produced_format` says which format a rule
will really get, the manifest records it, and `format_warnings` (validate-policy) names the rules that
ask for another format where it cannot be had.
"""
from __future__ import annotations

from pydantic import ConfigDict, Field

from shared.clouds.ecs_types import ExportImageSpec, Image
from shared.context import Payload
from shared.ledger.keys import export_key
from shared.policy import Policy

MAX_DATA_DISK_GIB = 2048
# Japan (Tokyo), Indonesia (Jakarta), Germany (Frankfurt), UAE (Dubai), US (Virginia), UK (London), Singapore,
# Malaysia (Kuala Lumpur), US (Silicon Valley): ExportImage API reference, usage notes.
IMAGE_FORMAT_REGIONS = frozenset(
    {"ap-northeast-1", "ap-southeast-5", "eu-central-1", "me-east-1", "us-east-1", "eu-west-1", "ap-southeast-1",
     "ap-southeast-3", "us-west-1"}
)


def produced_format(region: str, requested: str) -> str:
    """The format ECS writes for `requested` in `region`: RAW where ImageFormat is not honoured."""
    return requested if region in IMAGE_FORMAT_REGIONS else "raw"


def format_warnings(policy: Policy) -> list[str]:
    """One warning per (export rule, source region) whose non-RAW format ECS would ignore there."""
    warnings: list[str] = []
    for n, rule in enumerate(policy.export_rules):
        for region in rule.source_regions:
            if produced_format(region, rule.format) != rule.format:
                warnings.append(
                    f"export_rules[{n}].format: {rule.format} is not honoured by ExportImage in {region} "
                    f"(rule {rule.name!r}); ECS exports RAW there and the manifest will say raw")
    return warnings


class ExportTarget(Payload):
    """One desired export; stored as the ledger record's `data["target"]`."""

    model_config = ConfigDict(defer_build=True, frozen=True)

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
    lineage: dict[str, str] = Field(default_factory=dict)  # a built image's (pipeline, execution), for the manifest

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
    largest = max((d.size_gib for d in image.disks if d.type == "data"), default=0)
    if largest > MAX_DATA_DISK_GIB:
        return (f"image has a data disk of {largest} GiB; ECS exports data disks of at most {MAX_DATA_DISK_GIB} GiB "
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
