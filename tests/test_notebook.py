"""Glue and the display of the package's own code in a chapter."""

import builtins
import inspect

import pytest
import torch

from deepinside import alignment, notebook


def test_glue_returns_plain_values_and_checks_names():
    assert notebook._plain(torch.tensor([1.5, 2.0])) == [1.5, 2.0]
    assert notebook._plain(0.123456789) == 0.123457 and notebook._plain(12.3456789) == 12.345679
    with pytest.raises(ValueError, match="identifier"):
        notebook.glue("not a name", 1)


def test_glue_is_silent_without_the_book_tooling(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError("no myst_nb, as in Colab")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    assert notebook.glue("answer", torch.tensor(42)) == 42
    assert notebook.glue_all("dim", rank=torch.tensor(7), share=0.5) == {"rank": 7, "share": 0.5}
    assert capsys.readouterr().out == ""


def test_glue_records_and_displays_nothing_in_colab(monkeypatch):
    import sys
    import types

    import myst_nb

    def refuse(*args, **kwargs):
        raise AssertionError("myst-nb's glue displays a bundle: Colab would print it")

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(myst_nb, "glue", refuse)
    assert notebook.glue("answer", torch.tensor(42)) == 42


def test_show_source_shows_the_installed_function_highlighted():
    shown = notebook.show_source(alignment.orthogonal_alignment)
    assert shown.data.startswith("`deepinside.alignment.orthogonal_alignment`")
    assert "```python\n" + inspect.getsource(alignment.orthogonal_alignment).rstrip() in shown.data
    with pytest.raises(TypeError, match="function"):
        notebook.show_source(3)
