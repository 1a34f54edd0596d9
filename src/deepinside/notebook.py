"""Helpers for the chapters themselves: glue numbers into the prose, show the package's code."""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.display import Markdown


def glue(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` for the book's ``{glue:text}`` roles; return it.

    Inside the book build this is myst-nb's ``glue``; in Colab, or where myst-nb is absent
    (Jupyter without the book's tooling), nothing is recorded or shown: the value is simply
    returned, so a cell of glue calls prints nothing.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be an identifier, got {name!r}")
    value = _plain(value)
    if "google.colab" in sys.modules:
        return value
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=False)
    return value


def glue_all(prefix: str, **values: Any) -> dict[str, Any]:
    """Glue a group of values at once, each as ``{prefix}_{key}``; return them (plain)."""
    return {key: glue(f"{prefix}_{key}", value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    """Numbers as plain Python numbers (no NumPy or torch scalars), lists likewise;
    floats rounded to 6 decimals, or to 6 significant digits below 1 in magnitude."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 6) if abs(value) >= 1 else float(f"{value:.6g}")
    return value


def show_source(function: Callable[..., Any]) -> Markdown:
    """The source of ``function`` as it is in the installed package, highlighted as Python:
    the chapter shows the code it runs, not a copy of it (Jupyter, Colab and the book alike)."""
    if not callable(function):
        raise TypeError(f"show_source takes a function or class, got {type(function).__name__}")
    source = textwrap.dedent(inspect.getsource(function)).rstrip()
    from IPython.display import Markdown

    where = f"{function.__module__}.{function.__qualname__}"
    fence = "````" if "```" in source else "```"
    return Markdown(f"`{where}`\n\n{fence}python\n{source}\n{fence}")
