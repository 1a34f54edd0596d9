"""The build pipeline: the table of contents, failure reports, and the run-time table."""

import nbformat
import pytest

from deepinside import build


def test_toc_chapters_reads_parts_in_order(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/intro\nparts:\n"
                   "  - caption: A\n    chapters:\n      - file: chapters/01_a\n      - file: book/x\n"
                   "  - caption: B\n    chapters:\n      - file: chapters/02_b\n")
    assert build.toc_chapters(toc) == ["01_a", "02_b"]


def write_chapter(root, monkeypatch, name, *sources):
    """A chapter ``name`` of a book rooted at ``root``: a parameters cell, then ``sources``."""
    monkeypatch.setattr(build, "ROOT", root)
    monkeypatch.setattr(build, "STAGE", root / "_build" / "stage")
    (root / "chapters").mkdir(exist_ok=True)
    cells = [nbformat.v4.new_code_cell("PROFILE = 'quick'", metadata={"tags": ["parameters"]})]
    nb = nbformat.v4.new_notebook(cells=cells + [nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "chapters" / f"{name}.ipynb")


def test_a_failing_cell_stops_the_build_naming_chapter_and_cell(tmp_path, monkeypatch):
    write_chapter(tmp_path, monkeypatch, "99_broken", "x = 1", "raise ValueError('the claim does not hold')")
    with pytest.raises(build.BuildError) as failure:
        build.execute("99_broken", {"PROFILE": "quick"})
    message = str(failure.value)
    assert "99_broken" in message and "ValueError: the claim does not hold" in message
    assert "code cell 4" in message  # papermill inserts the injected-parameters cell


def test_report_flags_chapters_over_budget():
    table = build.report([build.Run("01_fast", 10.0, 800, True),
                          build.Run("02_slow", build.BUDGET_S + 1, 900, True)])
    assert "01_fast" in table and "over the" not in table.splitlines()[2]
    assert "over the" in table.splitlines()[3] and "total" in table
    heavy = build.report([build.Run("03_heavy", 10.0, build.MEMORY_BUDGET_MB + 1, True)] * 2
                         + [build.Run("04_long", build.BOOK_BUDGET_S, 100, True)])
    assert "MB budget" in heavy.splitlines()[2] and "budget of the book" in heavy.splitlines()[-1]
    assert "WARNING" not in build.report([build.Run("05_gpu", 10 * build.BUDGET_S, 100, True)], budgets=False)


def test_unknown_chapter_is_rejected(capsys):
    with pytest.raises(SystemExit):
        build.main(["--chapters", "77_missing", "--no-html"])
    assert "not chapters of _toc.yml" in capsys.readouterr().err


def test_chapters_execute_with_static_explorers(tmp_path, monkeypatch):
    write_chapter(tmp_path, monkeypatch, "98_explorer",
                  "from deepinside import interactive\nassert interactive.is_static()")
    assert build.execute("98_explorer", {"PROFILE": "quick"}).ok


def test_html_only_and_no_html_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        build.main(["--html-only", "--no-html"])
    assert "not allowed with" in capsys.readouterr().err
