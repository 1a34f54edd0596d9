"""Cell metadata derived from the chapters' text (deepinside.book.cells)."""

import nbformat

from deepinside.book import cells


def notebook(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_a_figure_line_gives_the_cell_a_numbered_captioned_figure_and_only_it():
    nb = notebook("# Figure fig-spectra: Eigenvalues, largest first.\nplot()", "plot()")
    assert cells.caption_figures(nb) is True
    figure = nb.cells[0].metadata["mystnb"]["figure"]
    assert figure == {"name": "fig-spectra", "caption": "Eigenvalues, largest first."}
    assert "mystnb" not in nb.cells[1].metadata
    assert cells.caption_figures(nb) is False, "idempotent"
    nb.cells[0].source = "plot()"  # the line removed: so is the figure
    assert cells.caption_figures(nb) is True and "figure" not in nb.cells[0].metadata["mystnb"]


def test_a_titled_cell_folds_in_colab():
    nb = notebook("# @title Explorer\ndraw()", "draw()")
    assert cells.derive(nb) is True
    assert nb.cells[0].metadata["cellView"] == "form" and "cellView" not in nb.cells[1].metadata
    assert cells.derive(nb) is False
