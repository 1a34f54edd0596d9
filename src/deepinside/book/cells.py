"""Cell metadata derived from the chapters' own text, so that the ``.py`` stays the one source.

    python -m deepinside.book.cells [--root .] [--check]

Jupytext keeps only the tags in a chapter's ``.py``; what else a notebook cell needs is derived
from its text and written into the paired ``.ipynb`` (jupytext keeps it on later syncs):

- a code cell whose first line is ``# @title …`` folds in Colab (:func:`.colab.fold_titled_cells`);
- a code cell whose first line is ``# Figure fig-NAME: caption`` shows its image as a numbered,
  captioned figure of the book that the prose cites with ``{numref}`fig-NAME```
  (:func:`caption_figures`, myst-nb's ``mystnb.figure``);
- a solution stays hidden until the reader asks (:func:`.teaching.hide_solutions`).

The build runs :func:`fix` after syncing the pairs; ``--check`` lists the notebooks it would change.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import nbformat

from . import colab, teaching
from .toc import add_root_argument, toc_chapters

FIGURE = re.compile(r"# Figure (fig-[a-z0-9-]+): (.+)")
COMMAND = "python -m deepinside.book.cells"


def caption_figures(nb: nbformat.NotebookNode) -> bool:
    """Give every ``# Figure fig-NAME: caption`` cell its figure metadata; whether any changed."""
    changed = False
    for cell in nb.cells:
        found = (
            FIGURE.fullmatch(cell.source.split("\n", 1)[0]) if cell.cell_type == "code" else None
        )
        wanted = {"name": found[1], "caption": found[2]} if found else None
        mystnb = cell.metadata.get("mystnb", {})
        if mystnb.get("figure") != wanted:
            if wanted:
                cell.metadata["mystnb"] = {**mystnb, "figure": wanted}
            else:
                mystnb.pop("figure", None)
            changed = True
    return changed


def derive(nb: nbformat.NotebookNode, name: str = "notebook") -> bool:
    """Apply every derivation to ``nb``; whether anything changed."""
    changes = [
        colab.fold_titled_cells(nb),
        caption_figures(nb),
        teaching.hide_solutions(nb, name),
    ]
    return any(changes)


def fix(root: Path) -> list[Path]:
    """Derive the metadata of every chapter's ``.ipynb``; the notebooks changed. A ``.py`` that
    was the newer of its pair stays so (jupytext keeps syncing from it)."""
    changed = []
    for chapter in toc_chapters(root):
        path = root / "chapters" / f"{chapter}.ipynb"
        nb = nbformat.read(path, as_version=4)
        if derive(nb, chapter):
            py = path.with_suffix(".py")
            newer = py.exists() and py.stat().st_mtime >= path.stat().st_mtime
            nbformat.write(nb, path)
            if newer:
                os.utime(py)
            changed.append(path)
    return changed


def problems(root: Path) -> list[str]:
    """The chapter notebooks whose metadata is not what their text implies."""
    found = []
    for chapter in toc_chapters(root):
        nb = nbformat.read(root / "chapters" / f"{chapter}.ipynb", as_version=4)
        if derive(nb, chapter):
            found.append(f"chapters/{chapter}.ipynb: cell metadata out of date: run `{COMMAND}`")
    return found


def main(argv: list[str] | None = None) -> int:
    """Derive (or with ``--check`` only list) the chapters' cell metadata."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_root_argument(parser)
    parser.add_argument("--check", action="store_true", help="only list what is out of date")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.check:
        found = problems(root)
        print("\n".join(found) or "every chapter's cell metadata is up to date")
        return 1 if found else 0
    changed = fix(root)
    print(f"{len(changed)} notebook(s) updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
