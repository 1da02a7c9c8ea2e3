"""CR sync through the REAL SDK (proxy mode): CreateRepoSyncTask rules, lifecycle, listing, rules, PASSIVE."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_cr20181201 import models as cr_models
from alibabacloud_cr20181201.client import Client as CrClient

from emulator import EmulatorControl

from .conftest import CrClientFactory
from .helpers import CR_DST, CR_FIN, CR_SEED, CR_SRC

D1, D2, DX = "sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "9" * 64


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed(CR_SEED)


def _create(cr: CrClient, **kw: Any) -> cr_models.CreateRepoSyncTaskResponseBody:
    args: dict[str, Any] = {
        "instance_id": CR_SRC, "repo_id": "crr-app", "tag": "v1", "target_region_id": "cn-shanghai",
        "target_instance_id": CR_DST, "target_namespace": "ns", "target_repo_name": "app", "target_tag": "v1",
    }
    args.update(kw)
    return cr.create_repo_sync_task(cr_models.CreateRepoSyncTaskRequest(**args)).body


def _get(cr: CrClient, task_id: str) -> cr_models.GetRepoSyncTaskResponseBody:
    return cr.get_repo_sync_task(cr_models.GetRepoSyncTaskRequest(instance_id=CR_SRC, sync_task_id=task_id)).body


def _target_tags(make_cr: CrClientFactory, repo: str = "app") -> dict[str, str]:
    sh = make_cr("cn-shanghai")
    found = sh.get_repository(cr_models.GetRepositoryRequest(instance_id=CR_DST, repo_namespace_name="ns",
                                                              repo_name=repo)).body
    if not found.is_success:
        return {}
    body = sh.list_repo_tag(cr_models.ListRepoTagRequest(instance_id=CR_DST, repo_id=found.repo_id)).body
    return {i.tag: i.digest for i in body.images}


def test_task_lifecycle_on_the_virtual_clock(cr: CrClient, make_cr: CrClientFactory,
                                             control: EmulatorControl) -> None:
    body = _create(cr)
    assert (body.code, body.is_success) == ("success", True) and body.sync_task_id.startswith("rst-")
    task = _get(cr, body.sync_task_id)
    assert (task.task_status, task.task_trigger, task.progress, task.priority) == ("PENDING", "INITIATIVE", 0, 3)
    assert (task.image_from.instance_id, task.image_from.region_id, task.image_from.repo_namespace_name,
            task.image_from.repo_name, task.image_from.image_tag) == (CR_SRC, "cn-hangzhou", "ns", "app", "v1")
    assert (task.image_to.instance_id, task.image_to.region_id) == (CR_DST, "cn-shanghai")
    assert _target_tags(make_cr) == {}
    control.advance(10)
    assert _get(cr, body.sync_task_id).task_status == "SYNCHRONIZING"
    control.advance(50)
    done = _get(cr, body.sync_task_id)
    assert (done.task_status, done.progress, done.synced_size, done.task_issue) == ("SUCCESS", 1, 1000, "")
    assert done.layer_tasks[0].digest == D1
    assert _target_tags(make_cr) == {"v1": D1}  # target repo auto-created


def test_sync_seconds_is_configurable(cr: CrClient, control: EmulatorControl) -> None:
    control.configure(acr_sync_seconds=600)
    task_id = _create(cr).sync_task_id
    control.advance(300)
    assert _get(cr, task_id).task_status == "SYNCHRONIZING"
    control.advance(300)
    assert _get(cr, task_id).task_status == "SUCCESS"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"repo_id": "crr-none"}, "REPO_NOT_EXIST"),
        ({"tag": "v9"}, "TAG_NOT_EXIST"),
        ({"instance_id": "cri-none"}, "INSTANCE_NOT_EXIST"),
        ({"target_instance_id": "cri-none"}, "INSTANCE_NOT_EXIST"),
        ({"target_region_id": "cn-beijing"}, "INSTANCE_NOT_EXIST"),  # target lives in cn-shanghai
        ({"target_namespace": "missing"}, "NAMESPACE_NOT_EXIST"),
        ({"priority": 9}, "PARAM_INVALID"),
        ({"target_region_id": "cn-shanghai-finance-1", "target_instance_id": CR_FIN}, "CROSS_REGION_NOT_ALLOWED"),
    ],
)
def test_create_task_business_failures(cr: CrClient, control: EmulatorControl, kw: dict[str, Any],
                                       code: str) -> None:
    body = _create(cr, **kw)
    assert (body.is_success, body.code, body.sync_task_id) == (False, code, None)
    assert control.requests()[-1]["code"] == code
    assert cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC)).body.total_count == "0"


def test_source_must_be_advanced_edition(make_cr: CrClientFactory, control: EmulatorControl) -> None:
    control.seed({"acr_repos": [{"instance_id": CR_DST, "namespace": "ns", "name": "db", "repo_id": "crr-db"}],
                  "acr_tags": [{"instance_id": CR_DST, "namespace": "ns", "repo": "db", "tag": "t", "digest": "d"}]})
    body = _create(make_cr("cn-shanghai"), instance_id=CR_DST, repo_id="crr-db", tag="t",
                   target_region_id="cn-hangzhou", target_instance_id=CR_SRC)
    assert (body.is_success, body.code) == (False, "INSTANCE_SPECIFICATION_NOT_SUPPORT")


def test_finance_to_public_is_allowed(make_cr: CrClientFactory, control: EmulatorControl) -> None:
    control.seed({"acr_repos": [{"instance_id": CR_FIN, "namespace": "ns", "name": "app"}],
                  "acr_tags": [{"instance_id": CR_FIN, "namespace": "ns", "repo": "app", "tag": "t", "digest": "d"}]})
    fin = make_cr("cn-shanghai-finance-1")
    repo_id = fin.get_repository(cr_models.GetRepositoryRequest(instance_id=CR_FIN, repo_namespace_name="ns",
                                                                repo_name="app")).body.repo_id
    body = _create(fin, instance_id=CR_FIN, repo_id=repo_id, tag="t")
    assert body.is_success


def test_override_false_never_replaces_a_different_digest(cr: CrClient, make_cr: CrClientFactory,
                                                          control: EmulatorControl) -> None:
    control.seed({"acr_repos": [{"instance_id": CR_DST, "namespace": "ns", "name": "app"}],
                  "acr_tags": [{"instance_id": CR_DST, "namespace": "ns", "repo": "app", "tag": "v1", "digest": DX}]})
    task_id = _create(cr, override=False).sync_task_id
    control.advance(60)
    task = _get(cr, task_id)
    assert task.task_status == "ERROR" and task.task_issue.startswith("TAG_ALREADY_EXIST")
    assert _target_tags(make_cr) == {"v1": DX}
    replaced = _create(cr, override=True).sync_task_id
    control.advance(60)
    assert _get(cr, replaced).task_status == "SUCCESS"
    assert _target_tags(make_cr) == {"v1": D1}


def test_override_false_with_the_same_digest_succeeds(cr: CrClient, control: EmulatorControl) -> None:
    control.seed({"acr_repos": [{"instance_id": CR_DST, "namespace": "ns", "name": "app"}],
                  "acr_tags": [{"instance_id": CR_DST, "namespace": "ns", "repo": "app", "tag": "v1", "digest": D1}]})
    task_id = _create(cr).sync_task_id
    control.advance(60)
    assert _get(cr, task_id).task_status == "SUCCESS"


def test_list_repo_sync_task_filters_and_paging(cr: CrClient, control: EmulatorControl) -> None:
    first = _create(cr).sync_task_id
    control.advance(1)
    second = _create(cr, tag="v2", target_tag="v2").sync_task_id
    body = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC)).body
    assert body.total_count == "2" and [t.sync_task_id for t in body.sync_tasks] == [second, first]
    task = body.sync_tasks[1]
    assert isinstance(task.create_time, int) and task.create_time > 10**12
    assert (task.task_status, task.image_to.image_tag) == ("PENDING", "v1")
    by_tag = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC, tag="v1")).body
    assert [t.sync_task_id for t in by_tag.sync_tasks] == [first]
    by_record = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(
        instance_id=CR_SRC, sync_record_id=body.sync_tasks[0].sync_batch_task_id)).body
    assert [t.sync_task_id for t in by_record.sync_tasks] == [second]
    none = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC, repo_name="other",
                                                                   repo_namespace_name="ns")).body
    assert none.total_count == "0" and none.sync_tasks == []
    page = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC, page_no=2, page_size=1)).body
    assert ([t.sync_task_id for t in page.sync_tasks], page.total_count) == ([first], "2")


def test_error_rate_fails_tasks_deterministically(cr: CrClient, control: EmulatorControl) -> None:
    control.configure(acr_error_rate=1.0)
    task_id = _create(cr).sync_task_id
    control.advance(60)
    task = _get(cr, task_id)
    assert task.task_status == "ERROR" and task.task_issue
    control.configure(acr_error_rate=0.5)

    def outcomes() -> list[str]:
        control.set_faults(seed=7)
        ids = [_create(cr).sync_task_id for _ in range(8)]
        control.advance(60)
        return [_get(cr, i).task_status for i in ids]

    first, second = outcomes(), outcomes()
    assert first == second and {"ERROR", "SUCCESS"} == set(first)


# --- rules ------------------------------------------------------------------------------------------------


def _rule(cr: CrClient, **kw: Any) -> cr_models.CreateRepoSyncRuleResponseBody:
    args: dict[str, Any] = {
        "instance_id": CR_SRC, "sync_rule_name": "to-sh", "sync_scope": "REPO", "tag_filter": "v.*",
        "target_instance_id": CR_DST, "target_region_id": "cn-shanghai", "namespace_name": "ns",
        "repo_name": "app", "target_namespace_name": "ns", "target_repo_name": "app", "sync_trigger": "PASSIVE",
    }
    args.update(kw)
    return cr.create_repo_sync_rule(cr_models.CreateRepoSyncRuleRequest(**args)).body


def test_rules_listed_from_both_sides(cr: CrClient, make_cr: CrClientFactory) -> None:
    rule_id = _rule(cr).sync_rule_id
    assert rule_id
    src = cr.list_repo_sync_rule(cr_models.ListRepoSyncRuleRequest(instance_id=CR_SRC)).body
    dst = make_cr("cn-shanghai").list_repo_sync_rule(cr_models.ListRepoSyncRuleRequest(instance_id=CR_DST)).body
    assert (src.total_count, src.sync_rules[0].sync_direction, src.sync_rules[0].sync_rule_id) == (1, "FROM", rule_id)
    assert (dst.total_count, dst.sync_rules[0].sync_direction) == (1, "TO")
    r = src.sync_rules[0]
    assert (r.local_instance_id, r.local_region_id, r.target_instance_id, r.target_region_id, r.sync_trigger,
            r.sync_scope, r.tag_filter) == (CR_SRC, "cn-hangzhou", CR_DST, "cn-shanghai", "PASSIVE", "REPO", "v.*")
    filtered = cr.list_repo_sync_rule(cr_models.ListRepoSyncRuleRequest(instance_id=CR_SRC, repo_name="x")).body
    assert filtered.total_count == 0


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"repo_name": None}, "PARAM_INVALID"),
        ({"sync_scope": "GLOBAL"}, "PARAM_INVALID"),
        ({"tag_filter": "("}, "PARAM_INVALID"),
        ({"target_namespace_name": "missing"}, "NAMESPACE_NOT_EXIST"),
        ({"target_region_id": "cn-beijing"}, "INSTANCE_NOT_EXIST"),
        ({"target_region_id": "cn-shanghai-finance-1", "target_instance_id": CR_FIN}, "CROSS_REGION_NOT_ALLOWED"),
    ],
)
def test_create_rule_business_failures(cr: CrClient, kw: dict[str, Any], code: str) -> None:
    body = _rule(cr, **kw)
    assert (body.is_success, body.code) == (False, code)


def test_passive_rule_creates_tasks_on_push(cr: CrClient, make_cr: CrClientFactory,
                                            control: EmulatorControl) -> None:
    rule_id = _rule(cr).sync_rule_id
    _rule(cr, sync_rule_name="manual", sync_trigger="INITIATIVE")
    _rule(cr, sync_rule_name="ns-wide", sync_scope="NAMESPACE", repo_name=None, target_repo_name=None,
          tag_filter="release-.*")
    control.acr_push({"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "v3", "digest": DX})
    control.acr_push({"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "latest", "digest": DX})
    tasks = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC)).body.sync_tasks
    assert [(t.task_trigger, t.sync_rule_id, t.image_from.image_tag) for t in tasks] == [("PASSIVE", rule_id, "v3")]
    control.advance(60)
    assert _get(cr, tasks[0].sync_task_id).task_status == "SUCCESS"
    assert _target_tags(make_cr) == {"v3": DX}


def test_one_push_matching_two_rules_shares_a_batch(cr: CrClient, control: EmulatorControl) -> None:
    _rule(cr)
    _rule(cr, sync_rule_name="copy", target_repo_name="app-copy")
    control.acr_push({"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "v4", "digest": DX})
    tasks = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC)).body.sync_tasks
    assert len(tasks) == 2 and len({t.sync_batch_task_id for t in tasks}) == 1
    assert {t.image_to.repo_name for t in tasks} == {"app", "app-copy"}
