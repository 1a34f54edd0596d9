"""Helpers for the chapters themselves: gluing numbers into the prose."""

from __future__ import annotations

from typing import Any


def glue(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` for the book's ``{glue:text}`` roles; return it.

    Inside the book build this is myst-nb's ``glue``; where myst-nb is absent
    (e.g. Colab) the value is simply shown.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be an identifier, got {name!r}")
    value = _plain(value)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name} = {value!r}")
    else:
        myst_glue(name, value, display=False)
    return value


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
