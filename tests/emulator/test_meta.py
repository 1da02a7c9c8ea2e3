"""Meta-tests: every emulated action has an SDK-level test; speed mode moves the clock; no SDK imports."""

from __future__ import annotations

import re
import time
from pathlib import Path

from emulator import Emulator
from emulator.acr.urls import ACTIONS as CR_ACTIONS
from emulator.ecs.urls import ACTIONS
from emulator.oss.urls import ACTIONS as OSS_ACTIONS

HERE = Path(__file__).parent
PACKAGE = HERE.parents[1] / "emulator"


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def _ecs_sdk_methods() -> dict[str, str]:
    """Action → ECS SDK method, read from the client's ``<method>_with_options`` sources (``DescribeVSwitches``
    is ``describe_vswitches``, not the naive snake case)."""
    import alibabacloud_ecs20140526.client as sdk

    text = Path(sdk.__file__).read_text()
    pattern = re.compile(r"def (\w+)_with_options\(.*?action\s*=\s*'(\w+)'", re.S)
    return {action: method for method, action in pattern.findall(text)}


def test_every_ecs_action_is_called_through_the_sdk() -> None:
    sources = "".join(p.read_text() for p in HERE.glob("test_*.py") if p.name != "test_meta.py")
    methods = _ecs_sdk_methods()
    missing = [a for a in ACTIONS if f".{methods.get(a, _snake(a))}(" not in sources]
    assert missing == []


def test_image_builder_actions_are_emulated() -> None:
    expected = {
        "CreateImagePipeline", "StartImagePipelineExecution", "DescribeImagePipelines",
        "DescribeImagePipelineExecutions", "CancelImagePipelineExecution", "DeleteImagePipeline",
    }
    assert expected <= set(ACTIONS)
    assert _ecs_sdk_methods()["DescribeVSwitches"] == "describe_vswitches"


def test_snapshot_create_and_share_actions_are_emulated() -> None:
    expected = {
        "CopySnapshot", "DescribeSnapshots", "DeleteSnapshot", "CreateImage",
        "ModifyImageSharePermission", "DescribeImageSharePermission",
    }
    assert expected <= set(ACTIONS)


def test_every_cr_action_is_called_through_the_sdk() -> None:
    sources = "".join(p.read_text() for p in HERE.glob("test_*.py") if p.name != "test_meta.py")
    missing = [a for a in CR_ACTIONS if f".{_snake(a)}(" not in sources]
    assert missing == []


# The oss2 call that exercises each emulated OSS operation.
OSS_SDK_CALLS = {
    "PutObject": ".put_object(",
    "GetObject": ".get_object(",
    "HeadObject": ".head_object(",
    "GetObjectMeta": ".object_exists(",
    "DeleteObject": ".delete_object(",
    "ListObjects": ".list_objects(",
    "ListObjectsV2": ".list_objects_v2(",
    "InitiateMultipartUpload": ".init_multipart_upload(",
    "UploadPart": ".upload_part(",
    "CompleteMultipartUpload": ".complete_multipart_upload(",
    "AbortMultipartUpload": ".abort_multipart_upload(",
    "ListParts": ".list_parts(",
    "GetBucketLocation": ".get_bucket_location(",
}


def test_every_oss_operation_is_called_through_oss2() -> None:
    sources = "".join(p.read_text() for p in HERE.glob("test_*.py") if p.name != "test_meta.py")
    assert set(OSS_ACTIONS) == set(OSS_SDK_CALLS)
    assert [a for a, call in OSS_SDK_CALLS.items() if call not in sources] == []


def test_emulator_imports_no_sdk() -> None:
    offenders = [
        str(p) for p in PACKAGE.rglob("*.py") if re.search(r"^\s*(from|import)\s+(alibabacloud|oss2)", p.read_text(), re.M)
    ]
    assert offenders == []


def test_speed_mode_moves_virtual_time_with_wall_time() -> None:
    with Emulator(port=0, speed=100.0) as emu:
        before = emu.control.clock()["epoch"]
        time.sleep(0.2)
        assert emu.control.clock()["epoch"] - before >= 15
