"""CR cross-account sync through the REAL SDK (issue #13): ``TargetUserId`` routes a task or rule to another
account's instance, the target account's grant is checked, instances are per account, ``CrossUser`` is set."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_cr20181201 import models as cr_models
from alibabacloud_cr20181201.client import Client as CrClient

from emulator import EmulatorControl

from .conftest import CrClientFactory
from .helpers import CR_SEED, CR_SRC, raises_code

HOME, PARTNER, CLOSED = "1234567890123456", "2222222222222222", "3333333333333333"
P_DST, C_DST = "cri-partner", "cri-closed"
D1 = "sha256:" + "1" * 64


def _seed() -> dict[str, Any]:
    """CR_SEED plus a partner whose role trusts HOME (instance cri-partner in shanghai, namespace ns) and an
    account whose only role trusts nobody (instance cri-closed)."""
    seed = {key: list(value) if isinstance(value, list) else value for key, value in CR_SEED.items()}
    seed["accounts"] = [
        {"account_id": PARTNER, "access_key_id": "p-ak", "access_key_secret": "p-secret",
         "roles": [{"name": "relay-acr", "trusted_accounts": [HOME]}]},
        {"account_id": CLOSED, "access_key_id": "c-ak", "access_key_secret": "c-secret",
         "roles": [{"name": "closed", "trusted_accounts": []}]},
    ]
    seed["acr_instances"] += [
        {"region": "cn-shanghai", "instance_id": P_DST, "account_id": PARTNER},
        {"region": "cn-shanghai", "instance_id": C_DST, "account_id": CLOSED},
    ]
    seed["acr_namespaces"] += [{"instance_id": P_DST, "name": "ns"}, {"instance_id": C_DST, "name": "ns"}]
    return seed


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed(_seed())


@pytest.fixture
def partner_sh(make_cr: CrClientFactory) -> CrClient:
    """The partner's own CR client of cn-shanghai (its static pair)."""
    return make_cr("cn-shanghai", ak="p-ak", secret="p-secret")


def _create(cr: CrClient, **kw: Any) -> cr_models.CreateRepoSyncTaskResponseBody:
    args: dict[str, Any] = {
        "instance_id": CR_SRC, "repo_id": "crr-app", "tag": "v1", "target_region_id": "cn-shanghai",
        "target_instance_id": P_DST, "target_namespace": "ns", "target_repo_name": "app", "target_tag": "v1",
        "target_user_id": PARTNER,
    }
    args.update(kw)
    return cr.create_repo_sync_task(cr_models.CreateRepoSyncTaskRequest(**args)).body


def _partner_tags(partner: CrClient) -> dict[str, str]:
    repo = partner.get_repository(cr_models.GetRepositoryRequest(instance_id=P_DST, repo_namespace_name="ns",
                                                                  repo_name="app")).body
    if not repo.is_success:
        return {}
    body = partner.list_repo_tag(cr_models.ListRepoTagRequest(instance_id=P_DST, repo_id=repo.repo_id)).body
    return {i.tag: i.digest for i in body.images}


def test_a_task_with_target_user_id_lands_in_the_partner_instance(cr: CrClient, partner_sh: CrClient,
                                                                 control: EmulatorControl) -> None:
    body = _create(cr)
    assert (body.code, body.is_success) == ("success", True)
    task = cr.get_repo_sync_task(cr_models.GetRepoSyncTaskRequest(instance_id=CR_SRC,
                                                                  sync_task_id=body.sync_task_id)).body
    assert (task.cross_user, task.image_to.instance_id, task.image_to.region_id) == (True, P_DST, "cn-shanghai")
    listed = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC)).body.sync_tasks
    assert [(t.sync_task_id, t.cross_user, t.image_to.instance_id) for t in listed] == [
        (body.sync_task_id, True, P_DST)]
    assert _partner_tags(partner_sh) == {}
    control.advance(60)
    assert _partner_tags(partner_sh) == {"v1": D1}


def test_same_account_tasks_are_not_cross_user(cr: CrClient) -> None:
    body = _create(cr, target_instance_id="cri-dst", target_user_id=None)
    assert body.is_success
    task = cr.get_repo_sync_task(cr_models.GetRepoSyncTaskRequest(instance_id=CR_SRC,
                                                                  sync_task_id=body.sync_task_id)).body
    assert task.cross_user is False
    own = _create(cr, target_instance_id="cri-dst", target_user_id=HOME)  # naming oneself: same account
    assert own.is_success


def test_instances_are_per_account(cr: CrClient, make_cr: CrClientFactory, partner_sh: CrClient) -> None:
    home_sh = make_cr("cn-shanghai")
    assert [i.instance_id for i in home_sh.list_instance(cr_models.ListInstanceRequest()).body.instances] == [
        "cri-dst"]
    assert [i.instance_id for i in partner_sh.list_instance(cr_models.ListInstanceRequest()).body.instances] == [
        P_DST]
    seen = home_sh.get_instance(cr_models.GetInstanceRequest(instance_id=P_DST)).body
    assert (seen.is_success, seen.code) == (False, "INSTANCE_NOT_EXIST")


@pytest.mark.parametrize(("kw", "code"), [
    ({"target_user_id": None}, "INSTANCE_NOT_EXIST"),  # another account's instance without TargetUserId
    ({"target_instance_id": "cri-dst"}, "INSTANCE_NOT_EXIST"),  # the home instance is not the partner's
    ({"target_instance_id": "cri-nope"}, "INSTANCE_NOT_EXIST"),
    ({"target_region_id": "cn-beijing"}, "INSTANCE_NOT_EXIST"),  # the partner instance is in shanghai
    ({"target_user_id": "22222"}, "PARAM_INVALID"),
])
def test_cross_account_business_failures(cr: CrClient, kw: dict[str, Any], code: str) -> None:
    body = _create(cr, **kw)
    assert (body.is_success, body.code) == (False, code)
    assert cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC)).body.sync_tasks == []


def test_a_target_account_without_the_grant_refuses(cr: CrClient) -> None:
    with raises_code("NoPrivilege", 403):
        _create(cr, target_instance_id=C_DST, target_user_id=CLOSED)
    with raises_code("NoPrivilege", 403):  # the grant is checked before the instance (it is not visible)
        _create(cr, target_instance_id="cri-nope", target_user_id=CLOSED)
    assert cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC)).body.sync_tasks == []


def test_a_cross_account_rule_fires_on_push(cr: CrClient, partner_sh: CrClient, control: EmulatorControl) -> None:
    rule = cr.create_repo_sync_rule(cr_models.CreateRepoSyncRuleRequest(
        instance_id=CR_SRC, sync_rule_name="to-partner", sync_scope="REPO", tag_filter="v.*",
        target_instance_id=P_DST, target_region_id="cn-shanghai", target_user_id=PARTNER, namespace_name="ns",
        repo_name="app", target_namespace_name="ns", target_repo_name="app", sync_trigger="PASSIVE")).body
    assert rule.is_success, rule.code
    mine = cr.list_repo_sync_rule(cr_models.ListRepoSyncRuleRequest(instance_id=CR_SRC)).body.sync_rules
    assert [(r.sync_rule_id, r.cross_user, r.sync_direction) for r in mine] == [(rule.sync_rule_id, True, "FROM")]
    theirs = partner_sh.list_repo_sync_rule(cr_models.ListRepoSyncRuleRequest(instance_id=P_DST)).body.sync_rules
    assert [(r.sync_rule_id, r.sync_direction) for r in theirs] == [(rule.sync_rule_id, "TO")]
    control.acr_push({"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "v3", "digest": D1})
    tasks = cr.list_repo_sync_task(cr_models.ListRepoSyncTaskRequest(instance_id=CR_SRC, tag="v3")).body.sync_tasks
    assert [(t.task_trigger, t.cross_user, t.image_to.instance_id) for t in tasks] == [("PASSIVE", True, P_DST)]
    control.advance(60)
    assert _partner_tags(partner_sh)["v3"] == D1


def test_a_cross_account_rule_needs_the_grant(cr: CrClient) -> None:
    with raises_code("NoPrivilege", 403):
        cr.create_repo_sync_rule(cr_models.CreateRepoSyncRuleRequest(
            instance_id=CR_SRC, sync_rule_name="closed", sync_scope="REPO", tag_filter=".*",
            target_instance_id=C_DST, target_region_id="cn-shanghai", target_user_id=CLOSED, namespace_name="ns",
            repo_name="app", target_namespace_name="ns", target_repo_name="app"))
    assert cr.list_repo_sync_rule(cr_models.ListRepoSyncRuleRequest(instance_id=CR_SRC)).body.sync_rules == []


def test_a_task_by_a_cross_account_rule_is_cross_user(cr: CrClient, partner_sh: CrClient,
                                                      control: EmulatorControl) -> None:
    rule = cr.create_repo_sync_rule(cr_models.CreateRepoSyncRuleRequest(
        instance_id=CR_SRC, sync_rule_name="manual", sync_scope="REPO", tag_filter=".*", target_instance_id=P_DST,
        target_region_id="cn-shanghai", target_user_id=PARTNER, namespace_name="ns", repo_name="app",
        target_namespace_name="ns", target_repo_name="app")).body
    task = cr.create_repo_sync_task_by_rule(cr_models.CreateRepoSyncTaskByRuleRequest(
        instance_id=CR_SRC, repo_id="crr-app", tag="v2", sync_rule_id=rule.sync_rule_id)).body
    got = cr.get_repo_sync_task(cr_models.GetRepoSyncTaskRequest(instance_id=CR_SRC,
                                                                 sync_task_id=task.sync_task_id)).body
    assert (got.cross_user, got.task_trigger, got.image_to.instance_id) == (True, "INITIATIVE", P_DST)
    control.advance(60)
    assert _partner_tags(partner_sh) == {"v2": "sha256:" + "2" * 64}
