"""Explorers: widgets that redraw a figure as the reader moves sliders and menus.

``explore(draw, defaults, rank=range(1, 65), layer=["conv1", "conv2"])`` calls
``draw(rank=..., layer=...)``, a function that draws one matplotlib figure.

- In a live notebook (Jupyter, Colab) it shows one control per option, a slider for numbers and a
  menu otherwise, and redraws whenever one moves. The displayed output carries both the widget
  view and a PNG of the default figure: a frontend with live widgets shows the widget, and a
  notebook saved without them (executed by papermill, or opened on GitHub) shows the figure.
- In the book build (``DEEPINSIDE_STATIC=1``, set by ``deepinside.book.build``), or where
  ipywidgets is missing, it draws once with ``defaults``: the static figure of the printed page.
  Nothing waits for a reader, so headless execution never blocks.
"""

from __future__ import annotations

import base64
import io
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


class Explorer:
    """A live explorer: its ``widget`` (controls above the figure) and ``png``, the default
    figure as a PNG image. Displayed once, by :func:`explore`: a cell that ends with it does not
    show its controls twice."""

    def __init__(self, widget: Any, png: bytes) -> None:
        self.widget, self.png = widget, png
        self.displayed = False

    def mimebundle(self) -> dict[str, Any]:
        """The widget view with the default figure beside it, for frontends without widgets."""
        png = base64.b64encode(self.png).decode("ascii")
        return {**self.widget._repr_mimebundle_(), "image/png": png}

    def _ipython_display_(self) -> None:
        if not self.displayed:
            from IPython.display import display

            display(self.mimebundle(), raw=True)
            self.displayed = True


def explore(draw: Callable[..., Any], defaults: dict[str, Any], **options: Sequence[Any]) -> Any:
    """Explore ``draw`` over the values of ``options``, starting from ``defaults``.

    Returns the :class:`Explorer` in a live notebook (already displayed), ``None`` when drawn
    statically.
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
    explorer = Explorer(*_widget(draw, show, defaults, options))
    explorer._ipython_display_()
    return explorer


def _png(draw: Callable[..., Any], values: dict[str, Any]) -> bytes:
    """The figure ``draw`` draws with ``values``, as a PNG image (as the inline backend shows it);
    the figure is closed."""
    draw(**values)
    figure = plt.gcf()
    image = io.BytesIO()
    try:
        figure.savefig(image, format="png", dpi=figure.dpi, bbox_inches="tight")
    finally:
        plt.close(figure)
    return image.getvalue()


def _widget(
    draw: Callable[..., Any],
    show: Callable[..., None],
    defaults: dict[str, Any],
    options: dict[str, list[Any]],
) -> tuple[Any, bytes]:
    """The controls above the default figure, redrawn by ``show`` when one moves, and the
    default figure as a PNG image (drawn once)."""
    import ipywidgets as widgets
    from IPython.display import Image, clear_output, display

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

    png = _png(draw, defaults)
    output = widgets.Output()
    with output:
        display(Image(data=png, format="png"))

    def redraw(_: Any = None) -> None:
        with output:
            clear_output(wait=True)
            show(**{name: control.value for name, control in controls.items()})

    for control in controls.values():
        control.observe(redraw, names="value")
    return widgets.VBox([widgets.HBox(list(controls.values())), output]), png
