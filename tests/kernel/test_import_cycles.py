"""No import cycle inside shared/ or emulator/ (issue #12): the import graph of what runs at import time.

Why ast and not importing: a cycle that happens to load today (thanks to import order) breaks the day a
module is imported first from elsewhere. Edges are the module-level imports (not those under
``if TYPE_CHECKING:`` nor inside functions, which run later), to the module named and to each package
``__init__`` on the way to it (importing ``a.b.c`` runs ``a.b``'s ``__init__`` too), except one's own
parent packages (a package's ``__init__`` importing its own modules is the normal shape).

No two modules refer to each other even for types (``types=True`` walks ``if TYPE_CHECKING:`` too): two
objects that hold each other (``self.fc = fc`` in an object ``fc`` holds) need each other's class names, so
a back-reference shows as a type-only cycle. The emulator's objects are also walked as built (the services
and a router): no two of them may hold each other.
"""
from __future__ import annotations

import ast
import types as pytypes
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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


def _top_level_imports(tree: ast.Module, name: str, is_package: bool, types: bool = False) -> list[str]:
    """Modules named by imports that run when the module is imported (and, with ``types``, type-only ones)."""
    out: list[str] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and (types or not _is_type_checking(node)):
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


def import_graph(*packages: str, types: bool = False) -> dict[str, set[str]]:
    """module → the modules of `packages` it imports at import time (with ``types``: for annotations too)."""
    modules: dict[str, Path] = {}
    for package in packages:
        modules.update(_modules(package))
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        own_parents = {".".join(name.split(".")[:n]) for n in range(1, name.count(".") + 1)}
        edges: set[str] = set()
        tree = ast.parse(path.read_text(), filename=str(path))
        for target in _top_level_imports(tree, name, path.name == "__init__.py", types):
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


@pytest.mark.parametrize("package", ["shared", "emulator"])
def test_no_two_modules_refer_to_each_other_even_for_types(package: str) -> None:
    assert cycles(import_graph(package, types=True)) == []


def test_the_type_only_graph_sees_a_type_checking_import() -> None:
    # GIVEN a module importing another only for its annotations WHEN graphed with and without types THEN
    # only the type-aware graph has the edge
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from emulator.fc.urls import X\n")
    assert _top_level_imports(tree, "emulator.fc.router", False) == ["typing", "typing.TYPE_CHECKING"]
    assert "emulator.fc.urls" in _top_level_imports(tree, "emulator.fc.router", False, types=True)


# A subscription is not a back-reference: the state calls whoever subscribed (core knows no service).
_SUBSCRIPTIONS = {("State", "listeners")}


def mutual_holds(roots: Iterable[Any], ours: Callable[[Any], bool]) -> set[tuple[str, str]]:
    """Class-name pairs of two distinct objects reachable from ``roots`` that hold each other: as an
    attribute, a bound method's object, or inside a list, tuple, set or dict held as an attribute."""
    def held(obj: Any) -> list[Any]:
        out: list[Any] = []

        def add(value: Any, depth: int) -> None:
            value = value.__self__ if isinstance(value, pytypes.MethodType) else value
            if ours(value) and not isinstance(value, type):
                out.append(value)
            elif depth < 2 and isinstance(value, (list, tuple, set, frozenset)):
                for item in value:
                    add(item, depth + 1)
            elif depth < 2 and isinstance(value, dict):
                for item in value.values():
                    add(item, depth + 1)

        for attr, value in getattr(obj, "__dict__", {}).items():
            if (type(obj).__name__, attr) not in _SUBSCRIPTIONS:
                add(value, 0)
        return out

    seen: dict[int, Any] = {}
    edges: set[tuple[int, int]] = set()
    todo = list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen[id(obj)] = obj
        for other in held(obj):
            if other is not obj:
                edges.add((id(obj), id(other)))
            todo.append(other)
    return {tuple(sorted((type(seen[a]).__name__, type(seen[b]).__name__)))  # type: ignore[misc]
            for a, b in edges if (b, a) in edges}


def test_the_object_walker_sees_a_back_reference() -> None:
    # GIVEN a holds b and b holds a (through a bound method), c holds a WHEN walked THEN only (A, B) is reported
    class A:
        pass

    class B:
        def hello(self) -> None: ...

    class C:
        pass

    a, b, c = A(), B(), C()
    a.callbacks = [b.hello]  # type: ignore[attr-defined]
    b.owner = a  # type: ignore[attr-defined]
    c.a = a  # type: ignore[attr-defined]
    assert mutual_holds([c], lambda o: isinstance(o, (A, B, C))) == {("A", "B")}


def test_no_two_emulator_objects_hold_each_other() -> None:
    # GIVEN the emulator's services as the server builds them, and an FC event router WHEN their objects are
    # walked THEN no two hold each other (the FC service and its management calls used to)
    from emulator.core.state import State
    from emulator.fc.router import EventRouter
    from emulator.server import default_services

    services = default_services(State())
    fc = next(s for s in services if type(s).__name__ == "FcService")
    EventRouter(fc, {})
    assert mutual_holds(services, lambda o: type(o).__module__.startswith("emulator.")) == set()
