"""What each staged chapter was executed from, so that the build executes it again only when
that changes.

``_build/stage/fingerprints.json`` maps each chapter to the sha256 of its code cells (with their
tags), the source of every ``deepinside`` module it imports (transitively, see :mod:`.imports`),
its parameters (the defaults of its parameters cell updated by those given, so that giving a
default changes nothing) and the environment lock ``requirements.txt`` (the build's environment
is made from it alone, the package installed without dependencies, so a change to the tool
settings of ``pyproject.toml`` executes nothing again). An entry is dropped before its chapter
executes and written back once it executed successfully.

Prose does not change what a chapter computes: when only its Markdown cells changed,
:func:`refresh_prose` copies them into the staged notebook instead of executing it again.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import os
import tempfile
import tokenize
from pathlib import Path
from token import COMMENT

import jupytext
import nbformat

from .imports import Graph, dependencies, module_path

ENVIRONMENT = ("requirements.txt",)


def stage(root: Path) -> Path:
    """Where the build puts the executed chapters and the book's sources."""
    return root / "_build" / "stage"


def fingerprints_file(stage_dir: Path) -> Path:
    return stage_dir / "fingerprints.json"


def chapter_notebook(root: Path, chapter: str) -> nbformat.NotebookNode:
    """The chapter as a notebook: its ``.py`` source if it has one, else its ``.ipynb``."""
    py = root / "chapters" / f"{chapter}.py"
    if py.exists():
        return jupytext.read(py)
    return nbformat.read(py.with_suffix(".ipynb"), as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def chapter_code(root: Path, chapter: str) -> str:
    """The source of the chapter's code cells."""
    return "\n".join(c.source for c in _code_cells(chapter_notebook(root, chapter)))


def _parameters_cell(root: Path, chapter: str) -> tuple[str, dict[str, ast.Assign]]:
    """The source of the chapter's parameters cell ("" if none) and its ``NAME = literal``
    assignments, by name; one that is not a literal is no knob papermill sets."""
    cells = [
        c
        for c in _code_cells(chapter_notebook(root, chapter))
        if "parameters" in c.metadata.get("tags", [])
    ]
    source = cells[0].source if cells else ""
    knobs: dict[str, ast.Assign] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [type(t) for t in node.targets] == [ast.Name]:
            with contextlib.suppress(ValueError):
                ast.literal_eval(node.value)
                knobs[node.targets[0].id] = node
    return source, knobs


def chapter_parameters(root: Path, chapter: str) -> dict[str, object]:
    """The defaults of the chapter's parameters cell: ``NAME = literal`` assignments."""
    knobs = _parameters_cell(root, chapter)[1]
    return {name: ast.literal_eval(node.value) for name, node in knobs.items()}


def parameter_comments(root: Path, chapter: str) -> dict[str, str]:
    """The comment ending each ``NAME = literal`` line of the chapter's parameters cell (its
    one-line description), ``{NAME: comment}`` for those that have one."""
    source, knobs = _parameters_cell(root, chapter)
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    comments = {t.start[0]: t.string.lstrip("#").strip() for t in tokens if t.type == COMMENT}
    return {
        name: comments[node.end_lineno]
        for name, node in knobs.items()
        if node.end_lineno in comments
    }


def chapter_modules(root: Path, chapter: str, graph: Graph) -> set[str]:
    """The package modules the chapter imports, transitively."""
    return dependencies(chapter_code(root, chapter), graph)


def fingerprint(root: Path, chapter: str, parameters: dict[str, object], graph: Graph) -> str:
    """The sha256 of everything the chapter's execution depends on (see the module's doc)."""
    digest = hashlib.sha256()

    def add(label: str, content: bytes) -> None:
        digest.update(f"{label}\0{len(content)}\0".encode())
        digest.update(content)

    nb = chapter_notebook(root, chapter)
    code = [[c.source, c.metadata.get("tags", [])] for c in _code_cells(nb)]
    add("chapter", json.dumps(code).encode())
    for module in sorted(dependencies("\n".join(c for c, _ in code), graph)):
        path = module_path(root / "src", module)
        add(module, path.read_bytes() if path else b"")
    effective = {**chapter_parameters(root, chapter), **parameters}
    add("parameters", json.dumps(effective, sort_keys=True).encode())
    for name in ENVIRONMENT:
        add(name, (root / name).read_bytes() if (root / name).exists() else b"")
    return digest.hexdigest()


def load(stage_dir: Path) -> dict[str, str]:
    """The fingerprints recorded in ``stage_dir``, ``{chapter: sha256}`` (empty if none or
    unreadable)."""
    try:
        data = json.loads(fingerprints_file(stage_dir).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(stage_dir: Path, chapter: str, value: str | None) -> None:
    """Set the chapter's fingerprint in ``stage_dir``, or drop it (``None``); the file is replaced
    atomically."""
    data = load(stage_dir)
    data.pop(chapter, None)
    if value is not None:
        data[chapter] = value
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    write_atomically(fingerprints_file(stage_dir), text)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def executed_fine(notebook: Path) -> bool:
    """Whether the executed notebook exists, reads, and shows no error output."""
    try:
        nb = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError):
        return False
    if nb.metadata.get("papermill", {}).get("exception"):
        return False
    outputs = (o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    return not any(o.get("output_type") == "error" for o in outputs)


def up_to_date(stage_dir: Path, chapter: str, value: str) -> bool:
    """Whether the chapter staged in ``stage_dir`` executed fine from inputs with fingerprint
    ``value``."""
    notebook = stage_dir / "chapters" / f"{chapter}.ipynb"
    return load(stage_dir).get(chapter) == value and executed_fine(notebook)


def refresh_prose(root: Path, stage_dir: Path, chapter: str) -> bool:
    """Copy the Markdown cells of the chapter's synced notebook into its staged notebook, whose
    code cells are the same; False (nothing written) if the cells do not line up one to one."""
    source = nbformat.read(root / "chapters" / f"{chapter}.ipynb", as_version=4).cells
    target = stage_dir / "chapters" / f"{chapter}.ipynb"
    nb = nbformat.read(target, as_version=4)
    staged = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    kinds = lambda cells: [(c.cell_type, c.source if c.cell_type == "code" else "") for c in cells]
    if kinds(staged) != kinds(source):
        return False
    changed = False
    for old, new in zip(staged, source, strict=True):
        if old.cell_type == "markdown" and (old.source, old.metadata) != (new.source, new.metadata):
            old.source, old.metadata = new.source, new.metadata
            changed = True
    if changed:
        nbformat.write(nb, target)
    return True
