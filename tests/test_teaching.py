"""Student copies hide every solution behind a stub; instructor copies show them all."""

import ast
import zipfile

import nbformat
import pytest

from conftest import CHAPTERS, ROOT
from deepinside.book import teaching


def chapter(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "chapters" / f"{name}.ipynb", as_version=4)


def code_lines(source: str) -> set[str]:
    return {
        line.strip()
        for line in source.splitlines()
        if line.strip() and not line.strip().startswith("#") and line.strip() != "..."
    }


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_a_solution_and_every_stub_replaces_one(name):
    nb = chapter(name)
    found = teaching.exercises(nb, name)
    assert len(found) >= 2, "every chapter ends with at least two exercises"
    student = teaching.student_copy(nb, name)
    stubs = [c for c in student.cells if "exercise" in c.metadata.get("tags", [])]
    assert [s.source.splitlines()[0] for s in stubs] == [
        f"# Exercise {e.number}: {e.title}" for e in found
    ]
    for exercise in found:
        assert "hide-input" in nb.cells[exercise.solution].metadata.get("tags", [])


@pytest.mark.parametrize("name", CHAPTERS)
def test_student_copy_leaks_no_solution_and_runs_as_python(name):
    nb = chapter(name)
    solutions = set().union(
        *(code_lines(nb.cells[e.solution].source) for e in teaching.exercises(nb))
    )
    student = teaching.student_copy(nb, name)
    nbformat.validate(student)
    code = [c for c in student.cells if c.cell_type == "code"]
    leaked = set().union(
        *(code_lines(c.source) for c in code if "exercise" in c.metadata.get("tags", []))
    )
    assert not leaked & solutions
    for cell in code:
        assert cell.outputs == []
        ast.parse(cell.source)


@pytest.mark.parametrize("name", CHAPTERS)
def test_instructor_copy_shows_every_solution(name):
    nb = chapter(name)
    instructor = teaching.instructor_copy(nb, name)
    shown = [c for c in instructor.cells if teaching.is_solution(c)]
    assert len(shown) == len(teaching.exercises(nb))
    assert all("hide-input" not in c.metadata.get("tags", []) for c in shown)


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


@pytest.mark.parametrize(
    "cells, message",
    [
        ((md("## Exercises\n\n**1. First.** Do it."),), "exercise 1 has no solution"),
        (
            (
                md("## Exercises\n\n**1. First.** Do it."),
                md("**2. Second.** Again."),
                code("# Solution\nx = 1"),
            ),
            "exercise 1 has no solution",
        ),
        ((code("# Solution\nx = 1"),), "follows no exercise"),
        ((md("## Exercises\n\n**2. First.**"), code("# Solution\nx = 1")), "numbered"),
    ],
)
def test_broken_exercises_are_errors(cells, message):
    with pytest.raises(ValueError, match=message):
        teaching.exercises(notebook(*cells))


def test_write_copies_zips_every_chapter(tmp_path):
    sources = [ROOT / "chapters" / f"{c}.ipynb" for c in CHAPTERS]
    zips = teaching.write_copies(sources, tmp_path, executed=tmp_path / "none")
    for role, path in zips.items():
        with zipfile.ZipFile(path) as archive:
            assert archive.namelist() == [f"deepinside-{role}/{s.name}" for s in sources]
        assert len(list((tmp_path / role).glob("*.ipynb"))) == len(sources)


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
