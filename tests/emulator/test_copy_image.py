"""CopyImage through the real SDK: success shape, every documented rule, ClientToken, DryRun."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import Emulator, EmulatorControl

from .helpers import image, raises_code

SRC = "cn-hangzhou"
DST = "cn-shanghai"


def copy_request(**overrides: Any) -> m.CopyImageRequest:
    """A valid CopyImage request from m-src (hangzhou) to shanghai, with overrides."""
    fields: dict[str, Any] = {
        "region_id": SRC,
        "image_id": "m-src",
        "destination_region_id": DST,
        "destination_image_name": "app-copy",
    }
    fields.update(overrides)
    return m.CopyImageRequest(**fields)


def describe_all(client: Client, region: str, **kw: Any) -> list[m.DescribeImagesResponseBodyImagesImage]:
    """DescribeImages with Status=ALL."""
    body = client.describe_images(m.DescribeImagesRequest(region_id=region, status="ALL", page_size=100, **kw)).body
    return list(body.images.image)


@pytest.fixture(autouse=True)
def _source(control: EmulatorControl) -> None:
    control.seed(
        {
            "images": [
                image("m-src", name="app", size_gib=40, platform="Ubuntu",
                      disks=[{"device": "/dev/xvda", "type": "system", "size_gib": 40},
                             {"device": "/dev/xvdb", "type": "data", "size_gib": 100}]),
            ],
            "kms_keys": [{"region": DST, "key_id": "key-dst"}],
        }
    )


def test_copy_creates_the_image_at_once_in_the_destination(any_ecs: Client) -> None:
    # WHEN
    tags = [m.CopyImageRequestTag(key="replica-of", value="cn-hangzhou/m-src")]
    new_id = any_ecs.copy_image(copy_request(destination_description="a copy", tag=tags)).body.image_id
    # THEN the id is shanghai-flavoured and the image is visible with Status=ALL, not by default
    assert new_id.startswith("m-uf6")
    [copy] = describe_all(any_ecs, DST)
    assert copy.image_id == new_id
    assert copy.status == "Creating" and copy.progress == "0%"
    assert copy.is_copied is True and copy.description == "a copy"
    assert copy.size == 40 and copy.platform == "Ubuntu" and copy.ostype == "linux"
    assert [t.to_map() for t in copy.tags.tag] == [{"TagKey": "replica-of", "TagValue": "cn-hangzhou/m-src"}]
    disks = copy.disk_device_mappings.disk_device_mapping
    assert [(d.device, d.size, d.encrypted) for d in disks] == [("/dev/xvda", "40", False), ("/dev/xvdb", "100", False)]
    assert all(d.snapshot_id.startswith("s-uf6") for d in disks)
    default = any_ecs.describe_images(m.DescribeImagesRequest(region_id=DST)).body
    assert default.total_count == 0


def test_encrypted_copy_marks_every_disk_and_records_the_key(ecs: Client, emulator: Emulator) -> None:
    new_id = ecs.copy_image(copy_request(encrypted=True, kmskey_id="key-dst")).body.image_id
    [copy] = describe_all(ecs, DST, image_id=new_id)
    assert all(d.encrypted is True for d in copy.disk_device_mappings.disk_device_mapping)
    # the SDK model drops KMSKeyId (not in DescribeImages), so read the recorded key in-process
    recorded = emulator.services[0].backend.images[new_id]  # type: ignore[attr-defined]
    assert recorded.kms_key_id == "key-dst"


def test_same_region_copy_is_allowed_when_encrypted(ecs: Client) -> None:
    new_id = ecs.copy_image(copy_request(destination_region_id=SRC, encrypted=True)).body.image_id
    assert new_id.startswith("m-bp1")


def test_default_name_is_the_source_name(ecs: Client) -> None:
    new_id = ecs.copy_image(copy_request(destination_image_name=None)).body.image_id
    [copy] = describe_all(ecs, DST, image_id=new_id)
    assert copy.image_name == "app"


RULES: list[tuple[str, dict[str, Any], dict[str, Any], str, int]] = [
    ("missing image", {}, {"image_id": "m-nope"}, "InvalidImageId.NotFound", 404),
    ("bad source region", {}, {"region_id": "xx-nowhere-1"}, "SourceRegion.NotFound", 400),
    ("bad destination", {}, {"destination_region_id": "xx-nowhere-1"}, "DestinationRegion.NotFound", 400),
    ("name too short", {}, {"destination_image_name": "a"}, "InvalidImageName.Malformed", 400),
    ("name starts with digit", {}, {"destination_image_name": "1abc"}, "InvalidImageName.Malformed", 400),
    ("name aliyun prefix", {}, {"destination_image_name": "aliyun-x"}, "InvalidImageName.Malformed", 400),
    ("name acs: prefix", {}, {"destination_image_name": "acs:x"}, "InvalidImageName.Malformed", 400),
    ("name with url", {}, {"destination_image_name": "ahttp://x"}, "InvalidImageName.Malformed", 400),
    ("name with space", {}, {"destination_image_name": "ab cd"}, "InvalidImageName.Malformed", 400),
    ("name too long", {}, {"destination_image_name": "a" * 129}, "InvalidImageName.Malformed", 400),
    ("description too short", {}, {"destination_description": "x"}, "InvalidDescription.Malformed", 400),
    ("description too long", {}, {"destination_description": "x" * 257}, "InvalidDescription.Malformed", 400),
    ("source not available", {"images": [image("m-src", status="Creating")]}, {}, "IncorrectImageStatus", 400),
    ("duplicate name", {"images": [image("m-d", region=DST, name="app-copy")]}, {}, "InvalidImageName.Duplicated", 400),
    ("too large", {"images": [image("m-src", size_gib=2049)]}, {}, "SizeExceed.Image", 403),
    ("same region unencrypted", {}, {"destination_region_id": SRC}, "IncorrectDestinationRegion", 403),
    ("kms without encrypted", {}, {"kmskey_id": "key-dst"}, "InvalidParameter.EncryptedIllegal", 400),
    ("kms key unknown", {}, {"encrypted": True, "kmskey_id": "key-x"}, "InvalidParameter.KMSKeyId.NotFound", 404),
    ("other owner cross-region", {"images": [image("m-src", owner_id="999")]}, {}, "OperationDenied.SameRegionOnly", 403),
    ("client token too long", {}, {"client_token": "t" * 65}, "InvalidClientToken.Malformed", 400),
    ("too many tags", {}, {"tag": [m.CopyImageRequestTag(key=f"k{i}", value="v") for i in range(21)]},
     "InvalidParameter.TagCount", 400),
    ("reserved tag key", {}, {"tag": [m.CopyImageRequestTag(key="acs:x", value="v")]}, "InvalidTagKey.Malformed", 400),
]


@pytest.mark.parametrize(("seed", "overrides", "code", "status"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_copy_rules(
    any_ecs: Client, control: EmulatorControl, seed: dict[str, Any], overrides: dict[str, Any], code: str, status: int
) -> None:
    # GIVEN the extra seed WHEN the copy breaks one rule THEN the exact code and status, and nothing is created
    control.seed(seed)
    with raises_code(code, status):
        any_ecs.copy_image(copy_request(**overrides))
    assert all(not i.is_copied for i in describe_all(any_ecs, DST))


def test_quota_exceeded(ecs: Client, control: EmulatorControl) -> None:
    control.configure(image_quota=2)
    control.seed({"images": [image("m-a", region=DST), image("m-b", region=DST)]})
    with raises_code("QuotaExceed.Image", 403):
        ecs.copy_image(copy_request())


def test_other_owner_same_region_encrypted_copy_is_allowed(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-src", owner_id="999")]})
    assert ecs.copy_image(copy_request(destination_region_id=SRC, encrypted=True)).body.image_id


def test_client_token_replay_returns_the_same_image(any_ecs: Client) -> None:
    first = any_ecs.copy_image(copy_request(client_token="tok-1")).body.image_id
    # WHEN the identical request is retried (a new name check would otherwise say Duplicated)
    second = any_ecs.copy_image(copy_request(client_token="tok-1")).body.image_id
    # THEN the same ImageId and no second image
    assert first == second
    assert [i.image_id for i in describe_all(any_ecs, DST)] == [first]


def test_client_token_with_other_parameters_is_a_mismatch(ecs: Client) -> None:
    ecs.copy_image(copy_request(client_token="tok-2"))
    with raises_code("IdempotentParameterMismatch", 400):
        ecs.copy_image(copy_request(client_token="tok-2", destination_image_name="other-name"))


def test_client_token_scope_is_the_source_region(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-bj", region="cn-beijing", name="bj")]})
    ecs.copy_image(copy_request(client_token="tok-3"))
    other = ecs.copy_image(
        copy_request(region_id="cn-beijing", image_id="m-bj", destination_image_name="bj-copy", client_token="tok-3")
    )
    assert other.body.image_id


def test_dry_run_checks_everything_and_creates_nothing(any_ecs: Client) -> None:
    with raises_code("DryRunOperation", 400):
        any_ecs.copy_image(copy_request(dry_run=True, client_token="tok-dry"))
    assert describe_all(any_ecs, DST) == []
    # a real call with the same token afterwards is not a replay
    assert any_ecs.copy_image(copy_request(client_token="tok-dry")).body.image_id


def test_dry_run_still_reports_rule_errors(ecs: Client) -> None:
    with raises_code("InvalidImageId.NotFound", 404):
        ecs.copy_image(copy_request(dry_run=True, image_id="m-nope"))
