"""The demo's last step: a night build fails and keeps its billed instance; `cleanup --dry-run` reports it.

An image template that keeps its intermediate instances on failure (``DeleteInstanceOnFailure`` false, no
vSwitch of its own) is told by the emulator to fail its next build; the build runs on the virtual clock and
ends FAILED, leaving its build instance Running (pay-as-you-go) in a temporary vSwitch and VPC. The cleanup,
run as a dry run, lists the three with the instance's hourly cost class and why each stays: the instance is
younger than the grace after the build's end (and the policy has no ``release_failed_build_instances: true``),
the network still holds it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from emulator import Emulator
from scripts import sample_world as scene
from scripts.invoke import EMULATOR_CREDENTIALS, invoke
from scripts.tables import Column

PIPELINE = "ip-bp1goldenweb1"
STAGE_SECONDS = 120  # the emulator's image_pipeline_stage_seconds: PREPARING, then BUILDING fails
COLUMNS = [Column("outcome", "outcome", 10), Column("resource_type", "left by the failed build", 9),
           Column("cost_class", "cost class", 8), Column("instance_type", "instance type", 7),
           Column("resource_id", "id", 6)]


def leftover_phase(emu: Emulator, work: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fail one build of a template that keeps its instances; the cleanup dry run's leftover rows and counts."""
    from shared.clouds.ecs_pipelines import ImageBuilderGateway
    from shared.config import Credentials

    (work / "policy.yml").write_text(scene.POLICY_YAML + "cleanup:\n  max_share: 1.0\n")
    emu.control.seed({"image_pipelines": [{
        "region": scene.SOURCE, "pipeline_id": PIPELINE, "name": "golden-web", "base_image": "m-bp1demoweb0001",
        "delete_instance_on_failure": False, "instance_type": "ecs.g7.xlarge"}]})
    emu.control.ecs_pipeline_outcome({"pipeline_id": PIPELINE, "outcome": "FAILED"})
    builder = cast(ImageBuilderGateway, ImageBuilderGateway.connect(  # connect() is typed as the base class's
        Credentials(access_key_id=EMULATOR_CREDENTIALS[0], access_key_secret=EMULATOR_CREDENTIALS[1]),
        endpoint=emu.url))
    execution_id = builder.start_pipeline_execution(scene.SOURCE, PIPELINE)
    emu.control.advance(2 * STAGE_SECONDS)
    [task] = builder.describe_pipeline_executions(scene.SOURCE, execution_ids=[execution_id])
    if task.status != "FAILED":
        raise SystemExit(f"demo: the build was to fail, it is {task.status}")
    report = json.loads(invoke("cleanup", json.dumps({"action": "cleanup"}).encode()))
    rows = [r for r in report["leftovers"] if r["execution_id"] == execution_id]
    if not any(r["resource_type"] == "instance" and r["outcome"] == "kept" for r in rows):
        raise SystemExit("demo: the failed build's kept instance is not in the cleanup report")
    return rows, report["leftover_counts"]
