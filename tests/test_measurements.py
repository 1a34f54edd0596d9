"""The measurements page: generated from the recorded run times and benchmarks, valid MyST."""

import json
from pathlib import Path

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from myst_parser.parsers.docutils_ import Parser

from deepinside.book import measurements

ENTRY = {
    "chapter": "01_a",
    "seconds": 29.14,
    "peak_mb": 1433.0,
    "ok": True,
    "profile": "quick",
    "date": "2025-01-02T12:00:00+00:00",
}
OLD = {
    "profile": "full",
    "chapters": [{"chapter": "02_b", "seconds": 20.8, "peak_mb": 900.0, "ok": True}],
    "budgets": {},
}
ROW = {
    "benchmark": "inversion",
    "size": 30,
    "time_ratio": 2.1,
    "peak_ratio": 1.0,
    "relative_difference": 1e-7,
    "fast": {"seconds": 0.29, "peak_mb": 805.0, "check": 1.0, "steps_per_second": 103.0},
    "naive": {"seconds": 0.61, "peak_mb": 807.0, "check": 1.0, "steps_per_second": 49.0},
}


def doctree(page: str) -> nodes.document:
    """The page parsed as the book parses it (MyST); a warning is an error."""
    return publish_doctree(
        page, parser=Parser(), settings_overrides={"halt_level": 2, "report_level": 2}
    )


def test_merge_keeps_chapters_not_executed_and_follows_the_toc():
    merged = measurements.merge_timings(OLD, [ENTRY], ["01_a", "02_b", "03_c"], "quick", {"x": 1})
    assert [e["chapter"] for e in merged["chapters"]] == ["01_a", "02_b"]
    assert merged["chapters"][1] == {**OLD["chapters"][0], "profile": "full", "date": None}
    assert merged["profile"] == "quick" and merged["budgets"] == {"x": 1}
    assert measurements.merge_timings(None, [], ["01_a"], "quick", {})["chapters"] == []


def test_page_with_both_records_is_valid_myst_with_two_tables():
    timings = measurements.merge_timings(OLD, [ENTRY], ["01_a", "02_b"], "quick", {})
    page = measurements.measurements_page(timings, [ROW])
    tree = doctree(page)
    tables = list(tree.findall(nodes.table))
    assert len(tables) == 2 and tree["title"] == "Measurements"
    assert "| `01_a` | 29.1 s | 1.4 GB | 2025-01-02 | quick |" in page
    assert "| `02_b` | 20.8 s | 900 MB | – | full |" in page
    assert "**49.9 s**" in page and "full, quick |" in page
    assert "103 steps/s" in page and "805 MB vs 807 MB" in page and "×2.1" in page


def test_page_without_records_says_how_to_produce_them():
    page = measurements.measurements_page(None, None)
    assert not list(doctree(page).findall(nodes.table))
    assert "`make book`" in page and "`python benchmarks/hot_paths.py`" in page


@pytest.mark.parametrize("benchmarks", [True, False])
def test_write_page_reads_the_build_folder(tmp_path, benchmarks):
    build = tmp_path / "_build"
    (build / "benchmarks").mkdir(parents=True)
    (build / "timings.json").write_text(json.dumps(OLD))
    if benchmarks:
        (build / "benchmarks" / "hot_paths.json").write_text(json.dumps([ROW]))
    page = measurements.write_page(tmp_path, tmp_path / "stage" / "measurements.md").read_text()
    assert "`02_b`" in page and ("`inversion`" in page) == benchmarks


def test_the_committed_page_has_the_generated_title():
    committed = Path(__file__).resolve().parents[1] / "book" / "measurements.md"
    assert committed.read_text().splitlines()[0] == measurements.TITLE
    doctree(committed.read_text())
