"""What can name an image besides an instance, through the real SDKs: launch templates (every version),
image families (DescribeImageFromFamily, ImageFamily on images, CreateImage / ModifyImageAttribute), ESS
scaling configurations (both API versions), and DeleteImage of a copy's source."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_ess20220222 import models as ess_models
from alibabacloud_ess20220222.client import Client as EssClient
from alibabacloud_tea_openapi import models as open_api_models

from emulator import Emulator, EmulatorControl

from .helpers import image, raises_code

R = "cn-hangzhou"


def templates_seed(n: int = 1) -> list[dict[str, Any]]:
    return [{"region": R, "launch_template_id": f"lt-{i:03d}", "name": f"tpl-{i:03d}",
             "versions": [{"version_number": 1, "image_id": f"m-old{i}"}, {"version_number": 2, "image_id": f"m-new{i}"}]}
            for i in range(n)]


# --- launch templates --------------------------------------------------------------------------------------


def test_every_version_of_a_template_names_its_image(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed({"launch_templates": templates_seed(1)})
    body = any_ecs.describe_launch_templates(m.DescribeLaunchTemplatesRequest(region_id=R, page_size=50)).body
    assert body.total_count == 1
    t = body.launch_template_sets.launch_template_set[0]
    assert (t.launch_template_id, t.launch_template_name, t.default_version_number, t.latest_version_number) == (
        "lt-000", "tpl-000", 1, 2)
    versions = any_ecs.describe_launch_template_versions(
        m.DescribeLaunchTemplateVersionsRequest(region_id=R, launch_template_id="lt-000")).body
    sets = versions.launch_template_version_sets.launch_template_version_set
    assert [(v.version_number, v.default_version, v.launch_template_data.image_id) for v in sets] == [
        (1, True, "m-old0"), (2, False, "m-new0")]


def test_templates_page_and_filter(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"launch_templates": templates_seed(12)})
    first = ecs.describe_launch_templates(m.DescribeLaunchTemplatesRequest(region_id=R, page_size=5)).body
    third = ecs.describe_launch_templates(
        m.DescribeLaunchTemplatesRequest(region_id=R, page_size=5, page_number=3)).body
    assert (first.total_count, len(first.launch_template_sets.launch_template_set)) == (12, 5)
    assert [t.launch_template_id for t in third.launch_template_sets.launch_template_set] == ["lt-010", "lt-011"]
    by_name = ecs.describe_launch_templates(
        m.DescribeLaunchTemplatesRequest(region_id=R, launch_template_name=["tpl-004"])).body
    assert [t.launch_template_id for t in by_name.launch_template_sets.launch_template_set] == ["lt-004"]
    with raises_code("InvalidParameter.PageSize", 400):
        ecs.describe_launch_templates(m.DescribeLaunchTemplatesRequest(region_id=R, page_size=51))


def test_template_versions_need_a_template(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"launch_templates": templates_seed(1)})
    with raises_code("MissingParameter", 400):
        ecs.describe_launch_template_versions(m.DescribeLaunchTemplateVersionsRequest(region_id=R))
    with raises_code("InvalidLaunchTemplate.NotFound", 403):
        ecs.describe_launch_template_versions(
            m.DescribeLaunchTemplateVersionsRequest(region_id=R, launch_template_id="lt-nope"))
    by_name = ecs.describe_launch_template_versions(m.DescribeLaunchTemplateVersionsRequest(
        region_id=R, launch_template_name="tpl-000", default_version=True)).body
    assert [v.version_number for v in by_name.launch_template_version_sets.launch_template_version_set] == [1]


def test_a_template_seed_in_a_disabled_region_is_refused(control: EmulatorControl) -> None:
    from emulator.client import EmulatorControlError

    with pytest.raises(EmulatorControlError) as info:
        control.seed({"launch_templates": [{"region": "xx-1", "launch_template_id": "lt-1",
                                            "versions": [{"version_number": 1, "image_id": "m-1"}]}]})
    assert info.value.status == 400 and "launch_templates.0.region" in str(info.value.body)


# --- image families ----------------------------------------------------------------------------------------


def test_image_from_family_is_the_newest_available_one(any_ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [
        image("m-f1", family="base", creation_time="2026-01-01T00:00:00Z"),
        image("m-f2", family="base", creation_time="2026-02-01T00:00:00Z"),
        image("m-f3", family="base", creation_time="2026-03-01T00:00:00Z", status="Creating"),
        image("m-g1", family="other", creation_time="2026-04-01T00:00:00Z"),
    ]})
    got = any_ecs.describe_image_from_family(m.DescribeImageFromFamilyRequest(region_id=R, image_family="base")).body
    assert (got.image.image_id, got.image.image_family, got.image.status) == ("m-f2", "base", "Available")
    listed = any_ecs.describe_images(m.DescribeImagesRequest(region_id=R, image_family="base", status="ALL")).body
    assert sorted(i.image_id for i in listed.images.image) == ["m-f1", "m-f2", "m-f3"]


def test_deprecating_the_newest_rolls_the_family_back(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-f1", family="base", creation_time="2026-01-01T00:00:00Z"),
                             image("m-f2", family="base", creation_time="2026-02-01T00:00:00Z")]})
    ecs.modify_image_attribute(m.ModifyImageAttributeRequest(region_id=R, image_id="m-f2", status="Deprecated"))
    got = ecs.describe_image_from_family(m.DescribeImageFromFamilyRequest(region_id=R, image_family="base")).body
    assert got.image.image_id == "m-f1"


def test_an_empty_family_answers_an_empty_image(ecs: Client) -> None:
    got = ecs.describe_image_from_family(m.DescribeImageFromFamilyRequest(region_id=R, image_family="none")).body
    assert got.image is None or got.image.image_id is None


def test_family_is_set_by_modify_image_attribute_and_create_image(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")], "snapshots": [{"region": R, "snapshot_id": "s-1"}]})
    ecs.modify_image_attribute(m.ModifyImageAttributeRequest(region_id=R, image_id="m-1", image_family="web"))
    got = ecs.describe_image_from_family(m.DescribeImageFromFamilyRequest(region_id=R, image_family="web")).body
    assert got.image.image_id == "m-1"
    created = ecs.create_image(m.CreateImageRequest(region_id=R, snapshot_id="s-1", image_family="web2")).body.image_id
    body = ecs.describe_images(m.DescribeImagesRequest(region_id=R, image_id=created, status="ALL")).body
    assert body.images.image[0].image_family == "web2"
    with raises_code("InvalidImageFamily.Malformed", 400):
        ecs.modify_image_attribute(m.ModifyImageAttributeRequest(region_id=R, image_id="m-1", image_family="aliyun-x"))


# --- DeleteImage of a copy's source ------------------------------------------------------------------------


def test_the_source_of_a_copy_in_progress_cannot_be_deleted(any_ecs: Client, control: EmulatorControl) -> None:
    # a copy started by anyone (here straight through the API, like the console) protects its source
    control.seed({"images": [image("m-src", size_gib=100)]})
    any_ecs.copy_image(m.CopyImageRequest(region_id=R, image_id="m-src", destination_region_id="cn-beijing"))
    with raises_code("OperationDenied.ImageCopying", 403):
        any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-src", force=True))
    control.advance(24 * 3600)
    any_ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-src"))
    body = any_ecs.describe_images(m.DescribeImagesRequest(region_id=R, image_id="m-src", status="ALL")).body
    assert body.total_count == 0


# --- ESS scaling configurations ----------------------------------------------------------------------------


@pytest.fixture
def ess(emulator: Emulator) -> EssClient:
    config = open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret",
                                    endpoint=emulator.endpoint, protocol="http", region_id=R)
    return EssClient(config)


def test_scaling_configurations_name_their_image(ess: EssClient, control: EmulatorControl) -> None:
    control.seed({"scaling_configurations": [
        {"region": R, "scaling_configuration_id": f"scc-{i:02d}", "image_id": f"m-{i}"} for i in range(12)
    ] + [{"region": R, "scaling_configuration_id": "scc-fam", "image_family": "base"},
         {"region": "cn-beijing", "scaling_configuration_id": "scc-bj", "image_id": "m-bj"}]})
    body = ess.describe_scaling_configurations(
        ess_models.DescribeScalingConfigurationsRequest(region_id=R, page_size=50)).body
    assert body.total_count == 13
    by_id = {c.scaling_configuration_id: c for c in body.scaling_configurations}
    assert by_id["scc-03"].image_id == "m-3" and by_id["scc-fam"].image_family == "base"
    assert by_id["scc-03"].lifecycle_state == "Active" and "scc-bj" not in by_id
    page = ess.describe_scaling_configurations(
        ess_models.DescribeScalingConfigurationsRequest(region_id=R, page_size=5, page_number=3)).body
    assert [c.scaling_configuration_id for c in page.scaling_configurations] == ["scc-10", "scc-11", "scc-fam"]
    one = ess.describe_scaling_configurations(ess_models.DescribeScalingConfigurationsRequest(
        region_id=R, scaling_configuration_ids=["scc-07"])).body
    assert [c.image_id for c in one.scaling_configurations] == ["m-7"]
    with raises_code("InvalidParameter.PageSize", 400):
        ess.describe_scaling_configurations(ess_models.DescribeScalingConfigurationsRequest(region_id=R, page_size=51))
    with raises_code("InvalidRegionId.NotFound", 400):
        ess.describe_scaling_configurations(ess_models.DescribeScalingConfigurationsRequest(region_id="xx-1"))


def test_the_legacy_ess_version_wraps_the_list(emulator: Emulator, control: EmulatorControl) -> None:
    # 2014-08-28 through the generic tea-openapi call path (the legacy SDK package is not a dependency)
    from alibabacloud_tea_openapi.client import Client as OpenApi
    from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
    from darabonba.runtime import RuntimeOptions

    control.seed({"scaling_configurations": [{"region": R, "scaling_configuration_id": "scc-1", "image_id": "m-1"}]})
    api = OpenApi(open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret",
                                         endpoint=emulator.endpoint, protocol="http", region_id=R))
    params = Params(action="DescribeScalingConfigurations", version="2014-08-28", protocol="HTTP", pathname="/",
                    method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    answer = api.call_api(params, OpenApiRequest(query={"RegionId": R, "ScalingConfigurationId.1": "scc-1"}),
                          RuntimeOptions())
    assert answer["body"]["ScalingConfigurations"]["ScalingConfiguration"][0]["ImageId"] == "m-1"
