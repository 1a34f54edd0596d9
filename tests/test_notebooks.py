"""Every chapter is a synced pair, committed without outputs, and follows the chapter template."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from deepinside.build import toc_chapters

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = toc_chapters(ROOT / "_toc.yml")
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
REPO = REPO_URL.removeprefix("https://github.com/")


def test_the_toc_lists_existing_chapters_in_order():
    assert CHAPTERS, "the book has no chapter"
    assert CHAPTERS == sorted(CHAPTERS)
    for chapter in CHAPTERS:
        assert (ROOT / "chapters" / f"{chapter}.py").exists()
    on_disk = sorted(p.stem for p in (ROOT / "chapters").glob("*.py"))
    assert on_disk == sorted(CHAPTERS), "every chapter on disk belongs in _toc.yml"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_pair_is_in_sync(chapter):
    source = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    paired = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    strip = lambda nb: [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in nb.cells]
    assert strip(source) == strip(paired), f"run `jupytext --sync chapters/{chapter}.py`"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_committed_notebook_has_no_outputs_and_a_kernel(chapter):
    nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_template(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    code = [c for c in nb.cells if c.cell_type == "code"]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    badge = f"https://colab.research.google.com/github/{REPO}/blob/main/chapters/{chapter}.ipynb"
    assert badge in nb.cells[0].source, "the first cell carries the Colab badge of this chapter"
    setup = code[0].source
    assert 'if "google.colab" in sys.modules:' in setup and f"git+{REPO_URL}" in setup
    parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    for name in ("PROFILE", "SEED", "DEVICE"):
        assert re.search(rf"^{name} = ", parameters[0].source, re.M)
    for heading in ("## What we learned", "## Exercises", "## References"):
        assert heading in markdown


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_number_cited_in_the_prose_is_glued(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    cited = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cited |= set(re.findall(r"\{glue:text\}`([A-Za-z0-9_]+)", cell.source))
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # glue("name", ...) or glue(f"name_{var}", ...): an f-string's fields match any identifier part
    patterns = [re.sub(r"\\\{[^}]*\\\}", "[a-z0-9_]+", re.escape(name))
                for name in re.findall(r"glue\(\s*f?\"([^\"]+)\"", code)]
    assert cited, "the prose cites no computed number"
    missing = sorted(n for n in cited if not any(re.fullmatch(p, n) for p in patterns))
    assert not missing, f"cited but never glued: {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_glue_format_is_valid(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    roles = [r for cell in nb.cells if cell.cell_type == "markdown"
             for r in re.findall(r"\{glue:text\}`([^`]+)`", cell.source)]
    for role in roles:
        name, _, spec = role.partition(":")
        assert name.isidentifier(), role
        format(0.5, spec)  # raises ValueError on a malformed specifier such as ".1f} %"
