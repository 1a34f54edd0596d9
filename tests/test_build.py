"""The build pipeline: the table of contents, failure reports, the run-time table, and the
incremental build (a chapter executes again only when what it was executed from changed)."""

import json
import shutil

import jupytext
import nbformat
import pytest

from conftest import ROOT, write_chapter
from deepinside.book import build, fingerprints

JUPYTEXT = 'formats = "ipynb,py:percent"\nnotebook_metadata_filter = "kernelspec"\n'


def toc(*chapters: str) -> str:
    entries = "".join(f"      - file: chapters/{c}\n" for c in chapters)
    return f"format: jb-book\nroot: book/intro\nparts:\n  - caption: A\n    chapters:\n{entries}"


def test_report_flags_chapters_over_budget():
    table = build.report(
        [build.Run("01_fast", 10.0, 800, True), build.Run("02_slow", build.BUDGET_S + 1, 900, True)]
    )
    assert "01_fast" in table and "over the" not in table.splitlines()[2]
    assert "over the" in table.splitlines()[3] and "total" in table
    heavy = build.report(
        [build.Run("03_heavy", 10.0, build.MEMORY_BUDGET_MB + 1, True)] * 2
        + [build.Run("04_long", build.BOOK_BUDGET_S, 100, True)]
    )
    assert "MB budget" in heavy.splitlines()[2] and "budget of the book" in heavy.splitlines()[-1]
    gpu = build.report([build.Run("05_gpu", 10 * build.BUDGET_S, 100, True)], budgets=False)
    assert "WARNING" not in gpu


def test_report_marks_cached_chapters_and_checks_only_executed_ones():
    old = build.Run(
        "01_old", build.BOOK_BUDGET_S + 1, build.MEMORY_BUDGET_MB + 1, True, cached=True
    )
    table = build.report([old, build.Run("02_new", 1.0, 100, True)]).splitlines()
    assert "(cached)" in table[2] and "(cached)" not in table[3]
    assert not any("WARNING" in line for line in table)


@pytest.fixture
def book(tmp_path):
    """A book of two chapters: 01_a imports deepinside.alpha (which imports beta), 02_b gamma."""
    (tmp_path / "_toc.yml").write_text(toc("01_a", "02_b"))
    (tmp_path / "jupytext.toml").write_text(JUPYTEXT)
    (tmp_path / "requirements.txt").write_text("numpy==2.0\n")
    package = tmp_path / "src" / "deepinside"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A package."""\n')
    (package / "alpha.py").write_text("from .beta import B\n\nA = B\n")
    (package / "beta.py").write_text("B = 1\n")
    (package / "gamma.py").write_text("G = 2\n")
    write_chapter(tmp_path, "01_a", "from deepinside.alpha import A")
    write_chapter(tmp_path, "02_b", "from deepinside import gamma")
    set_parameters(tmp_path, "01_a", "PROFILE = 'quick'\nSEED = 0  # the seed")
    set_parameters(tmp_path, "02_b", "PROFILE = 'quick'\nSEED = 0\nTOP = 30  # maps shown")
    return tmp_path


def set_parameters(root, chapter, source):
    """Give the chapter's parameters cell the ``source``."""
    _edit_chapter(root, chapter, lambda nb: setattr(nb.cells[0], "source", source))


@pytest.fixture
def executed(monkeypatch):
    """The chapters the build executes, in order; they are staged without running (no sync)."""
    done = []

    def execute(root, chapter, parameters, stage_dir):
        target = stage_dir / "chapters" / f"{chapter}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "chapters" / f"{chapter}.ipynb", target)
        done.append(chapter)
        return build.Run(
            chapter,
            float(len(done)),
            100.0,
            True,
            profile=parameters["PROFILE"],
            date=f"2025-01-{len(done):02d}T12:00:00+00:00",
        )

    monkeypatch.setattr(build, "execute", execute)
    monkeypatch.setattr(build, "sync", lambda root, chapters: None)
    return done


def run(root, *args):
    return build.main(["--root", str(root), "--no-html", *args])


def executes(root, executed, *args):
    """The chapters one build executes."""
    before = len(executed)
    assert run(root, *args) == 0
    return executed[before:]


def test_a_chapter_executed_once_is_not_executed_again(book, executed, capsys):
    assert executes(book, executed) == ["01_a", "02_b"]
    assert "2 chapter(s) executed, 0 up to date" in capsys.readouterr().out
    assert executes(book, executed) == []
    out = capsys.readouterr().out
    assert "01_a: up to date, not executed again" in out and "(cached)" in out
    assert "0 chapter(s) executed, 2 up to date" in out
    recorded = json.loads((book / "_build" / "stage" / "fingerprints.json").read_text())
    assert set(recorded) == {"01_a", "02_b"}


def test_a_chapter_is_executed_again_when_its_source_changes(book, executed):
    executes(book, executed)
    source = book / "chapters" / "01_a.py"
    source.write_text(source.read_text() + "\nx = 1\n")
    assert executes(book, executed) == ["01_a"]


def test_a_changed_module_executes_again_only_the_chapters_importing_it(book, executed):
    executes(book, executed)
    (book / "src" / "deepinside" / "beta.py").write_text("B = 2\n")  # through alpha
    assert executes(book, executed) == ["01_a"]
    (book / "src" / "deepinside" / "gamma.py").write_text("G = 3\n")
    assert executes(book, executed) == ["02_b"]
    (book / "src" / "deepinside" / "unused.py").write_text("U = 0\n")
    assert executes(book, executed) == []
    (book / "src" / "deepinside" / "__init__.py").write_text('"""Changed."""\n')
    assert executes(book, executed) == ["01_a", "02_b"]


def test_parameters_environment_and_force_execute_again(book, executed):
    executes(book, executed)
    assert executes(book, executed, "--param", "SEED=1") == ["01_a", "02_b"]
    assert executes(book, executed, "--param", "SEED=1", "--chapters", "02_b") == []
    assert executes(book, executed, "--profile", "full", "--chapters", "02_b") == ["02_b"]
    (book / "requirements.txt").write_text("numpy==2.1\n")
    assert executes(book, executed, "--chapters", "01_a") == ["01_a"]
    assert executes(book, executed, "--force", "--chapters", "01_a") == ["01_a"]


def _edit_chapter(root, chapter, edit):
    """Apply ``edit`` to the chapter's notebook and write both files of the pair."""
    path = root / "chapters" / f"{chapter}.ipynb"
    nb = nbformat.read(path, as_version=4)
    edit(nb)
    nbformat.write(nb, path)
    jupytext.write(nb, path.with_suffix(".py"), fmt="py:percent")


def test_changed_prose_is_staged_without_executing_again(book, executed):
    executes(book, executed)
    add_prose = lambda nb: nb.cells.insert(1, nbformat.v4.new_markdown_cell("New prose."))
    _edit_chapter(book, "01_a", add_prose)
    assert executes(book, executed) == ["01_a"]  # a new cell: the cells no longer line up
    _edit_chapter(book, "01_a", lambda nb: setattr(nb.cells[1], "source", "Better prose."))
    assert executes(book, executed) == []
    staged = nbformat.read(book / "_build" / "stage" / "chapters" / "01_a.ipynb", as_version=4)
    assert staged.cells[1].source == "Better prose."


def test_giving_a_default_parameter_executes_nothing_again(book, executed):
    executes(book, executed)
    assert executes(book, executed, "--param", "PROFILE=quick", "--param", "SEED=0") == []
    assert fingerprints.chapter_parameters(book, "01_a") == {"PROFILE": "quick", "SEED": 0}


def test_a_chapter_executed_from_the_same_inputs_elsewhere_is_copied(book, executed):
    executes(book, executed)
    other = book / "_build" / "seeds" / "seed-0"
    parameters = {"PROFILE": "quick"}
    runs = list(build.execute_changed(book, ["01_a"], parameters, stage_dir=other))
    assert [r.cached for r in runs] == [False] and executed[-1] == "01_a"
    copies = build.execute_changed(
        book, ["01_a", "02_b"], parameters, reuse=(book / "_build" / "stage",), stage_dir=other
    )
    assert [r.cached for r in copies] == [True, True]
    assert (other / "chapters" / "02_b.ipynb").exists()


def test_a_failed_or_broken_execution_is_not_up_to_date(book, executed, monkeypatch):
    executes(book, executed)
    staged = book / "_build" / "stage" / "chapters" / "02_b.ipynb"
    nb = nbformat.read(staged, as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("error", ename="E", evalue="", traceback=[])]
    nbformat.write(nb, staged)
    assert executes(book, executed) == ["02_b"]

    def fail(root, chapter, parameters, stage_dir):
        raise build.BuildError(f"chapter {chapter} failed")

    monkeypatch.setattr(build, "execute", fail)
    assert run(book, "--force", "--chapters", "01_a") == 1
    assert "01_a" not in fingerprints.load(book / "_build" / "stage")
    assert "02_b" in fingerprints.load(book / "_build" / "stage")


def test_timings_keep_the_last_measurement_of_chapters_up_to_date(book, executed):
    executes(book, executed)
    (book / "chapters" / "02_b.py").write_text(
        (book / "chapters" / "02_b.py").read_text() + "\nx = 2\n"
    )
    executes(book, executed)
    timings = json.loads((book / "_build" / "timings.json").read_text())
    entries = {e["chapter"]: e for e in timings["chapters"]}
    assert list(entries) == ["01_a", "02_b"]
    assert entries["01_a"]["date"].startswith("2025-01-01") and entries["01_a"]["seconds"] == 1.0
    assert entries["02_b"]["date"].startswith("2025-01-03") and entries["02_b"]["seconds"] == 3.0
    assert entries["01_a"]["profile"] == "quick" and "cached" not in entries["01_a"]


def test_unknown_chapter_is_rejected(book, capsys):
    with pytest.raises(SystemExit):
        run(book, "--chapters", "77_missing")
    assert "not chapters of _toc.yml" in capsys.readouterr().err


def test_a_real_execution_is_recorded_then_skipped(tmp_path, capsys):
    (tmp_path / "_toc.yml").write_text(toc("97_tiny"))
    (tmp_path / "jupytext.toml").write_text(JUPYTEXT)
    write_chapter(tmp_path, "97_tiny", "x = 1")
    assert run(tmp_path) == 0
    assert "executing 97_tiny" in capsys.readouterr().out
    assert "97_tiny" in fingerprints.load(fingerprints.stage(tmp_path))
    assert run(tmp_path) == 0
    assert "97_tiny: up to date, not executed again" in capsys.readouterr().out


def test_html_only_and_no_html_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        build.main(["--html-only", "--no-html"])
    assert "not allowed with" in capsys.readouterr().err


def test_a_change_affects_the_chapters_importing_it_transitively(book):
    chapters = ["01_a", "02_b"]
    assert build.affected_chapters(book, ["src/deepinside/beta.py"], chapters) == ["01_a"]
    assert build.affected_chapters(book, ["src/deepinside/gamma.py"], chapters) == ["02_b"]
    assert build.affected_chapters(book, ["src/deepinside/book/build.py"], chapters) == []
    assert build.affected_chapters(book, ["src/deepinside/gone.py"], chapters) == []
    assert build.affected_chapters(book, ["src/deepinside/data.json"], chapters) == chapters
    assert build.affected_chapters(book, ["pyproject.toml"], chapters) == chapters


def refused(root, capsys, *args):
    """The error of a build refused on its command line."""
    with pytest.raises(SystemExit):
        build.main(["--root", str(root), *args])
    return capsys.readouterr().err


def test_an_unknown_parameter_is_refused_before_anything_executes(book, executed, capsys):
    error = refused(book, capsys, "--param", "SEEDS=1")
    assert "--param SEEDS: not a parameter of 01_a, 02_b" in error
    assert "known: PROFILE, SEED" in error and "did you mean SEED?" in error
    assert executed == [] and not (book / "_build").exists()


def test_a_parameter_of_some_selected_chapters_only_is_refused(book, executed, capsys):
    error = refused(book, capsys, "--param", "TOP=5")
    assert "not a parameter of 01_a" in error
    assert "only 02_b know it: select with --chapters 02_b" in error and executed == []
    assert executes(book, executed, "--param", "TOP=5", "--chapters", "02_b") == ["02_b"]


@pytest.mark.parametrize(
    "param, message",
    [
        ('SEED="1"', "SEED must be an integer from 0 to 4294967295, got '1' (str)"),
        ("SEED=-1", "SEED must be an integer from 0 to 4294967295, got -1 (int)"),
        ("SEED=true", "got True (bool)"),
        ("PROFILE=fast", 'PROFILE must be one of "quick", "full"'),
        ("SEED=[1", "--param SEED: '[1' is not a YAML value"),
    ],
)
def test_a_wrong_parameter_value_is_refused_before_anything_executes(
    book, executed, capsys, param, message
):
    assert message in refused(book, capsys, "--html-only", "--param", param)
    assert executed == []


def test_the_running_page_gets_the_table_of_every_chapters_parameters(book, executed):
    page = book / "running.md"
    page.write_text(f"# Running\n\n{build.PARAMETERS_MARKER}\n\nMore.\n")
    build.write_parameters(book, page)
    text = page.read_text()
    assert build.PARAMETERS_MARKER not in text and text.endswith("\n\nMore.\n")
    assert '| `PROFILE` | one of `"quick"`, `"full"` | `"quick"` |' in text
    assert "| `SEED` | an integer from 0 to 4294967295 | `0` |" in text
    assert "| `02_b` | `TOP` | a positive integer | `30` | maps shown |" in text
    with pytest.raises(build.BuildError, match="no line"):
        build.write_parameters(book, page)
    set_parameters(book, "01_a", "PROFILE = 'quick'\nWIDTH = 3")
    with pytest.raises(build.BuildError, match="WIDTH is not a declared chapter parameter"):
        build.parameters_table(book)


def test_an_html_only_build_writes_the_table_of_parameters(book, executed, monkeypatch):
    executes(book, executed)
    (book / "_config.yml").write_text("title: A\n")
    (book / "book").mkdir()
    (book / "book" / "running.md").write_text(
        f"{build.PARAMETERS_MARKER}\n{build.RECIPES_MARKER}\n{build.COST_MARKER}\n"
    )
    for module in (build.measurements, build.ledger, build.teaching):
        monkeypatch.setattr(module, "write_page", lambda root, page: None)
    monkeypatch.setattr(build.recipes, "table", lambda root: "| recipes |")
    monkeypatch.setattr(build.teaching, "write_copies", lambda *args: {})
    monkeypatch.setattr(build, "run_command", lambda command, what: None)
    assert build.main(["--root", str(book), "--html-only"]) == 0
    staged = (book / "_build" / "stage" / "book" / "running.md").read_text()
    assert "| `02_b` | `TOP` |" in staged and "| recipes |" in staged
    assert build.RECIPES_MARKER not in staged


def test_the_books_running_page_gets_the_table_of_parameters(tmp_path):
    page = tmp_path / "running.md"
    shutil.copy(ROOT / "book" / "running.md", page)
    build.write_parameters(ROOT, page)
    assert "| `02_alignment` | `TOP` | a positive integer | `30` |" in page.read_text()
