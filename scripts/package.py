"""`make package`: the code package users upload, built for FC's python3.10 runtime (issue #11, house-style §13).

``python -m scripts.package [--policy FILE] [--out DIR]`` writes ``dist/image-relay-<version>-<rev>.zip``:

* at its root, ``functions/``, ``shared/``, one entry module per function (``image_created.py`` …,
  from ``functions/entrypoint.py``: FC's ``<file>.<function>`` handler form), the policy as ``policy.yml``
  when ``--policy`` is given, and the runtime dependencies of pyproject.toml (not the ``cli`` extra, not
  the emulator, not scripts/);
* dependencies for Linux x86-64 CPython 3.10 whatever this machine is: ``pip install --target`` with
  ``--platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --python-version 3.10
  --only-binary=:all:``, so compiled wheels (pydantic-core, cryptography, PyYAML …) are ones glibc 2.28 runs;
* packages PyPI has only as sdists (oss2, crcmod, alibabacloud-tea, …) are built into wheels first, by
  python3.10 itself (``find_python310``), into ``build/package/wheels`` (kept between runs). crcmod's C
  extension gives a ``linux_x86_64`` wheel, hence ``--platform linux_x86_64`` too: only our own wheelhouse
  has such wheels (PyPI refuses them), and the glibc check reads what they need;
* compiled: every ``.py`` ships with its python3.10 bytecode (``__pycache__/<name>.cpython-310.pyc``),
  made by ``compileall`` with ``--invalidation-mode checked-hash``. FC's code directory is read-only (its FAQ
  "What can I do if the current directory is non-writable?": ``[Errno 30] Read-only file system: '/code/…'``),
  so a package without bytecode is compiled from source in memory at every cold start: the ECS SDK's model
  module alone takes seconds. Hash-based, not timestamp-based, because the zip's entries carry a fixed 1980
  timestamp (a timestamp pyc would never match its source once unpacked); *checked* hash, so a source edited
  in FC's console after upload is compiled afresh instead of running stale bytecode. No other ``.pyc`` (a
  build machine's own interpreter's) is shipped;
* reproducible: entries sorted, fixed timestamps and modes; the same commit gives the same file list (its
  sha256 is printed).

Then the checks of ``scripts/package_checks.py`` run, and the build fails (exit 1) on any problem.
The installed dependencies are cached in ``build/package/site-<hash>`` (hash of the requirement list and
the pip options), so a second build only re-zips.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from emulator.fc.runtime import RuntimeNotFoundError, find_python
from functions.entrypoint import entry_source, function_names
from scripts.package_checks import PackageCheckError, check_bytecode, check_glibc, check_handlers, size_report

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dev extra installs tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "package"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "linux_x86_64")
PIP_TARGET_OPTIONS = (
    *[f"--platform={p}" for p in PLATFORMS],
    "--python-version=3.10", "--implementation=cp", "--abi=cp310", "--only-binary=:all:",
)
SOURCES = ("functions", "shared")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
#: The only bytecode shipped: python3.10's, beside its source (see the module docstring).
PYC_SUFFIX = ".cpython-310.pyc"
#: The code directory FC unpacks the zip into: the path compiled code names in its tracebacks.
CODE_DIR = "/code"
_SKIP_TOP = {"bin"}  # console scripts pip writes into --target: useless (and non-runnable) in FC
_MARKERS = {".complete", ".compiled"}  # the site cache's own stamps (install_site, compiled_site)


def find_python310() -> str:
    """The CPython 3.10 the package is built and checked with (the one the FC emulator runs functions in)."""
    try:
        return find_python("3.10")
    except RuntimeNotFoundError as exc:
        raise SystemExit(f"make package: {exc}") from None


def project() -> dict[str, object]:
    """pyproject.toml's [project] table."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(data["project"])


def runtime_requirements() -> list[str]:
    """The runtime dependencies: [project].dependencies, never an extra."""
    return [str(r) for r in project()["dependencies"]]  # type: ignore[attr-defined]


def revision() -> str:
    """The short commit id, ``-dirty`` when functions/, shared/, template.yml or pyproject.toml changed."""
    rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True, check=False).stdout.strip() or "norev"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *SOURCES, "pyproject.toml"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"{rev}-dirty" if dirty else rev


def _pip(python: str, *args: str) -> None:
    subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def build_sdist_wheels(python310: str, requirements: list[str], cache: Path = CACHE) -> Path:
    """Download the requirement closure with python3.10 and turn every sdist in it into a wheel."""
    downloads, wheels = cache / "downloads", cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    stamp = downloads / f".done-{_digest(requirements)}"
    if not stamp.exists():
        _pip(python310, "download", "-q", "-d", str(downloads), *requirements)
        stamp.touch()
    for sdist in sorted([*downloads.glob("*.tar.gz"), *downloads.glob("*.zip")]):
        built = wheels / f".{sdist.name}.built"
        if not built.exists():
            print(f"building a wheel from {sdist.name} with {python310}", flush=True)
            _pip(python310, "wheel", "-q", "--no-deps", "--use-pep517", "-w", str(wheels), str(sdist))
            built.touch()
    return wheels


def install_site(python310: str, cache: Path = CACHE) -> Path:
    """``pip install --target`` the runtime requirements for FC's platform; cached per requirement set."""
    requirements = runtime_requirements()
    site = cache / f"site-{_digest([*requirements, *PIP_TARGET_OPTIONS, 'pip of python3.10'])}"
    if (site / ".complete").exists():
        return site
    wheels = build_sdist_wheels(python310, requirements, cache)
    if site.exists():
        shutil.rmtree(site)
    # python3.10's own pip: environment markers (``async-timeout; python_version < "3.11"``) are evaluated
    # by the running interpreter, whatever --python-version says.
    _pip(python310, "install", "-q", "--no-compile", "--target", str(site), *PIP_TARGET_OPTIONS,
         "--find-links", str(wheels), *requirements)
    compile_tree(python310, site)
    (site / ".compiled").touch()
    (site / ".complete").touch()
    return site


def compile_tree(python310: str, root: Path) -> None:
    """python3.10's checked-hash bytecode beside every ``.py`` under ``root``, naming ``/code/…`` as its file.

    ``PYTHONHASHSEED=0``: a set literal is stored as a frozenset in the order of its strings' hashes, which
    are salted per process; a fixed seed makes the same source give the same bytes on every build."""
    subprocess.run([python310, "-m", "compileall", "-q", "-f", "-j", "0", "--invalidation-mode", "checked-hash",
                    "-s", str(root), "-p", CODE_DIR, str(root)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONHASHSEED": "0"})


def compiled_site(python310: str, cache: Path = CACHE) -> Path:
    """The installed dependencies with their bytecode (a site cached before bytecode shipped is compiled once)."""
    site = install_site(python310, cache)
    if not (site / ".compiled").exists():
        compile_tree(python310, site)
        (site / ".compiled").touch()
    return site


def own_sources(policy: Path | None) -> dict[str, Path | str]:
    """Archive name → file (or generated text) of the project's part: functions/, shared/, entry modules, policy."""
    files: dict[str, Path | str] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "__pycache__" not in rel.parts:
                files[rel.as_posix()] = path
    for name in function_names(ROOT / "functions"):
        files[f"{name}.py"] = entry_source(name)
    if policy is not None:
        files["policy.yml"] = policy
    return files


def stage_own(python310: str, policy: Path | None, stage: Path = CACHE / "own") -> Path:
    """The project's part of the package written out under ``stage`` and compiled (rebuilt on every build)."""
    if stage.exists():
        shutil.rmtree(stage)
    for name, source in own_sources(policy).items():
        target = stage / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, str):
            target.write_text(source)
        else:
            shutil.copyfile(source, target)
    compile_tree(python310, stage)
    return stage


def _digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def package_files(site: Path, own: Path) -> dict[str, Path | str]:
    """Archive name → file, for the whole package: the dependencies (``site``), then the project's part
    (``own``, from `stage_own`), each with python3.10's bytecode and nothing else of ``__pycache__``."""
    files: dict[str, Path | str] = {}
    for tree in (site, own):
        for path in sorted(tree.rglob("*")):
            rel = path.relative_to(tree)
            if path.is_file() and not _skipped(rel) and rel.parts[0] not in _SKIP_TOP and rel.as_posix() not in _MARKERS:
                files[rel.as_posix()] = path
    return files


def _skipped(rel: Path) -> bool:
    """Bytecode other than python3.10's own, beside its source: a build machine's interpreter's."""
    if rel.suffix != ".pyc":
        return "__pycache__" in rel.parts
    return not (rel.parent.name == "__pycache__" and rel.name.endswith(PYC_SUFFIX))


def write_zip(target: Path, files: dict[str, Path | str]) -> str:
    """Write the files sorted with fixed metadata; return the sha256 of the file list."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            source = files[name]
            data = source.encode() if isinstance(source, str) else source.read_bytes()
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = (0o100755 if name.endswith(".so") else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    tmp.replace(target)
    return hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()


def template_handlers() -> list[str]:
    """Every Handler of template.yml's ALIYUN::FC::Function resources."""
    import yaml

    doc = yaml.safe_load((ROOT / "template.yml").read_text())
    return sorted(r["Properties"]["Handler"] for r in doc["Resources"].values() if r.get("Type") == "ALIYUN::FC::Function")


def build(out: Path, policy: Path | None = None, clean: bool = True) -> Path:
    """Build, check and report; returns the zip path or raises ``PackageCheckError``."""
    if policy is not None:
        from shared.policy import load_policy

        load_policy(policy)  # a bad policy fails here (ConfigError names the field), not at the first tick
    python310 = find_python310()
    site = compiled_site(python310)
    version = str(project()["version"])
    target = out / f"image-relay-{version}-{revision()}.zip"
    if clean:
        for old in out.glob("image-relay-*.zip"):
            old.unlink()
    listing = write_zip(target, package_files(site, stage_own(python310, policy)))
    problems = (check_glibc(target) + check_handlers(target, template_handlers(), python310)
                + check_bytecode(target, python310))
    if problems:
        target.unlink()
        raise PackageCheckError("the package would not run on FC:\n  " + "\n  ".join(problems))
    for line in size_report(target):
        print(line)
    print(f"file list sha256 {listing}")
    print(f"handlers resolved with {python310} -I -S: {', '.join(template_handlers())}")
    print(f"glibc needs <= {'.'.join(map(str, (2, 28)))}")
    print(f"bytecode: every .py has its checked-hash {PYC_SUFFIX} (FC's /code is read-only)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.package", description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, help="policy YAML to ship as policy.yml at the package root")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default dist/)")
    args = parser.parse_args(argv)
    try:
        target = build(args.out, args.policy)
    except PackageCheckError as exc:
        print(f"make package: {exc}", file=sys.stderr)
        return 1
    print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
