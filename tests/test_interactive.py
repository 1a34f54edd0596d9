"""Explorers draw their default figure headlessly, and redraw when a control moves."""

import matplotlib.pyplot as plt
import pytest

from deepinside import interactive


def recorder():
    calls = []

    def draw(**values):
        calls.append(values)
        plt.figure()

    return calls, draw


def test_static_mode_draws_the_defaults_once(monkeypatch):
    monkeypatch.setenv(interactive.STATIC_ENV, "1")
    calls, draw = recorder()
    assert interactive.explore(draw, {"rank": 3, "layer": "b"}, rank=range(1, 10), layer=["a", "b"]) is None
    assert calls == [{"rank": 3, "layer": "b"}]


def test_without_a_kernel_explorers_are_static(monkeypatch):
    monkeypatch.delenv(interactive.STATIC_ENV, raising=False)
    assert interactive.is_static()  # pytest runs no IPython kernel


def test_live_mode_redraws_when_a_control_moves(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(interactive, "is_static", lambda: False)
    calls, draw = recorder()
    box = interactive.explore(draw, {"rank": 2, "layer": "a"}, rank=[1, 2, 3], layer=["a", "b"])
    slider, menu = box.children[0].children
    assert type(slider).__name__ == "SelectionSlider" and type(menu).__name__ == "Dropdown"
    assert calls[-1] == {"rank": 2, "layer": "a"}
    slider.value = 3
    assert calls[-1] == {"rank": 3, "layer": "a"}
    menu.value = "b"
    assert calls[-1] == {"rank": 3, "layer": "b"}
    plt.close("all")


@pytest.mark.parametrize("defaults, options, error", [
    ({}, {}, ValueError),
    ({"rank": 1}, {"rank": []}, ValueError),
    ({"rank": 11}, {"rank": range(10)}, ValueError),
    ({"layer": 1}, {"rank": range(10)}, ValueError),
])
def test_bad_explorers_are_rejected(monkeypatch, defaults, options, error):
    monkeypatch.setenv(interactive.STATIC_ENV, "1")
    with pytest.raises(error):
        interactive.explore(lambda **_: None, defaults, **options)


def test_draw_must_be_callable():
    with pytest.raises(TypeError):
        interactive.explore("not a function", {"rank": 1}, rank=[1])
