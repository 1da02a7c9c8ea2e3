"""The Image Builder adapter: typed, paged methods over `alibabacloud_ecs20140526`'s pipeline actions.

Why it looks like this:
- It is its own gateway (`ImageBuilderGateway`, an `EcsGateway`), in its own module, so the function
  role's RAM actions grow only once a handler imports it (scripts/ram.py follows imports).
- Following builds costs one paged DescribeImagePipelineExecutions per region and batch of ids, never one
  call per build: the API takes a comma-separated `ExecutionId` list (its documented error
  `InvalidExecutionId.SizeExceeded` caps it; the cap is not published, 100 is our UNCONFIRMED choice, the
  emulator's too) and a comma-separated `Status` filter. It needs `ImagePipelineId` or `ExecutionId`
  (`MissingParameter.ImagePipelineId`), so a region-wide listing is one paged call per template instead.
- StartImagePipelineExecution takes a `ClientToken` (≤ 64 ASCII characters): with one, a lost answer is
  retried safely and returns the same ExecutionId; without one the start is retried on throttling only.
- `InvalidImagePipeline.HasRunningExecution` (one build per template) becomes `BuildInProgressError`, so a
  caller can defer the slot instead of failing; every other error is translated once, in `_call`.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient

from shared.clouds.ecs import EcsGateway
from shared.clouds.ecs_leftovers import BuildLeftoversMixin
from shared.clouds.pipeline_types import ImagePipeline, PipelineExecution

#: The SDK client `_call` dispatches to (connect() builds it); scripts/ram.py reads the RAM actions from it.
SDK_CLIENT: type[EcsClient] = EcsClient
#: The service's largest page (MaxResults 1–500) and our batch of ExecutionIds per call (UNCONFIRMED cap).
MAX_RESULTS = 500
EXECUTION_ID_BATCH = 100
#: DescribeImagePipelines takes at most 20 ImagePipelineId.N.
PIPELINE_ID_BATCH = 20


def _batches(ids: list[str] | None, size: int) -> list[list[str] | None]:
    """Unique ids in batches of `size`; `[None]` (one unfiltered call) when there are none."""
    unique = list(dict.fromkeys(ids or []))
    return [unique[i : i + size] for i in range(0, len(unique), size)] or [None]


class ImageBuilderGateway(BuildLeftoversMixin, EcsGateway):
    """ECS plus Image Builder for one set of credentials (`connect` and `client_for` as `EcsGateway`), and the
    calls that find and release a failed build's leftovers (`BuildLeftoversMixin`)."""

    def iter_pipelines(
        self, region: str, *, pipeline_ids: list[str] | None = None, name: str | None = None
    ) -> Iterator[ImagePipeline]:
        """Image templates of `region` (all, by id, 20 ids a call, or by exact name), 500 a page."""
        for batch in _batches(pipeline_ids, PIPELINE_ID_BATCH):
            def request_for(token: str | None, ids: list[str] | None = batch) -> Any:
                return ecs_models.DescribeImagePipelinesRequest(
                    region_id=region, image_pipeline_id=ids, name=name, max_results=MAX_RESULTS, next_token=token)

            pages = self._token_pages(region, "describe_image_pipelines", ("ImagePipeline", "ImagePipelineSet"),
                                      request_for)
            yield from (ImagePipeline.from_wire(region, raw) for raw in pages)

    def describe_pipelines(
        self, region: str, *, pipeline_ids: list[str] | None = None, name: str | None = None
    ) -> list[ImagePipeline]:
        """`iter_pipelines` as a list."""
        return list(self.iter_pipelines(region, pipeline_ids=pipeline_ids, name=name))

    def start_pipeline_execution(self, region: str, pipeline_id: str, *, client_token: str | None = None) -> str:
        """Start a build of the template; return its ExecutionId.

        Raises `BuildInProgressError` while the template runs another build (one per template).
        """
        request = ecs_models.StartImagePipelineExecutionRequest(
            region_id=region, image_pipeline_id=pipeline_id, client_token=client_token
        )
        body = self._call(region, "start_image_pipeline_execution", request, idempotent=client_token is not None)
        return str(body["ExecutionId"])

    def iter_pipeline_executions(
        self,
        region: str,
        *,
        pipeline_id: str | None = None,
        execution_ids: list[str] | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> Iterator[PipelineExecution]:
        """Build tasks of `region`: of one template and/or the listed ids (100 a call), optionally only in
        `statuses`; 500 a page, newest first."""
        if pipeline_id is None and not execution_ids:
            raise ValueError("describe_pipeline_executions needs pipeline_id or execution_ids")
        status = ",".join(statuses) if statuses else None
        for batch in _batches(execution_ids, EXECUTION_ID_BATCH):
            def request_for(token: str | None, ids: str | None = ",".join(batch) if batch else None) -> Any:
                return ecs_models.DescribeImagePipelineExecutionsRequest(
                    region_id=region, image_pipeline_id=pipeline_id, execution_id=ids, status=status,
                    max_results=MAX_RESULTS, next_token=token)

            pages = self._token_pages(
                region, "describe_image_pipeline_executions", ("ImagePipelineExecution", "ImagePipelineExecutionSet"),
                request_for)
            yield from (PipelineExecution.from_wire(region, raw) for raw in pages)

    def describe_pipeline_executions(
        self,
        region: str,
        *,
        pipeline_id: str | None = None,
        execution_ids: list[str] | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> list[PipelineExecution]:
        """`iter_pipeline_executions` as a list."""
        return list(self.iter_pipeline_executions(
            region, pipeline_id=pipeline_id, execution_ids=execution_ids, statuses=statuses
        ))

    def cancel_pipeline_execution(self, region: str, execution_id: str) -> None:
        """Cancel a build that is PREPARING, REPAIRING or BUILDING (else `CloudConflictError`)."""
        request = ecs_models.CancelImagePipelineExecutionRequest(region_id=region, execution_id=execution_id)
        self._call(region, "cancel_image_pipeline_execution", request)
