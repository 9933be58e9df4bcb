"""The packages' import graph: no cycles, and the dependency direction DESIGN.md sets.

Read from the source with ``ast`` (nothing is imported): every ``import`` counts, at module
level, inside functions and under ``if TYPE_CHECKING``, since a function-level import that
closes a cycle is still a cycle, only one that fails later.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("spatial", "ingest", "jobs", "webapp")
#: what each package may import besides itself (DESIGN.md, "Layout and dependency direction")
MAY_IMPORT = {"spatial": set(), "ingest": {"spatial"}, "jobs": {"spatial"}, "webapp": {"spatial", "ingest", "jobs"}}
#: pure helpers in spatial import no database code
PURE_HELPERS = ("spatial.geometry", "spatial.raster", "spatial.zonal")
DATABASE_CODE = ("sqlalchemy", "geoalchemy2", "psycopg", "alembic", "spatial.db", "spatial.models")


def _module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _imported_names(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every dotted name the module imports (``from a import b`` yields ``a.b``), with its line."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def _import_graph() -> dict[str, dict[str, int]]:
    """module -> {module of the four packages it imports: line of the first such import}.

    Python running a package's ``__init__`` before any of its submodules is not an edge of its
    own: it closes no cycle unless the submodule imports names from the package, and that
    import is written down and counts.
    """
    modules = _module_files()
    graph: dict[str, dict[str, int]] = {m: {} for m in modules}
    for module, path in modules.items():
        for name, line in _imported_names(module, path):
            # the most specific module the name denotes: a.b.c is module a.b.c, or a name in a.b, or in a
            target = name
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != module:
                graph[module].setdefault(target, line)
    return graph


def _tangles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module: each one's modules import each other (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(components)


def _cycle(graph: dict[str, dict[str, int]], tangle: list[str]) -> list[str]:
    """The shortest cycle from the tangle's first module back to itself."""
    members = set(tangle)
    start = tangle[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while start not in came_from:  # breadth-first, within the tangle
        reached = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w in members and w not in came_from:
                    came_from[w] = v
                    reached.append(w)
        frontier = reached
    back, node = [], came_from[start]
    while node != start:
        back.append(node)
        node = came_from[node]
    return [start, *reversed(back), start]


def _describe(graph: dict[str, dict[str, int]], path: list[str]) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in pairwise(path)) + f" -> {path[-1]}"


def test_no_module_imports_one_that_imports_it_back():
    graph = _import_graph()
    assert len(graph) > 50  # the walk found the packages
    assert "jobs.registry" in graph["webapp.cli.jobs"]  # and the imports inside functions
    tangles = _tangles(graph)
    assert not tangles, "import cycles:\n" + "\n".join(
        f"{_describe(graph, _cycle(graph, t))}\n  (modules in this tangle: {', '.join(t)})" for t in tangles
    )


def test_packages_import_in_the_designed_direction():
    graph = _import_graph()
    wrong = [
        f"{module} imports {target} (line {line})"
        for module, targets in graph.items()
        for target, line in targets.items()
        if (pkg := target.split(".")[0]) != module.split(".")[0] and pkg not in MAY_IMPORT[module.split(".")[0]]
    ]
    assert not wrong, "imports against DESIGN.md's direction:\n" + "\n".join(wrong)


def test_pure_spatial_helpers_import_no_database_code():
    modules = _module_files()
    wrong = [
        f"{module} imports {name} (line {line})"
        for module in PURE_HELPERS
        for name, line in _imported_names(module, modules[module])
        if any(name == db or name.startswith(db + ".") for db in DATABASE_CODE)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checks_see_a_cycle_and_name_it():
    graph = {"a": {"b": 3}, "b": {"c": 5}, "c": {"a": 7, "d": 1}, "d": {}}
    assert _tangles(graph) == [["a", "b", "c"]]
    assert _cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    assert _describe(graph, ["a", "b", "c", "a"]) == "a (line 3) -> b (line 5) -> c (line 7) -> a"
