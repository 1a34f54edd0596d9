"""The claims each chapter makes, asserted on its executed notebook (`make book` first)."""

import pytest

from conftest import executed_notebook, glued

pytestmark = pytest.mark.chapters


@pytest.mark.parametrize("chapter", ["01_dimensionality"])
def test_executed_without_errors_or_stderr(chapter):
    for cell in executed_notebook(chapter).cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), out["text"][:500]


def test_dimensionality_claims():
    g = glued("01_dimensionality")
    # trained accuracies well above chance
    assert g["dim_mlp_test_acc"] >= 3 * g["dim_chance_acc"]
    assert g["dim_cnn_test_acc"] >= 3 * g["dim_chance_acc"]
    # trained weight spectra leave the Marchenko–Pastur bulk; initializations (almost) do not
    assert g["dim_mlp_l1_outside_mp"] >= 5 and g["dim_mlp_l2_outside_mp"] >= 5
    assert g["dim_mlp_l1_init_outside_mp"] <= 2 and g["dim_mlp_l2_init_outside_mp"] <= 2
    assert g["dim_cnn_l2_outside_mp"] >= 5
    # clipping to a rank far below the layer width keeps 90 % of the accuracy
    assert g["dim_mlp_l1_rank90"] <= g["dim_mlp_l1_width"] / 10
    assert g["dim_mlp_l1_rank90_acc"] >= 0.9 * g["dim_mlp_test_acc"]
    assert g["dim_mlp_l1_act_rank90"] <= g["dim_mlp_l1_width"] / 10


@pytest.mark.parametrize("chapter", ["01_dimensionality"])
def test_papermill_parameters_cell_is_hidden_from_the_book(chapter):
    injected = [c for c in executed_notebook(chapter).cells
                if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and all("remove-cell" in c.metadata["tags"] for c in injected)
