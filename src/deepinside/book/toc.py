"""The book's table of contents, ``_toc.yml``."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml


def toc_files(toc: Path) -> list[str]:
    """Every ``file:`` entry of a Jupyter Book table of contents, in order."""
    entries: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                entries.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc.read_text()))
    return entries


def toc_chapters(root: Path) -> list[str]:
    """Chapter names (``NN_topic``) listed in ``root/_toc.yml``, in book order.

    ``root`` is the repository root; the path of the ``_toc.yml`` file itself is accepted too.
    """
    toc = root if root.is_file() else root / "_toc.yml"
    return [Path(e).name for e in toc_files(toc) if e.startswith("chapters/")]


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    """``--root``, the repository root, for the tooling's command lines (default: the current
    directory, when the command runs)."""
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="the repository root (default: the current directory)",
    )
