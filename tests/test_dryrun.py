"""The checks of the stand-in dry run, and the dry run of a small chapter through the build."""

import json
import re

import jupytext
import nbformat
import pytest
from test_build import JUPYTEXT, toc

from conftest import CHAPTERS, ROOT, read_executed
from deepinside import standin
from deepinside.book import build, dryrun, execute, fingerprints

BANNER = nbformat.v4.new_output(
    "display_data",
    data={"text/markdown": standin.BANNER},
    metadata={"deepinside": {"standin": True}},
)


def glue_output(name, value):
    return nbformat.v4.new_output(
        "display_data",
        data={"application/papermill.record/text/plain": repr(value)},
        metadata={"scrapbook": {"name": name}},
    )


def notebook(*cells, banner=True):
    first = nbformat.v4.new_code_cell("session = runtime.start(...)")
    first.outputs = [BANNER] if banner else []
    return nbformat.v4.new_notebook(cells=[first, *cells])


def code(source, *outputs):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = list(outputs)
    return cell


def test_a_clean_dry_run_has_no_problem_and_its_page_shows_the_glued_values():
    nb = notebook(
        code("glue('acc', 0.5)", glue_output("acc", 0.512)),
        nbformat.v4.new_markdown_cell("Accuracy {glue:text}`acc:.1%` on the stand-ins."),
    )
    assert dryrun.problems(nb) == []
    assert "Accuracy 51.2% on the stand-ins." in dryrun.page_text(nb)
    assert "Stand-in dry run" in dryrun.page_text(nb)


def test_problems_name_the_cell_and_what_is_wrong():
    stderr = nbformat.v4.new_output(
        "stream", name="stderr", text=f"{standin.EMPTY_FIGURE}: 'loss' draws nothing\n"
    )
    nb = notebook(
        code(
            "glue('n', 'many')\nglue('r', nan)", glue_output("n", "many"), glue_output("r", 1e999)
        ),
        code("fig, ax = plt.subplots()", stderr),
        code("# Figure fig-loss: The loss.\nplot(x)"),
        nbformat.v4.new_markdown_cell("{glue:text}`n:.2f`, {glue:text}`r:.2f`, {glue:text}`gone`"),
        banner=False,
    )
    assert dryrun.problems(nb) == [
        "no stand-in banner: runtime.start never ran",
        f"code cell 3 (starting `fig, ax = plt.subplots()`): {standin.EMPTY_FIGURE}: "
        "'loss' draws nothing",
        "code cell 4 (starting `# Figure fig-loss: The loss.`): a named figure cell drew no image",
        "markdown cell 1: {glue:text}`n:.2f` cannot format \"'many'\": "
        "could not convert string to float: 'many'",
        "markdown cell 1: {glue:text}`r:.2f` shows 'inf'",
        "markdown cell 1: {glue:text}`gone` has no glued value",
    ]


CHAPTER = """\
from deepinside import data, runtime
from deepinside.notebook import glue
import matplotlib.pyplot as plt

TABLE = {"quick": {"dataset": "mnist5k", "epochs": 3}, "full": {"dataset": "DATASET", "epochs": 30}}
session = runtime.start(PROFILE, 0, "cpu", TABLE)
images = data.load(session.settings["dataset"], "test")
glue("images", len(images))
glue("epochs", session.settings["epochs"])
print(images.image_shape)
"""


def tiny_book(root, dataset="cifar100", figure="plt.plot(images.y.numpy())"):
    """A book of one chapter that loads the `full` dataset ``dataset`` and draws ``figure``."""
    (root / "_toc.yml").write_text(toc("90_tiny"))
    (root / "jupytext.toml").write_text(JUPYTEXT)
    (root / "chapters").mkdir()
    parameters = nbformat.v4.new_code_cell("PROFILE = 'quick'", metadata={"tags": ["parameters"]})
    cells = [
        parameters,
        nbformat.v4.new_code_cell(CHAPTER.replace("DATASET", dataset)),
        nbformat.v4.new_code_cell(f"# Figure fig-labels: The labels.\n{figure}"),
        nbformat.v4.new_markdown_cell("{glue:text}`images` images, {glue:text}`epochs` epoch."),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "chapters" / "90_tiny.ipynb")
    jupytext.write(nb, root / "chapters" / "90_tiny.py", fmt="py:percent")
    return root


def dry_run(root, monkeypatch):
    monkeypatch.setenv(standin.ENV, "0")  # restored after the test: the build sets it to 1
    return build.main(["--root", str(root), "--standin"])


def test_the_dry_run_executes_full_with_stand_ins_into_its_own_stage(tmp_path, monkeypatch):
    root = tiny_book(tmp_path)
    assert dry_run(root, monkeypatch) == 0
    executed = dryrun.read(root, "90_tiny")
    assert dryrun.problems(executed) == []
    assert dryrun.glued(root, "90_tiny") == {"images": standin.IMAGES["test"], "epochs": 1}
    assert "[stand-in] (3, 32, 32)" in dryrun.page_text(executed)
    record = json.loads((dryrun.stage(root) / "chapters" / "90_tiny.run.json").read_text())
    assert record == {
        "device": "cpu",
        "cuda_visible": False,
        "gpu": None,
        "precision": "float32",
        "peak_gpu_mb": 0.0,
    }
    assert not (fingerprints.stage(root) / "chapters").exists(), "the book's stage stays empty"
    assert not (root / "_build" / "html").exists()


@pytest.mark.parametrize(
    ("dataset", "figure", "expected"),
    [
        ("cifar11", "plt.plot(images.y.numpy())", "code cell 3 (starting `from deepinside"),
        ("cifar10", "plt.subplots(1, 2)[1][0].plot([1])", "'panel 2' draws nothing"),
        ("cifar10", "plt.plot([float('nan')] * 3)", "'panel 1' draws nothing"),
    ],
    ids=["a broken settings entry", "an empty panel", "a figure of NaN"],
)
def test_a_broken_full_path_fails_the_dry_run_naming_chapter_and_cell(
    tmp_path, monkeypatch, capsys, dataset, figure, expected
):
    root = tiny_book(tmp_path, dataset, figure)
    assert dry_run(root, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "BUILD FAILED: chapter 90_tiny" in err and expected in err
    assert not fingerprints.load(dryrun.stage(root)).get("90_tiny"), "not up to date"


def test_the_dry_run_builds_no_html(capsys):
    with pytest.raises(SystemExit):
        build.main(["--root", str(ROOT), "--standin", "--html-only"])
    assert "--standin executes chapters" in capsys.readouterr().err


def test_a_chapter_that_falls_back_to_the_cpu_beside_a_gpu_fails(tmp_path):
    record = tmp_path / "a.run.json"
    facts = {"device": "cuda", "cuda_visible": True, "gpu": "H100", "precision": "bfloat16"}
    record.write_text(json.dumps({**facts, "peak_gpu_mb": 812.5}))
    run = execute._where_it_ran(build.Run("01_a", 1.0, 1.0, True), record, "auto")
    assert (run.device, run.precision, run.peak_gpu_mb) == ("cuda", "bfloat16", 812.5)
    record.write_text(json.dumps({**facts, "device": "cpu", "peak_gpu_mb": 0.0}))
    assert execute._where_it_ran(build.Run("01_a", 1.0, 1.0, True), record, "cpu").device == "cpu"
    with pytest.raises(build.BuildError, match="ran on the cpu although H100 is visible"):
        execute._where_it_ran(build.Run("01_a", 1.0, 1.0, True), record, "auto")


# Phrases true of the `quick` profile only: none may appear in a page of the `full` profile.
QUICK_ONLY = {
    "01_dimensionality": [
        "instead of the source's 5",
        "harder than digits",
        "on digits the stretch",
        "to compare with the tutorial's counts",
        "mnist5k",
    ],
    "02_alignment": [
        "mnist5k",
    ],
    "03_rainbow": [
        "on digits",
        "nearly as good as a trained cnn",
        "random convolutional features are nearly as good",
        "gains only",
        "to repeat the measurement on the source's grayscale cifar-10",
    ],
    "04_spatial": [
        "on small test sets",
        "matters with short training",
        "trained this briefly",
        "after this training",
        "photographs, 3×3",
        "photographs, 5×5",
        "photographs random labels",
        "digits, 5×5",
        "'reference_dataset': 'photos'",
    ],
    "05_energy": [
        "recipes differ in data, architecture, optimizer and length",
        "'reference_dataset': 'photos'",
    ],
    "06_factorized": [
        "on these small test sets",
        "differ by several points",
        "crops of all ten photographs",
        "different photographs",
        "five photographs",
        "photos a, seed",
        "photos b, seed",
        "few points are within seed spread",
        "'name': 'photos a'",
    ],
    "07_cnfa": [
        "test crops, one per photograph",
        "never saw whole",
        "never saw a whole photograph",
        "two photographs' crops",
        "tell photographs apart",
        "crops of a photograph are alike",
        "at 1/4 of the resolution",
    ],
    "08_convrfm": [
        "on two cores",
    ],
    "09_inversion": [
        "small, photos",
        "small resnet on photos",
        "trained briefly on ten photographs",
        "photo-trained",
        "held-out crops",
        "widths 16 to 128",
        "trained on photographs",
        "resnet18, untrained",
        "trained this briefly",
        "the full profile trains on 10,000 noise images",
        "'natural': 'photos'",
    ],
}
MARKUP = re.compile(r"[*`$]|\\[a-z]+")


def readable(text):
    """Lowercase, without Markdown emphasis, code and math markers, one space between words."""
    return " ".join(MARKUP.sub("", text).lower().split())


def dry_run_of(chapter):
    return read_executed(dryrun.stage(ROOT) / "chapters" / f"{chapter}.ipynb", "dryrun")


def test_every_chapter_has_a_list_of_quick_only_phrases():
    assert sorted(QUICK_ONLY) == sorted(CHAPTERS)


@pytest.mark.chapters
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_dry_run_of_the_full_profile_passes_its_checks(chapter):
    notebook = dry_run_of(chapter)
    assert standin.is_standin(notebook)
    assert dryrun.problems(notebook) == []


@pytest.mark.chapters
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_quick_only_phrase_appears_in_the_full_page(chapter):
    page = readable(dryrun.page_text(dry_run_of(chapter)))
    assert "stand-in dry run" in page
    found = [phrase for phrase in QUICK_ONLY[chapter] if phrase in page]
    assert not found, f"true of the quick profile only, in the full page of {chapter}: {found}"
