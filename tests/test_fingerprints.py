"""What a chapter was executed from: its source, the modules it imports, parameters, lock."""

from deepinside.book import fingerprints
from deepinside.book.imports import module_graph


def repo(tmp_path, chapter_source="from deepinside import a\n"):
    package = tmp_path / "src" / "deepinside"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("X = 1\n")
    (package / "c.py").write_text("Y = 2\n")
    (tmp_path / "chapters").mkdir(exist_ok=True)
    (tmp_path / "chapters" / "01_x.py").write_text(chapter_source)
    (tmp_path / "requirements.txt").write_text("torch==2\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    return tmp_path


def value(root, **parameters):
    return fingerprints.fingerprint(root, "01_x", parameters, module_graph(root / "src"))


def test_a_chapter_depends_on_the_modules_it_imports_transitively(tmp_path):
    root = repo(tmp_path)
    modules = fingerprints.chapter_modules(root, "01_x", module_graph(root / "src"))
    assert {"deepinside.a", "deepinside.b"} <= modules and "deepinside.c" not in modules


def test_the_fingerprint_changes_with_each_input_and_only_with_them(tmp_path):
    root = repo(tmp_path)
    first = value(root, PROFILE="quick")
    assert value(root, PROFILE="quick") == first
    (root / "src" / "deepinside" / "c.py").write_text("Y = 3\n")  # not imported
    assert value(root, PROFILE="quick") == first
    assert value(root, PROFILE="full") != first
    (root / "src" / "deepinside" / "b.py").write_text("X = 2\n")  # imported through a
    second = value(root, PROFILE="quick")
    assert second != first
    (root / "requirements.txt").write_text("torch==3\n")
    third = value(root, PROFILE="quick")
    assert third != second
    (root / "chapters" / "01_x.py").write_text("from deepinside import a\nprint(1)\n")
    assert value(root, PROFILE="quick") != third


def test_records_are_written_and_forgotten(tmp_path):
    fingerprints.record(tmp_path, "01_x", "abc")
    assert fingerprints.load(tmp_path) == {"01_x": "abc"}
    fingerprints.record(tmp_path, "01_x", None)
    assert fingerprints.load(tmp_path) == {}
