"""CancelRepoSyncTask, CreateRepoSyncTaskByRule, DeleteRepoSyncRule and GetRepoTag through the real CR SDK."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_cr20181201 import models as cr_models
from alibabacloud_cr20181201.client import Client as CrClient

from emulator import EmulatorControl

from .helpers import CR_DST, CR_SEED, CR_SRC


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed(CR_SEED)


def _rule(cr: CrClient, **kw: Any) -> str:
    args: dict[str, Any] = {
        "instance_id": CR_SRC, "sync_rule_name": "to-sh", "sync_scope": "REPO", "tag_filter": "v.*",
        "target_instance_id": CR_DST, "target_region_id": "cn-shanghai", "namespace_name": "ns",
        "repo_name": "app", "target_namespace_name": "ns", "target_repo_name": "app-copy",
        "sync_trigger": "INITIATIVE",
    }
    args.update(kw)
    body = cr.create_repo_sync_rule(cr_models.CreateRepoSyncRuleRequest(**args)).body
    assert body.is_success, body.code
    return str(body.sync_rule_id)


def _by_rule(cr: CrClient, rule_id: str, tag: str = "v2", **kw: Any) -> cr_models.CreateRepoSyncTaskByRuleResponseBody:
    return cr.create_repo_sync_task_by_rule(cr_models.CreateRepoSyncTaskByRuleRequest(
        instance_id=CR_SRC, repo_id="crr-app", tag=tag, sync_rule_id=rule_id, **kw)).body


def _task(cr: CrClient, task_id: str) -> cr_models.GetRepoSyncTaskResponseBody:
    return cr.get_repo_sync_task(cr_models.GetRepoSyncTaskRequest(instance_id=CR_SRC, sync_task_id=task_id)).body


def test_get_repo_tag(cr: CrClient) -> None:
    body = cr.get_repo_tag(cr_models.GetRepoTagRequest(instance_id=CR_SRC, repo_id="crr-app", tag="v2")).body
    assert (body.is_success, body.tag, body.digest, body.image_size, body.status) == (
        True, "v2", "sha256:" + "2" * 64, 2000, "NORMAL")
    assert isinstance(body.image_create, int) and body.image_update >= body.image_create > 1_700_000_000_000
    assert body.image_id
    missing = cr.get_repo_tag(cr_models.GetRepoTagRequest(instance_id=CR_SRC, repo_id="crr-app", tag="nope")).body
    assert (missing.is_success, missing.code) == (False, "TAG_NOT_EXIST")


def test_create_task_by_rule_follows_the_rule(cr: CrClient, control: EmulatorControl) -> None:
    rule_id = _rule(cr)
    body = _by_rule(cr, rule_id, priority=5)
    assert (body.is_success, body.code) == (True, "success") and body.sync_task_id.startswith("rst-")
    task = _task(cr, body.sync_task_id)
    assert (task.sync_rule_id, task.task_trigger, task.priority, task.task_status) == (
        rule_id, "INITIATIVE", 5, "PENDING")
    assert (task.image_to.instance_id, task.image_to.repo_namespace_name, task.image_to.repo_name,
            task.image_to.image_tag) == (CR_DST, "ns", "app-copy", "v2")
    control.advance(60)
    assert _task(cr, body.sync_task_id).task_status == "SUCCESS"


@pytest.mark.parametrize(
    ("tag", "rule", "code"),
    [
        ("latest", "ok", "TAG_NOT_EXIST"),
        ("v1", "crsr-nope", "SYNC_RULE_NOT_EXIST"),
        ("v1", "narrow", "PARAM_INVALID"),  # TagFilter does not match
    ],
)
def test_create_task_by_rule_failures(cr: CrClient, control: EmulatorControl, tag: str, rule: str,
                                      code: str) -> None:
    rule_id = {"ok": _rule(cr), "narrow": _rule(cr, sync_rule_name="narrow", tag_filter="release-.*")}.get(rule, rule)
    body = _by_rule(cr, rule_id, tag=tag)
    assert (body.is_success, body.code) == (False, code)


def test_cancel_repo_sync_task(cr: CrClient, control: EmulatorControl) -> None:
    task_id = _by_rule(cr, _rule(cr)).sync_task_id
    control.advance(10)
    body = cr.cancel_repo_sync_task(cr_models.CancelRepoSyncTaskRequest(instance_id=CR_SRC, sync_task_id=task_id))
    assert (body.body.is_success, body.body.code) == (True, "success")
    control.advance(60)
    # a canceled task stays CANCELED and never writes the target
    assert _task(cr, task_id).task_status == "CANCELED"
    again = cr.cancel_repo_sync_task(cr_models.CancelRepoSyncTaskRequest(instance_id=CR_SRC, sync_task_id=task_id))
    assert (again.body.is_success, again.body.code) == (False, "SYNC_TASK_STATUS_NOT_SUPPORT")
    unknown = cr.cancel_repo_sync_task(cr_models.CancelRepoSyncTaskRequest(instance_id=CR_SRC, sync_task_id="rst-x"))
    assert (unknown.body.is_success, unknown.body.code) == (False, "SYNC_TASK_NOT_EXIST")


def test_delete_repo_sync_rule_from_the_source_side(cr: CrClient, make_cr: Any) -> None:
    rule_id = _rule(cr)
    from_target = make_cr("cn-shanghai").delete_repo_sync_rule(
        cr_models.DeleteRepoSyncRuleRequest(instance_id=CR_DST, sync_rule_id=rule_id)).body
    assert (from_target.is_success, from_target.code) == (False, "SYNC_RULE_NOT_EXIST")
    body = cr.delete_repo_sync_rule(cr_models.DeleteRepoSyncRuleRequest(instance_id=CR_SRC, sync_rule_id=rule_id)).body
    assert (body.is_success, body.code) == (True, "success")
    listed = cr.list_repo_sync_rule(cr_models.ListRepoSyncRuleRequest(instance_id=CR_SRC)).body
    assert listed.total_count == 0
    again = cr.delete_repo_sync_rule(cr_models.DeleteRepoSyncRuleRequest(instance_id=CR_SRC, sync_rule_id=rule_id)).body
    assert (again.is_success, again.code) == (False, "SYNC_RULE_NOT_EXIST")
