"""TagResources / UntagResources / ListTagResources on images."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import EmulatorControl

from .helpers import image, raises_code

R = "cn-hangzhou"


@pytest.fixture(autouse=True)
def _images(control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1"), image("m-2", tags={"keep": "yes"}), image("m-bj", region="cn-beijing")]})


def tag(ecs: Client, ids: list[str], **tags: str) -> None:
    ecs.tag_resources(
        m.TagResourcesRequest(
            region_id=R, resource_type="image", resource_id=ids,
            tag=[m.TagResourcesRequestTag(key=k, value=v) for k, v in tags.items()],
        )
    )


def listing(ecs: Client, **kw: object) -> list[tuple[str, str, str]]:
    body = ecs.list_tag_resources(m.ListTagResourcesRequest(region_id=R, resource_type="image", **kw)).body
    return [(t.resource_id, t.tag_key, t.tag_value) for t in body.tag_resources.tag_resource]


def test_tag_then_list(any_ecs: Client) -> None:
    tag(any_ecs, ["m-1", "m-2"], env="prod")
    assert listing(any_ecs, resource_id=["m-1"]) == [("m-1", "env", "prod")]
    assert listing(any_ecs, tag=[m.ListTagResourcesRequestTag(key="keep", value="yes")]) == [
        ("m-2", "env", "prod"),
        ("m-2", "keep", "yes"),
    ]
    body = any_ecs.list_tag_resources(m.ListTagResourcesRequest(region_id=R, resource_type="image")).body
    assert body.next_token == "" and body.tag_resources.tag_resource[0].resource_type == "image"


def test_untag_by_key_and_all(any_ecs: Client) -> None:
    tag(any_ecs, ["m-1"], a="1", b="2")
    any_ecs.untag_resources(m.UntagResourcesRequest(region_id=R, resource_type="image", resource_id=["m-1"], tag_key=["a"]))
    assert listing(any_ecs, resource_id=["m-1"]) == [("m-1", "b", "2")]
    any_ecs.untag_resources(m.UntagResourcesRequest(region_id=R, resource_type="image", resource_id=["m-1", "m-2"], all=True))
    assert listing(any_ecs) == []


def test_list_next_token_pages(ecs: Client, control: EmulatorControl) -> None:
    many = {f"k{j:02d}": "v" for j in range(20)}
    control.seed({"images": [image(f"m-t{n}", tags=many) for n in range(3)]})
    rows, token, pages = [], None, 0
    while True:
        body = ecs.list_tag_resources(
            m.ListTagResourcesRequest(region_id=R, resource_type="image", next_token=token, resource_id=["m-t0", "m-t1", "m-t2"])
        ).body
        rows += [(t.resource_id, t.tag_key) for t in body.tag_resources.tag_resource]
        pages += 1
        token = body.next_token
        if not token:
            break
    # 60 rows in pages of 50
    assert len(rows) == 60 == len(set(rows)) and pages == 2


@pytest.mark.parametrize(
    ("kwargs", "code", "status"),
    [
        ({"resource_id": ["m-nope"], "tag": [m.TagResourcesRequestTag(key="a", value="b")]}, "InvalidResourceId.NotFound", 404),
        ({"resource_id": ["m-bj"], "tag": [m.TagResourcesRequestTag(key="a", value="b")]}, "InvalidResourceId.NotFound", 404),
        ({"resource_id": ["m-1"], "tag": [m.TagResourcesRequestTag(key="aliyun-x", value="b")]}, "InvalidTagKey.Malformed", 400),
        ({"resource_id": ["m-1"], "tag": [m.TagResourcesRequestTag(key="k" * 129, value="b")]}, "InvalidTagKey.Malformed", 400),
        ({"resource_id": ["m-1"], "tag": [m.TagResourcesRequestTag(key=f"k{i}", value="v") for i in range(21)]},
         "InvalidParameter.TagCount", 400),
        ({"resource_id": [f"m-{i}" for i in range(51)], "tag": [m.TagResourcesRequestTag(key="a", value="b")]},
         "InvalidParameter.ResourceIdCount", 400),
        ({"resource_id": ["m-1"], "resource_type": "snapshot", "tag": [m.TagResourcesRequestTag(key="a", value="b")]},
         "InvalidResourceType.NotSupported", 400),
    ],
)
def test_tag_resources_limits(ecs: Client, kwargs: dict[str, object], code: str, status: int) -> None:
    fields: dict[str, object] = {"region_id": R, "resource_type": "image", **kwargs}
    with raises_code(code, status):
        ecs.tag_resources(m.TagResourcesRequest(**fields))


def test_twenty_tags_per_image_at_most(ecs: Client) -> None:
    tag(ecs, ["m-1"], **{f"k{i}": "v" for i in range(20)})
    with raises_code("InvalidParameter.TagCount", 400):
        tag(ecs, ["m-1"], extra="v")


def test_list_value_without_key(ecs: Client) -> None:
    with raises_code("InvalidParameter.TagValue", 400):
        listing(ecs, tag=[m.ListTagResourcesRequestTag(value="x")])


def test_delete_drops_tags(ecs: Client) -> None:
    ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-2"))
    assert listing(ecs) == []
