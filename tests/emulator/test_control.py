"""Control plane: faults, lost responses, request log, seed validation, config, reset, ``python -m emulator``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ClientException, ServerException

from emulator import EmulatorControl, EmulatorControlError

from .helpers import call_error, image, raises_code

R = "cn-hangzhou"
ROOT = Path(__file__).resolve().parents[2]


def regions(ecs: Client) -> object:
    return ecs.describe_regions(m.DescribeRegionsRequest())


def outcomes(ecs: Client, n: int) -> list[str]:
    """Run ``n`` calls and return "ok" or the error code of each."""
    result = []
    for _ in range(n):
        try:
            regions(ecs)
            result.append("ok")
        except AlibabaCloudException as error:
            result.append(error.code)
    return result


def test_seeded_faults_are_deterministic_and_logged(ecs: Client, control: EmulatorControl) -> None:
    control.set_faults(throttle_rate=0.3, error_rate=0.3, seed=7)
    first = outcomes(ecs, 40)
    control.set_faults(throttle_rate=0.3, error_rate=0.3, seed=7)
    assert outcomes(ecs, 40) == first
    assert {"ok", "Throttling.User", "ServiceUnavailable", "InternalError"} == set(first)
    log = control.requests()[:40]
    assert [e["code"] or "ok" for e in log] == first
    statuses = {e["code"]: e["status"] for e in log}
    assert statuses == {None: 200, "Throttling.User": 400, "ServiceUnavailable": 503, "InternalError": 500}


def test_fault_exception_types(ecs: Client, control: EmulatorControl) -> None:
    control.set_faults(throttle_rate=1.0)
    error = call_error(lambda: regions(ecs))
    assert isinstance(error, ClientException) and (error.code, error.status_code) == ("Throttling.User", 400)
    control.set_faults(error_rate=1.0)
    assert isinstance(call_error(lambda: regions(ecs)), ServerException)
    control.set_faults()
    assert outcomes(ecs, 3) == ["ok"] * 3


def test_faults_have_no_side_effect(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    control.set_faults(throttle_rate=1.0)
    with raises_code("Throttling.User", 400):
        ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))
    control.set_faults()
    assert ecs.describe_images(m.DescribeImagesRequest(region_id=R)).body.total_count == 1


def test_lost_response_runs_the_action_and_client_token_dedupes(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    request = m.CopyImageRequest(region_id=R, image_id="m-1", destination_region_id="cn-shanghai", client_token="retry-1")
    control.set_faults(lost_response_rate=1.0)
    with raises_code("ServiceUnavailable", 503):
        ecs.copy_image(request)
    control.set_faults()
    # the retry with the same token gets the copy the lost call made, and no second one exists
    new_id = ecs.copy_image(request).body.image_id
    body = ecs.describe_images(m.DescribeImagesRequest(region_id="cn-shanghai", status="ALL")).body
    assert [i.image_id for i in body.images.image] == [new_id]


def test_faults_limited_to_actions(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    control.set_faults(throttle_rate=1.0, actions=["DeleteImage"])
    assert outcomes(ecs, 2) == ["ok", "ok"]
    with raises_code("Throttling.User", 400):
        ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))


def test_latency_is_applied(ecs: Client, control: EmulatorControl) -> None:
    import time

    control.set_faults(latency_ms=150)
    start = time.monotonic()
    regions(ecs)
    assert time.monotonic() - start >= 0.15


def test_request_log_entry(ecs: Client, make_client: object, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    ecs.copy_image(m.CopyImageRequest(region_id=R, image_id="m-1", destination_region_id="cn-beijing"))
    make_client(v1=True, token="sts").describe_images(m.DescribeImagesRequest(region_id=R))  # type: ignore[operator]
    copy, describe = control.requests()
    assert copy == {
        "service": "ecs", "account": "1234567890123456", "region": R, "action": "CopyImage", "status": 200,
        "code": None,
        "params": {"RegionId": R, "ImageId": "m-1", "DestinationRegionId": "cn-beijing"},
        "request_id": copy["request_id"], "time": copy["time"],
    }
    # v1 signing parameters never appear
    assert describe["params"] == {"RegionId": R}
    assert describe["action"] == "DescribeImages"


def test_control_calls_are_not_logged(control: EmulatorControl) -> None:
    control.seed({})
    control.advance(1)
    assert control.requests() == []


@pytest.mark.parametrize(
    ("seed", "loc"),
    [
        ({"images": [{"region": R, "image_id": "m-1", "size_gib": "big"}]}, "images.0.size_gib"),
        ({"images": [{"region": R, "image_id": "m-1", "colour": "red"}]}, "images.0.colour"),
        ({"images": [{"image_id": "m-1"}]}, "images.0.region"),
        ({"images": [{"region": "cn-nowhere", "image_id": "m-1"}]}, "images.0.region"),
        ({"regions": ["cn-hangzhou"], "instances": [{"region": "cn-beijing", "instance_id": "i", "image_id": "m"}]},
         "instances.0.region"),
        ({"bucket": []}, "bucket"),
    ],
)
def test_bad_seed_names_the_field(control: EmulatorControl, seed: dict[str, object], loc: str) -> None:
    with pytest.raises(EmulatorControlError) as info:
        control.seed(seed)
    assert info.value.status == 400
    assert loc in [e["loc"] for e in info.value.body["Errors"]]
    assert info.value.body["Code"] == "InvalidSeed"


def test_bad_seed_changes_nothing(ecs: Client, control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError):
        control.seed({"regions": ["cn-hangzhou"], "images": [{"region": "cn-beijing", "image_id": "m-1"}]})
    assert len(ecs.describe_regions(m.DescribeRegionsRequest()).body.regions.region) > 1


def test_seeded_account_owns_the_images(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"account_id": "5555", "images": [image("m-1")]})
    [img] = ecs.describe_images(m.DescribeImagesRequest(region_id=R)).body.images.image
    assert (img.image_owner_id, img.image_owner_alias) == (5555, "self")


def test_config_partial_update_and_validation(control: EmulatorControl) -> None:
    assert control.configure(image_quota=3) == {
        "copy_slots": 5,
        "copy_gib_per_minute": 20.0,
        "image_quota": 3,
        "export_slots": 2,
        "export_gib_per_minute": 10.0,
        "acr_sync_seconds": 60.0,
        "acr_error_rate": 0.0,
        "snapshot_gib_per_minute": 20.0,
        "create_image_seconds": 120.0,
        "create_image_fail_rate": 0.0,
        "fc_async_retries": 3,
        "duplicates": 0,
        "image_pipeline_stage_seconds": 120.0,
    }
    with pytest.raises(EmulatorControlError) as info:
        control.configure(copy_slots=0)
    assert info.value.status == 400
    control.reset()
    assert control.configure()["image_quota"] == 100


def test_concurrent_calls(make_client: object, control: EmulatorControl) -> None:
    control.seed({"images": [image("m-1")]})
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            client = make_client(v1=bool(n % 2))  # type: ignore[operator]
            client.copy_image(m.CopyImageRequest(region_id=R, image_id="m-1", destination_region_id="cn-beijing",
                                                 destination_image_name=f"c{n}"))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(control.requests()) == 12


def test_python_m_emulator_serves(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert EmulatorControl(url).clock()["now"].endswith("Z")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
