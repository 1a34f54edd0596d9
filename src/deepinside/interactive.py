"""Explorers: widgets that redraw a figure as the reader moves sliders and menus.

``explore(draw, defaults, rank=range(1, 65), layer=["conv1", "conv2"])`` calls
``draw(rank=..., layer=...)``, a function that draws one matplotlib figure.

- In a live notebook (Jupyter, Colab) it shows one control per option, a slider for numbers and a
  menu otherwise, and redraws whenever one moves.
- In the book build (``DEEPINSIDE_STATIC=1``, set by ``deepinside.book.build``), or where
  ipywidgets is missing, it draws once with ``defaults``: the static figure of the printed page.
  Nothing waits for a reader, so headless execution never blocks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any

import matplotlib.pyplot as plt

STATIC_ENV = "DEEPINSIDE_STATIC"


def is_static() -> bool:
    """Whether explorers draw their default figure only (book build, no widgets, no kernel)."""
    if os.environ.get(STATIC_ENV, "") not in ("", "0"):
        return True
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or not hasattr(shell, "kernel")


def explore(draw: Callable[..., Any], defaults: dict[str, Any], **options: Sequence[Any]) -> Any:
    """Explore ``draw`` over the values of ``options``, starting from ``defaults``.

    Returns the widget in a live notebook (already displayed), ``None`` when drawn statically.
    """
    if not callable(draw):
        raise TypeError(f"draw must be callable, got {type(draw).__name__}")
    if not options:
        raise ValueError("explore needs at least one option, e.g. rank=range(1, 10)")
    if set(defaults) != set(options):
        raise ValueError(
            f"defaults must name exactly the options {sorted(options)}, got {sorted(defaults)}"
        )
    options = {name: list(values) for name, values in options.items()}
    for name, values in options.items():
        if not values:
            raise ValueError(f"option {name!r} has no values")
        if defaults[name] not in values:
            raise ValueError(f"default {name}={defaults[name]!r} is not one of its values")

    def show(**values: Any) -> None:
        draw(**values)
        plt.show()

    if is_static():
        show(**defaults)
        return None
    return _widget(show, defaults, options)


def _widget(
    show: Callable[..., None], defaults: dict[str, Any], options: dict[str, list[Any]]
) -> Any:
    import ipywidgets as widgets
    from IPython.display import display

    controls = {}
    for name, values in options.items():
        if len(values) > 1 and all(isinstance(v, Number) for v in values):
            controls[name] = widgets.SelectionSlider(
                options=values, value=defaults[name], description=name, continuous_update=False
            )
        else:
            controls[name] = widgets.Dropdown(
                options=values, value=defaults[name], description=name
            )

    output = widgets.interactive_output(show, controls)
    box = widgets.VBox([widgets.HBox(list(controls.values())), output])
    display(box)
    return box
