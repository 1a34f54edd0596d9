"""Executing one chapter with papermill: failures name chapter and cell; explorers are static."""

import pytest

from conftest import write_chapter
from deepinside.book import execute


def test_a_failing_cell_stops_the_build_naming_chapter_and_cell(tmp_path):
    write_chapter(tmp_path, "99_broken", "x = 1", "raise ValueError('the claim does not hold')")
    with pytest.raises(execute.BuildError) as failure:
        execute.execute(tmp_path, "99_broken", {"PROFILE": "quick"})
    message = str(failure.value)
    assert "99_broken" in message and "ValueError: the claim does not hold" in message
    assert "code cell 4" in message  # papermill inserts the injected-parameters cell


def test_chapters_execute_with_static_explorers(tmp_path):
    write_chapter(
        tmp_path,
        "98_explorer",
        "from deepinside import interactive\nassert interactive.is_static()",
    )
    assert execute.execute(tmp_path, "98_explorer", {"PROFILE": "quick"}).ok


def test_a_wrong_parameter_value_stops_the_chapter_when_it_starts(tmp_path):
    write_chapter(
        tmp_path,
        "97_knobs",
        "from deepinside import runtime\n"
        "runtime.start(PROFILE, 0, 'cpu', {'quick': {'epochs': 1}}, epochs=EPOCHS)",
    )
    with pytest.raises(execute.BuildError) as failure:
        execute.execute(tmp_path, "97_knobs", {"PROFILE": "quick", "EPOCHS": "3"})
    assert "TypeError: EPOCHS must be a positive integer or None" in str(failure.value)
