"""Where the notebooks live: the repository, the Colab links and the Colab install cell.

    python -m deepinside.book.colab [--root .] [--check] [--retarget URL]

The repository is named in one place, ``_config.yml``'s ``repository.url`` (with its
``branch``). Every chapter's Colab badge and its install cell are generated from it:

- the **badge** is the line ``[![Open In Colab](BADGE_IMAGE)](colab_url)`` of the chapter's first
  Markdown cell; its image is Colab's own, so it renders on GitHub and in Colab (the book build
  swaps in its local copy, :func:`localize_badges`, so that the site needs no network);
- a code cell whose first line is ``# @title …`` (the install cell, an explorer's drawing code,
  a solution) folds in Colab: its notebook cell gets ``cellView: form`` (:func:`fold_titled_cells`,
  applied by :mod:`.cells`);
- the **install cell** (``# @title Setup …``, right before the parameters cell) installs the
  package in Colab only, pinned to the release ``v<version>`` of the notebook, with Colab's
  own numpy, torch, … kept as they are (a constraints file of their installed versions).
  When the repository cannot be reached it stops with the other ways to install.

``--retarget URL`` points ``_config.yml``, ``CITATION.cff`` and every chapter at another
repository (a fork);
``--check`` lists what disagrees with ``_config.yml`` and exits 1 if anything does; with
neither, the chapters are rewritten to agree. The paired ``.ipynb`` are synced with jupytext.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from .. import __version__
from .toc import add_root_argument, toc_chapters

COLAB = "https://colab.research.google.com"
BADGE_IMAGE = f"{COLAB}/assets/colab-badge.svg"
LOCAL_BADGE = "../book/_static/colab-badge.svg"  # the book's copy, relative to a chapter
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
GITHUB = re.compile(r"^https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")
INSTALL_TITLE = "# @title Setup: in Colab, install the book's helper package `deepinside`"
# Colab's own stack, kept as installed: pip may add packages but change none of these
COLAB_STACK = ("numpy", "torch", "torchvision", "scipy", "pandas", "matplotlib")

INSTALL_CELL = """\
{title}
import sys

if "google.colab" in sys.modules:  # elsewhere the package is installed with the book
    import subprocess
    import tempfile
    from importlib import metadata, util

    REPOSITORY, RELEASE = "{repository}", "v{version}"
    if util.find_spec("deepinside") is None:
        installed = {{d.metadata["Name"].lower(): d.version for d in metadata.distributions()}}
        keep = [f"{{name}}=={{installed[name]}}" for name in {stack} if name in installed]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
            constraints.write("\\n".join(keep))
        package = f"deepinside @ git+{{REPOSITORY}}@{{RELEASE}}"
        pip = [sys.executable, "-m", "pip", "install", "-q", "-c", constraints.name, package]
        if subprocess.run(pip).returncode != 0:
            raise RuntimeError(
                f"Could not install {{package}}. Without access to {{REPOSITORY}}, install the "
                "package another way and run this cell again: upload a wheel and "
                "`pip install deepinside-*.whl`, or in a clone of the repository "
                "`pip install -e .` (a local path works too: `pip install /path/to/clone`)."
            )"""


def settings(root: Path) -> dict[str, str]:
    """``repository.url`` and ``repository.branch`` of ``root/_config.yml``, the URL checked."""
    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    repository = config.get("repository") or {}
    url = str(repository.get("url", "")).rstrip("/")
    if not GITHUB.match(url):
        raise ValueError(
            f"_config.yml repository.url must be https://github.com/OWNER/NAME, got {url!r}"
        )
    return {"url": url, "branch": str(repository.get("branch", "main"))}


def repository(root: Path) -> str:
    """The repository's GitHub URL, as ``_config.yml`` names it."""
    return settings(root)["url"]


def colab_url(root: Path, path: str) -> str:
    """The Colab URL that opens the notebook ``path`` (relative to the repository root)."""
    config = settings(root)
    owner, name = GITHUB.match(config["url"]).groups()
    return f"{COLAB}/github/{owner}/{name}/blob/{config['branch']}/{path}"


def badge(root: Path, path: str) -> str:
    """The Markdown of the Colab badge of the notebook ``path``."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(root, path)})"


def install_cell(root: Path) -> str:
    """The source of every chapter's install cell."""
    return INSTALL_CELL.format(
        title=INSTALL_TITLE,
        repository=repository(root),
        version=__version__,
        stack="(" + ", ".join(f'"{name}"' for name in COLAB_STACK) + ")",
    )


def _cells(text: str) -> list[str]:
    """A py:percent file cut at its cell markers (each piece starts with ``# %%``)."""
    return re.split(r"(?m)^(?=# %%)", text)


def _install_cell_index(pieces: list[str]) -> int | None:
    for index, piece in enumerate(pieces):
        body = piece.split("\n", 1)[1] if "\n" in piece else ""
        if body.startswith(INSTALL_TITLE):
            return index
    return None


def render(root: Path, chapter: str, text: str) -> str:
    """The chapter's py:percent ``text`` with its badge and install cell as generated."""
    if len(BADGE.findall(text)) != 1:
        raise ValueError(f"{chapter}: expected one Colab badge line in the chapter's prose")
    text = BADGE.sub(badge(root, f"chapters/{chapter}.ipynb"), text)
    pieces = _cells(text)
    index = _install_cell_index(pieces)
    if index is None:
        raise ValueError(f"{chapter}: no install cell (a cell starting `{INSTALL_TITLE}`)")
    header = pieces[index].split("\n", 1)[0]
    pieces[index] = f"{header}\n{install_cell(root)}\n\n"
    return "".join(pieces)


def problems(root: Path) -> list[str]:
    """Every chapter whose badge or install cell disagrees with ``_config.yml``."""
    found = []
    for chapter in toc_chapters(root):
        text = (root / "chapters" / f"{chapter}.py").read_text()
        try:
            if render(root, chapter, text) != text:
                found.append(f"chapters/{chapter}.py: badge or install cell out of date")
        except ValueError as error:
            found.append(str(error))
        notebook = root / "chapters" / f"{chapter}.ipynb"
        nb = nbformat.read(notebook, as_version=4)
        if not any(badge(root, f"chapters/{chapter}.ipynb") in c.source for c in nb.cells):
            found.append(f"{notebook.relative_to(root)}: not synced with its .py (jupytext --sync)")
    return found


def fix(root: Path) -> list[str]:
    """Rewrite the chapters that disagree with ``_config.yml``; sync their notebooks."""
    changed = []
    for chapter in toc_chapters(root):
        path = root / "chapters" / f"{chapter}.py"
        text = path.read_text()
        new = render(root, chapter, text)
        if new != text:
            path.write_text(new)
            changed.append(str(path))
    if changed:
        subprocess.run([sys.executable, "-m", "jupytext", "--sync", "-q", *changed], check=True)
    return changed


def fold_titled_cells(nb: nbformat.NotebookNode) -> bool:
    """Fold every code cell whose first line is ``# @title …`` in Colab (``cellView: form``
    shows the title and hides the code until it is double-clicked); whether any changed."""
    changed = False
    for cell in nb.cells:
        titled = cell.cell_type == "code" and cell.source.startswith("# @title")
        if titled and cell.metadata.get("cellView") != "form":
            cell.metadata["cellView"] = "form"
            changed = True
    return changed


def retarget(root: Path, url: str) -> None:
    """Point ``_config.yml``'s ``repository.url`` (comments kept) and ``CITATION.cff``'s
    ``repository-code`` at ``url``."""
    url = url.rstrip("/")
    if not GITHUB.match(url):
        raise ValueError(f"the repository must be https://github.com/OWNER/NAME, got {url!r}")
    config = root / "_config.yml"
    text, count = re.subn(
        r"(?m)^(repository:\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*).*$",
        rf"\g<1>{url}",
        config.read_text(),
    )
    if count != 1:
        raise ValueError(f"{config}: found no `url:` under `repository:` to replace")
    config.write_text(text)
    citation = root / "CITATION.cff"
    if citation.exists():
        text = re.sub(
            r"(?m)^repository-code:.*$", f'repository-code: "{url}"', citation.read_text()
        )
        citation.write_text(text)


def localize_badges(notebook: Path) -> None:
    """Use the book's own copy of the badge image in a staged notebook (the site works
    offline); the link itself still opens Colab."""
    nb = nbformat.read(notebook, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and BADGE_IMAGE in cell.source:
            cell.source = cell.source.replace(BADGE_IMAGE, LOCAL_BADGE)
            changed = True
    if changed:
        nbformat.write(nb, notebook)


def main(argv: list[str] | None = None) -> int:
    """Check, fix or re-target the Colab links and install cells."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_root_argument(parser)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="only list what disagrees")
    action.add_argument("--retarget", metavar="URL", help="https://github.com/OWNER/NAME")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.check:
        found = problems(root)
        print("\n".join(found) or f"every chapter links to {repository(root)}")
        return 1 if found else 0
    if args.retarget:
        retarget(root, args.retarget)
    changed = fix(root)
    print(f"{len(changed)} chapter(s) rewritten for {repository(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
