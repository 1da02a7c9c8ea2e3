"""The package users upload, run the way FC runs it: `local up --package` end to end (issue #11).

template.yml is deployed into the emulator from the zip `make package` builds (CreateService /
CreateFunction from the uploaded OSS object / CreateTrigger, through the fc-open SDK); every invocation runs
in its own python3.10 from the unpacked zip (stdlib + code directory only), reading the policy shipped in
the zip (via FC_FUNC_CODE_PATH) and the ledger in the template's state bucket.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.fc.runtime import ProcessRunner
from scripts import sample_world as scene
from scripts.local import LocalCloud
from shared.config import Credentials

IMAGE = "m-bp1package0001"


def _copies(cloud: LocalCloud, region: str) -> list[Any]:
    from shared.clouds.ecs import EcsGateway

    ecs = EcsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                             endpoint=cloud.emulator.url)
    return [i for i in ecs.list_images(region) if i.tags.get("image-relay:source-image") == IMAGE]


def test_a_duplicated_create_image_event_gives_one_available_copy_per_region_from_the_package(package_zip: Path):
    with LocalCloud(port=0, scene="demo", package=package_zip, duplicates=1) as cloud:
        # GIVEN the stack deployed from the package: functions run from the unpacked zip in python3.10
        summary = cloud.summary()
        assert summary["functions"] == sorted(f"image-relay/{f}" for f in
                                              ("acr_push", "cleanup", "export_batch", "image_created", "reconcile"))
        assert summary["state"] == "oss://relay-state/ledger?region=cn-hangzhou"
        runner = cloud.emulator.fc.backend.functions[("image-relay", "image_created")].runner
        assert isinstance(runner, ProcessRunner) and runner.handler == "image_created.handler"
        assert (runner.code_dir / "image_created.py").is_file() and (runner.code_dir / "policy.yml").is_file()
        assert not (runner.code_dir / "emulator").exists() and not (runner.code_dir / "typer").exists()
        # WHEN an image is created in the console: EventBridge delivers the ActionTrail event twice
        cloud.emulator.control.ecs_create_image({"region": scene.SOURCE, "image_id": IMAGE, "name": "app-pkg-1",
                                                 "tags": {"team": "web"}})
        assert cloud.wait_idle(120)
        cloud.emulator.control.configure(duplicates=0)  # the ticks need no duplicate drill (speed)
        # ... and reconcile ticks run every five virtual minutes
        for _ in range(6):
            if all(c.status == "Available" for r in scene.TARGETS for c in _copies(cloud, r)) and all(
                    _copies(cloud, r) for r in scene.TARGETS):
                break
            cloud.emulator.control.advance(300)
            assert cloud.wait_idle(120)
        # THEN exactly one Available copy per target region, and no invocation failed
        for region in scene.TARGETS:
            copies = _copies(cloud, region)
            assert [c.status for c in copies] == ["Available"], f"{region}: {[c.image_id for c in copies]}"
        invocations = cloud.emulator.control.fc_invocations()
        created = [i for i in invocations if i["functionName"] == "image_created"]
        assert len(created) == 2 and all(IMAGE in i["invocationPayload"] for i in created)
        # every invocation succeeded, except wake-ups still waiting for their delay (issue #16)
        assert [i for i in invocations if i["status"] != "Succeeded"
                and not (i["status"] == "Enqueued" and i["dueTime"] and i["invocationId"].startswith("wake-"))] == []
        assert any(i["functionName"] == "reconcile" for i in invocations)


def test_local_up_refuses_a_missing_package_with_exit_2(tmp_path: Path):
    from typer.testing import CliRunner

    from scripts import cli

    result = CliRunner().invoke(cli.app, ["local", "up", "--port", "0", "--package", str(tmp_path / "nope.zip")])
    assert result.exit_code == 2
    assert "--package" in result.output and "no such file" in result.output
