"""Provenance tags: the cloud-side half of exactly-once (the ClientToken is the kernel's, `shared.apply`).

Every copy carries tags set in the CopyImage call itself (atomic with its birth), so a copy whose
ledger write was lost is found again by a region scan and adopted instead of copied twice.
The ClientToken is derived from the business key and the attempt number: a repeat of the same
attempt returns the same ImageId; a deliberate retry after a failed copy gets a new token.
"""
from __future__ import annotations

TAG_MANAGED = "image-relay:managed"
TAG_KEY = "image-relay:key"
TAG_SOURCE_REGION = "image-relay:source-region"
TAG_SOURCE_IMAGE = "image-relay:source-image"
TAG_RULE = "image-relay:rule"
#: An Image Builder execution's image (shared.builds.handoff sets it); here so that cleanup reads it without
#: loading the build hand-off (and with it the export, account and copy planners) on its first invocation.
TAG_PIPELINE = "image-relay:pipeline"

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


# ECS: at most 20 tags per resource and per CopyImage/CreateImage request (Tag.N, N 1-20), keys and values
# at most 128 characters, keys must not start with `aliyun` or `acs:` (reserved for the system) nor hold
# http:// or https:// (alibaba-api.md sections 1.3, 1.10).
MAX_TAGS = 20
MAX_TAG_LENGTH = 128
RESERVED_TAG_PREFIXES = ("aliyun", "acs:", "image-relay:")


def tag_refusal(key: str, value: str) -> str | None:
    """Why ECS (or image-relay's own provenance) would refuse this tag on a copy, or None."""
    if key.lower().startswith(RESERVED_TAG_PREFIXES):
        return f"tag {key!r}: the prefix is reserved"
    if len(key) > MAX_TAG_LENGTH or len(value) > MAX_TAG_LENGTH:
        return f"tag {key!r}: longer than {MAX_TAG_LENGTH} characters"
    if any(s in key.lower() for s in ("http://", "https://")):
        return f"tag {key!r}: holds http:// or https://"
    return None


def copy_tags(source: dict[str, str], provenance: dict[str, str]) -> dict[str, str]:
    """The source's own tags (DLM/Image Builder `CopyTags`) beside the provenance tags, within ECS's limits.

    Tags ECS would refuse are left out; when more than 20 remain, provenance wins and the source's
    tags are kept in key order. Deterministic, so a retried copy asks for the same tags.

    >>> sorted(copy_tags({"team": "web", "acs:ecs:x": "1"}, {"image-relay:managed": "true"}))
    ['image-relay:managed', 'team']
    """
    room = MAX_TAGS - len(provenance)
    kept = [(k, v) for k, v in sorted(source.items()) if tag_refusal(k, v) is None][:max(0, room)]
    return {**dict(kept), **provenance}


def is_managed_copy(tags: dict[str, str]) -> bool:
    """True for an image image-relay made (it is never itself a source to replicate)."""
    return TAG_SOURCE_IMAGE in tags or tags.get(TAG_MANAGED) == "true"
