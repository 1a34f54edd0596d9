"""The chapters of a table of contents, in book order."""

from deepinside.book.toc import toc_chapters


def test_toc_chapters_reads_parts_in_order(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: A\n    chapters:\n      - file: chapters/01_a\n      - file: book/x\n"
        "  - caption: B\n    chapters:\n      - file: chapters/02_b\n"
    )
    assert toc_chapters(tmp_path) == ["01_a", "02_b"]
    assert toc_chapters(tmp_path / "_toc.yml") == ["01_a", "02_b"]
