"""Student and instructor copies of the chapters.

    python -m deepinside.book.teaching [--root .] [--out _build/teaching]
        [--executed _build/stage/chapters]

An exercise is a numbered item ``**1. Title.**`` of a chapter's ``## Exercises`` section. Its
solution is the code cell that follows it, whose first line starts with ``# Solution`` (tagged
``hide-input`` so that the book shows it collapsed).

- The **student** copy replaces every solution with a stub cell that names the exercise and
  leaves ``...`` to fill in; all outputs are cleared, so students run the chapter themselves.
- The **instructor** copy keeps the solutions, expanded, and the outputs of the executed
  chapter when ``--executed`` holds one.

Both are written per chapter and zipped (``deepinside-student.zip``, ``deepinside-instructor.zip``).
:func:`exercises` raises ``ValueError`` when an exercise has no solution or a solution no exercise.
"""

from __future__ import annotations

import argparse
import copy
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .toc import add_root_argument, toc_chapters

EXERCISE = re.compile(r"^\*\*(\d+)\.\s+(.+?)\*\*", re.M)
SECTION = "## Exercises"
END = "## References"
STUDENT_BANNER = (
    "**Student copy.** The solutions of the exercises are replaced by cells marked "
    "`# Exercise N`: replace their `...` with your own code."
)
INSTRUCTOR_BANNER = "**Instructor copy.** Every exercise is followed by its solution, expanded."


@dataclass(frozen=True)
class Exercise:
    number: int
    title: str
    solution: int  # index of the solution cell in the notebook


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Whether the cell is an exercise's solution: code starting with ``# Solution``."""
    return cell.cell_type == "code" and cell.source.lstrip().startswith("# Solution")


def exercises(nb: nbformat.NotebookNode, name: str = "notebook") -> list[Exercise]:
    """The exercises of a chapter, each paired with its solution cell, in order.

    Raises ``ValueError`` if an exercise has no solution, a solution has no exercise, the
    numbering is not 1, 2, …, or a solution lies outside the exercises section.
    """
    found: list[Exercise] = []
    pending: tuple[int, str] | None = None  # the exercise waiting for its solution
    inside = False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            text = cell.source
            if SECTION in text:
                inside, text = True, text.split(SECTION, 1)[1]
            if END in text:
                text = text.split(END, 1)[0]
            if inside:
                for number, title in EXERCISE.findall(text):
                    if pending:
                        raise ValueError(f"{name}: exercise {pending[0]} has no solution cell")
                    pending = int(number), title.strip()
            if END in cell.source:
                inside = False
        elif is_solution(cell):
            if not inside or not pending:
                raise ValueError(f"{name}: the solution in cell {index} follows no exercise")
            found.append(Exercise(*pending, index))
            pending = None
    if pending:
        raise ValueError(f"{name}: exercise {pending[0]} has no solution cell")
    numbers = [e.number for e in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"{name}: exercises are numbered {numbers}, expected 1, 2, …")
    return found


def stub(exercise: Exercise, solution: str) -> str:
    """The student's cell in place of a solution."""
    first = solution.lstrip().splitlines()[0]
    how = "Answer in words, as comments" if "in words" in first else "Write your code here"
    return f"# Exercise {exercise.number}: {exercise.title}\n# {how}.\n..."


def student_copy(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The chapter with every solution replaced by a stub, and no outputs."""
    student = copy.deepcopy(nb)
    for exercise in exercises(nb, name):
        cell = student.cells[exercise.solution]
        cell.source = stub(exercise, cell.source)
        cell.metadata["tags"] = ["exercise"]
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    student.cells.insert(1, nbformat.v4.new_markdown_cell(STUDENT_BANNER))
    return student


def instructor_copy(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The chapter with every solution shown expanded."""
    instructor = copy.deepcopy(nb)
    for exercise in exercises(nb, name):
        cell = instructor.cells[exercise.solution]
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != "hide-input"]
    instructor.cells.insert(1, nbformat.v4.new_markdown_cell(INSTRUCTOR_BANNER))
    return instructor


def write_copies(chapters: list[Path], out: Path, executed: Path | None = None) -> dict[str, Path]:
    """Write ``out/student/*.ipynb``, ``out/instructor/*.ipynb`` and one zip of each."""
    zips = {}
    for role, make in (("student", student_copy), ("instructor", instructor_copy)):
        folder = out / role
        folder.mkdir(parents=True, exist_ok=True)
        for source in chapters:
            run = executed / source.name if executed else None
            nb = nbformat.read(run if run and run.exists() else source, as_version=4)
            # papermill's injected parameters do not belong in a copy to share
            nb.cells = [
                c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])
            ]
            nbformat.write(make(nb, source.stem), folder / source.name)
        zips[role] = out / f"deepinside-{role}.zip"
        with zipfile.ZipFile(zips[role], "w", zipfile.ZIP_DEFLATED) as archive:
            for source in chapters:
                archive.write(folder / source.name, f"deepinside-{role}/{source.name}")
    return zips


def main(argv: list[str] | None = None) -> int:
    """``make teaching``: the copies of every chapter of ``_toc.yml``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_root_argument(parser)
    parser.add_argument("--out", type=Path, help="default: ROOT/_build/teaching")
    parser.add_argument(
        "--executed",
        type=Path,
        help="executed chapters whose outputs go into the instructor copies "
        "(default: ROOT/_build/stage/chapters)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    executed = args.executed or root / "_build" / "stage" / "chapters"
    chapters = [root / "chapters" / f"{c}.ipynb" for c in toc_chapters(root)]
    try:
        zips = write_copies(chapters, args.out or root / "_build" / "teaching", executed)
    except ValueError as error:
        print(f"error: {error}")
        return 1
    for role, path in zips.items():
        print(f"{role} notebooks: {path.parent / role}/ and {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
