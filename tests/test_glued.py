"""Reading glued values back from executed notebooks and comparing two builds."""

import json

import nbformat

from deepinside.book import glued


def executed(path, **values):
    outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={glued.GLUE_MIME: repr(v)},
            metadata={"scrapbook": {"name": k}},
        )
        for k, v in values.items()
    ]
    cell = nbformat.v4.new_code_cell("glue(...)", outputs=outputs)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)


def test_dump_and_compare(tmp_path, capsys):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    executed(tmp_path / "a" / "01_x.ipynb", acc=91.5, names=["p", "q"], seconds=3.0)
    executed(tmp_path / "b" / "01_x.ipynb", acc=91.5, names=["p", "q"], seconds=4.0)
    assert glued.dump(tmp_path / "a") == {
        "01_x": {"acc": 91.5, "names": ["p", "q"], "seconds": 3.0}
    }
    for side in "ab":
        glued.main(["dump", "--stage", str(tmp_path / side), "-o", str(tmp_path / f"{side}.json")])
    files = [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert (
        glued.main(["compare", *files]) == 1
        and "01_x.seconds: 3.0 → 4.0" in capsys.readouterr().out
    )
    assert glued.main(["compare", *files, "--ignore", "seconds"]) == 0
    assert "all 3 glued values identical" in capsys.readouterr().out
    executed(tmp_path / "b" / "01_x.ipynb", acc=90.0)
    after = glued.dump(tmp_path / "b")
    before = json.loads((tmp_path / "a.json").read_text())
    assert glued.differences(before, after, ("seconds",)) == [
        "01_x.acc: 91.5 → 90.0",
        "01_x.names: ['p', 'q'] → '—'",
    ]
