"""Exercises and their solutions: hidden until asked for, student notebooks, instructor copies.

    python -m deepinside.book.teaching [--root .] [--out _build/teaching] [--executed DIR]
    python -m deepinside.book.teaching --students
    python -m deepinside.book.teaching --check

An exercise is a numbered item ``**1. Title.**`` of a chapter's ``## Exercises`` section, which
ends the chapter's code (only the ``## References`` follow). Its solution is the code cell right
after it: tagged ``solution`` (with ``hide-cell``) in the chapter's ``.py``, its first line the
title :data:`SOLUTION_TITLE`; an optional line ``# Expect: …`` says what it prints, for the stub.

The tag is the single source of how a solution is hidden; :func:`hide_solution` derives the rest:

- the book (myst-nb): tag ``hide-cell`` and ``mystnb.code_prompt_show``/``code_prompt_hide``,
  so code *and* output are collapsed behind "Show the solution";
- Colab: ``cellView: form`` with the ``# @title`` line shows only the title;
- Jupyter: ``jupyter.source_hidden`` and ``jupyter.outputs_hidden``.

Jupytext keeps only tags in the ``.py``, so the rest lives in the committed ``.ipynb``, written
there by ``python -m deepinside.book.cells`` (with the other metadata derived from the text).

``--students`` writes the **student notebooks** ``chapters/students/NN_topic.ipynb`` (every
solution replaced by a stub that raises ``NotImplementedError``, no outputs, the Colab badge
opening the student notebook itself) and the table of ``book/teaching.md`` that links them.
``--check`` lists unhidden solutions and stale student notebooks and exits 1 if anything.

Without those flags (``make teaching``), the student notebooks and the **instructor** copies
(solutions expanded, with the outputs of the executed chapter when ``--executed`` has one) are
written per chapter and zipped (``deepinside-student.zip``, ``deepinside-instructor.zip``).
:func:`exercises` raises ``ValueError`` when an exercise has no solution, a solution no
exercise, or code other than solutions follows the exercises.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import colab
from .toc import add_root_argument, toc_chapters

EXERCISE = re.compile(r"^\*\*(\d+)\.\s+(.+?)\*\*", re.M)
SECTION = "## Exercises"
END = "## References"
SOLUTION_TAG = "solution"
HIDE_TAG = "hide-cell"
EXERCISE_TAG = "exercise"
SOLUTION_TITLE = "# @title Solution (double-click to show)"
INSTRUCTOR_TITLE = "# @title Solution"
LEGACY = ("# @title Solution", "# Solution")  # a solution's first line, tagged or not
EXPECT = "# Expect:"
STUDENTS = "chapters/students"
COMMAND = "python -m deepinside.book.teaching"
FIX_COMMAND = "python -m deepinside.book.cells"
STUDENTS_COMMAND = f"{COMMAND} --students"
PAGE = "book/teaching.md"
TABLE_BEGIN = f"% BEGIN student notebooks (written by `{STUDENTS_COMMAND}`)"
TABLE_END = "% END student notebooks"
STUDENT_BANNER = (
    "**Student copy.** Each exercise at the end of this chapter is followed by a cell that "
    "raises `NotImplementedError`: replace it with your own code. The book shows the solutions."
)
INSTRUCTOR_BANNER = "**Instructor copy.** Every exercise is followed by its solution, expanded."


@dataclass(frozen=True)
class Exercise:
    number: int
    title: str
    solution: int  # index of the solution cell in the notebook


def solution_metadata() -> dict[str, object]:
    """The metadata of a solution cell, derived from its tag ``solution``."""
    return {
        "tags": [SOLUTION_TAG, HIDE_TAG],
        "cellView": "form",
        "jupyter": {"source_hidden": True, "outputs_hidden": True},
        "mystnb": {
            "code_prompt_show": "Show the solution",
            "code_prompt_hide": "Hide the solution",
        },
    }


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Whether the cell is an exercise's solution: a code cell tagged ``solution``."""
    return cell.cell_type == "code" and SOLUTION_TAG in cell.metadata.get("tags", [])


def hide_solution(cell: nbformat.NotebookNode) -> bool:
    """Give a solution cell the metadata that hides it (idempotent); whether anything changed."""
    before = copy.deepcopy(cell.metadata)
    wanted = solution_metadata()
    tags = [t for t in cell.metadata.get("tags", []) if t != "hide-input"]
    cell.metadata["tags"] = tags + [t for t in wanted.pop("tags") if t not in tags]
    for key, value in wanted.items():
        cell.metadata[key] = (
            {**cell.metadata.get(key, {}), **value} if isinstance(value, dict) else value
        )
    return cell.metadata != before


def hide_solutions(nb: nbformat.NotebookNode, name: str = "notebook") -> bool:
    """Hide every solution of ``nb`` (:func:`hide_solution`); whether anything changed."""
    changed = [hide_solution(nb.cells[e.solution]) for e in exercises(nb, name)]  # all of them
    return any(changed)


def is_hidden(cell: nbformat.NotebookNode) -> bool:
    """Whether a solution cell carries all the metadata :func:`hide_solution` gives it."""
    return not hide_solution(copy.deepcopy(cell))


def show_solution(cell: nbformat.NotebookNode) -> None:
    """Undo :func:`hide_solution`: the solution shown expanded, titled ``# @title Solution``."""
    derived = solution_metadata()
    hidden = set(derived.pop("tags")) - {SOLUTION_TAG} | {"hide-input"}
    cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t not in hidden]
    for key, value in derived.items():
        current = cell.metadata.get(key)
        kept = (
            {k: v for k, v in current.items() if k not in value}
            if isinstance(current, dict)
            else {}
        )
        if kept:
            cell.metadata[key] = kept
        else:
            cell.metadata.pop(key, None)
    first, newline, body = cell.source.partition("\n")
    if first.startswith(INSTRUCTOR_TITLE):
        cell.source = INSTRUCTOR_TITLE + newline + body


def _first_line(cell: nbformat.NotebookNode) -> str:
    return cell.source.lstrip().partition("\n")[0]


def _check_code(cell: nbformat.NotebookNode, index: int, after: bool, name: str) -> None:
    """A code cell that is no solution: neither titled like one nor after the exercises."""
    if _first_line(cell).startswith(LEGACY):
        raise ValueError(
            f"{name}: cell {index} starts like a solution but is not tagged `{SOLUTION_TAG}`"
        )
    if after:
        raise ValueError(
            f"{name}: code cell {index} follows the exercises; a chapter's code ends with them "
            "(cells after an exercise must not depend on the student's answer)"
        )


def exercises(nb: nbformat.NotebookNode, name: str = "notebook") -> list[Exercise]:
    """The exercises of a chapter, each paired with its solution cell, in order.

    Raises ``ValueError`` if an exercise has no solution, a solution has no exercise or lacks
    its title line, the numbering is not 1, 2, …, or code other than solutions follows the
    ``## Exercises`` heading.
    """
    found: list[Exercise] = []
    pending: tuple[int, str] | None = None  # the exercise waiting for its solution
    inside = after = False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            text = cell.source
            if SECTION in text:
                inside, after, text = True, True, text.split(SECTION, 1)[1]
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
            if not _first_line(cell).startswith(INSTRUCTOR_TITLE):
                raise ValueError(
                    f"{name}: the solution in cell {index} must start with `{SOLUTION_TITLE}`"
                )
            found.append(Exercise(*pending, index))
            pending = None
        elif cell.cell_type == "code":
            _check_code(cell, index, after, name)
    if pending:
        raise ValueError(f"{name}: exercise {pending[0]} has no solution cell")
    numbers = [e.number for e in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"{name}: exercises are numbered {numbers}, expected 1, 2, …")
    return found


def stub(exercise: Exercise, solution: str) -> str:
    """The student's cell in place of a solution: it names the exercise and raises
    ``NotImplementedError`` saying what to print (the solution's ``# Expect:`` lines)."""
    lines = [line.strip() for line in solution.splitlines()]
    expect = [line[len(EXPECT) :].strip() for line in lines if line.startswith(EXPECT)]
    in_words = any(line.lower().startswith("# in words") for line in lines)
    todo = "your answer in words, as comments" if in_words else "your code"
    message = (
        f"Your turn: exercise {exercise.number} ({exercise.title.rstrip('.')}). "
        f"Replace this line with {todo}." + "".join(f" Expected: {e.rstrip('.')}." for e in expect)
    )
    pieces = textwrap.wrap(message, 88, drop_whitespace=False, break_on_hyphens=False)
    return "\n".join(
        [
            f"# Exercise {exercise.number}: {exercise.title}",
            "raise NotImplementedError(",
            *(f"    {json.dumps(piece, ensure_ascii=False)}" for piece in pieces),
            ")",
        ]
    )


def student_path(chapter: str) -> str:
    """The student notebook of a chapter, relative to the repository root."""
    return f"{STUDENTS}/{chapter}.ipynb"


def _shareable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without papermill's injected parameters."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    return nb


def _banner(text: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = cell_id  # fixed, so that the student notebooks are reproducible
    return cell


def student_copy(nb: nbformat.NotebookNode, chapter: str, root: Path) -> nbformat.NotebookNode:
    """The chapter ``nb`` as a student notebook: every solution replaced by a stub, no outputs,
    its Colab badge opening the student notebook, no pairing with a ``.py``."""
    student = _shareable(nb)
    for exercise in exercises(nb, chapter):
        cell = student.cells[exercise.solution]
        cell.source = stub(exercise, cell.source)
        cell.metadata = nbformat.NotebookNode({"tags": [EXERCISE_TAG]})
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    badges = [
        c for c in student.cells if c.cell_type == "markdown" and colab.BADGE.search(c.source)
    ]
    if not badges:
        raise ValueError(f"{chapter}: no Colab badge in the chapter's Markdown cells")
    own = colab.badge(root, student_path(chapter))
    badges[0].source = colab.BADGE.sub(lambda _: own, badges[0].source, count=1)
    student.metadata = nbformat.NotebookNode(
        {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    )
    student.cells.insert(1, _banner(STUDENT_BANNER, "student-copy"))
    return student


def instructor_copy(nb: nbformat.NotebookNode, chapter: str = "notebook") -> nbformat.NotebookNode:
    """The chapter with every solution shown expanded (outputs kept)."""
    instructor = _shareable(nb)
    for exercise in exercises(nb, chapter):
        show_solution(instructor.cells[exercise.solution])
    instructor.cells.insert(1, _banner(INSTRUCTOR_BANNER, "instructor-copy"))
    return instructor


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _text(nb: nbformat.NotebookNode) -> str:
    """A notebook as ``nbformat.write`` writes it."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def student_notebook(root: Path, chapter: str) -> nbformat.NotebookNode:
    """The student notebook of ``root/chapters/CHAPTER.ipynb``."""
    return student_copy(_read(root / "chapters" / f"{chapter}.ipynb"), chapter, root)


def unhidden(root: Path) -> list[str]:
    """The chapter notebooks with a solution that lacks its hiding metadata."""
    found = []
    for chapter in toc_chapters(root):
        nb = _read(root / "chapters" / f"{chapter}.ipynb")
        shown = [e.number for e in exercises(nb, chapter) if not is_hidden(nb.cells[e.solution])]
        if shown:
            found.append(
                f"chapters/{chapter}.ipynb: the solutions of exercises {shown} lack their hiding "
                f"metadata: run `{FIX_COMMAND}`"
            )
    return found


def student_table(root: Path) -> str:
    """The Markdown table of the student notebooks, each opened in Colab."""
    rows = ["| chapter | student notebook |", "| --- | --- |"]
    for chapter in toc_chapters(root):
        link = colab.colab_url(root, student_path(chapter))
        rows.append(f"| {{doc}}`../chapters/{chapter}` | [open in Colab]({link}) |")
    return "\n".join(rows)


def render_page(root: Path, text: str) -> str:
    """``text`` (the teaching page) with its student-notebook table as generated."""
    pattern = re.compile(rf"(?ms)^{re.escape(TABLE_BEGIN)}\n.*?^{re.escape(TABLE_END)}$")
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"{PAGE} needs one block from `{TABLE_BEGIN}` to `{TABLE_END}`")
    block = f"{TABLE_BEGIN}\n\n{student_table(root)}\n\n{TABLE_END}"
    return pattern.sub(lambda _: block, text)


def write_page(root: Path, target: Path) -> Path:
    """Write the teaching page ``target`` (a copy of ``book/teaching.md``) with its table as
    generated from ``_toc.yml`` and ``_config.yml``."""
    source = target if target.exists() else root / PAGE
    target.write_text(render_page(root, source.read_text()))
    return target


def _student_files(root: Path) -> tuple[dict[Path, str], list[Path]]:
    """What ``chapters/students`` should hold, and the notebooks there that no chapter makes."""
    wanted = {root / student_path(c): _text(student_notebook(root, c)) for c in toc_chapters(root)}
    extra = sorted(set((root / STUDENTS).glob("*.ipynb")) - set(wanted))
    return wanted, extra


def write_students(root: Path) -> list[Path]:
    """Write the student notebooks and the table of ``book/teaching.md``; the changed files."""
    wanted, extra = _student_files(root)
    (root / STUDENTS).mkdir(parents=True, exist_ok=True)
    changed = []
    for path, text in wanted.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    for path in extra:
        path.unlink()
        changed.append(path)
    page = root / PAGE
    text = page.read_text()
    if render_page(root, text) != text:
        write_page(root, page)
        changed.append(page)
    return changed


def stale_students(root: Path) -> list[str]:
    """The student notebooks and the teaching page's table that are not up to date."""
    wanted, extra = _student_files(root)
    found = [
        f"{p.relative_to(root)}: missing" if not p.exists() else f"{p.relative_to(root)}: outdated"
        for p, text in wanted.items()
        if not p.exists() or p.read_text() != text
    ]
    found += [f"{p.relative_to(root)}: no chapter of _toc.yml makes it" for p in extra]
    text = (root / PAGE).read_text()
    if render_page(root, text) != text:
        found.append(f"{PAGE}: the table of student notebooks is outdated")
    return [f"{line}: run `{STUDENTS_COMMAND}`" for line in found]


def _root_of(chapters: list[Path]) -> Path:
    """The repository root of chapter notebooks ``ROOT/chapters/*.ipynb``."""
    roots = {c.resolve().parent.parent for c in chapters}
    if len(roots) != 1 or not (root := roots.pop()).joinpath("_config.yml").exists():
        raise ValueError(f"chapters must be ROOT/chapters/*.ipynb of one book, got {chapters}")
    return root


def write_copies(
    chapters: list[Path], out: Path, executed: Path | None = None, root: Path | None = None
) -> dict[str, Path]:
    """Write ``out/student/*.ipynb`` (the student notebooks), ``out/instructor/*.ipynb`` (from
    the executed chapters in ``executed`` where there are some) and one zip of each."""
    root = root or _root_of(chapters)
    zips = {}
    for role in ("student", "instructor"):
        folder = out / role
        folder.mkdir(parents=True, exist_ok=True)
        for source in chapters:
            if role == "student":
                nb = student_copy(_read(source), source.stem, root)
            else:
                run = executed / source.name if executed else None
                nb = instructor_copy(_read(run if run and run.exists() else source), source.stem)
            (folder / source.name).write_text(_text(nb))
        zips[role] = out / f"deepinside-{role}.zip"
        with zipfile.ZipFile(zips[role], "w", zipfile.ZIP_DEFLATED) as archive:
            for source in chapters:
                archive.write(folder / source.name, f"deepinside-{role}/{source.name}")
    return zips


def parser() -> argparse.ArgumentParser:
    """The command line of :func:`main`."""
    cli = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_root_argument(cli)
    cli.add_argument("--out", type=Path, help="default: ROOT/_build/teaching")
    cli.add_argument(
        "--executed",
        type=Path,
        help="executed chapters whose outputs go into the instructor copies "
        "(default: ROOT/_build/stage/chapters)",
    )
    cli.add_argument(
        "--students",
        action="store_true",
        help=f"write {STUDENTS}/*.ipynb and the table of {PAGE}",
    )
    cli.add_argument(
        "--check", action="store_true", help="list what the two commands above would change"
    )
    return cli


def _update(root: Path, args: argparse.Namespace) -> int:
    """``--check``, ``--students``."""
    if args.check:
        found = unhidden(root) + stale_students(root)
        print("\n".join(found) or "the solutions are hidden and the student notebooks up to date")
        return 1 if found else 0
    changed = write_students(root) if args.students else []
    for path in changed:
        print(f"wrote {path.relative_to(root)}")
    print(f"{len(changed)} file(s) changed")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``make teaching`` (the copies of every chapter of ``_toc.yml``), or the flags' updates."""
    args = parser().parse_args(argv)
    root = args.root.resolve()
    try:
        if args.check or args.students:
            return _update(root, args)
        executed = args.executed or root / "_build" / "stage" / "chapters"
        chapters = [root / "chapters" / f"{c}.ipynb" for c in toc_chapters(root)]
        zips = write_copies(chapters, args.out or root / "_build" / "teaching", executed, root)
    except ValueError as error:
        print(f"error: {error}")
        return 1
    for role, path in zips.items():
        print(f"{role} notebooks: {path.parent / role}/ and {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
