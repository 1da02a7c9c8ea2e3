"""Image sharing through the real SDK (ModifyImageSharePermission / DescribeImageSharePermission), IsSelfShared,
DeleteImage while shared; seeded CreationTime and images owned by other accounts."""

from __future__ import annotations

from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import EmulatorControl

from .helpers import image, raises_code

R = "cn-hangzhou"


def accounts(client: Client, image_id: str, **kw: object) -> list[str]:
    body = client.describe_image_share_permission(
        m.DescribeImageSharePermissionRequest(region_id=R, image_id=image_id, **kw)
    ).body
    assert body.image_id == image_id and body.region_id == R
    assert body.share_groups.share_group == []
    return [a.aliyun_id for a in body.accounts.account]


def is_self_shared(client: Client, image_id: str) -> str:
    req = m.DescribeImagesRequest(region_id=R, image_id=image_id, status="ALL")
    return client.describe_images(req).body.images.image[0].is_self_shared


def modify(client: Client, image_id: str, add: list[str] | None = None, remove: list[str] | None = None) -> None:
    client.modify_image_share_permission(
        m.ModifyImageSharePermissionRequest(region_id=R, image_id=image_id, add_account=add, remove_account=remove)
    )


def test_share_add_remove_describe_and_delete(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    assert accounts(any_ecs, "m-1") == [] and is_self_shared(any_ecs, "m-1") == ""
    modify(any_ecs, "m-1", add=["111", "222"])
    assert accounts(any_ecs, "m-1") == ["111", "222"] and is_self_shared(any_ecs, "m-1") == "True"
    body = any_ecs.describe_image_share_permission(
        m.DescribeImageSharePermissionRequest(region_id=R, image_id="m-1", page_size=1, page_number=2)
    ).body
    assert (body.total_count, body.page_number, body.page_size) == (2, 2, 1)
    assert [a.aliyun_id for a in body.accounts.account] == ["222"] and body.accounts.account[0].shared_time
    with raises_code("ImageUseShared", 403):
        any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))
    modify(any_ecs, "m-1", remove=["111", "222"])
    assert accounts(any_ecs, "m-1") == [] and is_self_shared(any_ecs, "m-1") == ""
    any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))


def test_seeded_shares_are_the_same_state(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1", shared_with=["333"])]})
    assert accounts(ecs, "m-1") == ["333"] and is_self_shared(ecs, "m-1") == "True"
    modify(ecs, "m-1", remove=["333"])
    ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))


def test_only_ten_accounts_per_call_and_fifty_per_image(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    modify(ecs, "m-1", add=[str(1000 + n) for n in range(12)])
    assert len(accounts(ecs, "m-1", page_size=100)) == 10
    for batch in range(4):
        modify(ecs, "m-1", add=[str(2000 + batch * 10 + n) for n in range(10)])
    with raises_code("QuotaExceed.ShareImageUser", 403):
        modify(ecs, "m-1", add=["9999"])


def test_share_errors(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed(
        {
            "images": [
                image("m-other", owner_id="999", owner_alias="others"),
                image("m-busy", status="Creating"),
                image("m-enc", disks=[{"encrypted": True}]),
            ]
        }
    )
    with raises_code("InvalidImageId.NotFound", 404):
        modify(any_ecs, "m-missing", add=["111"])
    with raises_code("InvalidImageId.NotFound", 404):
        accounts(any_ecs, "m-missing")
    with raises_code("Forbidden", 403):
        modify(any_ecs, "m-other", add=["111"])
    with raises_code("IncorrectImageStatus", 400):
        modify(any_ecs, "m-busy", add=["111"])
    with raises_code("OperationDenied.EncryptedByServiceKey", 403):
        modify(any_ecs, "m-enc", add=["111"])
    with raises_code("InvalidAccount.Malformed", 400):
        modify(any_ecs, "m-enc", remove=["not-an-id"])
    with raises_code("DryRunOperation", 400):
        any_ecs.modify_image_share_permission(
            m.ModifyImageSharePermissionRequest(region_id=R, image_id="m-enc", remove_account=["1"], dry_run=True)
        )


def test_seeded_creation_time_and_foreign_owner(ecs: Client, control: EmulatorControl) -> None:
    control.seed(
        {
            "images": [
                image("m-old", creation_time="2020-01-02T03:04:05Z"),
                image("m-theirs", owner_id="888", owner_alias="others"),
            ]
        }
    )
    old = ecs.describe_images(m.DescribeImagesRequest(region_id=R, image_id="m-old")).body.images.image[0]
    assert old.creation_time == "2020-01-02T03:04:05Z"
    req = m.DescribeImagesRequest(region_id=R, image_owner_alias="others")
    [theirs] = ecs.describe_images(req).body.images.image
    assert (theirs.image_id, theirs.image_owner_id, theirs.image_owner_alias) == ("m-theirs", 888, "others")
    mine = ecs.describe_images(m.DescribeImagesRequest(region_id=R, image_owner_alias="self")).body.images.image
    assert [i.image_id for i in mine] == ["m-old"]


def test_encrypted_images_share_only_with_a_customer_key_and_in_the_documented_regions(
    ecs: Client, control: EmulatorControl
) -> None:
    """Notice of 2025-07-01: only CMK-encrypted images can be shared; doc-detail/25463: encrypted images only in
    Beijing, Shanghai, Hong Kong, Singapore, Jakarta. The disk's key is its snapshot's KMSKeyId."""
    bj = "cn-beijing"
    control.seed({"kms_keys": [{"region": bj, "key_id": "key-cmk"}, {"region": R, "key_id": "key-hz"}],
                  "images": [image("m-cmk", region=bj, disks=[{"kms_key_id": "key-cmk", "snapshot_id": "s-cmk"}]),
                             image("m-svc", region=bj, disks=[{"encrypted": True, "snapshot_id": "s-svc"}]),
                             image("m-hz", disks=[{"kms_key_id": "key-hz"}])]})
    snaps = ecs.describe_snapshots(m.DescribeSnapshotsRequest(region_id=bj, snapshot_ids='["s-cmk","s-svc"]')).body
    assert {(s.snapshot_id, s.encrypted, s.kmskey_id) for s in snaps.snapshots.snapshot} == {
        ("s-cmk", True, "key-cmk"), ("s-svc", True, "")}
    ecs.modify_image_share_permission(
        m.ModifyImageSharePermissionRequest(region_id=bj, image_id="m-cmk", add_account=["111"]))
    with raises_code("OperationDenied.EncryptedByServiceKey", 403):
        ecs.modify_image_share_permission(
            m.ModifyImageSharePermissionRequest(region_id=bj, image_id="m-svc", add_account=["111"]))
    with raises_code("OperationDenied.EncryptedImageShareRegion", 403):
        modify(ecs, "m-hz", add=["111"])
    modify(ecs, "m-hz", remove=["111"])  # removing is never refused
