"""The repository named once, the Colab badges and install cells generated from it."""

import importlib.util
import shutil
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from deepinside import __version__
from deepinside.book import colab
from deepinside.book.toc import toc_chapters

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = toc_chapters(ROOT)


def test_every_badge_and_install_cell_follows_the_configured_repository():
    found = colab.problems(ROOT)
    assert found == [], f"{found}: run `python -m deepinside.book.colab` to regenerate them"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_badge_renders_everywhere_and_opens_the_chapter_itself(chapter):
    text = (ROOT / "chapters" / f"{chapter}.py").read_text()
    assert colab.BADGE_IMAGE.startswith("https://") and colab.BADGE_IMAGE in text
    url = f"{colab.repository(ROOT).replace('https://', '')}/blob/main/chapters/{chapter}.ipynb"
    assert f"https://colab.research.google.com/{url}".replace("github.com", "github") in text


def test_retarget_points_config_and_every_chapter_at_a_fork(tmp_path):
    for name in ("_config.yml", "_toc.yml", "CITATION.cff"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "chapters", tmp_path / "chapters", ignore=shutil.ignore_patterns("*/"))
    fork = "https://github.com/a-student/my-fork"
    assert colab.main(["--root", str(tmp_path), "--retarget", fork]) == 0
    assert colab.repository(tmp_path) == fork and colab.problems(tmp_path) == []
    config = (tmp_path / "_config.yml").read_text()
    assert "# Jupyter Book 1.x configuration" in config, "comments are kept"
    assert f'repository-code: "{fork}"' in (tmp_path / "CITATION.cff").read_text()
    old = colab.repository(ROOT)
    for chapter in CHAPTERS:
        for suffix in (".py", ".ipynb"):
            text = (tmp_path / "chapters" / f"{chapter}{suffix}").read_text()
            assert "a-student/my-fork" in text and old.split("github.com/")[1] not in text
    assert colab.main(["--root", str(tmp_path), "--check"]) == 0


def test_a_repository_that_is_not_on_github_is_refused(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/x\n")
    with pytest.raises(ValueError, match=r"repository.url must be https://github.com/OWNER/NAME"):
        colab.repository(tmp_path)
    with pytest.raises(ValueError, match="OWNER/NAME"):
        colab.retarget(tmp_path, "deepinside/deepinside")


@pytest.fixture
def colab_runtime(monkeypatch):
    """A stand-in Colab: `google.colab` importable, `deepinside` not yet installed."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "deepinside" else find_spec(name, *a),
    )


def test_install_cell_keeps_colabs_stack_and_pins_the_release(monkeypatch, colab_runtime):
    calls = []

    def pip(command, *args, **kwargs):
        constraints = Path(command[command.index("-c") + 1]).read_text().splitlines()
        calls.append((command, constraints))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", pip)
    exec(colab.install_cell(ROOT), {})
    (command, constraints), *rest = calls
    assert rest == [] and command[-1] == (
        f"deepinside @ git+{colab.repository(ROOT)}@v{__version__}"
    )
    for name in ("numpy", "torch", "scipy", "matplotlib"):
        assert f"{name}=={metadata.version(name)}" in constraints


def test_install_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip ran outside Colab"))
    exec(colab.install_cell(ROOT), {})


def test_install_cell_says_how_else_to_install_when_the_repository_is_unreachable(
    colab_runtime,
):
    cell = colab.install_cell(ROOT).replace(
        colab.repository(ROOT), "https://127.0.0.1:9/nobody/deepinside"
    )
    with pytest.raises(RuntimeError, match=r"pip install -e \.") as error:
        exec(cell, {})
    assert "Could not install deepinside @ git+https://127.0.0.1:9" in str(error.value)


def test_the_book_uses_its_own_copy_of_the_badge(tmp_path):
    import nbformat

    notebook = tmp_path / "chapter.ipynb"
    source = f"# A chapter\n\n{colab.badge(ROOT, 'chapters/chapter.ipynb')}"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)]), notebook
    )
    colab.localize_badges(notebook)
    text = nbformat.read(notebook, as_version=4).cells[0].source
    assert colab.LOCAL_BADGE in text and colab.BADGE_IMAGE not in text
    assert colab.colab_url(ROOT, "chapters/chapter.ipynb") in text
    assert (ROOT / "chapters" / colab.LOCAL_BADGE).resolve().is_file()
