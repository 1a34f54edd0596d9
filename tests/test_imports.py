"""The package's import graph: no cycle anywhere, and the closures the incremental build uses."""

from pathlib import Path

import pytest

from conftest import ROOT
from deepinside.book import imports

SRC = ROOT / "src"


def test_the_package_has_no_import_cycle():
    graph = imports.module_graph(SRC)
    assert "deepinside.book.build" in graph and "deepinside.book.teaching" in graph
    assert imports.find_cycles(graph) == []


def test_no_science_module_imports_the_book_tooling():
    graph = imports.module_graph(SRC)
    tooling = {m for m in graph if m.startswith("deepinside.book")}
    assert not {m for m, deps in graph.items() if m not in tooling and deps & tooling}


@pytest.mark.parametrize(
    "graph, cycles",
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"a"}, "b": set()}, [["a"]]),
        ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_find_cycles(graph, cycles):
    assert imports.find_cycles(graph) == cycles


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def src(tmp_path):
    """A package ``deepinside`` with a subpackage, relative and function-level imports."""
    pkg = tmp_path / "deepinside"
    write(pkg / "__init__.py", "")
    write(pkg / "a.py", "from . import b\nimport numpy\n")
    write(pkg / "b.py", "def f():\n    from .sub.c import g\n    return g\n")
    write(pkg / "sub" / "__init__.py", "from ..d import D\n")
    write(pkg / "sub" / "c.py", "import deepinside.e as e\n\ng = e\n")
    write(pkg / "d.py", "D = 1\n")
    write(pkg / "e.py", "from deepinside import d, missing\n")
    write(pkg / "lonely.py", "import os\n")
    return tmp_path


def test_module_graph_of_a_synthetic_package(src):
    assert imports.module_graph(src) == {
        "deepinside": set(),
        "deepinside.a": {"deepinside.b"},
        "deepinside.b": {"deepinside.sub.c"},
        "deepinside.sub": {"deepinside.d"},
        "deepinside.sub.c": {"deepinside.e"},
        "deepinside.d": set(),
        "deepinside.e": {"deepinside.d", "deepinside"},
        "deepinside.lonely": set(),
    }


def test_closure_follows_imports_and_parent_packages(src):
    graph = imports.module_graph(src)
    assert imports.closure(graph, ["deepinside.a"]) == {
        "deepinside",
        "deepinside.a",
        "deepinside.b",
        "deepinside.sub",
        "deepinside.sub.c",
        "deepinside.d",
        "deepinside.e",
    }
    assert imports.closure(graph, ["deepinside.d"]) == {"deepinside", "deepinside.d"}
    assert imports.closure(graph, ["numpy"]) == set()


def test_dependencies_of_a_chapter(src):
    graph = imports.module_graph(src)
    chapter = "import torch\nfrom deepinside.sub import c\n"
    assert imports.dependencies(chapter, graph) == {
        "deepinside",
        "deepinside.sub",
        "deepinside.sub.c",
        "deepinside.e",
        "deepinside.d",
    }
    assert imports.dependencies("from . import a\n", graph) == set()  # not in the package
    assert imports.dependencies("x = (\n", graph) == set(graph)  # unreadable: everything


def test_module_name_and_path(src):
    assert imports.module_name(src, src / "deepinside" / "sub" / "__init__.py") == "deepinside.sub"
    assert imports.module_name(src, src / "deepinside" / "a.py") == "deepinside.a"
    assert imports.module_name(src, src / "deepinside" / "data.json") is None
    assert imports.module_path(src, "deepinside.sub") == src / "deepinside" / "sub" / "__init__.py"
    assert imports.module_path(src, "deepinside.nothing") is None
