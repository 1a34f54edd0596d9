"""Declarations of claims, their evaluation, the ledger page and the record of seeds, on a toy
book."""

import json

import jupytext
import nbformat
import pytest

from conftest import write_chapter
from deepinside.book import claims, ledger, record
from deepinside.book.fingerprints import fingerprint
from deepinside.book.imports import module_graph

DECLARATION = """claims:
  - id: above-chance
    sentence: >-
      The net reaches {glue:text}`acc:.1f` %,
      far above chance.
    source: {key: guth2023rainbow, where: "§3", value: "91.6 %"}
    effect: acc
    control: chance
    holds: effect >= 3 * control
  - id: layers
    sentence: Every layer shrinks.
    source: book
    effect: {"layer 1": l1, "layer 2": l2}
    control: 1
    holds: ["all(v < control for v in effect.values())", "word == 'shrinks'"]
    states: word
"""


def toy(tmp_path, declaration=DECLARATION, prose=None):
    """A book of one chapter ``01_a`` whose prose states the two claims of DECLARATION."""
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: A\n    chapters:\n"
        "      - file: chapters/01_a\n"
    )
    write_chapter(tmp_path, "01_a", "glue('acc', 50.0); glue('chance', 10.0)")
    nb = nbformat.read(tmp_path / "chapters" / "01_a.ipynb", as_version=4)
    prose = prose or (
        '# A\n\nText. <a id="claim-above-chance"></a>The net reaches {glue:text}`acc:.1f` %, far\n'
        'above chance. <a id="claim-layers"></a>Every layer shrinks.\n\n## What we learned\n\n'
        "- {glue:text}`acc:.1f` %.\n\n## Exercises\n"
    )
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(prose))
    nb.cells.append(nbformat.v4.new_code_cell("glue('l1', 0.5); glue('l2', 0.7); glue('word', 1)"))
    nbformat.write(nb, tmp_path / "chapters" / "01_a.ipynb")
    jupytext.write(nb, tmp_path / "chapters" / "01_a.py", fmt="py:percent")
    (tmp_path / "chapters" / "claims").mkdir()
    (tmp_path / "chapters" / "claims" / "01_a.yml").write_text(declaration)
    return tmp_path


GLUED = {"acc": 50.0, "chance": 10.0, "l1": 0.5, "l2": 0.7, "word": "shrinks"}


def test_declarations_load_with_their_fields(tmp_path):
    first, second = claims.load(toy(tmp_path), "01_a")
    assert first.sentence == "The net reaches {glue:text}`acc:.1f` %, far above chance."
    assert first.source == {"key": "guth2023rainbow", "where": "§3", "value": "91.6 %"}
    assert second.source is None and second.control == "1" and len(second.holds) == 2
    assert claims.names(first) == {"acc", "chance"}
    assert claims.names(second) == {"l1", "l2", "word"}  # `v` is bound by the comprehension


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("effect: acc", "effect: acc >"), "is not a Python expression"),
        (("id: layers", "id: Layers!"), "lowercase words"),
        (("id: layers", "id: above-chance"), "ids repeat"),
        (("    source: book\n", ""), "missing ['source']"),
        (("    states: word", "    state: word"), "unknown ['state']"),
        (("source: book", "source: a paper"), "source is `book`"),
        (("claims:", "claims: ["), "not valid YAML"),
    ],
)
def test_a_malformed_declaration_names_file_claim_and_problem(tmp_path, edit, message):
    toy(tmp_path, DECLARATION.replace(*edit))
    with pytest.raises(ValueError, match="01_a.yml") as error:
        claims.load(tmp_path, "01_a")
    assert message in str(error.value)


def test_a_claim_holds_fails_or_reports_an_error(tmp_path):
    first, second = claims.load(toy(tmp_path), "01_a")
    holds = claims.evaluate(second, GLUED)
    assert holds.verdict == "holds" and holds.effect == {"layer 1": 0.5, "layer 2": 0.7}
    assert holds.control == 1 and holds.states == "shrinks"
    fails = claims.evaluate(first, {**GLUED, "acc": 20.0})  # the threshold sits between the two
    assert fails.verdict == "fails" and fails.failed == ("effect >= 3 * control",)
    assert "effect 20.0, control 10.0" in fails.describe()
    missing = claims.evaluate(first, {"acc": 50.0})
    assert missing.verdict == "error" and "no glued value named ['chance']" in missing.error
    broken = claims.evaluate(second, {**GLUED, "l1": "x"})
    assert broken.verdict == "error" and "TypeError" in broken.error


def test_expressions_see_only_glued_values_and_a_few_builtins(tmp_path):
    (first, _) = claims.load(toy(tmp_path, DECLARATION.replace("3 * control", "open('x')")), "01_a")
    assert claims.evaluate(first, GLUED).verdict == "error"


def test_prose_and_declarations_are_tied_together(tmp_path):
    root = toy(tmp_path)
    assert claims.problems(root, "01_a", jupytext.read(root / "chapters" / "01_a.py")) == []
    nb = jupytext.read(root / "chapters" / "01_a.py")
    nb.cells[0].source = (
        nb.cells[0].source.replace("far\nabove", "well above")  # the sentence changed
        + '\n<a id="claim-orphan"></a>Unclaimed. {glue:text}`chance` and {glue:text}`nope`'
    )
    nb.cells[0].source = nb.cells[0].source.replace("## Exercises", "")  # cites in the summary
    problems = claims.problems(root, "01_a", nb)
    assert any("'above-chance'" in p and "followed by its sentence" in p for p in problems)
    assert "anchor claim-orphan has no declaration" in problems
    assert "'What we learned' cites nope, which no claim reads" in problems


def test_a_claim_reading_a_value_never_glued_is_reported(tmp_path):
    root = toy(tmp_path, DECLARATION.replace("control: chance", "control: chances"))
    problems = claims.problems(root, "01_a", jupytext.read(root / "chapters" / "01_a.py"))
    assert problems == ["claim 'above-chance' reads chances, which the chapter never glues"]


def test_values_are_shown_rounded_and_sentences_with_their_values():
    assert ledger.shown(0.94712) == "0.947" and ledger.shown(42.345) == "42.3"
    assert ledger.shown(1234.5) == "1234" and ledger.shown(3) == "3" and ledger.shown(True) == "yes"
    assert (
        ledger.shown({"a": 0.5, "b": 2e-5}) == "a 0.5; b 2e-05" and ledger.shown("more") == "“more”"
    )
    text = ledger.rendered("at {glue:text}`acc:.1f` % | {glue:text}`n` {footcite:t}`k`", GLUED)
    assert text == "at 50.0 % \\| `n` {cite:t}`k`"


def stage_chapter(root, glued, profile="quick"):
    """The chapter staged as if executed with ``profile``, having glued ``glued``."""
    from myst_nb import glue  # noqa: F401 - the outputs below are what myst-nb writes

    nb = nbformat.read(root / "chapters" / "01_a.ipynb", as_version=4)
    nb.metadata["papermill"] = {"parameters": {"PROFILE": profile, "SEED": 0}}
    nb.cells.append(
        nbformat.v4.new_code_cell(
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={"application/papermill.record/text/plain": repr(value)},
                    metadata={"scrapbook": {"name": name}},
                )
                for name, value in glued.items()
            ]
        )
    )
    target = root / "_build" / "stage" / "chapters" / "01_a.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def test_the_ledger_lists_every_claim_with_effect_control_verdict_and_seeds(tmp_path):
    root = toy(tmp_path)
    stage_chapter(root, {**GLUED, "acc": 20.0})
    seeds = {"profile": "quick", "chapters": {"01_a": {}}}
    for seed, acc in ((0, 50.0), (1, 25.0), (2, 45.0)):
        entry = {"fingerprint": None, "date": f"2026-01-0{seed + 1}", "machine": "m"}
        entry["glued"] = {**GLUED, "acc": acc}
        entry["fingerprint"] = fingerprint(
            root, "01_a", record.parameters("quick", seed), module_graph(root / "src")
        )
        seeds["chapters"]["01_a"][str(seed)] = entry
    record.record_file(root, "quick").write_text(json.dumps(seeds))
    page = ledger.ledger_page(root)
    assert "This build ran the `quick` profile" in page and "2 claims: 1 fails, 1 holds." in page
    row = next(line for line in page.splitlines() if line.startswith("| The net reaches 20.0 %"))
    assert '<a href="../chapters/01_a.html#claim-above-chance">↗&nbsp;above-chance</a>' in row
    assert "{cite:t}`guth2023rainbow`, §3: 91.6 %" in row
    assert "| 20 | 10 | ✘ fails (quick) | 2/3 (effect 25–50) | not run |" in row.replace(".0", "")
    (root / "chapters" / "01_a.py").write_text(
        (root / "chapters" / "01_a.py").read_text() + "\nx = 1\n"
    )
    assert "out of date (3 recorded before the chapter changed)" in ledger.ledger_page(root)


def test_a_full_build_fills_the_full_scale_column(tmp_path):
    root = toy(tmp_path)
    stage_chapter(root, GLUED, profile="full")
    page = ledger.ledger_page(root)
    assert "This build ran the `quick` profile" not in page
    assert "✔ holds (full) | – | ✔ holds (full) |" in page
    assert "No seeds were recorded" in page
