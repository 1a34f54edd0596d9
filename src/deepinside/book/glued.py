"""The values an executed chapter glued, read back; two builds compared value by value.

    python -m deepinside.book.glued dump [--stage _build/stage/chapters] [-o glued.json]
    python -m deepinside.book.glued compare before.json after.json [--ignore SUBSTRING ...]

``compare`` prints every glued value that differs (or exists in one build only) and exits
non-zero if any does: a refactoring that must not change a number shows it did not.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

import nbformat

GLUE_MIME = "application/papermill.record/text/plain"


def glued_texts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Every value the executed ``notebook`` glued, in its text/plain form (as myst-nb reads
    it)."""
    texts = {}
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                texts[name] = out["data"][GLUE_MIME]
    return texts


def glued_values(notebook: nbformat.NotebookNode) -> dict[str, object]:
    """Every value the executed ``notebook`` glued, parsed back into Python."""
    return {name: ast.literal_eval(text) for name, text in glued_texts(notebook).items()}


def dump(stage: Path) -> dict[str, dict[str, object]]:
    """{chapter: {name: value}} for every executed notebook in ``stage``."""
    return {
        path.stem: glued_values(nbformat.read(path, as_version=4))
        for path in sorted(stage.glob("*.ipynb"))
    }


def differences(before: dict, after: dict, ignore: tuple[str, ...] = ()) -> list[str]:
    """One line per glued value that differs between two dumps (names containing a substring
    of ``ignore``, e.g. timings, are skipped)."""
    lines = []
    for chapter in sorted(set(before) | set(after)):
        old, new = before.get(chapter, {}), after.get(chapter, {})
        for name in sorted(set(old) | set(new)):
            if any(part in name for part in ignore):
                continue
            if name not in old or name not in new or old[name] != new[name]:
                lines.append(f"{chapter}.{name}: {old.get(name, '—')!r} → {new.get(name, '—')!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dumping = commands.add_parser("dump", help="write the glued values of a stage as JSON")
    dumping.add_argument("--stage", type=Path, default=Path("_build/stage/chapters"))
    dumping.add_argument("-o", "--output", type=Path, default=Path("glued.json"))
    comparing = commands.add_parser("compare", help="compare two dumps")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    comparing.add_argument("--ignore", nargs="*", default=[], metavar="SUBSTRING")
    args = parser.parse_args(argv)
    if args.command == "dump":
        values = dump(args.stage)
        args.output.write_text(json.dumps(values, indent=1, sort_keys=True, ensure_ascii=False))
        print(f"{sum(map(len, values.values()))} values of {len(values)} chapters → {args.output}")
        return 0
    before, after = (json.loads(p.read_text()) for p in (args.before, args.after))
    lines = differences(before, after, tuple(args.ignore))
    count = sum(map(len, after.values()))
    print("\n".join(lines) if lines else f"all {count} glued values identical")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
