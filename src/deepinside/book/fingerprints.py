"""What each staged chapter was executed from, so that the build executes it again only when
that changes.

``_build/stage/fingerprints.json`` maps each chapter to the sha256 of its ``.py`` source, the
source of every ``deepinside`` module it imports (transitively, see :mod:`.imports`), its
papermill parameters and the environment lock ``requirements.txt`` (the build's environment is
made from it alone, the package installed without dependencies, so a change to the tool settings
of ``pyproject.toml`` executes nothing again). An entry is dropped before its chapter executes
and written back once it executed successfully.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import nbformat

from .imports import Graph, dependencies, module_path

ENVIRONMENT = ("requirements.txt",)


def stage(root: Path) -> Path:
    """Where the build puts the executed chapters and the book's sources."""
    return root / "_build" / "stage"


def fingerprints_file(root: Path) -> Path:
    return stage(root) / "fingerprints.json"


def chapter_code(root: Path, chapter: str) -> str:
    """The chapter's source: its ``.py`` file, else the code cells of its notebook."""
    py = root / "chapters" / f"{chapter}.py"
    if py.exists():
        return py.read_text()
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def chapter_modules(root: Path, chapter: str, graph: Graph) -> set[str]:
    """The package modules the chapter imports, transitively."""
    return dependencies(chapter_code(root, chapter), graph)


def fingerprint(root: Path, chapter: str, parameters: dict[str, object], graph: Graph) -> str:
    """The sha256 of everything the chapter's execution depends on (see the module's doc)."""
    digest = hashlib.sha256()

    def add(label: str, content: bytes) -> None:
        digest.update(f"{label}\0{len(content)}\0".encode())
        digest.update(content)

    source = chapter_code(root, chapter)
    add("chapter", source.encode())
    for module in sorted(dependencies(source, graph)):
        path = module_path(root / "src", module)
        add(module, path.read_bytes() if path else b"")
    add("parameters", json.dumps(parameters, sort_keys=True).encode())
    for name in ENVIRONMENT:
        add(name, (root / name).read_bytes() if (root / name).exists() else b"")
    return digest.hexdigest()


def load(root: Path) -> dict[str, str]:
    """The recorded fingerprints, ``{chapter: sha256}`` (empty if none or unreadable)."""
    try:
        data = json.loads(fingerprints_file(root).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(root: Path, chapter: str, value: str | None) -> None:
    """Set the chapter's fingerprint, or drop it (``None``); the file is replaced atomically."""
    data = load(root)
    data.pop(chapter, None)
    if value is not None:
        data[chapter] = value
    write_atomically(fingerprints_file(root), json.dumps(data, indent=2, sort_keys=True) + "\n")


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


def up_to_date(root: Path, chapter: str, value: str) -> bool:
    """Whether the staged chapter executed fine from inputs with fingerprint ``value``."""
    notebook = stage(root) / "chapters" / f"{chapter}.ipynb"
    return load(root).get(chapter) == value and executed_fine(notebook)
