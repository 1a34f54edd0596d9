"""The import graph of the ``deepinside`` package, read from its source with :mod:`ast`.

Modules have absolute names (``deepinside.covariance``); module ``deepinside.a`` is the file
``src/deepinside/a.py`` or ``src/deepinside/a/__init__.py``. Every import counts, relative ones
and those inside functions included; imports of other packages are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "deepinside"
Graph = dict[str, set[str]]


def module_path(src: Path, module: str) -> Path | None:
    """The file of ``module`` under the source root ``src``, or None."""
    base = src.joinpath(*module.split("."))
    for path in (base / "__init__.py", base.with_name(base.name + ".py")):
        if path.is_file():
            return path
    return None


def module_name(src: Path, path: Path) -> str | None:
    """The module that the file ``path`` under ``src`` defines, or None for any other file."""
    try:
        parts = path.relative_to(src).with_suffix("").parts
    except ValueError:
        return None
    if path.suffix != ".py" or not parts:
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def package_modules(src: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` under ``src``: ``{name: file}``."""
    modules = {}
    for path in sorted((src / package).rglob("*.py")):
        name = module_name(src, path)
        if name is not None and module_path(src, name) == path:
            modules[name] = path
    return modules


def _nearest(name: str, known: set[str]) -> str | None:
    """The longest dotted prefix of ``name`` that is a known module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def _base(node: ast.ImportFrom, module: str | None, is_package: bool) -> str | None:
    """The absolute module a ``from ... import`` statement imports from."""
    if node.level == 0:
        return node.module
    if module is None:
        return None
    parts = (module if is_package else module.rpartition(".")[0]).split(".")
    if node.level - 1 >= len(parts):
        return None
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def source_imports(
    source: str, known: set[str], module: str | None = None, is_package: bool = False
) -> set[str]:
    """The ``known`` modules that Python ``source`` imports; ``module`` is its own name (None
    outside the package: relative imports are then ignored). Raises ``SyntaxError``."""
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {_nearest(alias.name, known) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _base(node, module, is_package)
            if base is not None:
                found |= {_nearest(f"{base}.{alias.name}", known) for alias in node.names}
    return {m for m in found if m is not None and m != module}


def module_graph(src: Path, package: str = PACKAGE) -> Graph:
    """The package's modules under ``src``, each with the package modules it imports."""
    modules = package_modules(src, package)
    known = set(modules)
    return {
        name: source_imports(path.read_text(), known, name, path.name == "__init__.py")
        for name, path in modules.items()
    }


def _parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts))}


def closure(graph: Graph, roots: Iterable[str]) -> set[str]:
    """The modules that importing ``roots`` runs: the roots, what they import transitively and
    the ``__init__`` of every parent package (Python runs it first)."""
    seen: set[str] = set()
    todo = [r for r in roots if r in graph]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += [m for m in graph[module] | _parents(module) if m in graph and m not in seen]
    return seen


def dependencies(source: str, graph: Graph) -> set[str]:
    """The package modules that running the Python ``source`` (a chapter) imports, transitively;
    every module when the source cannot be parsed."""
    try:
        return closure(graph, source_imports(source, set(graph)))
    except SyntaxError:
        return set(graph)


def find_cycles(graph: Graph) -> list[list[str]]:
    """Every import cycle: the strongly connected components with more than one module, or one
    module importing itself, each sorted (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)
