"""Typed Container Registry EE results, free of any SDK import (alibaba-api.md §3).

CR lists are bare JSON arrays and several TotalCount fields are strings; these models absorb that.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

SYNC_ALIVE = ("PENDING", "SYNCHRONIZING", "SUCCESS")


class AcrInstance(BaseModel):
    """An Enterprise Edition instance."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    instance_id: str
    name: str = ""
    specification: str = ""
    status: str = ""
    region: str = ""


class AcrRepo(BaseModel):
    """A repository of an instance."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    repo_id: str
    namespace: str
    name: str


class AcrTag(BaseModel):
    """One tag of a repository (ListRepoTag)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    tag: str
    digest: str = ""
    size_bytes: int = 0
    updated: str = ""


class ImageRef(BaseModel):
    """`ImageFrom` / `ImageTo` of a sync task."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    instance_id: str = ""
    region: str = ""
    namespace: str = ""
    repository: str = ""
    tag: str = ""

    @classmethod
    def from_wire(cls, raw: dict[str, Any] | None) -> ImageRef:
        raw = raw or {}
        return cls(instance_id=raw.get("InstanceId") or "", region=raw.get("RegionId") or "",
                   namespace=raw.get("RepoNamespaceName") or "", repository=raw.get("RepoName") or "",
                   tag=raw.get("ImageTag") or "")


class SyncTask(BaseModel):
    """A repository sync task (GetRepoSyncTask / ListRepoSyncTask)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    sync_task_id: str
    status: str
    trigger: str = ""
    issue: str = ""
    created_ms: int = 0
    cross_user: bool = False  # the target instance belongs to another account (TargetUserId)
    modified_ms: int = 0  # ModifiedTime (ms; some answers spell it ModifedTime): when a finished task ended
    source: ImageRef = ImageRef()
    target: ImageRef = ImageRef()

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> SyncTask:
        return cls(
            sync_task_id=raw.get("SyncTaskId") or "",
            status=raw.get("TaskStatus") or "",
            trigger=raw.get("TaskTrigger") or "",
            issue=raw.get("TaskIssue") or "",
            created_ms=int(raw.get("CreateTime") or 0),
            cross_user=bool(raw.get("CrossUser")),
            modified_ms=int(raw.get("ModifiedTime") or raw.get("ModifedTime") or 0),
            source=ImageRef.from_wire(raw.get("ImageFrom")),
            target=ImageRef.from_wire(raw.get("ImageTo")),
        )


class SyncTaskSpec(BaseModel):
    """Everything one CreateRepoSyncTask call sends (it has no ClientToken: dedupe is ours)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    instance_id: str
    repo_id: str
    tag: str
    target_region: str
    target_instance_id: str
    target_namespace: str
    target_repository: str
    target_tag: str
    override: bool = False
    target_user_id: str | None = None  # another account's id (issue #13); None: the caller's own instance
