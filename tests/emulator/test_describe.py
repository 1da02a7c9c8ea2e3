"""DescribeRegions, DescribeImages (filters, paging) and DescribeInstances (filters, NextToken)."""

from __future__ import annotations

import json

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import EmulatorControl

from .helpers import image, raises_code

R = "cn-hangzhou"


def test_describe_regions_default_catalog_in_chinese_and_english(any_ecs: Client) -> None:
    zh = {r.region_id: r for r in any_ecs.describe_regions(m.DescribeRegionsRequest()).body.regions.region}
    assert {"cn-hangzhou", "cn-shanghai", "ap-southeast-1", "eu-central-1", "us-east-1"} <= set(zh)
    assert zh["cn-hangzhou"].local_name == "华东1（杭州）"
    assert zh["cn-hangzhou"].region_endpoint == "ecs-cn-hangzhou.aliyuncs.com"
    en = any_ecs.describe_regions(m.DescribeRegionsRequest(accept_language="en-US")).body.regions.region
    assert {r.region_id: r.local_name for r in en}["cn-shanghai"] == "China (Shanghai)"


def test_seeded_regions_set_the_enabled_set(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"regions": ["cn-hangzhou", "cn-beijing"]})
    regions = ecs.describe_regions(m.DescribeRegionsRequest()).body.regions.region
    assert [r.region_id for r in regions] == ["cn-hangzhou", "cn-beijing"]
    with raises_code("InvalidRegionId.NotFound", 400):
        ecs.describe_images(m.DescribeImagesRequest(region_id="cn-shanghai"))


def test_describe_images_wire_shape(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1", name="base", size_gib=50, tags={"team": "a"}, creation_time="2024-01-01T08:00:00Z")]})
    body = ecs.describe_images(m.DescribeImagesRequest(region_id=R)).body
    raw = body.to_map()
    assert (raw["TotalCount"], raw["PageNumber"], raw["PageSize"]) == (1, 1, 10)
    [img] = raw["Images"]["Image"]
    assert img["ImageId"] == "m-1" and img["Status"] == "Available" and img["Progress"] == "100%"
    assert img["Size"] == 50 and img["ImageOwnerAlias"] == "self" and img["ImageOwnerId"] == 1234567890123456
    assert img["CreationTime"] == "2024-01-01T08:00:00Z" and img["OSType"] == "linux" and img["Platform"] == "CentOS"
    assert img["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Size"] == "50"
    assert img["Tags"] == {"Tag": [{"TagKey": "team", "TagValue": "a"}]}


@pytest.fixture
def catalog(control: EmulatorControl) -> None:
    control.seed(
        {
            "images": [
                image("m-old", name="app-old", creation_time="2024-01-01T00:00:00Z", tags={"env": "prod", "t": "1"}),
                image("m-new", name="app-new", creation_time="2024-02-01T00:00:00Z", tags={"env": "dev"}),
                image("m-win", name="win", os_type="windows", creation_time="2024-01-15T00:00:00Z"),
                image("m-bad", name="broken", status="CreateFailed"),
                image("m-sys", name="centos", owner_alias="system", owner_id="1"),
                image("m-mkt", name="market", owner_alias="marketplace", owner_id="2"),
                image("m-shr", name="shared", owner_id="333"),
            ],
            "instances": [{"region": R, "instance_id": "i-1", "image_id": "m-new"}],
        }
    )


def ids(ecs: Client, **kw: object) -> list[str]:
    body = ecs.describe_images(m.DescribeImagesRequest(region_id=R, page_size=100, **kw)).body
    return [i.image_id for i in body.images.image]


@pytest.mark.usefixtures("catalog")
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["m-shr", "m-sys", "m-new", "m-win", "m-old"]),
        ({"image_owner_alias": "self"}, ["m-new", "m-win", "m-old"]),
        ({"image_owner_alias": "system"}, ["m-sys"]),
        ({"image_owner_alias": "others"}, ["m-shr"]),
        ({"image_owner_alias": "marketplace"}, ["m-mkt"]),
        ({"image_id": "m-old,m-new"}, ["m-new", "m-old"]),
        ({"image_name": "app-"}, ["m-new", "m-old"]),
        ({"status": "CreateFailed"}, ["m-bad"]),
        ({"status": "ALL", "image_owner_alias": "self"}, ["m-bad", "m-new", "m-win", "m-old"]),
        ({"ostype": "windows"}, ["m-win"]),
        ({"usage": "instance"}, ["m-new"]),
        ({"usage": "none", "image_owner_alias": "self"}, ["m-win", "m-old"]),
        ({"tag": [m.DescribeImagesRequestTag(key="env", value="prod")]}, ["m-old"]),
        ({"tag": [m.DescribeImagesRequestTag(key="env")]}, ["m-new", "m-old"]),
        ({"tag": [m.DescribeImagesRequestTag(key="env", value="prod"), m.DescribeImagesRequestTag(key="t", value="2")]}, []),
    ],
)
def test_describe_images_filters(ecs: Client, filters: dict[str, object], expected: list[str]) -> None:
    got = ids(ecs, **filters)
    # seeded images without creation_time are "now", so newer than the 2024 ones
    assert got == expected


@pytest.mark.usefixtures("catalog")
def test_usage_field_reflects_instances(ecs: Client) -> None:
    body = ecs.describe_images(m.DescribeImagesRequest(region_id=R, image_id="m-new,m-old")).body
    assert {i.image_id: i.usage for i in body.images.image} == {"m-new": "instance", "m-old": "none"}


def test_paging_over_more_than_100_images(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image(f"m-{n:03d}", creation_time=f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}Z") for n in range(105)]})
    first = ecs.describe_images(m.DescribeImagesRequest(region_id=R, page_size=100)).body
    second = ecs.describe_images(m.DescribeImagesRequest(region_id=R, page_size=100, page_number=2)).body
    assert first.total_count == second.total_count == 105
    assert len(first.images.image) == 100 and len(second.images.image) == 5
    assert first.images.image[0].image_id == "m-104" and second.images.image[-1].image_id == "m-000"
    default = ecs.describe_images(m.DescribeImagesRequest(region_id=R)).body
    assert len(default.images.image) == 10 and default.page_size == 10


@pytest.mark.parametrize(("kw", "code"), [({"page_size": 101}, "InvalidParameter.PageSize"),
                                          ({"page_size": 0}, "InvalidParameter.PageSize"),
                                          ({"page_number": 0}, "InvalidParameter.PageNumber")])
def test_paging_limits(ecs: Client, kw: dict[str, int], code: str) -> None:
    with raises_code(code, 400):
        ecs.describe_images(m.DescribeImagesRequest(region_id=R, **kw))


def test_describe_images_unknown_region(any_ecs: Client) -> None:
    with raises_code("InvalidRegionId.NotFound", 400):
        any_ecs.describe_images(m.DescribeImagesRequest(region_id="xx-nowhere-1"))


@pytest.fixture
def fleet(control: EmulatorControl) -> None:
    control.seed(
        {
            "images": [image("m-1"), image("m-2")],
            "instances": [{"region": R, "instance_id": f"i-{n:03d}", "image_id": "m-1" if n % 2 else "m-2"} for n in range(150)]
            + [{"region": "cn-beijing", "instance_id": "i-bj", "image_id": "m-1"}],
        }
    )


@pytest.mark.usefixtures("fleet")
def test_describe_instances_filters_and_next_token(any_ecs: Client) -> None:
    seen: list[str] = []
    token = None
    while True:
        body = any_ecs.describe_instances(
            m.DescribeInstancesRequest(region_id=R, image_id="m-1", max_results=50, next_token=token)
        ).body
        seen += [i.instance_id for i in body.instances.instance]
        assert all(i.image_id == "m-1" and i.region_id == R for i in body.instances.instance)
        token = body.next_token
        if not token:
            break
    assert len(seen) == 75 == len(set(seen))


@pytest.mark.usefixtures("fleet")
def test_describe_instances_by_ids(ecs: Client) -> None:
    body = ecs.describe_instances(
        m.DescribeInstancesRequest(region_id=R, instance_ids=json.dumps(["i-001", "i-002", "i-bj"]))
    ).body
    assert [i.instance_id for i in body.instances.instance] == ["i-001", "i-002"]


def test_describe_instances_limits(ecs: Client) -> None:
    with raises_code("InvalidParameter.MaxResults", 400):
        ecs.describe_instances(m.DescribeInstancesRequest(region_id=R, max_results=101))
    with raises_code("InvalidInstanceIds.Malformed", 400):
        ecs.describe_instances(m.DescribeInstancesRequest(region_id=R, instance_ids="i-1,i-2"))
