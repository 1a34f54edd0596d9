"""The table of recipes: the sources' values next to what the chapters really run with."""

import pytest

from conftest import CHAPTERS, ROOT
from deepinside import setups
from deepinside.book import recipes


def test_every_chapter_declares_its_recipe():
    assert sorted(recipes.SOURCES) == sorted(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_settings_table_is_the_one_the_chapter_starts_from(chapter):
    table = recipes.settings_table(ROOT, chapter)
    assert set(table) == {"quick", "full"}
    if chapter in ("01_dimensionality", "02_alignment", "03_rainbow"):
        assert table == setups.PART1
    if chapter == "04_spatial":
        assert table == setups.SPATIAL


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_row_names_a_setting_of_both_profiles(chapter):
    table = recipes.settings_table(ROOT, chapter)
    for row in recipes.SOURCES[chapter]:
        if row.knob:
            recipes.value(table["full"], row.knob), recipes.value(table["quick"], row.knob)
        else:
            assert row.full and row.quick, row.what


def test_the_table_shows_each_chapter_once_with_links():
    text = recipes.table(ROOT)
    for number, chapter in enumerate(CHAPTERS, start=1):
        assert text.count(f"[Chapter {number}](../chapters/{chapter}.ipynb)") == 1
    assert "| learning rate | 2·10⁻⁴ [App. B] | 0.0002 | 0.001 |" in text
    assert "| epochs | 30 | 30 | 8 |" in text  # Chapter 5: the source's 30 epochs


def test_show_writes_settings_compactly():
    assert recipes.show(setups.VGG11) == "VGG-11"
    assert recipes.show({"train": 500, "val": 500, "test": 500}) == "500 / 500 / 500"
    assert recipes.show([{"dataset": "cifar10", "name": "cifar10"}]) == "[cifar10]"
    assert recipes.show([]) == "none" and recipes.show(2e-4) == "0.0002"


def test_a_missing_setting_is_named():
    with pytest.raises(KeyError, match="no setting 'resnet.depth'"):
        recipes.value({"resnet": {"widths": [16]}}, "resnet.depth")
