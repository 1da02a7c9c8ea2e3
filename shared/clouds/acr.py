"""The Container Registry EE adapter: typed methods over `alibabacloud_cr20181201`.

Why it looks like this:
- CR requests carry no RegionId: the region is the endpoint host `cr.<region>.aliyuncs.com`. Against
  the emulator the client keeps that host and sends through `http_proxy` (alibaba-api.md §7.6), so
  the emulator sees which region is meant.
- A business failure is HTTP 200 with `IsSuccess: false` (§3); the SDK does not raise, so `_call`
  checks the flag and raises the project's error, the same way as a 4xx.
- Paging is PageNo/PageSize (100); every call is retried and counted like the ECS adapter's.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alibabacloud_cr20181201 import models as cr_models
from alibabacloud_cr20181201.client import Client as CrClient

from shared.clouds._clients import openapi_config
from shared.clouds._errors import business_error
from shared.clouds._gateway import RpcGateway
from shared.clouds.acr_types import AcrInstance, AcrRepo, AcrTag, SyncTask, SyncTaskSpec
from shared.config import Credentials

PAGE_SIZE = 100


class AcrGateway(RpcGateway):
    """Container Registry EE for one set of credentials; `client_for(region)` is injectable."""

    API_VERSION = "2018-12-01"
    RAW_METHODS = frozenset({"list_repo_sync_task"})

    SERVICE = "cr"

    @classmethod
    def sdk_client(cls, region: str, credentials: Credentials, endpoint: str | None) -> Any:
        """The official SDK client of `region` (`connect`, inherited, caches one per region and credentials)."""
        return CrClient(openapi_config(region, credentials, endpoint, host=f"cr.{region}.aliyuncs.com"))

    def check(self, body: dict[str, Any]) -> None:
        """CR answers business failures as HTTP 200 with `IsSuccess: false` (alibaba-api.md §3)."""
        if body.get("IsSuccess") is False:
            raise business_error(str(body.get("Code") or "UNKNOWN"), str(body.get("Message") or ""),
                                 body.get("RequestId"))

    def get_instance(self, region: str, instance_id: str) -> AcrInstance:
        """An instance with its specification (only Enterprise_Advanced may be a sync source)."""
        body = self._call(region, "get_instance", cr_models.GetInstanceRequest(instance_id=instance_id))
        return AcrInstance(instance_id=instance_id, name=body.get("InstanceName") or "",
                           specification=body.get("InstanceSpecification") or "",
                           status=body.get("InstanceStatus") or "", region=region)

    def get_repository(self, region: str, instance_id: str, namespace: str, name: str) -> AcrRepo:
        """A repository by namespace and name (raises ResourceNotFoundError when absent)."""
        request = cr_models.GetRepositoryRequest(instance_id=instance_id, repo_namespace_name=namespace,
                                                 repo_name=name)
        body = self._call(region, "get_repository", request)
        return AcrRepo(repo_id=body["RepoId"], namespace=body.get("RepoNamespaceName") or namespace,
                       name=body.get("RepoName") or name)

    def iter_repositories(self, region: str, instance_id: str, namespace: str | None = None) -> Iterator[AcrRepo]:
        """Every repository of an instance (optionally one namespace)."""
        for raw in self._paged(region, "list_repository", ("Repositories",), lambda page: cr_models.ListRepositoryRequest(
                instance_id=instance_id, repo_namespace_name=namespace, repo_status="NORMAL", page_no=page,
                page_size=PAGE_SIZE), size=PAGE_SIZE):
            yield AcrRepo(repo_id=raw["RepoId"], namespace=raw.get("RepoNamespaceName") or "",
                          name=raw.get("RepoName") or "")

    def iter_tags(self, region: str, instance_id: str, repo_id: str) -> Iterator[AcrTag]:
        """Every tag of a repository, newest first."""
        for raw in self._paged(region, "list_repo_tag", ("Images",), lambda page: cr_models.ListRepoTagRequest(
                instance_id=instance_id, repo_id=repo_id, page_no=page, page_size=PAGE_SIZE), size=PAGE_SIZE):
            yield AcrTag(tag=raw.get("Tag") or "", digest=raw.get("Digest") or "",
                         size_bytes=int(raw.get("ImageSize") or 0), updated=str(raw.get("ImageUpdate") or ""))

    def create_sync_task(self, spec: SyncTaskSpec) -> str:
        """Start one tag's replication to one target; returns the SyncTaskId."""
        request = cr_models.CreateRepoSyncTaskRequest(
            instance_id=spec.instance_id, repo_id=spec.repo_id, tag=spec.tag, target_region_id=spec.target_region,
            target_instance_id=spec.target_instance_id, target_namespace=spec.target_namespace,
            target_repo_name=spec.target_repository, target_tag=spec.target_tag, override=spec.override,
            target_user_id=spec.target_user_id)
        # No ClientToken: a 5xx may have created the task, so it is not retried here; the executor
        # requeues and the next start adopts the task through ListRepoSyncTask.
        return str(self._call(spec.region, "create_repo_sync_task", request, idempotent=False)["SyncTaskId"])

    def get_sync_task(self, region: str, instance_id: str, sync_task_id: str) -> SyncTask:
        """One sync task by id."""
        request = cr_models.GetRepoSyncTaskRequest(instance_id=instance_id, sync_task_id=sync_task_id)
        return SyncTask.from_wire(self._call(region, "get_repo_sync_task", request))

    def iter_sync_tasks(self, region: str, instance_id: str, *, namespace: str | None = None,
                        repository: str | None = None, tag: str | None = None) -> Iterator[SyncTask]:
        """Sync tasks of a source instance, filtered by repository and tag."""
        for raw in self._paged(region, "list_repo_sync_task", ("SyncTasks",),
                               lambda page: cr_models.ListRepoSyncTaskRequest(
                                   instance_id=instance_id, repo_namespace_name=namespace, repo_name=repository,
                                   tag=tag, page_no=page, page_size=PAGE_SIZE), size=PAGE_SIZE):
            yield SyncTask.from_wire(raw)
