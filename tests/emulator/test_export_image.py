"""ExportImage and the task actions through the real ECS SDK; the written files checked with oss2."""

from __future__ import annotations

from typing import Any

import oss2
import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client

from emulator import Emulator, EmulatorControl

from .helpers import image, raises_code

REGION = "cn-hangzhou"
BUCKET = "relay-exports"
GIB = 1 << 30


@pytest.fixture(autouse=True)
def _scene(control: EmulatorControl) -> None:
    control.seed(
        {
            "buckets": [{"region": REGION, "name": BUCKET}, {"region": "cn-shanghai", "name": "sh-bucket"}],
            "images": [
                image("m-one", size_gib=20),
                image(
                    "m-two",
                    size_gib=40,
                    disks=[
                        {"device": "/dev/xvda", "type": "system", "size_gib": 40},
                        {"device": "/dev/xvdb", "type": "data", "size_gib": 60},
                    ],
                ),
            ],
        }
    )


def export(client: Client, **overrides: Any) -> str:
    fields: dict[str, Any] = {"region_id": REGION, "image_id": "m-one", "ossbucket": BUCKET, "ossprefix": "nightly"}
    fields.update(overrides)
    return client.export_image(m.ExportImageRequest(**fields)).body.task_id


def attribute(client: Client, task_id: str) -> m.DescribeTaskAttributeResponseBody:
    return client.describe_task_attribute(m.DescribeTaskAttributeRequest(region_id=REGION, task_id=task_id)).body


def items(body: m.DescribeTaskAttributeResponseBody, name: str) -> list[str]:
    [progress] = body.operation_progress_set.operation_progress
    return [i.value for i in progress.related_item_set.related_item if i.name == name]


def bucket(emulator: Emulator, name: str = BUCKET) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth("test-ak", "test-secret"), emulator.url, name)


def test_export_runs_on_the_clock_and_writes_one_object_per_disk(
    any_ecs: Client, control: EmulatorControl, emulator: Emulator
) -> None:
    # WHEN 100 GiB are exported at the default 10 GiB/min (10 minutes)
    response = any_ecs.export_image(
        m.ExportImageRequest(region_id=REGION, image_id="m-two", ossbucket=BUCKET, ossprefix="nightly", image_format="RAW")
    ).body
    task_id = response.task_id
    assert task_id.startswith("t-") and response.region_id == REGION and response.request_id
    body = attribute(any_ecs, task_id)
    assert (body.task_action, body.task_status, body.task_process, body.support_cancel) == (
        "ExportImage", "Processing", "0%", "true",
    )
    control.advance(300)
    assert attribute(any_ecs, task_id).task_process == "50%"
    assert bucket(emulator).list_objects_v2().object_list == []
    control.advance(300)
    # THEN
    done = attribute(any_ecs, task_id)
    assert (done.task_status, done.task_process, done.support_cancel) == ("Finished", "100%", "false")
    assert (done.total_count, done.success_count, done.failed_count) == (1, 1, 0)
    assert len(done.creation_time) == len("2024-01-01T08:00Z") and done.finished_time.endswith("Z")
    [progress] = done.operation_progress_set.operation_progress
    assert (progress.operation_status, progress.error_code) == ("Success", "")
    assert items(done, "OSSBucket") == [BUCKET] and items(done, "ImageFormat") == ["raw"]
    expected = [f"nightly_m-two_{task_id}_system.raw", f"nightly_m-two_{task_id}_data_xvdb.raw"]
    assert items(done, "OSSObject") == expected
    listed = {o.key: o.size for o in bucket(emulator).list_objects_v2().object_list}
    assert listed == {expected[0]: 40 * GIB, expected[1]: 60 * GIB}
    assert bucket(emulator).head_object(expected[1]).content_length == 60 * GIB


def test_a_single_disk_image_gets_the_documented_name(ecs: Client, control: EmulatorControl, emulator: Emulator) -> None:
    task_id = export(ecs)
    control.advance(3600)
    assert items(attribute(ecs, task_id), "OSSObject") == [f"nightly_m-one_{task_id}.raw"]
    assert bucket(emulator).object_exists(f"nightly_m-one_{task_id}.raw")


@pytest.mark.parametrize(
    ("seed", "overrides", "code", "status"),
    [
        ({}, {"image_id": "m-missing"}, "InvalidImageId.NotFound", 404),
        ({"status": "Creating"}, {}, "IncorrectImageStatus", 400),
        ({"owner_id": "999"}, {}, "Forbidden", 403),
        ({"disks": [{"device": "/dev/xvda", "type": "system", "size_gib": 40, "encrypted": True}]}, {},
         "ImageNotSupported", 400),
        ({"os_type": "windows", "platform": "Windows Server 2022"}, {}, "ImageNotSupported", 403),
        ({"marketplace": True}, {}, "ImageNotSupported", 403),
        ({"product_code": "cmjj0001"}, {}, "ImageNotSupported", 403),
        # the export guide allows each data disk up to 2,048 GiB (was 501 here, from Terraform's docs; #17)
        ({"disks": [{"device": "/dev/xvda", "type": "system", "size_gib": 40},
                    {"device": "/dev/xvdb", "type": "data", "size_gib": 2049}]}, {},
         "InvalidImage.DiskAmountOrSize", 400),
        ({}, {"ossbucket": "no-such-bucket"}, "InvalidOSSBucket.NotFound", 400),
        ({}, {"ossbucket": "sh-bucket"}, "InvalidOSSBucket.NotFound", 400),
        ({}, {"ossprefix": "bad-prefix"}, "InvalidOSSPrefix.Malformed", 400),
        ({}, {"ossprefix": "x" * 31}, "InvalidOSSPrefix.Malformed", 400),
        ({}, {"image_format": "iso"}, "InvalidImageFormat.NotSupported", 400),
        ({}, {"region_id": "xx-nowhere"}, "InvalidRegionId.NotFound", 400),
        ({}, {"dry_run": True}, "DryRunOperation", 400),
    ],
)
def test_refusals(
    ecs: Client, control: EmulatorControl, seed: dict[str, Any], overrides: dict[str, Any], code: str, status: int
) -> None:
    control.seed({"images": [image("m-x", **seed)]})
    with raises_code(code, status):
        export(ecs, **{"image_id": "m-x", **overrides})
    assert ecs.describe_tasks(m.DescribeTasksRequest(region_id=REGION)).body.total_count == 0


def test_a_second_export_of_the_same_image_is_refused_and_delete_waits(ecs: Client, control: EmulatorControl) -> None:
    task_id = export(ecs)
    with raises_code("ImageIsExporting", 403):
        export(ecs)
    with raises_code("ImageIsExporting", 403):
        ecs.delete_image(m.DeleteImageRequest(region_id=REGION, image_id="m-one"))
    control.advance(3600)
    assert attribute(ecs, task_id).task_status == "Finished"
    ecs.delete_image(m.DeleteImageRequest(region_id=REGION, image_id="m-one"))


def test_concurrency_quota_per_region(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image(f"m-q{i}") for i in range(3)]})
    export(ecs, image_id="m-q0")
    export(ecs, image_id="m-q1")
    with raises_code("ConcurrentQuotaExceed.ExportImage", 403):
        export(ecs, image_id="m-q2")
    control.configure(export_slots=3)
    export(ecs, image_id="m-q2")


def test_existing_object_fails_the_task_and_stays_untouched(
    ecs: Client, control: EmulatorControl, emulator: Emulator
) -> None:
    task_id = export(ecs)
    name = f"nightly_m-one_{task_id}.raw"
    control.seed({"objects": [{"bucket": BUCKET, "key": name, "body": "precious bytes"}]})
    before = bucket(emulator).get_object(name)
    control.advance(3600)
    body = attribute(ecs, task_id)
    [progress] = body.operation_progress_set.operation_progress
    assert (body.task_status, body.failed_count, body.success_count) == ("Failed", 1, 0)
    assert (progress.operation_status, progress.error_code) == ("Failed", "IMAGE_ALREADY_EXIST")
    after = bucket(emulator).get_object(name)
    assert after.read() == b"precious bytes" and after.etag == before.etag
    assert "x-oss-meta-emulated-size" not in after.headers


def test_cancel_task_frees_the_slot_and_writes_nothing(ecs: Client, control: EmulatorControl, emulator: Emulator) -> None:
    control.seed({"images": [image("m-q0"), image("m-q1")]})
    first = export(ecs, image_id="m-q0")
    export(ecs, image_id="m-q1")
    control.advance(60)
    ecs.cancel_task(m.CancelTaskRequest(region_id=REGION, task_id=first))
    body = attribute(ecs, first)
    assert (body.task_status, body.support_cancel) == ("Cancelled", "false")
    export(ecs, image_id="m-one")  # the slot is free again
    control.advance(3600)
    assert not [o.key for o in bucket(emulator).list_objects_v2().object_list if "m-q0" in o.key]
    with raises_code("IncorrectTaskStatus", 403):
        ecs.cancel_task(m.CancelTaskRequest(region_id=REGION, task_id=first))
    with raises_code("InvalidTaskId.NotFound", 400):
        ecs.cancel_task(m.CancelTaskRequest(region_id=REGION, task_id="t-nope"))
    with raises_code("InvalidTaskId.NotFound", 400):
        attribute(ecs, "t-nope")


def test_describe_tasks_filters_and_paging(ecs: Client, control: EmulatorControl) -> None:
    control.seed({"images": [image(f"m-p{i}", size_gib=10 * (i + 1)) for i in range(4)]})
    control.configure(export_slots=4)
    start = control.clock()["now"]
    ids = []
    for i in range(4):
        ids.append(export(ecs, image_id=f"m-p{i}"))
        control.advance(61)
    # m-p0 (1 min) and m-p1 (2 min) are done by now; m-p2 and m-p3 are still running
    def tasks(**kw: Any) -> m.DescribeTasksResponseBody:
        return ecs.describe_tasks(m.DescribeTasksRequest(region_id=REGION, **kw)).body

    everything = tasks(task_action="ExportImage", page_size=100)
    assert everything.total_count == 4
    assert [t.task_id for t in everything.task_set.task] == ids[::-1]  # newest first
    assert {t.resource_id for t in everything.task_set.task} == {f"m-p{i}" for i in range(4)}
    assert {t.task_id for t in tasks(task_status="Finished").task_set.task} == set(ids[:2])
    assert {t.task_id for t in tasks(task_status="Processing").task_set.task} == set(ids[2:])
    assert [t.task_id for t in tasks(task_ids=",".join(ids[1:3])).task_set.task] == [ids[2], ids[1]]
    assert [t.task_id for t in tasks(resource_ids=["m-p3"]).task_set.task] == [ids[3]]
    assert tasks(task_action="ImportImage").total_count == 0
    assert tasks(start_time=start, end_time=start).total_count == 1
    page2 = tasks(page_size=3, page_number=2)
    assert (page2.total_count, [t.task_id for t in page2.task_set.task]) == (4, [ids[0]])
    with raises_code("InvalidParameter.PageSize", 400):
        tasks(page_size=101)


def test_export_calls_are_logged(ecs: Client, control: EmulatorControl) -> None:
    task_id = export(ecs, role_name="CustomExportRole")
    [entry] = [r for r in control.requests() if r["action"] == "ExportImage"]
    assert entry["params"]["RoleName"] == "CustomExportRole" and entry["status"] == 200
    assert attribute(ecs, task_id).task_status == "Processing"


# --- data-disk limits and ImageFormat by region (#17) -----------------------------------------------------


def test_many_data_disks_up_to_2048_gib_are_exported(ecs: Client, control: EmulatorControl, emulator: Emulator) -> None:
    # The export guide allows each data disk up to 2,048 GiB and states no count (the 4 x 500 GiB rule was Terraform's)
    disks = [{"device": "/dev/xvda", "type": "system", "size_gib": 40},
             {"device": "/dev/xvdb", "type": "data", "size_gib": 1024},
             *({"device": f"/dev/xvd{c}", "type": "data", "size_gib": 2048} for c in "cdef")]
    control.seed({"images": [image("m-big", disks=disks)]})
    control.configure(export_gib_per_minute=10_000)
    task_id = export(ecs, image_id="m-big")
    control.advance(3600)
    done = attribute(ecs, task_id)
    assert done.task_status == "Finished"
    listed = {o.key: o.size for o in bucket(emulator).list_objects_v2(prefix="nightly_m-big").object_list}
    assert listed[f"nightly_m-big_{task_id}_data_xvdb.raw"] == 1024 * GIB and len(listed) == 6


@pytest.mark.parametrize(("region", "produced"), [("ap-southeast-1", "qcow2"), ("cn-hangzhou", "raw")])
def test_image_format_is_honoured_only_in_the_listed_regions(
    ecs: Client, control: EmulatorControl, emulator: Emulator, region: str, produced: str
) -> None:
    # ExportImage API reference, usage notes: ImageFormat works in Tokyo, Jakarta, Frankfurt, Dubai, Virginia,
    # London, Singapore, Kuala Lumpur and Silicon Valley; elsewhere the export is RAW.
    control.seed({"regions": ["cn-hangzhou", "cn-shanghai", "ap-southeast-1"],
                  "buckets": [{"region": region, "name": f"fmt-{region}"}],
                  "images": [image("m-fmt", region=region, size_gib=20)]})
    task_id = ecs.export_image(m.ExportImageRequest(region_id=region, image_id="m-fmt", ossbucket=f"fmt-{region}",
                                                    ossprefix="f", image_format="qcow2")).body.task_id
    control.advance(3600)
    body = ecs.describe_task_attribute(m.DescribeTaskAttributeRequest(region_id=region, task_id=task_id)).body
    [progress] = body.operation_progress_set.operation_progress
    related = {i.name: i.value for i in progress.related_item_set.related_item}
    assert (body.task_status, related["ImageFormat"], related["OSSObject"]) == (
        "Finished", produced, f"f_m-fmt_{task_id}.{produced}")
    assert bucket(emulator, f"fmt-{region}").object_exists(f"f_m-fmt_{task_id}.{produced}")
