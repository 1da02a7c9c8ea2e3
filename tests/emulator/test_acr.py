"""CR (cr 2018-12-01) through the REAL SDK: reads, routing by host, direct mode, auth, faults, log, seed, push."""

from __future__ import annotations

import pytest
from alibabacloud_cr20181201 import models as cr_models
from alibabacloud_cr20181201.client import Client as CrClient
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi import models as open_api_models

from emulator import Emulator, EmulatorControl
from emulator.client import EmulatorControlError

from .conftest import CrClientFactory
from .helpers import CR_DST, CR_SEED, CR_SRC, raises_code


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed(CR_SEED)


def _tags(cr: CrClient, **kw: object) -> cr_models.ListRepoTagResponseBody:
    return cr.list_repo_tag(cr_models.ListRepoTagRequest(instance_id=CR_SRC, repo_id="crr-app", **kw)).body


def test_get_instance(cr: CrClient) -> None:
    body = cr.get_instance(cr_models.GetInstanceRequest(instance_id=CR_SRC)).body
    assert (body.code, body.is_success) == ("success", True) and body.request_id
    assert (body.instance_name, body.instance_specification, body.instance_status) == (
        "acr-hz", "Enterprise_Advanced", "RUNNING")
    assert isinstance(body.create_time, int)


def test_list_instance_is_scoped_to_the_hosts_region(make_cr: CrClientFactory) -> None:
    hz = make_cr("cn-hangzhou").list_instance(cr_models.ListInstanceRequest()).body
    sh = make_cr("cn-shanghai").list_instance(cr_models.ListInstanceRequest()).body
    assert [(i.instance_id, i.region_id) for i in hz.instances] == [(CR_SRC, "cn-hangzhou")]
    assert [(i.instance_id, i.instance_specification) for i in sh.instances] == [(CR_DST, "Enterprise_Basic")]
    assert hz.total_count == 1 and hz.is_success


def test_instance_of_another_region_does_not_exist_through_this_host(cr: CrClient) -> None:
    body = cr.get_instance(cr_models.GetInstanceRequest(instance_id=CR_DST)).body
    assert (body.is_success, body.code) == (False, "INSTANCE_NOT_EXIST")


def test_list_namespace_includes_implicit_ones(cr: CrClient, make_cr: CrClientFactory) -> None:
    body = cr.list_namespace(cr_models.ListNamespaceRequest(instance_id=CR_SRC)).body
    assert [n.namespace_name for n in body.namespaces] == ["ns"] and body.total_count == "1"
    assert body.namespaces[0].namespace_status == "NORMAL"
    dst = make_cr("cn-shanghai").list_namespace(cr_models.ListNamespaceRequest(instance_id=CR_DST)).body
    assert [n.namespace_name for n in dst.namespaces] == ["ns"]


def test_list_repository_and_filters(cr: CrClient, control: EmulatorControl) -> None:
    control.seed({"acr_repos": [{"instance_id": CR_SRC, "namespace": "other", "name": "db"}]})
    body = cr.list_repository(cr_models.ListRepositoryRequest(instance_id=CR_SRC)).body
    assert body.total_count == "2"
    assert [(r.repo_namespace_name, r.repo_name) for r in body.repositories] == [("ns", "app"), ("other", "db")]
    assert body.repositories[1].repo_id.startswith("crr-")
    only = cr.list_repository(cr_models.ListRepositoryRequest(instance_id=CR_SRC, repo_namespace_name="ns")).body
    assert [r.repo_id for r in only.repositories] == ["crr-app"]
    page = cr.list_repository(cr_models.ListRepositoryRequest(instance_id=CR_SRC, max_results=1)).body
    assert (len(page.repositories), page.next_token) == (1, "1")


def test_get_repository_by_id_and_by_name(cr: CrClient) -> None:
    by_id = cr.get_repository(cr_models.GetRepositoryRequest(instance_id=CR_SRC, repo_id="crr-app")).body
    by_name = cr.get_repository(
        cr_models.GetRepositoryRequest(instance_id=CR_SRC, repo_namespace_name="ns", repo_name="app")
    ).body
    assert (by_id.repo_name, by_id.repo_namespace_name, by_id.is_success) == ("app", "ns", True)
    assert by_name.repo_id == "crr-app"
    missing = cr.get_repository(cr_models.GetRepositoryRequest(instance_id=CR_SRC, repo_id="crr-none")).body
    assert (missing.is_success, missing.code) == (False, "REPO_NOT_EXIST")


def test_list_repo_tag_newest_first_with_string_times(cr: CrClient) -> None:
    body = _tags(cr)
    assert body.total_count == "2" and [i.tag for i in body.images] == ["v2", "v1"]
    v1 = body.images[1]
    assert (v1.digest, v1.image_size, v1.status) == ("sha256:" + "1" * 64, 1000, "NORMAL")
    assert v1.image_update == "2026-01-01 08:00:00"  # +08:00 text
    page2 = _tags(cr, page_no=2, page_size=1)
    assert [i.tag for i in page2.images] == ["v1"] and page2.page_no == 2


def test_list_repo_tag_bad_page_size_is_a_business_failure(cr: CrClient) -> None:
    body = _tags(cr, page_size=101)
    assert (body.is_success, body.code) == (False, "PARAM_INVALID")
    missing = cr.list_repo_tag(cr_models.ListRepoTagRequest(instance_id=CR_SRC)).body
    assert (missing.is_success, missing.code) == (False, "PARAM_INVALID")


def test_direct_mode_derives_the_region_from_the_instance(make_cr: CrClientFactory, control: EmulatorControl) -> None:
    direct = make_cr(direct=True)
    assert direct.get_instance(cr_models.GetInstanceRequest(instance_id=CR_DST)).body.instance_name == "acr-sh"
    assert {i.instance_id for i in direct.list_instance(cr_models.ListInstanceRequest()).body.instances} >= {
        CR_SRC, CR_DST}
    log = control.requests()
    assert [(e["service"], e["region"], e["action"]) for e in log] == [
        ("cr", "cn-shanghai", "GetInstance"), ("cr", None, "ListInstance")]


@pytest.mark.parametrize("v1", [False, True], ids=["acs3", "v1"])
def test_signatures_through_the_proxy(make_cr: CrClientFactory, v1: bool) -> None:
    assert make_cr(v1=v1).get_instance(cr_models.GetInstanceRequest(instance_id=CR_SRC)).body.is_success
    with raises_code("SignatureDoesNotMatch", 400):
        make_cr(v1=v1, secret="wrong").get_instance(cr_models.GetInstanceRequest(instance_id=CR_SRC))
    with raises_code("InvalidAccessKeyId.NotFound", 404):
        make_cr(v1=v1, ak="nobody").get_instance(cr_models.GetInstanceRequest(instance_id=CR_SRC))


def test_ecs_through_the_proxy_keeps_working(emulator: Emulator) -> None:
    config = open_api_models.Config(
        access_key_id="test-ak", access_key_secret="test-secret", region_id="cn-hangzhou", protocol="http",
        http_proxy=f"http://127.0.0.1:{emulator.port}",
    )
    body = EcsClient(config).describe_regions(ecs_models.DescribeRegionsRequest()).body
    assert any(r.region_id == "cn-hangzhou" for r in body.regions.region)


def test_request_log_records_host_region_and_business_code(cr: CrClient, control: EmulatorControl) -> None:
    cr.get_repository(cr_models.GetRepositoryRequest(instance_id=CR_SRC, repo_id="crr-none"))
    (entry,) = control.requests()
    assert (entry["service"], entry["region"], entry["action"], entry["status"], entry["code"]) == (
        "cr", "cn-hangzhou", "GetRepository", 200, "REPO_NOT_EXIST")
    assert entry["params"] == {"InstanceId": CR_SRC, "RepoId": "crr-none"}


def test_faults_apply_to_cr_calls(cr: CrClient, control: EmulatorControl) -> None:
    control.set_faults(throttle_rate=1.0, actions=["ListRepoTag"])
    with raises_code("Throttling.User", 400):
        _tags(cr)
    assert cr.get_instance(cr_models.GetInstanceRequest(instance_id=CR_SRC)).body.is_success
    control.set_faults(error_rate=1.0, actions=["ListRepoTag"])
    for _ in range(4):
        with pytest.raises(Exception) as info:
            _tags(cr)
        assert (info.value.code, info.value.status_code) in {  # type: ignore[attr-defined]
            ("ServiceUnavailable", 503), ("InternalError", 500)}
    assert [e["status"] for e in control.requests()][-4:] != [200] * 4


def test_lost_response_keeps_the_effect(cr: CrClient, control: EmulatorControl) -> None:
    control.set_faults(lost_response_rate=1.0, actions=["CreateRepoSyncTask"])
    with raises_code("ServiceUnavailable", 503):
        cr.create_repo_sync_task(cr_models.CreateRepoSyncTaskRequest(
            instance_id=CR_SRC, repo_id="crr-app", tag="v1", target_region_id="cn-shanghai",
            target_instance_id=CR_DST, target_namespace="ns", target_repo_name="app", target_tag="v1"))
    control.set_faults()
    tasks = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC)).body
    assert tasks.total_count == "1"


def test_unknown_action_is_404(emulator: Emulator, cr: CrClient) -> None:
    from alibabacloud_tea_openapi import utils_models
    from darabonba.runtime import RuntimeOptions

    params = utils_models.Params(
        action="DeleteInstance", version="2018-12-01", protocol="HTTP", pathname="/", method="POST",
        auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
    )
    with raises_code("InvalidAction.NotFound", 404):
        cr.call_api(params, utils_models.OpenApiRequest(query={"InstanceId": CR_SRC}), RuntimeOptions())


# --- push control call ------------------------------------------------------------------------------------


def test_push_answers_the_cloudevent_and_adds_the_tag(cr: CrClient, control: EmulatorControl) -> None:
    event = control.acr_push({"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "v3",
                              "digest": "sha256:" + "3" * 64, "size_bytes": 3000})
    assert (event["source"], event["type"], event["specversion"]) == ("acs.cr", "cr:Artifact:PushCompleted", "1.0")
    assert event["aliyunaccountid"] == "123456789012****" and event["aliyunregionid"] == "cn-hangzhou"
    assert event["subject"] == "acs.cr:cn-hangzhou:123456789012****:crr-app"
    assert event["time"].endswith("+08:00") and len(event["id"]) == 36
    data = event["data"]
    assert {k: data[k] for k in ("InstanceId", "InstanceName", "RegionId", "RepoId", "RepoNamespaceName",
                                 "RepoName", "Tag", "Digest")} == {
        "InstanceId": CR_SRC, "InstanceName": "acr-hz", "RegionId": "cn-hangzhou", "RepoId": "crr-app",
        "RepoNamespaceName": "ns", "RepoName": "app", "Tag": "v3", "Digest": "sha256:" + "3" * 64}
    assert set(data) - {"InstanceId", "InstanceName", "RegionId", "RepoId", "RepoNamespaceName", "RepoName",
                        "Tag", "Digest"}  # unknown keys a parser must ignore
    images = _tags(cr).images
    assert (images[0].tag, images[0].image_size) == ("v3", 3000)
    assert control.requests()[-1]["action"] == "ListRepoTag"
    assert all(e["action"] != "push" for e in control.requests())
    second = control.acr_push({"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "v3",
                               "digest": "sha256:" + "4" * 64})
    assert second["id"] != event["id"]
    assert _tags(cr).images[0].digest == "sha256:" + "4" * 64 and _tags(cr).total_count == "3"


def test_push_creates_repo_and_namespace(cr: CrClient, control: EmulatorControl) -> None:
    event = control.acr_push({"instance_id": CR_SRC, "namespace": "new", "repo": "svc", "tag": "t", "digest": "d"})
    repo = cr.get_repository(cr_models.GetRepositoryRequest(instance_id=CR_SRC, repo_namespace_name="new",
                                                            repo_name="svc")).body
    assert repo.repo_id == event["data"]["RepoId"]


def test_push_errors(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError) as info:
        control.acr_push({"instance_id": "cri-none", "namespace": "n", "repo": "r", "tag": "t", "digest": "d"})
    assert info.value.status == 404 and info.value.body["Code"] == "INSTANCE_NOT_EXIST"
    with pytest.raises(EmulatorControlError) as info:
        control.acr_push({"instance_id": CR_SRC, "namespace": "n", "repo": "r", "tag": "t"})
    assert info.value.status == 400 and "digest" in info.value.body["Message"]


# --- seed validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "loc"),
    [
        ({"acr_instances": [{"region": "eu-west-9", "instance_id": "cri-x"}]}, "acr_instances.0.region"),
        ({"acr_instances": [{"region": "cn-hangzhou", "instance_id": "cri-x", "specification": "Pro"}]},
         "acr_instances.0.specification"),
        ({"acr_instances": [{"region": "cn-hangzhou", "instance_id": "cri-x", "zone": "a"}]},
         "acr_instances.0.zone"),
        ({"acr_namespaces": [{"instance_id": "cri-none", "name": "n"}]}, "acr_namespaces.0.instance_id"),
        ({"acr_repos": [{"instance_id": CR_SRC, "namespace": "n", "name": "r", "repo_id": "x-1"}]},
         "acr_repos.0.repo_id"),
        ({"acr_tags": [{"instance_id": CR_SRC, "namespace": "ns", "repo": "nope", "tag": "t", "digest": "d"}]},
         "acr_tags.0.repo"),
        ({"acr_tags": [{"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "t"}]},
         "acr_tags.0.digest"),
    ],
)
def test_seed_validation_names_the_field(control: EmulatorControl, seed: dict[str, object], loc: str) -> None:
    with pytest.raises(EmulatorControlError) as info:
        control.seed(seed)
    assert info.value.status == 400
    assert loc in [e["loc"] for e in info.value.body["Errors"]]


def test_control_plane_answers_absolute_form_targets(emulator: Emulator) -> None:
    import json
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": emulator.url}))
    with opener.open("http://cr.cn-hangzhou.aliyuncs.com/_emulator/clock", timeout=5) as response:
        assert "epoch" in json.loads(response.read())
