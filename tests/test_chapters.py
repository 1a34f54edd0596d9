"""Every chapter executed cleanly (`make book` first); its claims are in test_claims.py."""

import pytest

from conftest import CHAPTERS, executed_notebook

pytestmark = pytest.mark.chapters


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_without_errors_or_stderr(chapter):
    for cell in executed_notebook(chapter).cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), out["text"][
                :500
            ]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_papermill_parameters_cell_is_hidden_from_the_book(chapter):
    injected = [
        c
        for c in executed_notebook(chapter).cells
        if "injected-parameters" in c.metadata.get("tags", [])
    ]
    assert injected and all("remove-cell" in c.metadata["tags"] for c in injected)
