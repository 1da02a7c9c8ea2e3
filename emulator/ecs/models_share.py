"""ModifyImageSharePermission / DescribeImageSharePermission (alibaba-api.md §1.13).

Encrypted images (documented): since 2025-07-01 only an image encrypted with a customer master key (CMK) can
be shared; sharing one encrypted with the service key is an error (Alibaba Cloud notice "Announcement on Rule
Changes for Sharing an Encrypted Image on ECS", alibabacloud.com/en/notice/..._428; the SDK's
ModifyImageSharePermission doc-comment says the same). Encrypted custom images can be shared only in China
(Beijing), China (Shanghai), China (Hong Kong), Singapore and Indonesia (Jakarta) ("Share a custom image",
alibabacloud.com/help/doc-detail/25463.htm, usage notes). An image disk's key is its snapshot's ``KMSKeyId``
(DescribeSnapshots); ``""`` on an encrypted disk is the service key here.

The share list is ``Image.shared_with`` (seed key ``shared_with`` feeds it too); DescribeImages answers
``IsSelfShared`` ``"True"`` while it is non-empty, ``""`` otherwise, and DeleteImage refuses a shared image
(403 ``ImageUseShared``).

UNCONFIRMED choices:

* rule order of ModifyImageSharePermission: RegionId, image exists in the region (404
  ``InvalidImageId.NotFound``), owned by the account (403 ``Forbidden``), Available (400
  ``IncorrectImageStatus``), account ids numeric (400 ``InvalidAccount.Malformed``), encrypted with the
  service key (a disk encrypted with KMSKeyId ``""``) and accounts to add (403
  ``OperationDenied.EncryptedByServiceKey``; the documented rule, UNCONFIRMED code), an encrypted image
  outside the five regions above and accounts to add (403 ``OperationDenied.EncryptedImageShareRegion``;
  documented rule, UNCONFIRMED code), more than 50 accounts after the change (403
  ``QuotaExceed.ShareImageUser``), DryRun (400 ``DryRunOperation``);
* only the first 10 ``AddAccount.N`` and the first 10 ``RemoveAccount.N`` are used, the rest is silently
  ignored (§1.13); additions are applied first, then removals (an account in both ends unshared); adding
  an account already shared keeps its SharedTime; adding the owner itself is ignored; removing an account
  that is not shared is ignored;
* ``IsPublic`` and ``LaunchPermission`` are accepted and ignored (no community images);
* DescribeImageSharePermission: same image checks (404 / 403 ``Forbidden``), any status; accounts in
  share order; ``SharedTime`` ISO ``yyyy-MM-ddTHH:mm:ssZ``; ``ShareGroups.ShareGroup`` is always empty;
  PageNumber ≥ 1, PageSize 1–100 (default 10).
"""

from __future__ import annotations

from emulator.core.errors import DryRunOperationError
from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, Image

MAX_ACCOUNTS_PER_CALL = 10
MAX_SHARES = 50
#: Where an encrypted custom image may be shared (doc-detail/25463 usage notes).
ENCRYPTED_SHARE_REGIONS = frozenset({"cn-beijing", "cn-shanghai", "cn-hongkong", "ap-southeast-1", "ap-southeast-5"})


class ShareMixin(BackendBase):
    """Image sharing with other accounts."""

    def modify_image_share_permission(
        self, region: str, image_id: str, add: list[str], remove: list[str], dry_run: bool
    ) -> None:
        """Share the image with ``add`` and stop sharing it with ``remove``."""
        image = self.own_image(region, image_id)
        if image.status != "Available":
            raise exc.IncorrectImageStatusError()
        add, remove = add[:MAX_ACCOUNTS_PER_CALL], remove[:MAX_ACCOUNTS_PER_CALL]
        if not all(a.isdigit() for a in add + remove):
            raise exc.InvalidAccountMalformedError()
        add = [a for a in dict.fromkeys(add) if a != self.state.current_account]
        if add and any(d.encrypted and not d.kms_key_id for d in image.disks):
            raise exc.EncryptedByServiceKeyError()
        if add and any(d.encrypted for d in image.disks) and region not in ENCRYPTED_SHARE_REGIONS:
            raise exc.EncryptedImageShareRegionError()
        after = [a for a in dict.fromkeys(image.shared_with + add) if a not in remove]
        if len(after) > MAX_SHARES:
            raise exc.ShareAccountQuotaError()
        if dry_run:
            raise DryRunOperationError()
        for account in add:
            image.share_times.setdefault(account, self.now)
        image.shared_with = after
        image.share_times = {a: t for a, t in image.share_times.items() if a in after}

    def image_share_permission(self, region: str, image_id: str) -> tuple[Image, list[tuple[str, float]]]:
        """Return the image and its (account, shared time) list in share order."""
        image = self.own_image(region, image_id)
        return image, [(a, image.share_times.get(a, image.creation_time)) for a in image.shared_with]
