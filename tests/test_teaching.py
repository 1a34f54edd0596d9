"""Solutions are hidden until asked for; student notebooks replace them by stubs; instructor
copies show them all."""

import ast
import json
import os
import shutil
import zipfile

import nbformat
import pytest

from conftest import CHAPTERS, ROOT
from deepinside.book import cells, colab, teaching


def chapter(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "chapters" / f"{name}.ipynb", as_version=4)


def code_lines(source: str) -> set[str]:
    """The lines of code, without comments and lines of brackets only."""
    return {
        line.strip()
        for line in source.splitlines()
        if line.strip(" ()[]{},.") and not line.strip().startswith("#")
    }


def names(source: str) -> tuple[set[str], set[str]]:
    """The names a cell binds and the names it reads."""
    tree = ast.parse(source)
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return bound, read


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_a_hidden_solution_and_every_stub_replaces_one(name):
    nb = chapter(name)
    found = teaching.exercises(nb, name)
    assert len(found) >= 2, "every chapter ends with at least two exercises"
    student = teaching.student_copy(nb, name, ROOT)
    stubs = [c for c in student.cells if teaching.EXERCISE_TAG in c.metadata.get("tags", [])]
    assert [s.source.splitlines()[0] for s in stubs] == [
        f"# Exercise {e.number}: {e.title}" for e in found
    ]
    for exercise, cell in zip(found, stubs):
        assert f"exercise {exercise.number} (" in cell.source
        assert "raise NotImplementedError(" in cell.source
    for exercise in found:
        cell = nb.cells[exercise.solution]
        assert cell.source.startswith(teaching.SOLUTION_TITLE + "\n")
        assert teaching.HIDE_TAG in cell.metadata["tags"]


def test_committed_chapter_notebooks_hide_every_solution():
    assert teaching.unhidden(ROOT) == []


@pytest.mark.parametrize("name", CHAPTERS)
def test_each_solution_needs_only_the_chapter_before_the_exercises(name):
    nb = chapter(name)
    found = teaching.exercises(nb, name)
    first = found[0].solution
    body = set().union(*(names(c.source)[0] for c in nb.cells[:first] if c.cell_type == "code"))
    earlier: set[str] = set()
    for exercise in found:
        bound, read = names(nb.cells[exercise.solution].source)
        needed = (read & earlier) - body - bound
        assert not needed, f"solution {exercise.number} reads {needed} of an earlier solution"
        earlier |= bound


@pytest.mark.parametrize("name", CHAPTERS)
def test_student_notebook_leaks_no_solution_and_every_stub_raises(name):
    nb = chapter(name)
    solutions = set().union(
        *(code_lines(nb.cells[e.solution].source) for e in teaching.exercises(nb))
    )
    student = teaching.student_copy(nb, name, ROOT)
    nbformat.validate(student)
    code = [c for c in student.cells if c.cell_type == "code"]
    stubs = [c for c in code if teaching.EXERCISE_TAG in c.metadata.get("tags", [])]
    assert not set().union(*(code_lines(c.source) for c in stubs)) & solutions
    assert not [c for c in code if teaching.is_solution(c)]
    for cell in code:
        assert cell.outputs == []
        ast.parse(cell.source)
    for cell in stubs:
        with pytest.raises(NotImplementedError, match="Your turn: exercise"):
            exec(compile(cell.source, name, "exec"), {})
    assert code[-len(stubs) :] == stubs, "the stubs end the notebook's code"
    assert "jupytext" not in student.metadata, "a student notebook is paired with no .py"


@pytest.mark.parametrize("name", CHAPTERS)
def test_student_notebook_opens_itself_in_colab(name):
    student = teaching.student_copy(chapter(name), name, ROOT)
    text = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert colab.badge(ROOT, teaching.student_path(name)) in student.cells[0].source
    assert colab.colab_url(ROOT, f"chapters/{name}.ipynb") not in text


def test_committed_student_notebooks_and_teaching_table_are_up_to_date():
    stale = teaching.stale_students(ROOT)
    assert stale == [], "\n".join(stale)


def test_teaching_page_links_every_student_notebook_in_colab():
    text = (ROOT / teaching.PAGE).read_text()
    for name in CHAPTERS:
        assert f"({colab.colab_url(ROOT, teaching.student_path(name))})" in text


@pytest.mark.parametrize("name", CHAPTERS)
def test_instructor_copy_shows_every_solution(name):
    nb = chapter(name)
    instructor = teaching.instructor_copy(nb, name)
    shown = [c for c in instructor.cells if teaching.is_solution(c)]
    assert len(shown) == len(teaching.exercises(nb))
    for cell in shown:
        assert set(cell.metadata["tags"]) == {teaching.SOLUTION_TAG}
        assert not {"cellView", "jupyter", "mystnb"} & set(cell.metadata)
        assert cell.source.startswith(teaching.INSTRUCTOR_TITLE + "\n")
    assert teaching.exercises(instructor, name)


def test_hiding_a_solution_is_idempotent_and_keeps_other_metadata():
    cell = nbformat.v4.new_code_cell(
        "# @title Solution\nx = 1", metadata={"tags": ["solution", "hide-input"], "other": 1}
    )
    cell.metadata["jupyter"] = {"kernel": "k"}
    assert teaching.hide_solution(cell) and not teaching.hide_solution(cell)
    assert teaching.is_hidden(cell)
    assert cell.metadata["tags"] == ["solution", "hide-cell"]
    assert cell.metadata["jupyter"] == {
        "kernel": "k",
        "source_hidden": True,
        "outputs_hidden": True,
    }
    assert cell.metadata["mystnb"]["code_prompt_show"] == "Show the solution"
    assert cell.metadata["cellView"] == "form"
    teaching.show_solution(cell)
    assert cell.metadata == {"tags": ["solution"], "other": 1, "jupyter": {"kernel": "k"}}


def test_stub_states_the_expected_output_and_answers_in_words():
    exercise = teaching.Exercise(2, "Overfitting the rotation.", 5)
    source = teaching.stub(exercise, "# @title Solution\n# Expect: two r² values\nx = 1")
    with pytest.raises(NotImplementedError) as raised:
        exec(source, {})
    message = str(raised.value)
    assert message.startswith("Your turn: exercise 2 (Overfitting the rotation). Replace")
    assert message.endswith("Expected: two r² values.")
    words = teaching.stub(exercise, "# @title Solution\n# In words: because.\nprint(1)")
    with pytest.raises(NotImplementedError, match="your answer in words, as comments"):
        exec(words, {})


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def solution(source="x = 1", title=teaching.SOLUTION_TITLE):
    return code(f"{title}\n{source}", metadata={"tags": ["solution", "hide-cell"]})


@pytest.mark.parametrize(
    "cells, message",
    [
        ((md("## Exercises\n\n**1. First.** Do it."),), "exercise 1 has no solution"),
        (
            (
                md("## Exercises\n\n**1. First.** Do it."),
                md("**2. Second.** Again."),
                solution(),
            ),
            "exercise 1 has no solution",
        ),
        ((solution(),), "follows no exercise"),
        ((md("## Exercises\n\n**2. First.**"), solution()), "numbered"),
        ((md("## Exercises\n\n**1. First.**"), code("# Solution\nx = 1")), "not tagged"),
        (
            (md("## Exercises\n\n**1. First.**"), solution(title="# Answer")),
            "must start with",
        ),
        (
            (md("## Exercises\n\n**1. First.**"), solution(), code("y = x")),
            "follows the exercises",
        ),
        (
            (md("## Exercises\n\n**1. First.**"), solution(), md("## References"), code("y")),
            "follows the exercises",
        ),
    ],
)
def test_broken_exercises_are_errors(cells, message):
    with pytest.raises(ValueError, match=message):
        teaching.exercises(notebook(*cells))


def test_student_copy_needs_a_colab_badge():
    nb = notebook(md("# Title"), md("## Exercises\n\n**1. First.**"), solution())
    with pytest.raises(ValueError, match="no Colab badge"):
        teaching.student_copy(nb, "01_x", ROOT)


def test_write_copies_zips_every_chapter(tmp_path):
    sources = [ROOT / "chapters" / f"{c}.ipynb" for c in CHAPTERS]
    zips = teaching.write_copies(sources, tmp_path, executed=tmp_path / "none")
    for role, path in zips.items():
        with zipfile.ZipFile(path) as archive:
            assert archive.namelist() == [f"deepinside-{role}/{s.name}" for s in sources]
        assert len(list((tmp_path / role).glob("*.ipynb"))) == len(sources)
    for name in CHAPTERS:  # the zipped student notebooks are the committed ones
        committed = ROOT / teaching.student_path(name)
        assert (tmp_path / "student" / f"{name}.ipynb").read_text() == committed.read_text()


def test_make_teaching_command(tmp_path, capsys):
    assert (
        teaching.main(
            ["--root", str(ROOT), "--out", str(tmp_path), "--executed", str(tmp_path / "none")]
        )
        == 0
    )
    assert (tmp_path / "deepinside-student.zip").exists() and (
        tmp_path / "deepinside-instructor.zip"
    ).exists()
    assert "student notebooks" in capsys.readouterr().out


@pytest.fixture
def book(tmp_path):
    """A copy of the book's sources that the update commands may rewrite."""
    for item in ("_config.yml", "_toc.yml", teaching.PAGE):
        (tmp_path / item).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / item, tmp_path / item)
    (tmp_path / "chapters").mkdir()
    for name in CHAPTERS:
        for suffix in (".ipynb", ".py"):
            shutil.copy2(ROOT / "chapters" / f"{name}{suffix}", tmp_path / "chapters")
    return tmp_path


def test_fix_notebooks_restores_the_hiding_metadata_and_only_that(book, capsys):
    path = book / "chapters" / f"{CHAPTERS[0]}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[teaching.exercises(nb)[0].solution]
    for key in ("cellView", "jupyter", "mystnb"):
        del cell.metadata[key]
    nbformat.write(nb, path)
    py = path.with_suffix(".py")
    os.utime(py)  # the pair as jupytext --sync leaves it: the .py is not older
    assert teaching.main(["--root", str(book), "--check"]) == 1
    assert "deepinside.book.cells" in capsys.readouterr().out
    assert cells.fix(book) == [path]
    assert path.read_text() == (ROOT / "chapters" / path.name).read_text()
    assert cells.fix(book) == []
    assert py.stat().st_mtime >= path.stat().st_mtime, "jupytext still syncs from the .py"


def test_students_command_writes_notebooks_and_table(book, capsys):
    assert teaching.main(["--root", str(book), "--students"]) == 0
    assert f"{len(CHAPTERS)} file(s) changed" in capsys.readouterr().out
    for name in CHAPTERS:
        written = (book / teaching.student_path(name)).read_text()
        assert written == (ROOT / teaching.student_path(name)).read_text()
        assert json.loads(written)["cells"][1]["id"] == "student-copy"
    (book / teaching.STUDENTS / "99_old.ipynb").write_text("{}")
    page = book / teaching.PAGE
    page.write_text(page.read_text().replace("open in Colab", "old link"))
    stale = teaching.stale_students(book)
    assert len(stale) == 2 and all(teaching.STUDENTS_COMMAND in line for line in stale)
    assert teaching.main(["--root", str(book), "--check"]) == 1
    assert teaching.main(["--root", str(book), "--students"]) == 0
    assert teaching.stale_students(book) == []
    assert page.read_text() == (ROOT / teaching.PAGE).read_text()


def test_staged_page_gets_the_table(book, tmp_path_factory):
    target = tmp_path_factory.mktemp("stage") / "teaching.md"
    shutil.copy2(book / teaching.PAGE, target)
    target.write_text(target.read_text().replace("open in Colab", "stale"))
    teaching.write_page(book, target)
    assert target.read_text() == (ROOT / teaching.PAGE).read_text()
    target.write_text("# Teaching\n")
    with pytest.raises(ValueError, match="needs one block"):
        teaching.write_page(book, target)
