"""The RAM actions image-relay's cloud adapters can call, derived from the code (FC timer cron: ``emulator.fc.cron``).

Why it exists: template.yml grants the function role exactly these actions, and the meta-tests
(tests/deploy/test_template.py) compare the two, so a new SDK call in an adapter fails a test until the
template grants it, and a grant nobody calls any more fails too.

How the actions are derived (no hand list of actions):
- The adapters that count are the modules of ``shared/clouds/`` that import an SDK AND that the FC
  handlers can reach: every ``import`` (function-level ones included) is followed from
  ``functions/<name>/handler.py``. ``shared/clouds/fc.py`` is used by the operator CLI only (remote
  invoke from a workstation), so it is not the function role's business -- until a handler reaches it.
  The RAM service prefix comes from the SDK imported: ``alibabacloud_ecs20140526`` -> ``ecs``,
  ``alibabacloud_cr20181201`` -> ``cr``, ``alibabacloud_fc_open20210406`` -> ``fc``, ``oss2`` -> ``oss``.
- RPC/ROA adapters dispatch by method name, ``self._call(region, "describe_images", request)`` or
  ``self._pages(region, "list_repository", ...)``, or call the client directly
  (``self._client.invoke_function_with_options(...)``). Each dispatched name must be a method of the SDK
  client the adapter imports, and the API action is read from the SDK itself: the ``action='...'``
  literal in the client's ``<name>_with_options`` source (``describe_task_attribute`` ->
  ``DescribeTaskAttribute``, ``copy_image`` -> ``CopyImage``).
- The OSS adapter calls ``oss2.Bucket`` methods; each one used is mapped to its RAM action by
  ``OSS_METHOD_ACTIONS`` (OSS authorizes HEAD with ``oss:GetObject`` and ListObjectsV2 with
  ``oss:ListObjects``). A Bucket method missing from that table is reported, never guessed.

``python -m scripts.ram`` prints the derived actions, one a line.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One FC cron grammar for the whole project (issue #11): the emulator's parser, which also fires the local
# timers; re-exported for the template checks.
from emulator.fc.cron import Cron, CronError, parse_cron  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
CLOUDS = ROOT / "shared" / "clouds"

#: oss2.Bucket method -> the RAM action OSS checks for it.
OSS_METHOD_ACTIONS: dict[str, str] = {
    "put_object": "PutObject",
    "put_object_from_file": "PutObject",
    "get_object": "GetObject",
    "get_object_to_file": "GetObject",
    "head_object": "GetObject",  # HEAD is authorized as GetObject
    "object_exists": "GetObject",  # a HEAD request
    "get_object_meta": "GetObject",
    "delete_object": "DeleteObject",
    "batch_delete_objects": "DeleteObject",
    "list_objects": "ListObjects",
    "list_objects_v2": "ListObjects",  # RAM has no separate ListObjectsV2 action
}

_SDK_MODULE = re.compile(r"^alibabacloud_([a-z]+)(?:_[a-z]+)?\d{8}(\.|$)")
_ACTION_LITERAL = re.compile(r"\baction\s*=\s*['\"]([A-Za-z0-9]+)['\"]")


@dataclass
class Derivation:
    """What the adapters can call: ``actions`` like ``ecs:CopyImage``, and the problems found."""

    actions: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    #: action -> where it was found ("shared/clouds/ecs.py:123 copy_image")
    sources: dict[str, list[str]] = field(default_factory=dict)

    def add(self, action: str, where: str) -> None:
        self.actions.add(action)
        self.sources.setdefault(action, []).append(where)


def _imports_sdk(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        # the credentials chain calls no API with the function's role (FC's context comes first)
        names = [n for n in names if not n.startswith("alibabacloud_credentials")]
        if any(n == "oss2" or n.startswith("oss2.") or n.startswith("alibabacloud_") for n in names):
            return True
    return False


def _sdk_of(tree: ast.Module) -> tuple[str | None, str | None, str | None]:
    """(RAM prefix, SDK client module, local alias of the client class) from an adapter's imports."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "oss2":
                    return "oss", "oss2", None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            match = _SDK_MODULE.match(node.module)
            if match and node.module.endswith(".client"):
                for alias in node.names:
                    if alias.name == "Client":
                        return match.group(1), node.module, alias.asname or alias.name
    return None, None, None


def _dispatched_names(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """``self._<plumbing>(region, "<sdk method>", ...)`` calls: (line, method name)."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        if not (isinstance(target, ast.Name) and target.id == "self" and node.func.attr.startswith("_")):
            continue
        if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            yield node.lineno, node.args[1].value


def _attribute_calls(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node.lineno, node.func.attr


def _direct_client_calls(tree: ast.Module, client: Any) -> Iterator[tuple[int, str]]:
    """``<expr>.<client method>(...)`` calls, ``*_with_options`` reduced to the plain method name."""
    for line, name in _attribute_calls(tree):
        base = name.removesuffix("_with_options")
        if hasattr(client, f"{base}_with_options"):
            yield line, base


def sdk_action(client: Any, method: str) -> str | None:
    """The API action an SDK client method sends, read from its ``*_with_options`` source."""
    target = getattr(client, f"{method}_with_options", None)
    if target is None:
        return None
    found = set(_ACTION_LITERAL.findall(inspect.getsource(target)))
    return found.pop() if len(found) == 1 else None


def derive_module(path: Path, *, client: Any = None, bucket_class: Any = None) -> Derivation:
    """The actions one adapter source file can call (``client``/``bucket_class`` override the SDK's)."""
    result = Derivation()
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    prefix, sdk_module, _alias = _sdk_of(tree)
    if prefix is None or sdk_module is None:
        if _imports_sdk(tree):
            result.problems.append(f"{rel}: imports an SDK whose RAM service prefix is unknown to scripts/ram.py")
        return result
    if prefix == "oss":
        bucket = bucket_class or importlib.import_module("oss2").Bucket
        methods = {n for n in dir(bucket) if not n.startswith("_") and callable(getattr(bucket, n))}
        for line, name in _attribute_calls(tree):
            if name not in methods:
                continue
            action = OSS_METHOD_ACTIONS.get(name)
            if action is None:
                result.problems.append(f"{rel}:{line}: oss2.Bucket.{name} has no RAM action in OSS_METHOD_ACTIONS")
            else:
                result.add(f"oss:{action}", f"{rel}:{line} {name}")
        return result
    sdk_client = client or importlib.import_module(sdk_module).Client
    for line, name in [*_dispatched_names(tree), *_direct_client_calls(tree, sdk_client)]:
        action = sdk_action(sdk_client, name)
        if action is None:
            result.problems.append(f"{rel}:{line}: {name!r} is not a method of {sdk_module}.Client")
        else:
            result.add(f"{prefix}:{action}", f"{rel}:{line} {name}")
    return result


def _module_path(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(tree: ast.Module, root: Path) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:  # `from shared.clouds import ecs` imports a module too
                if _module_path(f"{node.module}.{alias.name}", root) is not None:
                    yield f"{node.module}.{alias.name}"


def reachable_modules(entries: Iterable[str], root: Path = ROOT,
                      sources: dict[str, str] | None = None) -> set[str]:
    """Project modules (``functions.*``/``shared.*``) that ``entries`` import, directly or not.

    Every import statement counts, also those inside functions (the handlers load SDKs lazily), and a
    package's ``__init__`` counts when one of its modules is imported. ``sources`` overrides or adds
    module texts (tests use it to add a handler).
    """
    sources = sources or {}
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen or module.split(".")[0] not in ("functions", "shared"):
            continue
        path = _module_path(module, root)
        if module in sources:
            text = sources[module]
        elif path is not None:
            text = path.read_text(encoding="utf-8")
        else:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += list(_imported_modules(ast.parse(text), root))
    return seen


def handler_modules(root: Path = ROOT) -> list[str]:
    """``functions.<name>.handler`` for every function folder."""
    return sorted(f"functions.{p.parent.name}.handler" for p in (root / "functions").glob("*/handler.py"))


def adapter_modules(root: Path = ROOT, sources: dict[str, str] | None = None) -> list[Path]:
    """The adapter source files the handlers reach: modules of shared/clouds/ (types modules import no SDK)."""
    reached = reachable_modules(handler_modules(root), root, sources)
    paths = [_module_path(m, root) for m in sorted(reached) if m.startswith("shared.clouds.")]
    return [p for p in paths if p is not None and not p.name.startswith("_")]


def derive_actions(paths: Iterable[Path] | None = None) -> Derivation:
    """Every RAM action the adapters the handlers reach can call, with the problems found on the way."""
    total = Derivation()
    for path in adapter_modules() if paths is None else paths:
        part = derive_module(path)
        total.problems += part.problems
        for action, places in part.sources.items():
            for where in places:
                total.add(action, where)
    return total


def main(argv: list[str] | None = None) -> int:
    """Print the derived actions (and any problem, exit code 1)."""
    derived = derive_actions()
    for action in sorted(derived.actions):
        print(action)
    for problem in derived.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if derived.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
