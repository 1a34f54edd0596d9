"""What a chapter executed in the stand-in dry run must show (``build --standin``).

The dry run (:mod:`deepinside.standin`) executes each chapter's `full` code path into
``_build/standin/chapters``. Beyond running without an error, an executed chapter must
(:func:`problems`):

- show the stand-in banner, so that nobody takes its numbers for results;
- draw no empty figure (:func:`deepinside.standin.empty_panels` reports one on the standard
  error) and give every ``# Figure fig-NAME`` cell its image;
- glue a value for every ``{glue:text}`` role of its prose, one that the role's format
  applies to (as myst-nb applies it) and that is not NaN or infinite.

:func:`page_text` is the page a reader would read: the prose with its glued values in place,
and the printed outputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text

from ..standin import EMPTY_FIGURE, is_standin
from .cells import FIGURE
from .claims import GLUE_ROLE
from .execute import first_line
from .glued import glued_texts, glued_values


def stage(root: Path, size: str = "dry") -> Path:
    """The stage of the stand-in run of ``size`` (dry, or full-size): never the book's, so no
    stand-in reaches a page or a claim."""
    return root / "_build" / ("standin" if size == "dry" else f"standin-{size}")


def record_runs(stage_dir: Path, runs: list[dict]) -> None:
    """Merge ``runs`` (each chapter's time, memory, device, precision and peak GPU memory)
    into ``runs.json`` of ``stage_dir``."""
    path = stage_dir / "runs.json"
    try:
        known = {r["chapter"]: r for r in json.loads(path.read_text())}
    except (OSError, ValueError, KeyError, TypeError):
        known = {}
    known.update({r["chapter"]: r for r in runs})
    path.write_text(json.dumps(sorted(known.values(), key=lambda r: r["chapter"]), indent=1))


def problems(notebook: nbformat.NotebookNode) -> list[str]:
    """Every way the executed ``notebook`` falls short of the list above, each naming its
    cell: "code cell 12 (starting `…`): …" or "markdown cell 3: …"."""
    found = [] if is_standin(notebook) else ["no stand-in banner: runtime.start never ran"]
    texts = glued_texts(notebook)
    code = markdown = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            code += 1
            where = f"code cell {code} (starting `{first_line(cell.source)}`)"
            found += [f"{where}: {p}" for p in _figure_problems(cell)]
        elif cell.cell_type == "markdown":
            markdown += 1
            found += [f"markdown cell {markdown}: {p}" for p in _glue_problems(cell, texts)]
    return found


def _figure_problems(cell: nbformat.NotebookNode) -> list[str]:
    outputs = cell.get("outputs", [])
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    found = [line for line in stderr.splitlines() if line.startswith(EMPTY_FIGURE)]
    has_image = any("image/png" in o.get("data", {}) for o in outputs)
    if FIGURE.fullmatch(first_line(cell.source)) and not has_image:
        found.append("a named figure cell drew no image")
    return found


def _glue_problems(cell: nbformat.NotebookNode, texts: dict[str, str]) -> list[str]:
    found = []
    for role in GLUE_ROLE.finditer(cell.source):
        key, spec = role.group(1), role.group(2) or ""
        if key not in texts:
            found.append(f"{role.group(0)} has no glued value")
            continue
        try:
            shown = format_plain_text(texts[key], spec)
        except (TypeError, ValueError) as error:
            found.append(f"{role.group(0)} cannot format {texts[key]!r}: {error}")
            continue
        if _non_finite(shown):
            found.append(f"{role.group(0)} shows {shown!r}")
    return found


def _non_finite(shown: str) -> bool:
    """Whether a shown value is a number that is NaN or infinite ("nan", "inf", "-inf%")."""
    try:
        return not math.isfinite(float(shown.rstrip("%")))
    except ValueError:
        return False


def page_text(notebook: nbformat.NotebookNode) -> str:
    """What a reader of the page reads: the prose with each glue role replaced by its shown
    value, the code, and every printed output."""
    texts = glued_texts(notebook)

    def shown(role) -> str:
        try:
            return format_plain_text(texts[role.group(1)], role.group(2) or "")
        except (KeyError, TypeError, ValueError):
            return role.group(0)

    parts = []
    for cell in notebook.cells:
        parts.append(
            GLUE_ROLE.sub(shown, cell.source) if cell.cell_type == "markdown" else cell.source
        )
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            parts.append(
                out.get("text", "") + data.get("text/markdown", data.get("text/plain", ""))
            )
    return "\n".join(parts)


def read(root: Path, chapter: str) -> nbformat.NotebookNode:
    """The chapter as the dry run executed it."""
    return nbformat.read(stage(root) / "chapters" / f"{chapter}.ipynb", as_version=4)


def runs(root: Path, size: str = "dry") -> list[dict]:
    """The recorded runs of the stand-in run of ``size``, by chapter ([] if none)."""
    try:
        return json.loads((stage(root, size) / "runs.json").read_text())
    except (OSError, ValueError):
        return []


def glued(root: Path, chapter: str) -> dict[str, object]:
    """The values the dry run of ``chapter`` glued."""
    return glued_values(read(root, chapter))
