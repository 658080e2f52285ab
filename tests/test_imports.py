"""The package's import graph: no cycles, and no module imports the package root.

The graph is read from the source with ``ast``, so it sees every import,
including the ones inside functions (a lazy import that closes a cycle is
still a cycle: the two modules cannot be understood apart). Imports under
``if TYPE_CHECKING:`` are left out, since they never run.

An import of ``a.b.c`` runs the ``__init__`` of ``a.b`` first, so it counts
as an edge to the parent packages too, except the importer's own packages
(they are already being imported when it runs) and the root.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "minitorchless"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, skipping the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(root: Path, package: str) -> tuple[dict[str, set[str]], list[str]]:
    """The package's modules -> the package modules each imports; and root imports found.

    Returns:
        The graph, and one ``"module: statement"`` line per import of the root.
    """
    paths = {_module_name(path, root): path for path in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    root_imports = []
    for name, path in paths.items():
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = (
                        name.split(".")[: -node.level]
                        if path.name != "__init__.py"
                        else (name.split(".")[: len(name.split(".")) - node.level + 1])
                    )
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                targets = [
                    f"{module}.{alias.name}" if f"{module}.{alias.name}" in paths else module
                    for alias in node.names
                ]
                if module == package and name != package:
                    root_imports.append(f"{name}: {ast.unparse(node)}")
            else:
                targets = [alias.name for alias in node.names]
                if any(alias.name == package for alias in node.names) and name != package:
                    root_imports.append(f"{name}: {ast.unparse(node)}")
            for target in targets:
                parts = target.split(".")
                # the module itself and every parent package but the root, except
                # the importer's own packages: they are already being imported
                for end in range(2, len(parts) + 1):
                    dependency = ".".join(parts[:end])
                    own = dependency == name or name.startswith(dependency + ".")
                    if dependency in paths and not own:
                        graph[name].add(dependency)
    return graph, root_imports


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path ``[a, b, ..., a]``, or ``None`` if it has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        iterators = [iter(sorted(graph[start]))]
        state[start] = 1
        while iterators:
            step = next(iterators[-1], None)
            if step is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if state.get(step) == 1:
                return [*path[path.index(step) :], step]
            if not state.get(step):
                state[step] = 1
                path.append(step)
                iterators.append(iter(sorted(graph.get(step, ()))))
    return None


def test_the_package_has_no_import_cycle() -> None:
    graph, _ = import_graph(ROOT, PACKAGE)
    assert len(graph) > 30  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_the_package_root() -> None:
    _, root_imports = import_graph(ROOT, PACKAGE)
    assert not root_imports, (
        "import from the defining module instead of the package root:\n" + "\n".join(root_imports)
    )


# -------------------------------------------- the checks can fail: a bad package
def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_a_lazy_cycle_and_a_root_import(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import f\n",
            "pkg/a.py": "from pkg.sub.b import g\n\ndef f():\n    return g()\n",
            "pkg/sub/__init__.py": "",
            # a lazy import, and still a cycle
            "pkg/sub/b.py": "def g():\n    from pkg.a import f\n    return f\n",
            "pkg/c.py": "import pkg\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from pkg.d import h\n",
            "pkg/d.py": "from pkg.c import *\n",
        },
    )
    graph, root_imports = import_graph(tmp_path, "pkg")
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    assert root_imports == ["pkg.c: import pkg"]
    assert "pkg.d" not in graph["pkg.c"]  # TYPE_CHECKING imports never run


@pytest.mark.parametrize(
    ("edges", "acyclic"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, True),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, False),
        ({"a": {"a"}}, False),
        ({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, True),
    ],
)
def test_find_cycle_on_small_graphs(edges: dict[str, set[str]], acyclic: bool) -> None:
    cycle = find_cycle(edges)
    assert (cycle is None) == acyclic
    if cycle is not None:
        assert cycle[0] == cycle[-1]
        assert all(b in edges[a] for a, b in itertools.pairwise(cycle))
