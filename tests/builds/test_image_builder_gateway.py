"""The Image Builder adapter through the real SDK against the emulator: paged listings, one call per batch of
followed builds, the idempotent start, and the errors translated once."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import Emulator
from shared.clouds import ecs_pipelines
from shared.clouds._clients import reset_clients
from shared.clouds._retry import RetryPolicy
from shared.clouds.ecs_pipelines import ImageBuilderGateway
from shared.config import Credentials
from shared.errors import (
    BuildInProgressError,
    CloudConflictError,
    ResourceNotFoundError,
    ServiceUnavailableError,
)

R = "cn-hangzhou"
STAGE = 120.0


@pytest.fixture
def gw(emu: Emulator) -> Iterator[ImageBuilderGateway]:
    emu.control.reset()
    emu.control.seed({
        "images": [{"region": R, "image_id": "m-base"}],
        "image_pipelines": [
            {"region": R, "pipeline_id": f"ip-{n:02d}", "name": f"tpl-{n:02d}", "base_image": "m-base",
             "image_name": "golden", "to_regions": ["cn-beijing"], "add_accounts": ["111"],
             "delete_instance_on_failure": n % 2 == 0}
            for n in range(25)
        ],
    })
    reset_clients()
    creds = Credentials(access_key_id="test-ak", access_key_secret="test-secret")
    yield ImageBuilderGateway.connect(creds, endpoint=emu.url, retry=RetryPolicy(base_seconds=0.001, sleep=lambda _: None))
    reset_clients()


def test_templates_by_id_in_batches_of_twenty_and_by_name(gw: ImageBuilderGateway) -> None:
    ids = [f"ip-{n:02d}" for n in range(25)]
    found = gw.describe_pipelines(R, pipeline_ids=ids)
    assert sorted(p.pipeline_id for p in found) == ids and gw.calls == 2
    [one] = gw.describe_pipelines(R, name="tpl-03")
    assert (one.pipeline_id, one.image_name, one.to_regions, one.add_accounts) == ("ip-03", "golden", ("cn-beijing",), ("111",))
    assert one.delete_instance_on_failure is False and gw.describe_pipelines(R, name="tpl-04")[0].delete_instance_on_failure


def test_listing_pages_until_the_last_token(gw: ImageBuilderGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ecs_pipelines, "MAX_RESULTS", 10)
    assert len(gw.describe_pipelines(R)) == 25 and gw.calls == 3


def test_following_builds_is_one_call_per_batch_not_per_build(gw: ImageBuilderGateway, emu: Emulator) -> None:
    # GIVEN 25 builds running on 25 templates of one region
    started = [gw.start_pipeline_execution(R, f"ip-{n:02d}", client_token=f"slot-{n}") for n in range(25)]
    gw.calls = 0
    # WHEN they are followed by id
    running = gw.describe_pipeline_executions(R, execution_ids=started, statuses=("PREPARING", "BUILDING"))
    # THEN one call answers for all of them
    assert sorted(e.execution_id for e in running) == sorted(started) and gw.calls == 1
    assert all(e.running and not e.final and e.status == "PREPARING" for e in running)
    emu.control.advance(STAGE * 4)
    done = gw.describe_pipeline_executions(R, execution_ids=started)
    assert {e.status for e in done} == {"SUCCESS"} and all(e.built_image for e in done)
    # and a Status filter that matches nothing answers nothing
    assert gw.describe_pipeline_executions(R, execution_ids=started, statuses=("BUILDING",)) == []


def test_more_ids_than_one_call_takes_are_batched(gw: ImageBuilderGateway) -> None:
    ids = [gw.start_pipeline_execution(R, "ip-00")] + [f"exec-missing-{n}" for n in range(150)]
    gw.calls = 0
    [found] = gw.describe_pipeline_executions(R, execution_ids=ids)
    assert found.execution_id == ids[0] and gw.calls == 2
    with pytest.raises(ValueError, match="pipeline_id or execution_ids"):
        gw.describe_pipeline_executions(R)


def test_a_lost_start_answer_is_retried_into_the_same_build(gw: ImageBuilderGateway, emu: Emulator) -> None:
    # GIVEN the service acts on the start but its answer is lost, twice
    emu.control.set_faults(lost_response_rate=1.0, actions=["StartImagePipelineExecution"])
    with pytest.raises(ServiceUnavailableError):  # every attempt's answer is lost
        gw.start_pipeline_execution(R, "ip-01", client_token="slot-2026-11-25T02")
    emu.control.set_faults()
    # WHEN the start is tried again with the same token
    execution_id = gw.start_pipeline_execution(R, "ip-01", client_token="slot-2026-11-25T02")
    # THEN it is the one build the lost calls started
    [only] = gw.describe_pipeline_executions(R, pipeline_id="ip-01")
    assert only.execution_id == execution_id


def test_a_busy_template_and_a_late_cancel_are_conflicts(gw: ImageBuilderGateway, emu: Emulator) -> None:
    first = gw.start_pipeline_execution(R, "ip-02")
    with pytest.raises(BuildInProgressError) as info:
        gw.start_pipeline_execution(R, "ip-02", client_token="another-slot")
    assert info.value.code == "InvalidImagePipeline.HasRunningExecution" and info.value.status == 403
    emu.control.advance(STAGE * 2)  # DISTRIBUTING: past the point a cancel is accepted
    with pytest.raises(CloudConflictError) as late:
        gw.cancel_pipeline_execution(R, first)
    assert late.value.code == "InvalidStatus.ImagePipelineExecution"
    with pytest.raises(ResourceNotFoundError):
        gw.cancel_pipeline_execution(R, "exec-missing")
    with pytest.raises(ResourceNotFoundError):
        gw.start_pipeline_execution(R, "ip-missing")


def test_cancel_while_building(gw: ImageBuilderGateway, emu: Emulator) -> None:
    execution_id = gw.start_pipeline_execution(R, "ip-05")
    emu.control.advance(STAGE)
    gw.cancel_pipeline_execution(R, execution_id)
    [cancelling] = gw.describe_pipeline_executions(R, execution_ids=[execution_id])
    assert cancelling.status == "CANCELLING" and cancelling.running
    emu.control.advance(STAGE)
    [cancelled] = gw.describe_pipeline_executions(R, pipeline_id="ip-05", statuses=("CANCELLED",))
    assert cancelled.final and not cancelled.built_image
