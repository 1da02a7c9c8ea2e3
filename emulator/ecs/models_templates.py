"""Launch templates and image families: DescribeLaunchTemplates, DescribeLaunchTemplateVersions,
DescribeImageFromFamily, ModifyImageAttribute. No HTTP here.

Sources: the SDK 7.11.8 request/response models (``DescribeLaunchTemplates*``, ``DescribeLaunchTemplateVersions*``,
``DescribeImageFromFamily*``, ``ModifyImageAttribute*``) and the docs
https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeimagefromfamily and
https://www.alibabacloud.com/help/en/elastic-compute-service/latest/image-family-overview:

* DescribeImageFromFamily returns the **newest Available custom image** of the family in the region (newest by
  creation time); ``Deprecated`` images, other accounts' images and images of other regions are not returned;
  "if no available image exists in the family, the response is empty".
* Family names: 2–128 characters, start with a letter, not ``aliyun``/``acs:``, no ``http://``/``https://``.
* Launch templates: ``LaunchTemplateId.N`` / ``LaunchTemplateName.N`` filters (≤100); DescribeLaunchTemplateVersions
  needs ``LaunchTemplateId`` or ``LaunchTemplateName`` ("You must specify LaunchTemplateId or LaunchTemplateName").

UNCONFIRMED choices:

* an empty DescribeImageFromFamily answer is ``{"Image": {}}``;
* PageSize of the launch-template actions is 1–50 (default 10), else 400 ``InvalidParameter.PageSize``;
* neither ``LaunchTemplateId`` nor ``LaunchTemplateName`` → 400 ``MissingParameter``; an unknown template →
  403 ``InvalidLaunchTemplate.NotFound``;
* DescribeLaunchTemplateVersions lists every version, lowest number first; ``DefaultVersion=true`` keeps only the
  default one; ``LaunchTemplateVersion.N``, ``MinVersion``/``MaxVersion`` filter by number;
* ModifyImageAttribute ``Status`` accepts ``Deprecated`` and ``Available`` only; the image must be ours.
"""

from __future__ import annotations

import re

from emulator.core.errors import InvalidParameterError
from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, Image, LaunchTemplate, LaunchTemplateVersion
from emulator.ecs.models_copy import validate_description, validate_image_name
from emulator.ecs.seed import SeedLaunchTemplate

_FAMILY = re.compile(r"^[A-Za-z\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff.:_\-]{1,127}$")


def validate_family(family: str) -> str:
    """Apply the ImageFamily naming rules; 400 ``InvalidImageFamily.Malformed`` (UNCONFIRMED code)."""
    if not _FAMILY.match(family) or family.lower().startswith(("aliyun", "acs:", "http://", "https://")):
        raise InvalidParameterError("ImageFamily", "is malformed", code="InvalidImageFamily.Malformed")
    return family


class TemplatesMixin(BackendBase):
    """Launch templates (with versions) and image families."""

    # --- launch templates ------------------------------------------------------------------------------

    def seed_launch_template(self, seed: SeedLaunchTemplate) -> None:
        """Add (or replace) a seeded launch template."""
        created = self.creation_epoch(seed.creation_time)
        versions = {
            v.version_number: LaunchTemplateVersion(v.version_number, v.image_id, created, v.description)
            for v in seed.versions
        }
        self.launch_templates[seed.launch_template_id] = LaunchTemplate(
            region=seed.region,
            template_id=seed.launch_template_id,
            name=seed.name or seed.launch_template_id,
            creation_time=created,
            seq=self.next_seq(),
            default_version=seed.default_version or min(versions),
            versions=versions,
        )

    def describe_launch_templates(
        self, region: str, ids: list[str] | None, names: list[str] | None
    ) -> list[LaunchTemplate]:
        """The region's templates matching the id / name filters, oldest first."""
        self.check_region(region)
        found = [
            t for t in self.launch_templates.values()
            if t.region == region and (not ids or t.template_id in ids) and (not names or t.name in names)
        ]
        return sorted(found, key=lambda t: (t.creation_time, t.seq))

    def find_launch_template(self, region: str, template_id: str | None, name: str | None) -> LaunchTemplate:
        """One template by id or name; 403 ``InvalidLaunchTemplate.NotFound`` when absent."""
        self.check_region(region)
        for t in self.launch_templates.values():
            if t.region == region and (t.template_id == template_id if template_id else t.name == name):
                return t
        raise exc.LaunchTemplateNotFoundError()

    # --- image families --------------------------------------------------------------------------------

    def image_from_family(self, region: str, family: str) -> Image | None:
        """The newest Available image of ours in ``family`` in ``region``, or None."""
        self.check_region(region)
        candidates = [
            i for i in self.region_images(region)
            if i.family == family and i.status == "Available" and i.owner_id == self.state.current_account
        ]
        return candidates[0] if candidates else None  # region_images is newest first

    def modify_image_attribute(
        self, region: str, image_id: str, *, family: str | None = None, name: str | None = None,
        description: str | None = None, status: str | None = None,
    ) -> None:
        """Change the family, name, description or status (Deprecated ↔ Available) of one of our images."""
        image = self.own_image(region, image_id)
        if status is not None and status not in ("Deprecated", "Available"):
            raise InvalidParameterError("Status", "must be Deprecated or Available")
        if status is not None and image.status not in ("Deprecated", "Available"):
            raise exc.IncorrectImageStatusError()
        if family is not None:
            validate_family(family)
        if name is not None:
            validate_image_name(name)
        if description is not None:
            validate_description(description)
        if family is not None:
            image.family = family
        if name is not None:
            image.name = name
        if description is not None:
            image.description = description
        if status is not None:
            image.status = status
