"""Four CR 2018-12-01 actions beside the core sync ones: CancelRepoSyncTask, CreateRepoSyncTaskByRule,
DeleteRepoSyncRule and GetRepoTag (issue #17).

Request and response fields follow the cr20181201 SDK models (``_cancel_repo_sync_task_request.py``,
``_create_repo_sync_task_by_rule_request.py``, ``_delete_repo_sync_rule_request.py``, ``_get_repo_tag_*``) and
alibaba-api.md §3:

* CancelRepoSyncTask ``InstanceId`` R, ``SyncTaskId`` R → ``{Code, IsSuccess, RequestId}``; the task becomes
  ``CANCELED`` (a TaskStatus value of §3) and never touches the target;
* CreateRepoSyncTaskByRule ``InstanceId`` R, ``RepoId`` R, ``Tag`` R, ``SyncRuleId`` R, ``Priority`` (1–5,
  default 3) → ``SyncTaskId``; the task goes where the rule says (same target resolution as a push),
  TaskTrigger ``INITIATIVE`` (started by a call), ``SyncRuleId`` = the rule, Override as rule tasks (true);
* DeleteRepoSyncRule ``InstanceId`` R, ``SyncRuleId`` R → ``{Code, IsSuccess, RequestId}``; a rule is deleted
  from its source instance (``SyncDirection=FROM``; terraform-provider-alicloud ``cr_ee_sync_rule``);
* GetRepoTag ``InstanceId`` R, ``RepoId`` R, ``Tag`` R → ``Tag, Digest, ImageId, ImageSize (bytes),
  Status (NORMAL), ImageCreate, ImageUpdate`` (int milliseconds, as the SDK model types them).

UNCONFIRMED (emulator choices, answered as HTTP 200 ``IsSuccess: false`` like the other CR failures):

* cancelling a finished task (SUCCESS, ERROR, CANCELED) → ``SYNC_TASK_STATUS_NOT_SUPPORT``;
* an unknown rule, or a rule whose source is another instance → ``SYNC_RULE_NOT_EXIST`` (deleting from the
  target side included);
* CreateRepoSyncTaskByRule for a repository outside the rule's scope, or a tag its ``TagFilter`` does not
  full-match → ``PARAM_INVALID``; the rule's trigger (PASSIVE or INITIATIVE) does not matter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.acr import exceptions as exc
from emulator.acr.models_base import ms, new_id
from emulator.acr.models_sync import ImageRef, SyncRule, _match

if TYPE_CHECKING:
    from emulator.acr.models import AcrBackend
    from emulator.acr.responses import AcrResponses
    from emulator.core.params import Params

OK: dict[str, Any] = {"Code": "success", "IsSuccess": True}


def _rule_of(backend: AcrBackend, instance_id: str, rule_id: str) -> SyncRule:
    """The rule whose source is ``instance_id``, or ``SYNC_RULE_NOT_EXIST``."""
    rule = backend.rules.get(rule_id)
    if rule is None or rule.local.instance_id != instance_id:
        raise exc.AcrBusinessError("SYNC_RULE_NOT_EXIST", f"sync rule {rule_id} does not exist in {instance_id}")
    return rule


def cancel_repo_sync_task(responses: AcrResponses, params: Params, region: str | None) -> dict[str, Any]:
    """CancelRepoSyncTask: a PENDING or SYNCHRONIZING task becomes CANCELED."""
    backend = responses.backend
    task = backend.get_sync_task(params.required("InstanceId"), params.required("SyncTaskId"), region)
    if task.done:
        raise exc.AcrBusinessError(
            "SYNC_TASK_STATUS_NOT_SUPPORT", f"sync task {task.task_id} is {task.status} and cannot be canceled"
        )
    task.done, task.status, task.modified = True, "CANCELED", backend.state.clock.now()
    return dict(OK)


def create_repo_sync_task_by_rule(responses: AcrResponses, params: Params, region: str | None) -> dict[str, Any]:
    """CreateRepoSyncTaskByRule: one task for ``Tag`` of ``RepoId`` along the rule."""
    backend = responses.backend
    instance_id, repo_id = params.required("InstanceId"), params.required("RepoId")
    tag, rule_id = params.required("Tag"), params.required("SyncRuleId")
    priority = params.get_int("Priority", 3)
    if not 1 <= priority <= 5:
        raise exc.param_invalid("Priority must be between 1 and 5")
    source = backend.instance(instance_id, region)
    rule = _rule_of(backend, source.instance_id, rule_id)
    repo = backend.repo_by_id(source.instance_id, repo_id)
    if tag not in repo.tags:
        raise exc.tag_not_exist(tag)
    in_scope = {
        "REPO": (rule.local_namespace, rule.local_repo) == (repo.namespace, repo.name),
        "NAMESPACE": rule.local_namespace == repo.namespace and _match(rule.repo_filter, repo.name),
        "INSTANCE": _match(rule.namespace_filter, repo.namespace) and _match(rule.repo_filter, repo.name),
    }[rule.scope]
    if not in_scope:
        raise exc.param_invalid(f"repository {repo.namespace}/{repo.name} is outside sync rule {rule_id}")
    if not _match(rule.tag_filter, tag):
        raise exc.param_invalid(f"tag {tag} does not match the TagFilter of sync rule {rule_id}")
    namespace = rule.target_namespace if rule.scope != "INSTANCE" else repo.namespace
    target_repo = rule.target_repo if rule.scope == "REPO" else repo.name
    target = ImageRef(rule.target.instance_id, rule.target.region, namespace, target_repo, tag)
    task = backend._start(source, repo, tag, target, batch_id=new_id("rsb"), rule_id=rule.rule_id,
                          trigger="INITIATIVE", override=True, priority=priority, target_user=rule.target_user)
    return {**OK, "SyncTaskId": task.task_id}


def delete_repo_sync_rule(responses: AcrResponses, params: Params, region: str | None) -> dict[str, Any]:
    """DeleteRepoSyncRule from the rule's source instance; tasks it started keep running."""
    backend = responses.backend
    inst = backend.instance(params.required("InstanceId"), region)
    rule = _rule_of(backend, inst.instance_id, params.required("SyncRuleId"))
    del backend.rules[rule.rule_id]
    return dict(OK)


def get_repo_tag(responses: AcrResponses, params: Params, region: str | None) -> dict[str, Any]:
    """GetRepoTag: one tag's digest, image id, size and times (ms)."""
    backend = responses.backend
    inst = backend.instance(params.required("InstanceId"), region)
    repo = backend.repo_by_id(inst.instance_id, params.required("RepoId"))
    tag = params.required("Tag")
    record = repo.tags.get(tag)
    if record is None:
        raise exc.tag_not_exist(tag)
    return {
        **OK,
        "Tag": record.tag,
        "Digest": record.digest,
        "ImageId": record.image_id,
        "ImageSize": record.size_bytes,
        "Status": "NORMAL",
        "ImageCreate": ms(record.created),
        "ImageUpdate": ms(record.updated),
    }
