"""CR wire ↔ python: read RPC parameters, call the backend, shape the JSON of alibaba-api.md §3.

Lists are bare JSON arrays; every success body carries ``"Code": "success", "IsSuccess": true`` (the
dispatcher adds ``RequestId``). ``region`` is the region of the request's host (``cr.<region>.aliyuncs.com``)
or None in direct mode (then instances are found by id in any region, and ListInstance lists every region).

UNCONFIRMED choices:

* paging: ``PageNo`` default 1, ``PageSize`` default 30, 1–100 (else ``PARAM_INVALID``); ListRepository and
  ListRepoTag also take ``MaxResults`` (1–100) + ``NextToken`` (the decimal offset of the next page; the
  answer's ``NextToken`` is "" on the last page) instead of PageNo/PageSize;
* ListRepoTag is newest first (last push/update first); ``ImageCreate``/``ImageUpdate`` are strings
  ``YYYY-MM-DD HH:MM:SS`` in China Standard Time (+08:00), like ``ImageUpdate`` in the BuildCompleted event;
* instance ``InstanceStatus`` is always ``RUNNING``; ListInstance ``CreateTime``/``ModifiedTime`` are the
  millisecond epoch as a string (the SDK types them str), GetInstance/GetRepository/ListRepository ints (ms);
* namespaces are ``NORMAL``, ``AutoCreateRepo`` true, ``DefaultRepoType`` PRIVATE; repositories ``NORMAL``,
  ``PRIVATE``, ``RepoBuildType`` MANUAL, ``TagImmutability`` false; tags ``NORMAL``;
* ``RepoStatus`` NORMAL/ALL list every repository, DELETING/DELETED none; ``InstanceStatus`` RUNNING lists
  every instance, any other status none;
* CreateRepoSyncTask/Rule ``Priority`` default 3, 1–5; ``Override`` default false; ``TagFilter`` required;
  ``SyncTrigger`` default INITIATIVE; ``TargetUserId`` routes to another account's instance (``models_sync``);
* GetRepoSyncTask: ``Progress`` 1 on SUCCESS else 0, ``SyncedSize`` the image size on SUCCESS else 0, one
  ``LayerTasks`` entry for the whole image.
"""

from __future__ import annotations

from typing import Any

from emulator.acr import exceptions as exc
from emulator.acr.models import (
    AcrBackend,
    AcrInstance,
    ImageRef,
    Repo,
    SyncRule,
    SyncRuleRequest,
    SyncTask,
    SyncTaskRequest,
)
from emulator.acr.models_base import cst_text, ms
from emulator.core.params import Params

MAX_PAGE = 100
OK: dict[str, Any] = {"Code": "success", "IsSuccess": True}


def _bounded(params: Params, name: str, default: int, low: int, high: int) -> int:
    """Read an int parameter within ``low..high``."""
    value = params.get_int(name, default)
    if not low <= value <= high:
        raise exc.param_invalid(f"{name} must be between {low} and {high}")
    return value


def _page(params: Params, items: list[Any], token_paging: bool = False) -> tuple[list[Any], dict[str, Any]]:
    """Cut one page; return it and the paging fields of the answer."""
    if token_paging and params.get_str("MaxResults") is not None:
        size = _bounded(params, "MaxResults", 30, 1, MAX_PAGE)
        start = _bounded(params, "NextToken", 0, 0, 1 << 31)
        nxt = start + size
        return items[start:nxt], {"MaxResults": size, "NextToken": str(nxt) if nxt < len(items) else ""}
    page_no = _bounded(params, "PageNo", 1, 1, 1 << 31)
    size = _bounded(params, "PageSize", 30, 1, MAX_PAGE)
    start = (page_no - 1) * size
    return items[start : start + size], {"PageNo": page_no, "PageSize": size}


def _image(ref: ImageRef) -> dict[str, Any]:
    """ImageFrom / ImageTo."""
    return {
        "InstanceId": ref.instance_id,
        "RegionId": ref.region,
        "RepoNamespaceName": ref.namespace,
        "RepoName": ref.repo,
        "ImageTag": ref.tag,
    }


class AcrResponses:
    """One method per action: ``(params, region) -> body``."""

    def __init__(self, backend: AcrBackend) -> None:
        self.backend = backend

    def _now(self) -> float:
        return self.backend.state.clock.now()

    # --- instances, namespaces, repositories, tags -----------------------------------------------------

    def get_instance(self, params: Params, region: str | None) -> dict[str, Any]:
        """GetInstance."""
        inst = self.backend.instance(params.required("InstanceId"), region)
        return {
            **OK,
            "InstanceId": inst.instance_id,
            "InstanceName": inst.name,
            "InstanceSpecification": inst.specification,
            "InstanceStatus": "RUNNING",
            "InstanceIssue": "",
            "CreateTime": ms(inst.create_time),
            "ModifiedTime": ms(inst.create_time),
            "ResourceGroupId": "",
            "Tags": [],
        }

    def list_instance(self, params: Params, region: str | None) -> dict[str, Any]:
        """ListInstance (the host's region; every region in direct mode)."""
        name = params.get_str("InstanceName")
        status = params.get_str("InstanceStatus")
        found = [
            i for i in sorted(self.backend.instances.values(), key=lambda i: (i.create_time, i.instance_id))
            if region in (None, i.region) and name in (None, i.name) and status in (None, "RUNNING")
            and i.owner == self.backend.state.current_account
        ]
        page, paging = _page(params, found)
        return {**OK, **paging, "TotalCount": len(found), "Instances": [self._instance(i) for i in page]}

    @staticmethod
    def _instance(inst: AcrInstance) -> dict[str, Any]:
        return {
            "InstanceId": inst.instance_id,
            "InstanceName": inst.name,
            "InstanceSpecification": inst.specification,
            "InstanceStatus": "RUNNING",
            "InstanceIssue": "",
            "RegionId": inst.region,
            "CreateTime": str(ms(inst.create_time)),
            "ModifiedTime": str(ms(inst.create_time)),
            "ResourceGroupId": "",
            "Tags": [],
        }

    def list_namespace(self, params: Params, region: str | None) -> dict[str, Any]:
        """ListNamespace."""
        inst = self.backend.instance(params.required("InstanceId"), region)
        name = params.get_str("NamespaceName")
        status = params.get_str("NamespaceStatus")
        found = sorted(
            (n for n in self.backend.namespaces.values()
             if n.instance_id == inst.instance_id and name in (None, n.name) and status in (None, "NORMAL", "ALL")),
            key=lambda n: n.name,
        )
        page, paging = _page(params, found)
        return {
            **OK, **paging, "TotalCount": str(len(found)),
            "Namespaces": [
                {
                    "NamespaceId": n.namespace_id,
                    "NamespaceName": n.name,
                    "NamespaceStatus": "NORMAL",
                    "AutoCreateRepo": True,
                    "DefaultRepoType": "PRIVATE",
                    "InstanceId": n.instance_id,
                    "ResourceGroupId": "",
                }
                for n in page
            ],
        }

    @staticmethod
    def _repo(repo: Repo) -> dict[str, Any]:
        return {
            "RepoId": repo.repo_id,
            "RepoName": repo.name,
            "RepoNamespaceName": repo.namespace,
            "RepoType": "PRIVATE",
            "RepoStatus": "NORMAL",
            "RepoBuildType": "MANUAL",
            "TagImmutability": False,
            "Summary": "",
            "InstanceId": repo.instance_id,
            "ResourceGroupId": "",
            "CreateTime": ms(repo.create_time),
            "ModifiedTime": ms(repo.modified_time),
        }

    def list_repository(self, params: Params, region: str | None) -> dict[str, Any]:
        """ListRepository."""
        inst = self.backend.instance(params.required("InstanceId"), region)
        namespace = params.get_str("RepoNamespaceName")
        name = params.get_str("RepoName")
        status = params.get_str("RepoStatus")
        found = sorted(
            (r for r in self.backend.repos.values()
             if r.instance_id == inst.instance_id and namespace in (None, r.namespace) and name in (None, r.name)
             and status in (None, "NORMAL", "ALL")),
            key=lambda r: (r.namespace, r.name),
        )
        page, paging = _page(params, found, token_paging=True)
        return {**OK, **paging, "TotalCount": str(len(found)), "Repositories": [self._repo(r) for r in page]}

    def get_repository(self, params: Params, region: str | None) -> dict[str, Any]:
        """GetRepository by RepoId or RepoNamespaceName + RepoName."""
        inst = self.backend.instance(params.required("InstanceId"), region)
        repo_id = params.get_str("RepoId")
        if repo_id is not None:
            repo = self.backend.repo_by_id(inst.instance_id, repo_id)
        else:
            namespace, name = params.get_str("RepoNamespaceName"), params.get_str("RepoName")
            if namespace is None or name is None:
                raise exc.param_invalid("RepoId or RepoNamespaceName and RepoName required")
            found = self.backend.repo_by_name(inst.instance_id, namespace, name)
            if found is None:
                raise exc.repo_not_exist(f"{namespace}/{name}")
            repo = found
        return {**OK, **self._repo(repo), "Detail": ""}

    def list_repo_tag(self, params: Params, region: str | None) -> dict[str, Any]:
        """ListRepoTag, newest first."""
        inst = self.backend.instance(params.required("InstanceId"), region)
        repo = self.backend.repo_by_id(inst.instance_id, params.required("RepoId"))
        tags = sorted(repo.tags.values(), key=lambda t: (t.updated, t.seq), reverse=True)
        page, paging = _page(params, tags, token_paging=True)
        return {
            **OK, **paging, "TotalCount": str(len(tags)),
            "Images": [
                {
                    "Tag": t.tag,
                    "Digest": t.digest,
                    "ImageId": t.image_id,
                    "ImageSize": t.size_bytes,
                    "Status": "NORMAL",
                    "ImageCreate": cst_text(t.created),
                    "ImageUpdate": cst_text(t.updated),
                }
                for t in page
            ],
        }

    # --- sync tasks ------------------------------------------------------------------------------------

    def create_repo_sync_task(self, params: Params, region: str | None) -> dict[str, Any]:
        """CreateRepoSyncTask."""
        req = SyncTaskRequest(
            instance_id=params.required("InstanceId"),
            repo_id=params.required("RepoId"),
            tag=params.required("Tag"),
            target_region=params.required("TargetRegionId"),
            target_instance_id=params.required("TargetInstanceId"),
            target_namespace=params.required("TargetNamespace"),
            target_repo=params.required("TargetRepoName"),
            target_tag=params.required("TargetTag"),
            target_user=params.get_str("TargetUserId") or "",
            override=params.get_bool("Override", False),
            priority=_bounded(params, "Priority", 3, 1, 5),
        )
        return {**OK, "SyncTaskId": self.backend.create_sync_task(req, region)}

    def _task(self, task: SyncTask) -> dict[str, Any]:
        return {
            "SyncTaskId": task.task_id,
            "SyncBatchTaskId": task.batch_id,
            "SyncRuleId": task.rule_id,
            "TaskStatus": task.status_at(self._now()),
            "TaskTrigger": task.trigger,
            "TaskIssue": task.issue,
            "Priority": task.priority,
            "CrossUser": task.cross_user,
            "SyncTransAccelerate": False,
            "ImageFrom": _image(task.source),
            "ImageTo": _image(task.target),
        }

    def get_repo_sync_task(self, params: Params, region: str | None) -> dict[str, Any]:
        """GetRepoSyncTask."""
        task = self.backend.get_sync_task(params.required("InstanceId"), params.required("SyncTaskId"), region)
        status = task.status_at(self._now())
        synced = task.size_bytes if status == "SUCCESS" else 0
        return {
            **OK,
            **self._task(task),
            "Progress": 1 if status == "SUCCESS" else 0,
            "SyncedSize": synced,
            "LayerTasks": [
                {
                    "SyncLayerTaskId": f"{task.task_id}-layer-1",
                    "ArtifactDigest": task.digest,
                    "Digest": task.digest,
                    "Size": task.size_bytes,
                    "SyncedSize": synced,
                    "TaskStatus": status,
                }
            ],
        }

    def list_repo_sync_task(self, params: Params, region: str | None) -> dict[str, Any]:
        """ListRepoSyncTask (source side), newest first."""
        tasks = self.backend.list_sync_tasks(
            params.required("InstanceId"), region, params.get_str("RepoNamespaceName"),
            params.get_str("RepoName"), params.get_str("Tag"), params.get_str("SyncRecordId"),
        )
        page, paging = _page(params, tasks)
        return {
            **OK, **paging, "TotalCount": str(len(tasks)),
            "SyncTasks": [
                {
                    **self._task(t),
                    "CreateTime": ms(t.created),
                    "ModifiedTime": ms(t.modified),
                    "ModifedTime": ms(t.modified),
                    "CustomLink": False,
                    "LinkId": "",
                }
                for t in page
            ],
        }

    # --- sync rules ------------------------------------------------------------------------------------

    def create_repo_sync_rule(self, params: Params, region: str | None) -> dict[str, Any]:
        """CreateRepoSyncRule."""
        req = SyncRuleRequest(
            instance_id=params.required("InstanceId"),
            name=params.required("SyncRuleName"),
            scope=params.required("SyncScope"),
            tag_filter=params.required("TagFilter"),
            target_instance_id=params.required("TargetInstanceId"),
            target_region=params.required("TargetRegionId"),
            namespace=params.get_str("NamespaceName", "") or "",
            repo=params.get_str("RepoName", "") or "",
            target_namespace=params.get_str("TargetNamespaceName", "") or "",
            target_repo=params.get_str("TargetRepoName", "") or "",
            trigger=params.get_str("SyncTrigger", "INITIATIVE") or "INITIATIVE",
            namespace_filter=params.get_str("NamespaceNameFilter", "") or "",
            repo_filter=params.get_str("RepoNameFilter", "") or "",
            priority=_bounded(params, "Priority", 3, 1, 5),
            target_user=params.get_str("TargetUserId") or "",
        )
        return {**OK, "SyncRuleId": self.backend.create_sync_rule(req, region)}

    @staticmethod
    def _rule(rule: SyncRule, direction: str) -> dict[str, Any]:
        return {
            "SyncRuleId": rule.rule_id,
            "SyncRuleName": rule.name,
            "SyncScope": rule.scope,
            "SyncTrigger": rule.trigger,
            "SyncDirection": direction,
            "TagFilter": rule.tag_filter,
            "RepoNameFilter": rule.repo_filter,
            "NamespaceNameFilter": rule.namespace_filter,
            "LocalInstanceId": rule.local.instance_id,
            "LocalRegionId": rule.local.region,
            "LocalNamespaceName": rule.local_namespace,
            "LocalRepoName": rule.local_repo,
            "TargetInstanceId": rule.target.instance_id,
            "TargetRegionId": rule.target.region,
            "TargetNamespaceName": rule.target_namespace,
            "TargetRepoName": rule.target_repo,
            "CrossUser": rule.cross_user,
            "LinkId": "",
            "Priority": rule.priority,
            "CreateTime": ms(rule.created),
            "ModifiedTime": ms(rule.created),
        }

    def list_repo_sync_rule(self, params: Params, region: str | None) -> dict[str, Any]:
        """ListRepoSyncRule (FROM on the source instance, TO on the target)."""
        rules = self.backend.list_sync_rules(
            params.required("InstanceId"), region, params.get_str("NamespaceName"), params.get_str("RepoName"),
            params.get_str("TargetInstanceId"), params.get_str("TargetRegionId"),
        )
        page, paging = _page(params, rules)
        return {**OK, **paging, "TotalCount": len(rules), "SyncRules": [self._rule(r, d) for r, d in page]}
