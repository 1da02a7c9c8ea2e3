"""TagResources / UntagResources / ListTagResources for ``ResourceType=image`` (alibaba-api.md §1.10).

UNCONFIRMED choices:

* only ``image`` is supported (``InvalidResourceType.NotSupported`` otherwise); ``ResourceType`` in the
  answer is echoed as ``image``;
* TagResources on a missing image → 404 ``InvalidResourceId.NotFound``; more than 20 tags on one image →
  ``InvalidParameter.TagCount``; values must be ≤128 characters;
* UntagResources ignores unknown images and keys; with neither ``TagKey.N`` nor ``All=true`` it removes
  nothing;
* ListTagResources with ``Tag.N`` returns every tag of each matching image; pages hold 50 entries and
  ``NextToken`` is the decimal offset of the next page ("" on the last page).
"""

from __future__ import annotations

from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, Image

MAX_TAGS = 20
MAX_RESOURCES = 50
LIST_PAGE_SIZE = 50
_RESERVED = ("aliyun", "acs:")


def validate_tags(tags: list[tuple[str, str | None]]) -> dict[str, str]:
    """Check count, key and value rules; return the tags as a dict (later duplicates win)."""
    if len(tags) > MAX_TAGS:
        raise exc.TagCountError()
    for key, value in tags:
        if not key or len(key) > 128 or key.lower().startswith(_RESERVED):
            raise exc.InvalidTagKeyMalformedError()
        if value is not None and (len(value) > 128 or value.lower().startswith(_RESERVED)):
            raise exc.InvalidTagValueMalformedError()
    return {k: v or "" for k, v in tags}


def check_resource_type(resource_type: str) -> None:
    """Only images can be tagged in the emulator."""
    if resource_type.lower() != "image":
        raise exc.ResourceTypeNotSupportedError()


class TagsMixin(BackendBase):
    """Tag actions over images."""

    def tag_resources(self, region: str, resource_type: str, ids: list[str], tags: dict[str, str]) -> None:
        """Add or overwrite tags on every listed image (all-or-nothing)."""
        self.check_region(region)
        check_resource_type(resource_type)
        if not 1 <= len(ids) <= MAX_RESOURCES:
            raise exc.ResourceIdCountError()
        if not tags:
            raise exc.TagCountError(message="Tag.N must hold between 1 and 20 tags.")
        images: list[Image] = []
        for image_id in ids:
            image = self.image_in(region, image_id)
            if image is None:
                raise exc.InvalidResourceIdNotFoundError()
            if len(set(image.tags) | set(tags)) > MAX_TAGS:
                raise exc.TagCountError()
            images.append(image)
        for image in images:
            image.tags.update(tags)

    def untag_resources(
        self, region: str, resource_type: str, ids: list[str], keys: list[str], remove_all: bool
    ) -> None:
        """Remove the named keys (or every tag when ``All`` and no key is given)."""
        self.check_region(region)
        check_resource_type(resource_type)
        if not 1 <= len(ids) <= MAX_RESOURCES:
            raise exc.ResourceIdCountError()
        if len(keys) > MAX_TAGS:
            raise exc.TagCountError()
        for image_id in ids:
            image = self.image_in(region, image_id)
            if image is None:
                continue
            if keys:
                for key in keys:
                    image.tags.pop(key, None)
            elif remove_all:
                image.tags.clear()

    def list_tag_resources(
        self,
        region: str,
        resource_type: str,
        ids: list[str],
        tags: list[tuple[str, str | None]],
        next_token: str | None,
    ) -> tuple[list[tuple[str, str, str]], str]:
        """Return one page of (ResourceId, TagKey, TagValue) and the next token."""
        self.check_region(region)
        check_resource_type(resource_type)
        if len(ids) > MAX_RESOURCES:
            raise exc.ResourceIdCountError()
        if any(not k and v is not None for k, v in tags):
            raise exc.TagValueWithoutKeyError()
        rows: list[tuple[str, str, str]] = []
        for image in sorted(self.region_images(region), key=lambda i: i.seq):
            if ids and image.image_id not in ids:
                continue
            if not all(image.tags.get(k) == v if v is not None else k in image.tags for k, v in tags):
                continue
            rows.extend((image.image_id, k, v) for k, v in sorted(image.tags.items()))
        start = _offset(next_token)
        page = rows[start : start + LIST_PAGE_SIZE]
        more = start + LIST_PAGE_SIZE < len(rows)
        return page, str(start + LIST_PAGE_SIZE) if more else ""


def _offset(token: str | None) -> int:
    """Decode a NextToken (decimal offset); a bad token is a 400."""
    if not token:
        return 0
    if not token.isdigit():
        raise exc.InvalidNextTokenError()
    return int(token)
