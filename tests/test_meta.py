"""Meta-tests that keep the seams honest: SDK imports stay in the adapters, handlers stay light."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SDK_PREFIXES = ("alibabacloud_", "oss2", "Tea", "darabonba")


def _imports(path: Path) -> list[str]:
    """Every absolute module name ``path`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _sdk_imports(path: Path) -> list[str]:
    return [n for n in _imports(path) if n.startswith(SDK_PREFIXES)]


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


CLI_ONLY = ("typer", "rich", "click", "pygments", "markdown_it")


def _cli_imports(path: Path) -> list[str]:
    return [n for n in _imports(path) if n.split(".")[0] in CLI_ONLY]


def test_functions_never_import_the_cli_extra():
    """typer/rich are the `cli` extra: the code package (make package) does not ship them (issue #11)."""
    offenders = {str(p.relative_to(ROOT)): _cli_imports(p)
                 for folder in ("functions", "shared") for p in (ROOT / folder).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_cli_import_check_would_catch_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import typer\nfrom rich.console import Console\nimport richer\n")
    assert _cli_imports(bad) == ["typer", "rich.console"]
