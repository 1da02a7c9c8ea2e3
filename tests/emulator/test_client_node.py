"""Contract: Node clients against the emulator — ``@alicloud/pop-core`` (RPC v1), ``@alicloud/ecs20140526`` (Tea,
ACS3) and ``ali-oss`` (virtual-hosted style).

The Node side is three small scripts in ``tests/emulator/node/`` that call the emulator and print what they saw as
JSON; the assertions are here. Their dependencies are pinned in ``package.json`` + ``package-lock.json`` and
installed once with ``npm ci`` into ``tests/emulator/node/node_modules`` (git-ignored) by a session fixture, so
a fresh clone works with ``make test``. Skipped, with the reason, only where ``node``/``npm`` are not installed
(CI has them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator, EmulatorControl

NODE_DIR = Path(__file__).parent / "node"
BUCKET = "node-bucket"
NO_NODE = shutil.which("node") is None or shutil.which("npm") is None
pytestmark = pytest.mark.skipif(NO_NODE, reason="node and npm are not installed here (CI has them)")


def _env() -> dict[str, str]:
    """The environment without proxy variables (loopback calls must not go to a proxy)."""
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """``npm ci`` once, when node_modules is missing or older than the lock file."""
    stamp = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                              capture_output=True, text=True, timeout=300, env=os.environ.copy())
        assert done.returncode == 0, done.stderr[-2000:]
    return NODE_DIR / "node_modules"


@pytest.fixture(autouse=True)
def _world(control: EmulatorControl) -> None:
    control.seed({"images": [{"region": "cn-hangzhou", "image_id": "m-node1", "name": "node-img"}],
                  "buckets": [{"region": "cn-hangzhou", "name": BUCKET}]})


def _run(node_modules: Path, script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(["node", script, *args], cwd=NODE_DIR, capture_output=True, text=True, timeout=120,
                          env=_env())
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_pop_core_rpc_over_get_and_post(node_modules: Path, emulator: Emulator, control: EmulatorControl) -> None:
    out = _run(node_modules, "pop_core.js", emulator.url)
    assert "cn-hangzhou" in [r["RegionId"] for r in out["get"]["ok"]["Regions"]["Region"]]
    assert [i["ImageName"] for i in out["post"]["ok"]["Images"]["Image"]] == ["node-img"]
    assert (out["notFound"]["error"]["code"], out["notFound"]["error"]["status"]) == ("InvalidImageId.NotFound", 404)
    wrong = out["wrongSecret"]["error"]
    assert (wrong["code"], wrong["status"]) == ("SignatureDoesNotMatch", 400)
    assert "server string to sign is:GET&%2F&AccessKeyId%3Dtest-ak" in wrong["message"]
    calls = [(r["action"], r["status"]) for r in control.requests()]
    assert calls == [("DescribeRegions", 200), ("DescribeImages", 200), ("CancelCopyImage", 404),
                     ("DescribeRegions", 400)]


def test_tea_ecs_client_acs3(node_modules: Path, emulator: Emulator) -> None:
    out = _run(node_modules, "ecs_tea.js", emulator.endpoint)
    assert "cn-hangzhou" in out["regions"]["ok"]
    assert out["images"]["ok"] == [["m-node1", "node-img", 40]]
    wrong = out["wrongSecret"]["error"]
    assert (wrong["code"], wrong["status"]) == ("SignatureDoesNotMatch", 400)
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in wrong["message"]


def test_ali_oss_virtual_hosted_style(node_modules: Path, emulator: Emulator, control: EmulatorControl) -> None:
    out = _run(node_modules, "ali_oss.js", "127.0.0.1", str(emulator.port), BUCKET)
    put = out["put"]["ok"]
    assert put["status"] == 200 and put["host"] == f"http://{BUCKET}.oss-cn-hangzhou.aliyuncs.com/node/obj.txt"
    # CRC-64/ECMA of b"0123456789abcdefghij" (as oss2 and the v2 SDK compute it)
    crc = "11805276166199917285"
    assert put["crc"] == crc and out["head"]["ok"] == {"status": 200, "length": "20", "crc": crc}
    assert out["get"]["ok"] == "0123456789abcdefghij"
    assert out["range"]["ok"] == {"status": 206, "body": "2345", "range": "bytes 2-5/20", "crc": crc}
    assert out["list"]["ok"] == ["node/obj.txt"]
    assert out["multipart"]["ok"] == {"status": 200, "type": "Multipart", "length": str(300 * 1024), "same": True}
    assert (out["missing"]["error"]["code"], out["missing"]["error"]["status"]) == ("NoSuchKey", 404)
    assert (out["wrongSecret"]["error"]["code"], out["wrongSecret"]["error"]["status"]) == (
        "SignatureDoesNotMatch", 403)
    buckets = {r["params"].get("bucket") for r in control.requests() if r["service"] == "oss"}
    assert buckets == {BUCKET}
