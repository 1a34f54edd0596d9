"""The chapters' parameters: every one declared once, its values checked, its table written."""

import ast

import numpy as np
import pytest

from conftest import CHAPTERS, ROOT
from deepinside import parameters
from deepinside.book import fingerprints


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_parameter_of_every_chapter_is_declared_with_a_default_it_allows(chapter):
    defaults = fingerprints.chapter_parameters(ROOT, chapter)
    assert {"PROFILE", "SEED", "DEVICE"} <= set(defaults), chapter
    undeclared = sorted(set(defaults) - set(parameters.KNOBS))
    assert not undeclared, f"{chapter}: declare {undeclared} in deepinside.parameters.KNOBS"
    parameters.check_all(defaults)
    described = fingerprints.parameter_comments(ROOT, chapter)
    assert set(described) == set(defaults), f"{chapter}: a parameter without its comment"


def _checked(source):
    """The knobs a chapter's cell checks: ``runtime.start(PROFILE, SEED, DEVICE, table,
    name=NAME)`` and ``runtime.check_knobs(NAME=NAME)``."""
    checked = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "start":
                checked |= {a.id for a in node.args[:3] if isinstance(a, ast.Name)}
            if node.func.attr in ("start", "check_knobs"):
                checked |= {
                    k.value.id
                    for k in node.keywords
                    if isinstance(k.value, ast.Name) and k.arg.upper() == k.value.id
                }
    return checked


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_checks_its_parameters_when_it_starts(chapter):
    """The cell of ``runtime.start`` checks every parameter, before the chapter computes."""
    cells = fingerprints.chapter_notebook(ROOT, chapter).cells
    start = next(c.source for c in cells if "runtime.start(" in c.source)
    unchecked = sorted(set(fingerprints.chapter_parameters(ROOT, chapter)) - _checked(start))
    assert not unchecked, (
        f"{chapter}: pass {unchecked} to runtime.start or runtime.check_knobs in its cell"
    )


@pytest.mark.parametrize(
    "name, value, error, message",
    [
        ("EPOCHS", "3", TypeError, "EPOCHS must be a positive integer or None (the profile's "
         "value), got '3' (str)"),
        ("EPOCHS", 0, ValueError, "got 0 (int)"),
        ("EPOCHS", 2.0, TypeError, "got 2.0 (float)"),
        ("EPOCHS", True, TypeError, "got True (bool)"),
        ("SAMPLES", 1, ValueError, "SAMPLES must be an integer of at least 2, got 1 (int)"),
        ("SAMPLES", None, TypeError, "SAMPLES must be an integer of at least 2, got None"),
        ("STEPS", 1, ValueError, "STEPS must be an integer of at least 2 or None"),
        ("SEED", 2**32, ValueError, "SEED must be an integer from 0 to 4294967295"),
        ("DEVICE", "gpu", ValueError, 'DEVICE must be one of "auto", "cpu", "cuda", "mps"'),
        ("PROFILE", None, TypeError, "PROFILE must be one of"),
        ("EPOCH", 3, ValueError, "EPOCH is not a declared chapter parameter"),
    ],
)  # fmt: skip
def test_a_wrong_value_names_the_parameter_and_what_it_allows(name, value, error, message):
    with pytest.raises(error) as raised:
        parameters.check(name, value)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "name, value",
    [("EPOCHS", None), ("EPOCHS", 1), ("SEED", np.int64(3)), ("SEED", 0), ("DEVICE", "mps"),
     ("ITERATIONS", 1), ("STEPS", 2), ("TOP", 10**6), ("AGOP_IMAGES", None)],
)  # fmt: skip
def test_allowed_values_pass_unchanged(name, value):
    assert parameters.check(name, value) is value


def test_the_table_lists_shared_parameters_once_then_each_chapters_own():
    defaults = {
        "01_a": {"PROFILE": "quick", "SEED": 0, "EPOCHS": None},
        "02_b": {"PROFILE": "quick", "SEED": 1, "TOP": 30},
    }
    comments = {"01_a": {"EPOCHS": "epochs | of training"}}
    lines = parameters.table(defaults, comments).splitlines()
    assert lines[:3] == [
        "| parameter | values | default | meaning |",
        "| --- | --- | --- | --- |",
        '| `PROFILE` | one of `"quick"`, `"full"` | `"quick"` '
        f"| {parameters.KNOBS['PROFILE'].meaning} |",
    ]
    assert lines[3] == "" and lines[4].startswith("| chapter | parameter |")
    rows = lines[6:]
    assert rows[0].startswith("| `01_a` | `SEED` | an integer from 0 to 4294967295 | `0` |")
    assert rows[1] == (
        "| `01_a` | `EPOCHS` | a positive integer or `None` (the profile's value) | `None` "
        "| epochs \\| of training |"
    )
    assert rows[2].startswith("| `02_b` | `SEED` |") and rows[2].endswith(
        "`1` | seed of initializations, data order and every random draw: same seed, same numbers |"
    )
    assert rows[3] == (
        f"| `02_b` | `TOP` | a positive integer | `30` | {parameters.KNOBS['TOP'].meaning} |"
    )


@pytest.mark.parametrize(
    "defaults, message",
    [
        ({"01_a": {"WIDTH": 3}}, "WIDTH is not a declared chapter parameter"),
        ({"01_a": {"TOP": 0}}, "parameters cell of 01_a: TOP must be a positive integer"),
        ({}, "no chapters"),
    ],
)
def test_the_table_refuses_undeclared_or_wrong_defaults(defaults, message):
    with pytest.raises(ValueError, match=message):
        parameters.table(defaults, {})


def test_the_table_of_the_book_has_every_chapters_parameters():
    defaults = {c: fingerprints.chapter_parameters(ROOT, c) for c in CHAPTERS}
    comments = {c: fingerprints.parameter_comments(ROOT, c) for c in CHAPTERS}
    text = parameters.table(defaults, comments)
    for chapter, values in defaults.items():
        for name in values:
            assert f"`{name}`" in text
            if name not in ("PROFILE", "SEED", "DEVICE"):
                assert f"| `{chapter}` | `{name}` |" in text
