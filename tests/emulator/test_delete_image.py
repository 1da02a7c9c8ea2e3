"""DeleteImage: idempotent on missing images, in-use, shared, copying, Force, DryRun."""

from __future__ import annotations

from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import EmulatorControl

from .helpers import image, raises_code

R = "cn-hangzhou"


def exists(ecs: Client, image_id: str) -> bool:
    body = ecs.describe_images(m.DescribeImagesRequest(region_id=R, image_id=image_id, status="ALL")).body
    return body.total_count == 1


def test_delete_removes_the_image(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))
    assert not exists(any_ecs, "m-1")


def test_delete_missing_image_is_ignored(any_ecs: Client) -> None:
    assert any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-gone")).body.request_id


def test_image_in_use_needs_force(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")], "instances": [{"region": R, "instance_id": "i-1", "image_id": "m-1"}]})
    with raises_code("ImageUsingByInstance", 403):
        any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))
    any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1", force=True))
    assert not exists(any_ecs, "m-1")


def test_shared_image_cannot_be_deleted_even_with_force(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1", shared_with=["222"])]})
    with raises_code("ImageUseShared", 403):
        any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1", force=True))


def test_copy_in_progress_cannot_be_deleted(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1", region="cn-shanghai")]})
    copy = any_ecs.copy_image(
        m.CopyImageRequest(region_id="cn-shanghai", image_id="m-1", destination_region_id=R)
    ).body.image_id
    with raises_code("OperationDenied.ImageCopying", 403):
        any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id=copy, force=True))
    control.advance(3600)
    any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id=copy))
    assert not exists(any_ecs, copy)


def test_dry_run_has_no_side_effect(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    with raises_code("DryRunOperation", 400):
        any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1", dry_run=True))
    assert exists(any_ecs, "m-1")


def test_other_accounts_image_is_forbidden(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-sys", owner_alias="system", owner_id="1")]})
    with raises_code("Forbidden", 403):
        ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-sys"))


def test_unknown_region(ecs: Client) -> None:
    with raises_code("InvalidRegionId.NotFound", 400):
        ecs.delete_image(m.DeleteImageRequest(region_id="xx-1", image_id="m-1"))
