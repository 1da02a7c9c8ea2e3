"""Failure reasons a person can act on, from the wire error code of a refused CopyImage.

Each entry says what happened and what to change; `retry_in` (seconds) marks conditions that can
clear by themselves (a quota freed, a source still settling); None means a person must act.
"""
from __future__ import annotations

from shared.errors import CloudError
from shared.replication.targets import CopyTarget

_HINTS: dict[str, tuple[str, int | None]] = {
    "InvalidParameter.KMSKeyId.NotFound": (
        "KMS key {kms} does not exist in {dst}: fix encrypt.{dst} of rule {rule}", None),
    "InvalidParameter.KMSKeyId.KMSUnauthorized": (
        "ECS may not use KMS key {kms} in {dst}: authorise the ECS service role on the key", None),
    "InvalidImageName.Duplicated": (
        "an image named {name!r} already exists in {dst}: change name_template of rule {rule} or rename it", None),
    "InvalidImageName.Malformed": ("copy name {name!r} breaks ECS naming rules: change name_template of rule {rule}", None),
    "QuotaExceed.Image": ("custom-image quota of {dst} is exhausted: delete images or raise the quota; will retry", 1800),
    "SizeExceed.Image": ("image {image} is larger than 2 TiB; CopyImage refuses it (snapshot path needed)", None),
    "IncorrectImageStatus": ("source image {image} is not Available yet; will retry", 300),
    "InvalidImageId.NotFound": ("source image {image} no longer exists in {src}", None),
    "OperationDenied.SameRegionOnly": ("image {image} is shared from another account and can only be copied within {src}", None),
    "IncorrectDestinationRegion": ("a copy into its own region {dst} must be encrypted: add encrypt.{dst} to rule {rule}", None),
    "DestinationRegion.NotFound": ("region {dst} is unknown to ECS: fix target_regions of rule {rule}", None),
    "IdempotentParameterMismatch": ("the copy's parameters changed since it was first requested; will retry as a new copy", 60),
}


def explain(exc: CloudError, target: CopyTarget) -> tuple[str, int | None]:
    """(reason, retry_in seconds or None) for a CopyImage refusal."""
    template, retry_in = _HINTS.get(exc.code or "", (None, None))
    if template is None:
        return f"CopyImage refused ({exc.code}): {exc.message}", None
    text = template.format(
        kms=target.kms_key_id,
        dst=target.target_region,
        src=target.source_region,
        rule=target.rule,
        name=target.name,
        image=target.image_id,
    )
    return f"{text} [{exc.code}]", retry_in
