"""Provenance tags and ClientTokens: the cloud-side half of exactly-once.

Every copy carries tags set in the CopyImage call itself (atomic with its birth), so a copy whose
ledger write was lost is found again by a region scan and adopted instead of copied twice.
The ClientToken is derived from the business key and the attempt number: a repeat of the same
attempt returns the same ImageId; a deliberate retry after a failed copy gets a new token.
"""
from __future__ import annotations

import hashlib

TAG_MANAGED = "image-relay:managed"
TAG_KEY = "image-relay:key"
TAG_SOURCE_REGION = "image-relay:source-region"
TAG_SOURCE_IMAGE = "image-relay:source-image"
TAG_RULE = "image-relay:rule"

MANAGED_FILTER = {TAG_MANAGED: "true"}


def provenance_tags(key: str, source_region: str, image_id: str, rule: str) -> dict[str, str]:
    """The tags a copy is born with."""
    return {
        TAG_MANAGED: "true",
        TAG_KEY: key,
        TAG_SOURCE_REGION: source_region,
        TAG_SOURCE_IMAGE: image_id,
        TAG_RULE: rule,
    }


def is_managed_copy(tags: dict[str, str]) -> bool:
    """True for an image image-relay made (it is never itself a source to replicate)."""
    return TAG_SOURCE_IMAGE in tags or tags.get(TAG_MANAGED) == "true"


def client_token(key: str, attempt: int) -> str:
    """A ≤64-ASCII ClientToken, stable for (business key, attempt)."""
    digest = hashlib.sha256(f"{key}#{attempt}".encode()).hexdigest()
    return f"ir-{digest[:48]}"
