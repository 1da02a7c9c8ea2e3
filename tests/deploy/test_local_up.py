"""`image-relay local up`: events and timer ticks drive the handlers through the FC emulator, no manual invoke."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scripts import sample_world as scene
from scripts.local import TEMPLATE, LocalCloud, load_template
from shared.config import Credentials


@pytest.fixture
def cloud_factory(tmp_path: Path) -> Iterator[Any]:
    clouds: list[LocalCloud] = []

    def build(duplicates: int = 0) -> LocalCloud:
        cloud = LocalCloud(port=0, scene="demo", state=f"sqlite:///{tmp_path / 'ledger.db'}", duplicates=duplicates)
        clouds.append(cloud.start())
        return cloud

    yield build
    for cloud in clouds:
        cloud.stop()


def _copies(cloud: LocalCloud, region: str, image_id: str) -> list[Any]:
    from shared.clouds.ecs import EcsGateway

    ecs = EcsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                             endpoint=cloud.emulator.url)
    return [i for i in ecs.list_images(region) if i.tags.get("image-relay:source-image") == image_id]


def _drive(cloud: LocalCloud, ticks: int = 6) -> None:
    """Let the event deliveries finish, then advance five virtual minutes at a time (one timer tick each)."""
    assert cloud.wait_idle(60)
    for _ in range(ticks):
        cloud.emulator.control.advance(300)
        assert cloud.wait_idle(60)


@pytest.mark.parametrize("duplicates", [0, 2])
def test_an_image_created_in_the_console_is_replicated_with_no_manual_invoke(cloud_factory: Any,
                                                                            duplicates: int) -> None:
    cloud = cloud_factory(duplicates)
    answer = cloud.emulator.control.ecs_create_image({
        "region": scene.SOURCE, "image_id": "m-bp1localup0001", "name": "app-local-1", "tags": {"team": "web"}})
    assert answer["event"]["type"] == "ecs:ActionTrail:ApiCall"
    _drive(cloud)
    for region in scene.TARGETS:
        copies = _copies(cloud, region, "m-bp1localup0001")
        assert len(copies) == 1, f"{region}: {[c.image_id for c in copies]}"
        assert copies[0].status == "Available"
    invocations = cloud.emulator.control.fc_invocations()
    created = [i for i in invocations if i["functionName"] == "image_created"
               and "m-bp1localup0001" in i["invocationPayload"]]
    assert len(created) == 1 + duplicates
    assert any(i["functionName"] == "reconcile" for i in invocations)
    assert not [i for i in invocations if i["status"] == "Failed"]
    manual = [r for r in cloud.emulator.control.requests() if r["service"] == "fc"]
    assert manual == []  # nothing invoked through the API: triggers did it all


def test_a_pushed_acr_tag_is_replicated_by_acr_push_through_the_router(cloud_factory: Any) -> None:
    cloud = cloud_factory()
    event = cloud.emulator.control.acr_push({"instance_id": scene.ACR_SOURCE, "namespace": "web",
                                             "repo": "frontend", "tag": "v2.0.0", "digest": "sha256:" + "ab" * 32})
    assert event["type"] == "cr:Artifact:PushCompleted"
    _drive(cloud, ticks=4)
    invocations = cloud.emulator.control.fc_invocations()
    pushes = [i for i in invocations if i["functionName"] == "acr_push"]
    assert len(pushes) == 1 and pushes[0]["status"] == "Succeeded"
    tasks = [r for r in cloud.emulator.control.requests() if r["action"] == "CreateRepoSyncTask"]
    assert {r["params"].get("TargetInstanceId") for r in tasks} >= {t for t, _ in scene.ACR_TARGETS}


def test_the_real_template_wires_every_trigger() -> None:
    from emulator.fc.template import read_template

    wiring = read_template(load_template(TEMPLATE))
    assert wiring.ignored == []
    assert {t.function for t in wiring.timers} >= {"reconcile"}
    assert {r.function for r in wiring.rules} == {"image_created", "acr_push"}


def test_cli_local_up_prints_the_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    from scripts import cli, local

    monkeypatch.setattr(local.LocalCloud, "run_forever", lambda self, **kw: self.stop())
    before = os.environ.get("IMAGE_RELAY_ENDPOINT")
    result = CliRunner().invoke(cli.app, ["local", "up", "--port", "0", "--scene", "demo"])
    assert result.exit_code == 0, result.output
    assert "emulator listening on http://127.0.0.1:" in result.output
    assert "image-relay/reconcile" in result.output
    assert "timer: reconcile-every-5-min (0 */5 * * * *) -> reconcile" in result.output
    assert "event rule: ecs-create-image" in result.output
    assert os.environ.get("IMAGE_RELAY_ENDPOINT") == before  # stop() restores the environment


def test_invoke_remote_goes_through_fc_with_a_stateful_id(cloud_factory: Any) -> None:
    from scripts.cli import app

    cloud = cloud_factory()
    event = scene.create_image_event(scene.SOURCE, "m-bp1demoweb0001", "app-web-2026-11")
    runner = CliRunner()
    args = ["invoke", "image_created", "--remote", "--invocation-id", "cli-test-1", "--wait"]
    done = runner.invoke(app, args, input=event.decode())
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status_code"] == 202 and answer["invocation"]["status"] == "Succeeded"
    assert json.loads(answer["invocation"]["returnPayload"])["status"] == "accepted"
    again = runner.invoke(app, args[:-1], input=event.decode())
    assert again.exit_code == 3
    assert "StatefulAsyncInvocationAlreadyExists" in again.output
    calls = [c for c in cloud.emulator.control.requests() if c["service"] == "fc"]
    assert [c["status"] for c in calls if c["action"] == "InvokeFunction"][:2] == [202, 409]
