"""Which images ECS lets us share, decided before any share is made (issue #13: refuse up front, with the reason).

The rules (the emulator enforces the same, see emulator/ecs/models_share.py):

* an image encrypted with the ECS *service key* cannot be shared; only one encrypted with a customer master key
  (CMK) can (Alibaba Cloud notice "Rule Changes for Sharing an Encrypted Image on ECS", in force since
  2025-07-01; the SDK's ModifyImageSharePermission doc-comment);
* a partner can copy an image shared with it only with CopyImage (same region), and CopyImage copies at most
  2048 GiB (alibaba-api.md §1.1): a larger image can be shared (``mode: share``) but not delivered by copy;
* an encrypted custom image can be shared only in China (Beijing), China (Shanghai), China (Hong Kong),
  Singapore and Indonesia (Jakarta) ("Share a custom image", doc-detail/25463, usage notes).

DescribeImages tells only *whether* a disk is encrypted; the key is its snapshot's ``KMSKeyId``
(DescribeSnapshots). An encrypted snapshot without a key id is taken as the service key (UNCONFIRMED: the real
service may name the service key's own id; a key the caller cannot tell from a CMK is let through, and ECS's
own refusal, ``OperationDenied.EncryptedByServiceKey``, still ends the hop with the same reason).
"""
from __future__ import annotations

from shared.clouds.ecs_types import Image, Snapshot

ENCRYPTED_SHARE_REGIONS = ("cn-beijing", "cn-shanghai", "cn-hongkong", "ap-southeast-1", "ap-southeast-5")

SERVICE_KEY_REASON = ("image {image} is encrypted with a key that cannot be shared (the ECS service key{where}): "
                      "copy it with a KMS key of this account (a same-region encrypted copy) and share that copy "
                      "with account {account}")


def encrypted_snapshots(image: Image) -> tuple[str, ...]:
    """The snapshot ids of the image's encrypted disks (whose keys decide whether it can be shared)."""
    return tuple(d.snapshot_id for d in image.disks if d.encrypted and d.snapshot_id)


COPY_IMAGE_MAX_GIB = 2048


def too_large(image_id: str, size_gib: int, account: str) -> str | None:
    """Why the partner cannot copy the image (above CopyImage's limit), or None."""
    if size_gib <= COPY_IMAGE_MAX_GIB:
        return None
    return (f"image {image_id} is {size_gib} GiB: CopyImage copies at most {COPY_IMAGE_MAX_GIB} GiB, and account "
            f"{account} can copy a shared image only with CopyImage; deliver it with mode: share instead")


def share_refusal(image_id: str, region: str, account: str, snapshot_ids: tuple[str, ...],
                  snapshots: dict[str, Snapshot]) -> str | None:
    """Why ECS would refuse to share the image with ``account`` (a reason a person can act on), or None."""
    if not snapshot_ids:
        return None
    service_keyed = [s for s in snapshot_ids if s in snapshots and not snapshots[s].kms_key_id]
    if service_keyed:
        return SERVICE_KEY_REASON.format(image=image_id, account=account,
                                         where=f", disk snapshot {service_keyed[0]}")
    if region not in ENCRYPTED_SHARE_REGIONS:
        return (f"image {image_id} is encrypted, and ECS shares encrypted images only in "
                f"{', '.join(ENCRYPTED_SHARE_REGIONS)}: {region} is not one of them; copy the image to one of "
                f"those regions and deliver from there to account {account}")
    return None
