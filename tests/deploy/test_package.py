"""`make package`: what the zip holds, and the checks that fail the build (each with a twin that trips it)."""
from __future__ import annotations

import zipfile
from pathlib import Path

from functions.entrypoint import function_names
from scripts.package import (
    PYC_SUFFIX,
    ROOT,
    find_python310,
    own_sources,
    stage_own,
    template_handlers,
    write_zip,
)
from scripts.package_checks import check_bytecode, check_glibc, check_handlers


def _names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def test_the_zip_holds_the_functions_entry_modules_policy_and_runtime_deps_only(package_zip: Path):
    names = _names(package_zip)
    tops = {n.split("/", 1)[0] for n in names}
    assert {f"{f}.py" for f in function_names()} <= tops
    assert {"functions", "shared", "policy.yml", "pydantic", "pydantic_core", "yaml", "oss2", "crcmod",
            "Tea", "alibabacloud_fc_open20210406", "alibabacloud_ecs20140526"} <= tops
    assert not tops & {"emulator", "scripts", "tests", "typer", "rich", "pygments", "markdown_it", "click", "bin"}
    # python3.10's bytecode beside each source, and no other interpreter's
    pycs = [n for n in names if n.endswith(".pyc")]
    assert pycs and all(n.endswith(PYC_SUFFIX) and n.split("/")[-2] == "__pycache__" for n in pycs)
    assert "shared/__pycache__/config" + PYC_SUFFIX in names and "__pycache__/reconcile" + PYC_SUFFIX in names
    assert not [n for n in names if "__pycache__" in n and not n.endswith(PYC_SUFFIX)]
    assert package_zip.name.startswith("image-relay-0.1.0-")


def test_compiled_dependencies_need_glibc_2_28_at_most(package_zip: Path):
    assert check_glibc(package_zip) == []


def test_the_glibc_check_reports_an_object_above_the_limit(package_zip: Path):
    # cryptography's manylinux_2_28 wheel needs exactly GLIBC_2.28: a 2.27 runtime must be refused.
    problems = check_glibc(package_zip, limit=(2, 27))
    assert "cryptography/hazmat/bindings/_rust.abi3.so: needs GLIBC_2.28 > 2.27 (FC python3.10)" in problems


def test_every_template_handler_is_an_entry_module(package_zip: Path):
    # build() (the package_zip fixture) already imported each one from the bare zip: it raises otherwise.
    assert template_handlers() == sorted(f"{f}.handler" for f in function_names())


def test_the_handler_check_reports_a_missing_entry_module_and_a_cli_import(package_zip: Path, tmp_path: Path):
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(package_zip) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            if info.filename == "reconcile.py":
                continue
            data = src.read(info)
            if info.filename == "cleanup.py":  # an entry module that needs the CLI extra, absent from the zip
                data = b"import typer\n" + data
            dst.writestr(info, data)
    problems = check_handlers(broken, ["reconcile.handler", "cleanup.handler", "acr_push.handler"], find_python310())
    assert problems == ["cleanup.handler: ModuleNotFoundError: No module named 'typer'",
                        "reconcile.handler: ModuleNotFoundError: No module named 'reconcile'"]


def test_every_source_ships_with_python310_bytecode_of_that_source(package_zip: Path):
    assert check_bytecode(package_zip, find_python310()) == []


def test_the_bytecode_check_reports_missing_stale_and_foreign_bytecode(package_zip: Path, tmp_path: Path):
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(package_zip) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "shared/__pycache__/errors" + PYC_SUFFIX:
                continue  # no bytecode
            if info.filename == "shared/config.py":
                data += b"\n# edited after the build\n"  # bytecode of another version of the source
            if info.filename == "shared/__pycache__/values" + PYC_SUFFIX:
                data = b"\x00\x00\r\n" + data[4:]  # another interpreter's magic number
            dst.writestr(info, data)
    assert check_bytecode(broken, find_python310()) == [
        "shared/config.py: bytecode of another version of the source",
        "shared/errors.py: no python3.10 bytecode",
        "shared/values.py: bytecode of another Python",
    ]


def test_the_project_bytecode_is_the_same_bytes_on_every_build(tmp_path: Path, policy_file: Path):
    python = find_python310()
    first, second = stage_own(python, policy_file, tmp_path / "a"), stage_own(python, policy_file, tmp_path / "b")
    pycs = sorted(p.relative_to(first) for p in first.rglob("*.pyc"))
    assert len(pycs) > 100
    assert [(first / p).read_bytes() for p in pycs] == [(second / p).read_bytes() for p in pycs]


def test_the_same_sources_give_the_same_bytes(tmp_path: Path, policy_file: Path):
    files = dict(own_sources(policy_file))  # project files only, no dependencies
    assert "image_created.py" in files and "shared/config.py" in files
    first = write_zip(tmp_path / "a.zip", files)
    (ROOT / "shared" / "config.py").touch()  # a new mtime must not change the archive
    second = write_zip(tmp_path / "b.zip", files)
    assert first == second
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
