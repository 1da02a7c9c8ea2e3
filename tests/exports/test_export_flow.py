"""Off-peak export batches end to end: export_batch and reconcile → ECS + OSS SDKs → emulator."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from scripts import sample_world as scene
from shared.config import Credentials

UTC = dt.timezone.utc
NIGHT = dt.datetime(2026, 11, 21, 17, 0, tzinfo=UTC)     # 01:00 in Shanghai: the window opens
NOON = dt.datetime(2026, 11, 21, 4, 0, tzinfo=UTC)       # 12:00 in Shanghai
BUCKET = scene.EXPORT_BUCKET


def _timer(at: dt.datetime, payload: str = "") -> bytes:
    return json.dumps({"triggerTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "triggerName": "export-night",
                       "payload": payload}).encode()


def _images(n: int, size_gib: int = 40, **extra) -> list[dict]:
    return [{"region": "cn-hangzhou", "image_id": f"m-bp1exp{i:05d}", "name": f"app-exp-{i:05d}",
             "size_gib": size_gib, **extra} for i in range(n)]


@pytest.fixture
def xworld(world):
    world.set_policy(scene.EXPORT_POLICY_YAML.replace(scene.POLICY_YAML, "copy_rules: []\n"))
    world.emu.control.advance(301)  # the scene's app-api image finishes Creating: two app- images to export
    return world


def _batch(world, at: dt.datetime, payload: str = "") -> dict:
    return world.invoke("export_batch", _timer(at, payload))


def _exports_started(world) -> list[dict]:
    return world.calls("ExportImage", 200)


def _running(world) -> int:
    from shared.clouds.ecs import EcsGateway

    ecs = EcsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                             endpoint=world.emu.url)
    return sum(1 for t in ecs.iter_export_tasks("cn-hangzhou") if t.running)


def _oss(world):
    from shared.clouds.oss import OssGateway

    return OssGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                              endpoint=world.emu.url)


def test_outside_the_window_the_batch_makes_no_call(xworld):
    result = _batch(xworld, NOON)
    assert result["status"] == "outside_window"
    assert xworld.calls() == []


def test_inside_the_window_it_starts_up_to_the_limit_and_reconcile_finishes(xworld):
    result = _batch(xworld, NIGHT)
    assert result["status"] == "ok"
    # the sample world has two app- images, both exportable
    assert len(_exports_started(xworld)) == 2
    for _ in range(20):
        xworld.emu.control.advance(300)
        summary = xworld.tick()
        if summary.get("exports", {}).get("done") == 2 or not _running(xworld):
            break
    xworld.tick()
    records = {r.key: r for r in xworld.ledger().scan("export/")}
    assert {r.state.value for r in records.values()} == {"DONE"}
    oss = _oss(xworld)
    for record in records.values():
        manifest = json.loads(oss.get("cn-hangzhou", BUCKET, record.data["manifest"]))
        assert manifest["image_id"] == record.data["target"]["image_id"]
        assert manifest["task_id"] == record.cloud_id
        # cn-hangzhou does not honour ImageFormat (ExportImage API reference): ECS wrote RAW for the qcow2 rule
        assert (manifest["format"], manifest["requested_format"]) == ("raw", "qcow2")
        assert all(o["key"].endswith(".raw") for o in manifest["objects"])
        assert manifest["objects"] and all(o["size"] > 0 for o in manifest["objects"])
        for obj in manifest["objects"]:
            assert oss.head("cn-hangzhou", BUCKET, obj["key"]).size == obj["size"]
        assert manifest["started_at"] and manifest["finished_at"]


def test_a_large_batch_spreads_over_ticks_and_windows_within_the_limit(xworld):
    # 6 images of 1200 GiB at 10 GiB/min take 2 h each: 3 rounds of 2 do not fit one 4 h window
    xworld.emu.control.seed({"images": _images(6, size_gib=1200)})
    xworld.emu.control.configure(export_gib_per_minute=10)
    at, peak, done_at = NIGHT, 0, None
    for _ in range(48 * 2):  # two days of 30-minute ticks
        result = _batch(xworld, at)
        peak = max(peak, _running(xworld))
        xworld.emu.control.advance(1800)
        xworld.tick()
        at += dt.timedelta(minutes=30)
        states = {r.state.value for r in xworld.ledger().scan("export/")}
        if states == {"DONE"}:
            done_at = at
            break
        if result["status"] == "outside_window":
            assert result["api_calls"] == 0
    assert peak == 2
    assert done_at is not None and done_at > NIGHT + dt.timedelta(hours=24), "expected carry-over to night 2"
    starts = [c for c in _exports_started(xworld) if c["params"]["ImageId"].startswith("m-bp1exp")]
    assert len(starts) == 6


def test_no_export_starts_outside_the_window_even_with_work_left(xworld):
    xworld.emu.control.seed({"images": _images(4, size_gib=1200)})
    _batch(xworld, NIGHT)
    before = len(_exports_started(xworld))
    xworld.emu.control.advance(4 * 3600)
    xworld.tick()
    _batch(xworld, NIGHT + dt.timedelta(hours=4))      # 05:00: the window has just closed
    _batch(xworld, NIGHT + dt.timedelta(hours=12))
    assert len(_exports_started(xworld)) == before


def test_duplicate_timer_deliveries_start_no_second_export(xworld):
    event_time = NIGHT + dt.timedelta(minutes=5)
    _batch(xworld, event_time)
    _batch(xworld, event_time)
    threads = [threading.Thread(target=_batch, args=(xworld, event_time)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = _exports_started(xworld)
    assert len(started) == 2
    assert len({c["params"]["ImageId"] for c in started}) == 2


def test_images_ecs_would_refuse_are_skipped_without_a_call(xworld):
    xworld.emu.control.seed({"images": [
        {"region": "cn-hangzhou", "image_id": "m-bp1encrypted1", "name": "app-enc",
         "disks": [{"device": "/dev/xvda", "type": "system", "size_gib": 40, "encrypted": True}]},
        {"region": "cn-hangzhou", "image_id": "m-bp1windows01", "name": "app-win", "os_type": "windows",
         "platform": "Windows Server 2022"},
    ]})
    _batch(xworld, NIGHT)
    ledger = xworld.ledger()
    for image_id, code in (("m-bp1encrypted1", "ImageNotSupported"), ("m-bp1windows01", "ImageNotSupported")):
        (record,) = ledger.scan(f"export/cn-hangzhou/{image_id}/")
        assert record.state.value == "FAILED" and record.data["skipped"] is True
        assert code in record.reason and record.reason.startswith("skipped:")
    called = {c["params"]["ImageId"] for c in _exports_started(xworld)}
    assert not called & {"m-bp1encrypted1", "m-bp1windows01"}


def test_an_image_with_a_1024_gib_data_disk_is_exported_not_skipped(xworld):
    # The export guide allows data disks up to 2,048 GiB; the planner used to skip anything over 500 GiB (#17)
    xworld.emu.control.seed({"images": [
        {"region": "cn-hangzhou", "image_id": "m-bp1bigdata01", "name": "app-bigdata",
         "disks": [{"device": "/dev/xvda", "type": "system", "size_gib": 40},
                   {"device": "/dev/xvdb", "type": "data", "size_gib": 1024}]}]})
    xworld.emu.control.configure(export_gib_per_minute=10_000)
    request = {"action": "export", "region": "cn-hangzhou", "image_id": "m-bp1bigdata01"}
    (export,) = xworld.invoke("export_batch", json.dumps(request).encode())["exports"]
    assert export["state"] == "STARTED" and export["task_id"]
    xworld.emu.control.advance(3600)
    xworld.tick()
    (record,) = xworld.ledger().scan("export/cn-hangzhou/m-bp1bigdata01/")
    assert record.state.value == "DONE" and not record.data.get("skipped")
    manifest = json.loads(_oss(xworld).get("cn-hangzhou", BUCKET, record.data["manifest"]))
    sizes = {o["key"].rsplit("_", 1)[-1]: o["size"] for o in manifest["objects"]}
    assert sizes == {"system.raw": 40 << 30, "xvdb.raw": 1024 << 30}
    assert manifest["format"] == "raw"


def test_dry_run_plans_without_starting_or_recording(xworld):
    result = xworld.invoke("export_batch", json.dumps(
        {"action": "export_batch", "dry_run": True, "now": NIGHT.isoformat()}).encode())
    assert result["status"] == "planned"
    assert [p["action"] for p in result["plan"]].count("StartExport") == 2
    assert xworld.calls("ExportImage") == []
    assert list(xworld.ledger().scan("export/")) == []


def test_export_now_ignores_the_window_and_cancel_stops_it(xworld):
    request = {"action": "export", "region": "cn-hangzhou", "image_id": "m-bp1demoweb0001"}
    result = xworld.invoke("export_batch", json.dumps(request).encode())
    (export,) = result["exports"]
    assert export["state"] == "STARTED" and export["task_id"]
    cancel = {"action": "cancel_export", "region": "cn-hangzhou", "image_id": "m-bp1demoweb0001"}
    result = xworld.invoke("export_batch", json.dumps(cancel).encode())
    assert result["status"] == "cancelled"
    assert [c["params"]["TaskId"] for c in xworld.calls("CancelTask", 200)] == [export["task_id"]]
    (record,) = xworld.ledger().scan("export/cn-hangzhou/m-bp1demoweb0001/")
    assert record.state.value == "CANCELLED"


def test_lost_ledger_is_caught_by_the_oss_manifest_guard(xworld):
    _batch(xworld, NIGHT)
    for _ in range(10):
        xworld.emu.control.advance(600)
        xworld.tick()
    assert {r.state.value for r in xworld.ledger().scan("export/")} == {"DONE"}
    xworld.monkeypatch.setenv("IMAGE_RELAY_STATE", f"sqlite:///{xworld.tmp / 'fresh.db'}")
    from shared.config import reset_settings

    reset_settings()
    before = len(_exports_started(xworld))
    result = _batch(xworld, NIGHT + dt.timedelta(hours=1))
    assert result["actions"].get("found_in_oss") == 2
    assert len(_exports_started(xworld)) == before


def test_lost_export_response_is_adopted_not_repeated(xworld):
    xworld.emu.control.set_faults(lost_response_rate=1.0, actions=["ExportImage"], seed=2)
    _batch(xworld, NIGHT)
    xworld.emu.control.set_faults()
    # the retries met ImageIsExporting and adopted the running task instead of starting another
    records = list(xworld.ledger().scan("export/"))
    assert all(r.state.value == "STARTED" and r.cloud_id for r in records)
    assert len({r.cloud_id for r in records}) == 2
    ran = [c for c in xworld.calls("ExportImage") if c["status"] == 200 or c["code"] == "ServiceUnavailable"]
    assert len({c["params"]["ImageId"] for c in ran}) == 2


def test_existing_object_fails_the_export_and_is_left_intact(xworld):
    request = {"action": "export", "region": "cn-hangzhou", "image_id": "m-bp1demoweb0001"}
    (export,) = xworld.invoke("export_batch", json.dumps(request).encode())["exports"]
    # someone else writes the very object name the export will produce
    squatter = f"archive_m-bp1demoweb0001_{export['task_id']}.raw"  # RAW: cn-hangzhou ignores ImageFormat
    oss = _oss(xworld)
    assert oss.put_if_absent("cn-hangzhou", BUCKET, squatter, b"precious bytes")
    xworld.emu.control.advance(3600)
    xworld.tick()
    (record,) = xworld.ledger().scan("export/cn-hangzhou/m-bp1demoweb0001/")
    assert record.state.value == "FAILED"
    assert "IMAGE_ALREADY_EXIST" in record.reason and "never overwrites" in record.reason
    assert oss.get("cn-hangzhou", BUCKET, squatter) == b"precious bytes"
    assert not [o for o in oss.iter_objects("cn-hangzhou", BUCKET, "archive_") if o.key.endswith("manifest.json")]
