"""Checks `make package` runs on the zip it built: glibc needs, handlers that resolve, a size report.

Why each check exists (issue #11):

* FC's python3.10 runtime is Debian 10, glibc 2.28. A wheel tagged ``manylinux_2_34`` installs fine on a
  newer build machine and fails on the first import in FC, so every ELF shared object in the zip is read
  (pyelftools: the ``GLIBC_x.y`` entries of its ``.gnu.version_r`` section) and the build fails above 2.28.
* A Handler template.yml names but the zip cannot import fails only at the first invocation, so each one is
  imported from the unpacked zip by python3.10 in isolated mode with no site-packages (``-I -S``): the
  stdlib and the code directory only, as FC loads it.
* FC's code directory is read-only, so bytecode that python3.10 would not accept (missing, another
  interpreter's, timestamp-based, or compiled from another version of the source) means compiling from source
  at every cold start, or worse running stale code: each ``.py`` is checked against its
  ``__pycache__/*.cpython-310.pyc`` by python3.10 itself (magic number, checked-hash flags, source hash).
"""
from __future__ import annotations

import io
import re
import subprocess
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

#: The glibc of FC's python3.10 runtime (Debian 10); alibaba-api.md §5 / house-style §13.
MAX_GLIBC = (2, 28)
_GLIBC = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")
_SHARED_OBJECT = re.compile(r"\.so(\.[0-9.]+)?$|\.cpython-[^/]*\.so$")


class PackageCheckError(RuntimeError):
    """The built package would not run on FC; the message lists every offender."""


def glibc_needs(data: bytes) -> set[tuple[int, ...]]:
    """The ``GLIBC_x.y`` versions an ELF image needs (empty for a non-ELF or a static object)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    if not data.startswith(b"\x7fELF"):
        return set()
    try:
        elf = ELFFile(io.BytesIO(data))
        found: set[tuple[int, ...]] = set()
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _verneed, auxiliaries in section.iter_versions():
                    for aux in auxiliaries:
                        match = _GLIBC.match(aux.name)
                        if match:
                            found.add(tuple(int(g) for g in match.groups() if g is not None))
        return found
    except ELFError as exc:
        raise PackageCheckError(f"unreadable ELF object: {exc}") from exc


def check_glibc(zip_path: Path, limit: tuple[int, int] = MAX_GLIBC) -> list[str]:
    """Every shared object in the zip whose glibc need exceeds ``limit``, as ``name: GLIBC_x.y``."""
    problems = []
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            if not _SHARED_OBJECT.search(name):
                continue
            needs = glibc_needs(archive.read(name))
            worst = max(needs, default=(0,))
            if worst > limit:
                version = ".".join(map(str, worst))
                problems.append(f"{name}: needs GLIBC_{version} > {'.'.join(map(str, limit))} (FC python3.10)")
    return problems


_IMPORT_CHECK = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
out = {}
for spec in sys.argv[2:]:
    module, _, attr = spec.partition(".")
    try:
        out[spec] = "ok" if callable(getattr(importlib.import_module(module), attr, None)) else "not callable"
    except Exception as exc:
        out[spec] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def check_handlers(zip_path: Path, handlers: list[str], python: str) -> list[str]:
    """Import every ``<file>.<function>`` from the unpacked zip with ``python -I -S`` (stdlib + zip only)."""
    import json

    problems = [f"{h}: not FC's <file>.<function> form" for h in handlers if h.count(".") != 1]
    with tempfile.TemporaryDirectory(prefix="image-relay-code-") as code:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(code)
        run = subprocess.run([python, "-I", "-S", "-c", _IMPORT_CHECK, code, *handlers],
                             capture_output=True, text=True, timeout=300, cwd=code, check=False)
    if run.returncode != 0:
        return [*problems, f"the import check failed: {run.stderr.strip()[-2000:]}"]
    results = json.loads(run.stdout)
    return problems + [f"{spec}: {result}" for spec, result in sorted(results.items()) if result != "ok"]


_BYTECODE_CHECK = """
import importlib.util, json, os, sys
root, out = sys.argv[1], []
for folder, dirs, names in os.walk(root):
    dirs[:] = [d for d in dirs if d != "__pycache__"]
    for name in names:
        if not name.endswith(".py"):
            continue
        source = os.path.join(folder, name)
        rel = os.path.relpath(source, root)
        try:
            with open(importlib.util.cache_from_source(source), "rb") as f:
                head = f.read(16)
        except FileNotFoundError:
            out.append(rel + ": no python3.10 bytecode")
            continue
        with open(source, "rb") as f:
            digest = importlib.util.source_hash(f.read())
        if head[:4] != importlib.util.MAGIC_NUMBER:
            out.append(rel + ": bytecode of another Python")
        elif int.from_bytes(head[4:8], "little") != 0b11:
            out.append(rel + ": bytecode not checked-hash")
        elif head[8:16] != digest:
            out.append(rel + ": bytecode of another version of the source")
print(json.dumps(sorted(out)))
"""


def check_bytecode(zip_path: Path, python: str) -> list[str]:
    """Every ``.py`` of the unpacked zip has python3.10's checked-hash bytecode of exactly that source."""
    import json

    with tempfile.TemporaryDirectory(prefix="image-relay-code-") as code:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(code)
        run = subprocess.run([python, "-I", "-S", "-c", _BYTECODE_CHECK, code], capture_output=True, text=True,
                             timeout=300, check=False)
    if run.returncode != 0:
        return [f"the bytecode check failed: {run.stderr.strip()[-2000:]}"]
    return list(json.loads(run.stdout))


def size_report(zip_path: Path, top: int = 8) -> list[str]:
    """The zip's size and its largest top-level parts (compressed bytes), largest first."""
    parts: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            head = info.filename.split("/", 1)[0]
            parts[head] += info.compress_size
    lines = [f"{zip_path.name}: {zip_path.stat().st_size / 1e6:.1f} MB, {len(parts)} top-level entries"]
    lines += [f"  {size / 1e6:6.2f} MB  {name}" for name, size in parts.most_common(top)]
    return lines
