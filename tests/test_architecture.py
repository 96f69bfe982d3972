"""The package's shape: no import cycles, no overlong modules, datasets below features.

Read with ``ast`` only (nothing of crossmodal is imported), so these checks run in any env.

Import edges: every ``import crossmodal...`` and ``from crossmodal... import ...`` statement of a
module, wherever it stands: at the top, inside a function, under ``if TYPE_CHECKING:`` or in a
``try``. A lazy import still couples the two modules (the one cannot be understood, moved or
type-checked without the other), so it counts. ``from crossmodal.x import y`` is an edge to
``crossmodal.x.y`` when that is a module, else to ``crossmodal.x``; a package stands for its
``__init__.py``. What is not an edge: the ``_WHERE`` string maps that package ``__init__``
files hand to ``crossmodal._lazy.lazy_exports`` (strings, not import statements), and the
parent packages that Python runs before a submodule (counting those would make every
``__init__`` that names its submodules under ``TYPE_CHECKING`` a cycle with each of them).
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "crossmodal"
MAX_LINES = 600
#: The one direction allowed between the two packages: features are computed from the raw
#: datasets (their readers, splits and PairedSet), so ``features`` may import ``datasets``;
#: ``datasets`` (reading files, assembling pairs) never needs what features compute.
LOWER, UPPER = f"{PACKAGE}.datasets", f"{PACKAGE}.features"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(src: Path = SRC) -> dict[str, Path]:
    return {_module_name(p, src): p for p in sorted((src / PACKAGE).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of dotted ``name`` that is a module of the package (None: outside it)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute dotted name a ``from`` import reads from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _edges_of(module: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Edge] = []
    for node in ast.walk(tree):
        targets: list[str | None] = []
        if isinstance(node, ast.Import):
            targets = [_resolve(a.name, modules) for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, path.name == "__init__.py")
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else _resolve(base, modules))
        found += [Edge(module, t, node.lineno) for t in targets if t is not None and t != module]
    return found


def _graph(src: Path = SRC) -> tuple[dict[str, Path], dict[str, dict[str, Edge]]]:
    """Modules and, per module, its import targets (the first import statement of each)."""
    modules = _modules(src)
    graph: dict[str, dict[str, Edge]] = {m: {} for m in modules}
    for module, path in modules.items():
        for edge in sorted(_edges_of(module, path, modules), key=lambda e: e.line):
            graph[module].setdefault(edge.target, edge)
    return modules, graph


def _strongly_connected(graph: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), those with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def _shortest_path(graph: dict[str, dict[str, Edge]], start: str, goal: str, within: set[str]) -> list[str]:
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for nxt in sorted(graph[node]):
            if nxt in within and nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    path = [goal]
    while previous[path[-1]] is not None:
        path.append(previous[path[-1]])
    return path[::-1]


def _cycles(graph: dict[str, dict[str, Edge]], component: list[str]) -> list[list[str]]:
    """For every import edge inside ``component``, a shortest cycle through it (duplicates once).

    Every edge of the component lies on one of the cycles listed, so breaking them all breaks
    the component."""
    within = set(component)
    seen: set[tuple[str, ...]] = set()
    cycles = []
    for source in component:
        for target in sorted(graph[source]):
            if target not in within:
                continue
            cycle = [source] + _shortest_path(graph, target, source, within)
            ring = cycle[:-1]
            turn = ring.index(min(ring))
            key = tuple(ring[turn:] + ring[:turn])
            if key not in seen:
                seen.add(key)
                cycles.append(list(key) + [key[0]])
    return sorted(cycles, key=lambda c: (len(c), c))


def _short(module: str) -> str:
    return module.removeprefix(f"{PACKAGE}.")


def _describe(graph: dict[str, dict[str, Edge]], cycle: list[str]) -> str:
    steps = [f"{_short(a)} (line {graph[a][b].line})" for a, b in zip(cycle, cycle[1:])]
    return " -> ".join(steps + [_short(cycle[-1])])


def test_the_analysis_sees_every_kind_of_import(tmp_path):
    """The graph builder itself: lazy, TYPE_CHECKING, relative and package imports are edges,
    ``_WHERE`` strings are not, and a cycle is found and spelt out."""
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('_WHERE = {"thing": "a"}\n')
    (pkg / "_lazy.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from crossmodal.sub import b\n")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import X\n")
    (pkg / "c.py").write_text("import crossmodal.a\nimport crossmodal.sub\nfrom crossmodal import _lazy\n")
    _, graph = _graph(tmp_path)
    assert set(graph[PACKAGE]) == set()
    assert set(graph[f"{PACKAGE}.c"]) == {f"{PACKAGE}.a", f"{PACKAGE}.sub", f"{PACKAGE}._lazy"}
    (component,) = _strongly_connected(graph)
    assert component == [f"{PACKAGE}.a", f"{PACKAGE}.c", f"{PACKAGE}.sub.b"]
    (cycle,) = _cycles(graph, component)
    assert _describe(graph, cycle) == "a (line 2) -> sub.b (line 3) -> c (line 1) -> a"


def test_no_import_cycles():
    _, graph = _graph()
    components = _strongly_connected(graph)
    lines = []
    for component in components:
        lines.append(f"* {len(component)} modules: {', '.join(_short(m) for m in component)}")
        lines += [f"    {_describe(graph, cycle)}" for cycle in _cycles(graph, component)]
    assert not components, (
        f"{len(components)} import cycle(s) among crossmodal's modules (lazy and TYPE_CHECKING imports "
        "count; the line is the import statement's in the module before it):\n" + "\n".join(lines)
    )


def test_no_module_over_the_line_limit():
    modules = _modules()
    long = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in modules.items()}
    over = sorted((n, str(modules[m].relative_to(SRC.parent))) for m, n in long.items() if n > MAX_LINES)
    assert not over, f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(f"* {p}: {n}" for n, p in over)


@pytest.mark.parametrize(("lower", "upper"), [(LOWER, UPPER)])
def test_datasets_and_features_depend_one_way(lower, upper):
    _, graph = _graph()

    def inside(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    upward = [e for m, targets in graph.items() if inside(m, lower)
              for e in targets.values() if inside(e.target, upper)]
    assert not upward, (
        f"{_short(upper)} may import {_short(lower)}, never the reverse; move what is needed into "
        f"{_short(lower)}:\n" + "\n".join(f"* {_short(e.source)} (line {e.line}) imports {_short(e.target)}"
                                          for e in upward)
    )
