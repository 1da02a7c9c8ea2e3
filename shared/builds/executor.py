"""Apply planned build actions: ledger compare-and-set first, then the Image Builder call.

Why this order: claiming PENDING → STARTED by compare-and-set before StartImagePipelineExecution makes a
duplicated tick lose the race instead of starting a second build; the ClientToken (from key and attempt)
makes a repeated call after a lost answer or a crash return the same ExecutionId. A busy template
(`BuildInProgressError`, e.g. a build started in the console) puts the record back to PENDING with the
reason and a backoff, under the same attempt; a retryable error leaves it STARTED without ExecutionId for
a tick after the claim's lease (`ResumeStart`, see the planner).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from shared.apply import Backoff, RecordExecutor, client_token
from shared.builds.handoff import (
    HandOff,
    account_hops,
    copy_targets,
    distributed,
    export_targets,
    lineage,
    missed_regions,
    missed_shares,
    record,
    retry_targets,
)
from shared.builds.planner import (
    Action,
    Defer,
    FinishBuild,
    FollowBuild,
    RecordBuild,
    ResumeStart,
    StartBuild,
)
from shared.clouds.ecs_types import Image
from shared.clouds.pipeline_types import ImagePipeline
from shared.errors import BuildInProgressError, CloudError
from shared.ledger import Ledger
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.policy import Policy
from shared.runtime import Deadline

log = get_logger(__name__)


class PipelineApi(Protocol):
    """The slice of `shared.clouds.ecs_pipelines.ImageBuilderGateway` the executor needs."""

    def get_image(self, region: str, image_id: str) -> Image | None: ...

    def list_images(self, region: str, **filters: Any) -> list[Image]: ...

    def image_share_accounts(self, region: str, image_id: str) -> list[str]: ...

    def share_image(self, region: str, image_id: str, *, add: list[str] | None = None,
                    remove: list[str] | None = None) -> None: ...

    def describe_pipelines(
        self, region: str, *, pipeline_ids: list[str] | None = None, name: str | None = None
    ) -> list[ImagePipeline]: ...

    def start_pipeline_execution(self, region: str, pipeline_id: str, *, client_token: str | None = None) -> str: ...


class BuildExecutor(RecordExecutor[Action]):
    """Runs build actions against a ledger and Image Builder; counts outcomes."""

    kind = "build"

    def __init__(self, ledger: Ledger, api: PipelineApi, *, now: Callable[[], dt.datetime],
                 backoff: Backoff | None = None, deadline: Deadline | None = None,
                 policy: Policy | None = None) -> None:
        super().__init__(ledger, now=now, deadline=deadline)
        self.policy = policy
        self.api = api
        self.backoff = backoff or Backoff()

    def _apply_one(self, action: Action) -> None:
        if isinstance(action, RecordBuild):
            now = self.now()
            data = {"rule": action.rule, "region": action.region, "pipeline": action.pipeline, "slot": action.slot}
            _, created = self.ledger.ensure(Record(key=action.key, kind="build", created_at=now, updated_at=now,
                                                   data=data))
            self.outcomes["recorded" if created else "already_recorded"] += 1
            return
        super()._apply_one(action)

    def _apply_to(self, record: Record, action: Action) -> None:
        if isinstance(action, StartBuild):
            if record.state is not State.PENDING:
                self.outcomes["already_started"] += 1
                return
            claimed = self._move(record, "claimed", state=State.STARTED, attempt=action.attempt,
                                 next_attempt_at=None, started_at=self.now().isoformat())
            self._start(claimed)
        elif isinstance(action, ResumeStart):
            self._start(record)
        elif isinstance(action, Defer):
            self._move(record, "deferred", reason=action.reason)
        elif isinstance(action, FollowBuild):
            self._move(record, "followed", stage=action.stage)
        elif isinstance(action, FinishBuild):
            handed = self._hand_off(record, action) if action.ok and action.distribute else {}
            ended: dict[str, Any] = {"stage": action.status, "image_id": action.image_id, "distribute": action.distribute,
                                     "why": action.reason, "ended_at": self.now().isoformat(), "handed_on": handed}
            if action.cancelled:
                self._move(record, "cancelled", state=State.CANCELLED, reason=action.reason, **ended)
            elif action.ok:
                # a withheld image (TEST_FAILED, …) keeps its why as the reason: status and alerts show it
                self._move(record, "finished" if action.distribute else "withheld", state=State.DONE,
                           reason=None if action.distribute else action.reason, **ended)
            else:
                self._fail(record, action.reason, **ended)

    def _start(self, record: Record) -> None:
        region, ref = record.data["region"], record.data["pipeline"]
        try:
            pipeline_id = self._resolve(region, ref)
            if pipeline_id is None:
                self._fail(record, f"no image template {ref!r} in {region}")
                return
            token = client_token(record.key, record.attempt)
            execution_id = self.api.start_pipeline_execution(region, pipeline_id, client_token=token)
        except BuildInProgressError:
            retry_at = self.backoff.next_at(record.key, record.attempt, self.now())
            self._move(record, "deferred_busy", state=State.PENDING, attempt=record.attempt,
                       next_attempt_at=retry_at, reason="waiting: the template runs another build (one build per template)")
            return
        except CloudError as exc:
            if exc.retryable:
                raise  # stays STARTED without ExecutionId: the next tick repeats the call with the same token
            self._fail(record, f"{exc.code}: the build could not start")
            return
        self._move(record, "started", cloud_id=execution_id, pipeline_id=pipeline_id, stage="PREPARING")
        log.info("build.started", extra={"key": record.key, "execution_id": execution_id, "attempt": record.attempt})

    def _hand_off(self, rec: Record, action: FinishBuild) -> dict[str, list[str]]:
        """Every intent for the built image, written before the record ends (so a crash repeats them); on
        PARTITION_SUCCESS also the template's failed regions (copy intents) and accounts (shared again, on the
        built image and on each of the template's copies that misses them)."""
        rule = self.policy.build_rule(rec.data.get("rule", "")) if self.policy is not None else None
        if self.policy is None or rule is None:
            return {}
        region, image_id = rec.data["region"], action.image_id
        image = self.api.get_image(region, image_id)
        if image is None:
            raise CloudError(f"built image {image_id} not found yet", code="BuiltImageNotFound", retryable=True)
        tags = lineage(rec.data.get("pipeline_id", ""), rec.cloud_id or "")
        pipeline = self._pipeline(region, rec.data.get("pipeline_id", ""))
        # a plain copy where the template distributed the image itself would be a second, identical image
        copies = [c for c in copy_targets(self.policy, rule, image, tags)
                  if c.encrypted or pipeline is None or c.target_region not in pipeline.to_regions]
        regions: list[str] = []
        shares: dict[tuple[str, str], list[str]] = {}
        if action.status == "PARTITION_SUCCESS" and pipeline is not None:
            reached = distributed(self.api, pipeline, image)
            regions = missed_regions(reached)
            shares = missed_shares(self.api, pipeline, [image, *(c for c in reached.values() if c is not None)])
            taken = {c.target_region for c in copies}
            copies += retry_targets(rule, image, [r for r in regions if r not in taken], tags,
                                    share_accounts=pipeline.add_accounts)
            for (where, shared_id), missing in sorted(shares.items()):
                for i in range(0, len(missing), 10):  # ModifyImageSharePermission: 10 accounts a call
                    self.api.share_image(where, shared_id, add=missing[i:i + 10])  # adding twice changes nothing
        accounts = sorted({a for missing in shares.values() for a in missing})
        handoff = HandOff(copies=copies, exports=export_targets(self.policy, rule, image, tags),
                          hops=account_hops(self.policy, rule, image, tags), retried_regions=regions,
                          retried_accounts=accounts)
        written = record(self.ledger, handoff, image, self.now())
        self.outcomes["handed_off"] += sum(written.values())
        if regions or accounts:
            self.outcomes["distribution_retried"] += 1
        log.info("build.handed_off", extra={"key": rec.key, "image_id": image_id, **written,
                                            "retried_regions": regions, "retried_accounts": accounts,
                                            "shared_again": len(shares)})
        return {"copies": sorted(c.target_region for c in copies), "exports": sorted(e.key for e in handoff.exports),
                "accounts": sorted({h.account_id for h in handoff.hops}), "retried_regions": regions,
                "retried_accounts": accounts,
                "shared_again": [f"{r}/{i}" for r, i in sorted(shares)]}

    def _pipeline(self, region: str, pipeline_id: str) -> ImagePipeline | None:
        found = self.api.describe_pipelines(region, pipeline_ids=[pipeline_id]) if pipeline_id else []
        return found[0] if found else None

    def _resolve(self, region: str, ref: str) -> str | None:
        """The template id: as written, or the one template with that name (None: none or several)."""
        if not ref.startswith("name:"):
            return ref
        found = self.api.describe_pipelines(region, name=ref[len("name:"):])
        return found[0].pipeline_id if len(found) == 1 else None
