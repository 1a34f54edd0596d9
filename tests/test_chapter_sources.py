"""Every chapter is a synced pair, committed without outputs, and follows the chapter template."""

import ast
import re

import jupytext
import nbformat
import pytest
import yaml

from conftest import CHAPTERS, ROOT
from deepinside.book import cells, claims, colab


def test_the_toc_lists_existing_chapters_in_order():
    assert CHAPTERS, "the book has no chapter"
    assert sorted(CHAPTERS) == CHAPTERS
    for chapter in CHAPTERS:
        assert (ROOT / "chapters" / f"{chapter}.py").exists()
    on_disk = sorted(p.stem for p in (ROOT / "chapters").glob("*.py"))
    assert on_disk == sorted(CHAPTERS), "every chapter on disk belongs in _toc.yml"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_pair_is_in_sync(chapter):
    source = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    paired = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    strip = lambda nb: [
        (c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in nb.cells
    ]
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
    assert colab.badge(ROOT, f"chapters/{chapter}.ipynb") in nb.cells[0].source, (
        "the first cell carries the Colab badge of this chapter"
    )
    assert code[0].source == colab.install_cell(ROOT), "run `python -m deepinside.book.colab`"
    parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    for name in ("PROFILE", "SEED", "DEVICE"):
        assert re.search(rf"^{name} = ", parameters[0].source, re.M)
    for heading in ("## What we learned", "## Exercises", "## References"):
        assert heading in markdown


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_number_cited_in_the_prose_is_glued(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    cited = claims.cited(claims.markdown_of(nb))
    patterns = claims.glued_name_patterns(nb)
    assert cited, "the prose cites no computed number"
    missing = sorted(n for n in cited if not any(re.fullmatch(p, n) for p in patterns))
    assert not missing, f"cited but never glued: {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_glue_format_is_valid(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    roles = [
        r
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for r in re.findall(r"\{glue:text\}`([^`]+)`", cell.source)
    ]
    for role in roles:
        name, _, spec = role.partition(":")
        assert name.isidentifier(), role
        format(0.5, spec)  # raises ValueError on a malformed specifier such as ".1f} %"


CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
BIB = (ROOT / "book" / "references.bib").read_text()
BIB_KEYS = re.findall(r"^@\w+\{([^,]+),", BIB, re.M)
CITE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]+)`")


def test_every_page_has_a_colab_launch_button_on_the_committed_notebooks():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["repository"]["branch"] == "main" and CONFIG["repository"]["path_to_book"] == ""
    for chapter in CHAPTERS:  # the button and the badge open chapters/NN.ipynb on main
        assert (ROOT / "chapters" / f"{chapter}.ipynb").exists()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_setup_cell_installs_only_in_colab_and_the_device_prefers_a_gpu(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = code[0]
    assert "hide-cell" in setup.metadata.get("tags", []), "the setup cell is collapsed in the book"
    tree = ast.parse(setup.source)
    guarded = [node for node in tree.body if isinstance(node, ast.If)]
    assert len(guarded) == 1 and "google.colab" in ast.unparse(guarded[0].test)
    assert "pip" in ast.unparse(guarded[0]) and "pip" not in "".join(
        ast.unparse(node) for node in tree.body if not isinstance(node, ast.If)
    )
    parameters = next(c for c in code if "parameters" in c.metadata.get("tags", []))
    assert re.search(r'^DEVICE = "auto"', parameters.source, re.M), (
        "DEVICE defaults to auto (GPU if any)"
    )
    rest = "\n".join(c.source for c in code if c is not parameters)
    assert re.search(r"\([^)]*\bDEVICE\b", rest), "the chapter passes DEVICE on"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_named_in_the_prose_is_a_link_to_it(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    unlinked = re.findall(r"(?<!\[)Chapters? \d(?!\d)(?!\]\()", prose)
    assert not unlinked, f"{unlinked}: write [Chapter N](NN_topic.ipynb)"
    for number, target in re.findall(r"\[(?:Chapter )?(\d)\]\(([^)]+)\)", prose):
        assert target == f"{CHAPTERS[int(number) - 1]}.ipynb", (number, target)


def targets_and_citations(target: str, role: str) -> tuple[list[str], list[str]]:
    """Every name the chapters define with the pattern ``target``, and every ``{role}`` citation."""
    texts = [(ROOT / "chapters" / f"{chapter}.py").read_text() for chapter in CHAPTERS]
    names = [name for text in texts for name in re.findall(target, text, re.M)]
    return names, [name for text in texts for name in re.findall(rf"\{{{role}\}}`([^`]+)`", text)]


def test_equations_have_unique_labels_and_every_reference_resolves():
    labels, references = targets_and_citations(r"\$\$ \((eq-[\w-]+)\)$", "eq")
    assert len(labels) >= len(CHAPTERS) and len(labels) == len(set(labels)), labels
    assert references and set(references) <= set(labels), set(references) - set(labels)


def test_figures_have_unique_names_and_every_numref_resolves():
    names, references = targets_and_citations(r"^# Figure (fig-[a-z0-9-]+): ", "numref")
    assert len(names) >= 5 and len(names) == len(set(names)), names
    assert set(references) == set(names), "every named figure is cited, every citation named"
    assert cells.problems(ROOT) == [], "run `python -m deepinside.book.cells`"


def test_the_bibliography_has_unique_keys_and_every_entry_is_cited():
    assert len(BIB_KEYS) == len(set(BIB_KEYS))
    pages = [*(ROOT / "chapters").glob("*.py"), *(ROOT / "book").glob("*.md")]
    cited = {
        key.strip()
        for page in pages
        for group in CITE.findall(page.read_text())
        for key in group.split(",")
    }
    assert cited <= set(BIB_KEYS), (
        f"cited but not in references.bib: {sorted(cited - set(BIB_KEYS))}"
    )
    assert set(BIB_KEYS) <= cited, (
        f"in references.bib but never cited: {sorted(set(BIB_KEYS) - cited)}"
    )
    assert "book/references.bib" in CONFIG["bibtex_bibfiles"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_references_cite_the_bibliography(chapter):
    text = (ROOT / "chapters" / f"{chapter}.py").read_text()
    references = text.split("# ## References", 1)[1]
    assert CITE.search(references), "the References section cites entries of book/references.bib"
    assert "{footbibliography}" in references


# where each chapter derives a method, it shows the package's own function
CORE_CODE = {
    "02_alignment": "al.orthogonal_alignment",
    "03_rainbow": "rainbow.sample_weights",
    "04_spatial": "spatial.spatial_covariance",
    "05_energy": "energy.energy_profile",
    "07_cnfa": "cnfa.patch_agop",
    "08_convrfm": "rfm.conv_rfm",
    "09_inversion": "inversion.invert",
}


@pytest.mark.parametrize("chapter", sorted(CORE_CODE))
def test_chapter_shows_the_core_function_it_derives(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    shown = [c for c in nb.cells if c.cell_type == "code" and "show_source(" in c.source]
    assert any(f"show_source({CORE_CODE[chapter]})" in c.source for c in shown)
    assert all("hide-input" in c.metadata.get("tags", []) for c in shown)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_imports_only_in_the_setup_and_imports_cells(chapter):
    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    code = [c for c in nb.cells if c.cell_type == "code"]
    parameters = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    for number, cell in enumerate(code):
        if number in (0, parameters + 1):  # the Colab setup cell and the imports cell
            continue
        imports = [
            n
            for n in ast.walk(ast.parse(cell.source))
            if isinstance(n, ast.Import | ast.ImportFrom)
        ]
        assert not imports, f"code cell {number + 1} imports: move it to the imports cell"
