"""Meta-tests that keep the seams honest: SDK imports stay in the adapters, handlers stay light."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SDK_PREFIXES = ("alibabacloud_", "oss2", "Tea", "darabonba")


def _sdk_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [n for n in names if n.startswith(SDK_PREFIXES)]
    return found


def test_only_cloud_adapters_import_an_sdk():
    offenders = {
        str(p.relative_to(ROOT)): _sdk_imports(p)
        for folder in ("functions", "shared", "scripts", "emulator")
        for p in (ROOT / folder).rglob("*.py")
        if not p.relative_to(ROOT).as_posix().startswith("shared/clouds/")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_adapter_check_would_catch_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from alibabacloud_ecs20140526.client import Client\nimport oss2\n")
    assert _sdk_imports(bad) == ["alibabacloud_ecs20140526.client", "oss2"]


@pytest.mark.parametrize("module", ["functions.image_created.handler", "functions.reconcile.handler",
                                    "functions.export_batch.handler", "functions.acr_push.handler",
                                    "functions.cleanup.handler"])
def test_handler_import_loads_no_sdk_until_invoked(module):
    code = (f"import sys, {module}; "
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('alibabacloud_', 'oss2'))}))")
    out = subprocess.check_output([sys.executable, "-c", code], cwd=ROOT, text=True).strip()
    assert out == "[]"
