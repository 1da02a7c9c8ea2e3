"""No import cycle inside shared/ or emulator/ (issue #12): the import graph of what runs at import time.

Why ast and not importing: a cycle that happens to load today (thanks to import order) breaks the day a
module is imported first from elsewhere. Edges are the module-level imports (not those under
``if TYPE_CHECKING:`` nor inside functions, which run later), to the module named and to each package
``__init__`` on the way to it (importing ``a.b.c`` runs ``a.b``'s ``__init__`` too), except one's own
parent packages (a package's ``__init__`` importing its own modules is the normal shape).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level_imports(tree: ast.Module, name: str, is_package: bool) -> list[str]:
    """Modules named by imports that run when the module is imported."""
    out: list[str] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and not _is_type_checking(node):
            todo += node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        elif isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append(module)
            out += [f"{module}.{alias.name}" for alias in node.names]
    return out


def import_graph(*packages: str) -> dict[str, set[str]]:
    """module → the modules of `packages` it imports at import time."""
    modules: dict[str, Path] = {}
    for package in packages:
        modules.update(_modules(package))
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        own_parents = {".".join(name.split(".")[:n]) for n in range(1, name.count(".") + 1)}
        edges: set[str] = set()
        tree = ast.parse(path.read_text(), filename=str(path))
        for target in _top_level_imports(tree, name, path.name == "__init__.py"):
            parts = target.split(".")
            for n in range(1, len(parts) + 1):
                step = ".".join(parts[:n])
                if step in modules and step != name and step not in own_parents:
                    edges.add(step)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_sees_a_cycle() -> None:
    # GIVEN a two-module cycle and a chain WHEN searched THEN only the cycle is reported
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


@pytest.mark.parametrize("package", ["shared", "emulator"])
def test_no_import_cycle(package: str) -> None:
    assert cycles(import_graph(package)) == []


def test_emulator_core_imports_no_service() -> None:
    # GIVEN the emulator's import graph WHEN core's imports are listed THEN none is a service package
    graph = import_graph("emulator")
    outside = {(module, target) for module, targets in graph.items() if module.startswith("emulator.core")
               for target in targets if not target.startswith("emulator.core")}
    assert outside == set()
