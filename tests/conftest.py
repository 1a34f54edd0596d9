"""What every test file shares: the repository root, the chapters of ``_toc.yml``, a private
cache per test, and the executed chapters' glued values."""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
import torch

from deepinside.book.glued import glued_values
from deepinside.book.toc import toc_chapters
from deepinside.standin import is_standin

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = toc_chapters(ROOT)
EXECUTED = ROOT / "_build" / "stage" / "chapters"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Unit tests never read or write the user's cache of datasets and checkpoints."""
    monkeypatch.setenv("DEEPINSIDE_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    return tmp_path / "cache"


@pytest.fixture
def offline(monkeypatch):
    """No host can be reached, as on a machine without internet."""
    from deepinside import data

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(data.socket, "create_connection", no_network)


def read_executed(path: Path, target: str) -> nbformat.NotebookNode:
    """The executed notebook at ``path``; a test fails if it is missing (``make target`` writes
    it), or skips where a pull request executed only the chapters it changes."""
    if not path.exists() and os.environ.get("DEEPINSIDE_SKIP_UNEXECUTED") == "1":
        pytest.skip(
            f"{path.stem} was not executed (a pull request runs only the chapters it changes)"
        )
    if not path.exists():
        pytest.fail(f"{path} does not exist: run `make {target}` (or `make test`) first")
    return nbformat.read(path, as_version=4)


def executed_notebook(chapter: str) -> nbformat.NotebookNode:
    notebook = read_executed(EXECUTED / f"{chapter}.ipynb", "book")
    if is_standin(notebook):
        pytest.skip(f"{chapter} ran on stand-ins: its numbers test the code, they are not results")
    return notebook


def glued(chapter: str) -> dict[str, object]:
    """Every value the executed chapter glued, parsed back into Python."""
    return glued_values(executed_notebook(chapter))


def write_chapter(root, name, *sources):
    """A chapter ``name`` of a book rooted at ``root``, as a notebook and its py:percent source:
    a parameters cell, then ``sources``."""
    (root / "chapters").mkdir(exist_ok=True)
    cells = [nbformat.v4.new_code_cell("PROFILE = 'quick'", metadata={"tags": ["parameters"]})]
    nb = nbformat.v4.new_notebook(cells=cells + [nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "chapters" / f"{name}.ipynb")
    jupytext.write(nb, root / "chapters" / f"{name}.py", fmt="py:percent")
