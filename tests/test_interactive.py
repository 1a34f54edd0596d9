"""Explorers draw their default figure headlessly, and redraw when a control moves."""

import base64

import matplotlib.pyplot as plt
import pytest
from IPython.core.formatters import DisplayFormatter

from deepinside import interactive

WIDGET = "application/vnd.jupyter.widget-view+json"


def recorder():
    calls = []

    def draw(**values):
        calls.append(values)
        plt.figure()

    return calls, draw


def test_static_mode_draws_the_defaults_once(monkeypatch):
    monkeypatch.setenv(interactive.STATIC_ENV, "1")
    calls, draw = recorder()
    assert (
        interactive.explore(draw, {"rank": 3, "layer": "b"}, rank=range(1, 10), layer=["a", "b"])
        is None
    )
    assert calls == [{"rank": 3, "layer": "b"}]


def test_without_a_kernel_explorers_are_static(monkeypatch):
    monkeypatch.delenv(interactive.STATIC_ENV, raising=False)
    assert interactive.is_static()  # pytest runs no IPython kernel


def test_live_mode_redraws_when_a_control_moves(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(interactive, "is_static", lambda: False)
    calls, draw = recorder()
    explorer = interactive.explore(
        draw, {"rank": 2, "layer": "a"}, rank=[1, 2, 3], layer=["a", "b"]
    )
    slider, menu = explorer.widget.children[0].children
    assert type(slider).__name__ == "SelectionSlider" and type(menu).__name__ == "Dropdown"
    assert calls[-1] == {"rank": 2, "layer": "a"}
    slider.value = 3
    assert calls[-1] == {"rank": 3, "layer": "a"}
    menu.value = "b"
    assert calls[-1] == {"rank": 3, "layer": "b"}
    plt.close("all")


def test_a_live_explorer_carries_its_default_figure_as_a_png(monkeypatch):
    """Displayed once, as the widget view and a PNG of the default figure: a notebook executed
    without a frontend (papermill) or opened where widgets do not run still shows the figure."""
    pytest.importorskip("ipywidgets")
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    monkeypatch.setattr(interactive, "is_static", lambda: False)
    calls, draw = recorder()
    explorer = interactive.explore(draw, {"rank": 2}, rank=[1, 2, 3])
    assert calls == [{"rank": 2}]  # drawn once for both the PNG and the widget
    assert explorer.png.startswith(b"\x89PNG")
    bundles = [a[0] for a, k in shown if k.get("raw")]
    assert len(bundles) == 1
    assert set(bundles[0]) >= {"application/vnd.jupyter.widget-view+json", "image/png"}
    assert base64.b64decode(bundles[0]["image/png"]) == explorer.png
    explorer._ipython_display_()  # a cell ending with the explorer shows it again: no
    assert len([k for _, k in shown if k.get("raw")]) == 1
    assert DisplayFormatter().format(explorer) == ({}, {})
    assert not plt.get_fignums()  # the default figure is not shown again at the cell's end


@pytest.mark.parametrize(
    "defaults, options, error",
    [
        ({}, {}, ValueError),
        ({"rank": 1}, {"rank": []}, ValueError),
        ({"rank": 11}, {"rank": range(10)}, ValueError),
        ({"layer": 1}, {"rank": range(10)}, ValueError),
    ],
)
def test_bad_explorers_are_rejected(monkeypatch, defaults, options, error):
    monkeypatch.setenv(interactive.STATIC_ENV, "1")
    with pytest.raises(error):
        interactive.explore(lambda **_: None, defaults, **options)


def test_draw_must_be_callable():
    with pytest.raises(TypeError):
        interactive.explore("not a function", {"rank": 1}, rank=[1])


def test_a_live_explorer_in_a_headless_kernel_does_not_block(monkeypatch):
    """Run by papermill or nbclient outside the book build, an explorer shows its widget and the
    notebook goes on: nothing waits for a reader."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv(interactive.STATIC_ENV, raising=False)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import matplotlib.pyplot as plt\n"
                "from deepinside import interactive\n"
                "draw = lambda rank: plt.plot(range(rank))\n"
                "box = interactive.explore(draw, {'rank': 2}, rank=[1, 2, 3])\n"
                "assert box is not None and not interactive.is_static()\n"
                "box.widget.children[0].children[0].value = 3"
            ),
            nbformat.v4.new_code_cell("interactive.explore(draw, {'rank': 1}, rank=[1, 2])"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    for cell in nb.cells:  # one output each, the widget view and the figure: shown once
        assert not [o for o in cell.outputs if o.output_type == "error"]
        views = [o for o in cell.outputs if WIDGET in o.get("data", {})]
        assert len(views) == 1 and "image/png" in views[0]["data"]
