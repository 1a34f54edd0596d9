"""Build the book: sync the chapter pairs, execute every chapter, build the HTML.

    python -m deepinside.build [--profile quick|full] [--chapters 01_dimensionality ...]
                               [--param NAME=VALUE ...] [--no-html | --html-only]

1. ``jupytext --sync`` every chapter listed in ``_toc.yml`` (``.py`` ↔ ``.ipynb``).
2. Execute each chapter with papermill into ``_build/stage/chapters/`` with the
   profile's parameters. A failing cell stops the build, naming chapter and cell.
   Explorers draw their static figure (``DEEPINSIDE_STATIC=1``).
3. Write the student and instructor copies (``_build/teaching``) and build the staged book with
   Jupyter Book, strictly (warnings are errors) and without executing anything, into
   ``_build/html``. ``--html-only`` starts here, from chapters executed elsewhere (a GPU runner).
4. Print each chapter's run time and peak memory; record them in ``_build/timings.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
import yaml

from . import teaching
from .interactive import STATIC_ENV
from .runtime import NO_PROGRESS_ENV, PROFILES

ROOT = Path.cwd()
BUILD = ROOT / "_build"
STAGE = BUILD / "stage"
# budgets of the quick profile on a 2-core CPU: each chapter, its peak memory, the whole book
BUDGET_S = 180
MEMORY_BUDGET_MB = 6144
BOOK_BUDGET_S = 900


@dataclass
class Run:
    chapter: str
    seconds: float
    peak_mb: float
    ok: bool


class BuildError(RuntimeError):
    """A step of the build failed; the message says which and why."""


def toc_chapters(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Chapter names (``NN_topic``) listed in ``_toc.yml``, in book order."""
    entries: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                entries.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc.read_text()))
    return [Path(e).name for e in entries if e.startswith("chapters/")]


# changes to these re-run every chapter: the shared package and the environment
SHARED = ("src/", "requirements.txt", "pyproject.toml", "_toc.yml", "_config.yml")


def affected_chapters(changed: list[str], chapters: list[str]) -> list[str]:
    """The chapters whose output may change with the ``changed`` files (paths from the root)."""
    if any(path.startswith(SHARED) for path in changed):
        return list(chapters)
    touched = {Path(path).stem for path in changed if path.startswith("chapters/")}
    return [c for c in chapters if c in touched]


def changed_since(ref: str) -> list[str]:
    """Files changed between the merge base with ``ref`` and the working tree (git)."""
    result = subprocess.run(["git", "diff", "--name-only", f"{ref}..."], capture_output=True,
                            text=True, cwd=ROOT)
    if result.returncode != 0:
        raise BuildError(f"git diff against {ref!r} failed: {result.stderr.strip()}")
    return result.stdout.split()


def sync(chapters: list[str]) -> None:
    """Sync each chapter's py:percent source with its paired notebook."""
    sources = [str(ROOT / "chapters" / f"{c}.py") for c in chapters]
    _run([sys.executable, "-m", "jupytext", "--sync", "--quiet", *sources], "jupytext --sync")


def execute(chapter: str, parameters: dict[str, object]) -> Run:
    """Execute one chapter with papermill into the stage; raise BuildError on failure."""
    source = ROOT / "chapters" / f"{chapter}.ipynb"
    target = STAGE / "chapters" / f"{chapter}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "papermill", str(source), str(target), "--kernel", "python3",
               "--cwd", str(source.parent), "--no-progress-bar"]
    for name, value in parameters.items():
        command += ["-y", f"{name}: {json.dumps(value)}"]
    env = dict(os.environ, **{NO_PROGRESS_ENV: "1", STATIC_ENV: "1",
                              "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    run = Run(chapter, time.perf_counter() - start, usage.ru_maxrss / 1024, status == 0)
    if not run.ok:
        raise BuildError(f"chapter {chapter} failed: {_failing_cell(target) or output[-3000:]}")
    _hide_injected_parameters(target)
    return run


def _hide_injected_parameters(notebook: Path) -> None:
    """Keep papermill's injected-parameters cell out of the rendered page."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(nb, notebook)


def _failing_cell(notebook: Path) -> str | None:
    """Where and why an executed notebook stopped, from its first error output."""
    if not notebook.exists():
        return None
    cells = nbformat.read(notebook, as_version=4).cells
    code = [c for c in cells if c.cell_type == "code"]
    for number, cell in enumerate(code, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                return (f"code cell {number} (starting `{first}`) raised "
                        f"{out.get('ename')}: {out.get('evalue')}")
    return None


def build_html() -> Path:
    """Build the staged book strictly with Jupyter Book; return the HTML folder."""
    for item in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / item, STAGE / item)
    shutil.copytree(ROOT / "book", STAGE / "book", dirs_exist_ok=True)
    chapters = [ROOT / "chapters" / f"{c}.ipynb" for c in toc_chapters()]
    try:
        zips = teaching.write_copies(chapters, BUILD / "teaching", STAGE / "chapters")
    except ValueError as error:
        raise BuildError(f"teaching copies: {error}") from error
    (STAGE / "book" / "downloads").mkdir(exist_ok=True)
    for path in zips.values():  # offered for download by book/teaching.md
        shutil.copy2(path, STAGE / "book" / "downloads" / path.name)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    _run([str(jupyter_book), "build", str(STAGE), "--path-output", str(ROOT), "--builder", "html",
          "-W", "-n", "--keep-going", "--quiet"], "jupyter-book build")
    return BUILD / "html"


def report(runs: list[Run], budgets: bool = True) -> str:
    """A table of run times and peak memory; with ``budgets`` (the quick profile), a warning
    for what exceeds :data:`BUDGET_S` or :data:`MEMORY_BUDGET_MB` per chapter, or
    :data:`BOOK_BUDGET_S` in all."""
    lines = [f"{'chapter':<28} {'time':>8} {'peak memory':>12}", "-" * 50]
    for r in runs:
        flags = ([f"over the {BUDGET_S} s budget"] if budgets and r.seconds > BUDGET_S else []) + (
            [f"over the {MEMORY_BUDGET_MB} MB budget"] if budgets and r.peak_mb > MEMORY_BUDGET_MB else [])
        lines.append(f"{r.chapter:<28} {r.seconds:>7.1f}s {r.peak_mb:>9.0f} MB"
                     + "".join(f"  WARNING: {f}" for f in flags))
    total = sum(r.seconds for r in runs)
    lines.append(f"{'total':<28} {total:>7.1f}s"
                 + (f"  WARNING: over the {BOOK_BUDGET_S} s budget of the book"
                    if budgets and total > BOOK_BUDGET_S else ""))
    return "\n".join(lines)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick", choices=PROFILES)
    parser.add_argument("--chapters", nargs="*", help="only these chapters (default: all in _toc.yml)")
    parser.add_argument("--changed-since", metavar="REF",
                        help="only the chapters affected by the changes since git REF (a pull request)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="extra papermill parameter, VALUE in YAML (e.g. SEED=1)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-html", action="store_true", help="execute chapters, skip the HTML")
    mode.add_argument("--html-only", action="store_true",
                      help="build the HTML from the chapters already executed in _build/stage")
    args = parser.parse_args(argv)

    chapters = toc_chapters()
    unknown = sorted(set(args.chapters or []) - set(chapters))
    if unknown:
        parser.error(f"not chapters of _toc.yml: {unknown}; known: {chapters}")
    selected = [c for c in chapters if not args.chapters or c in args.chapters]
    if args.changed_since:
        try:
            selected = [c for c in affected_chapters(changed_since(args.changed_since), chapters)
                        if c in selected]
        except BuildError as error:
            parser.error(str(error))
        print(f"chapters affected since {args.changed_since}: {' '.join(selected) or 'none'}")
    parameters: dict[str, object] = {"PROFILE": args.profile}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            parser.error(f"--param takes NAME=VALUE, got {item!r}")
        parameters[name] = yaml.safe_load(value)

    runs: list[Run] = []
    try:
        print(f"syncing {len(chapters)} chapter pair(s)", flush=True)
        sync(chapters)
        for chapter in [] if args.html_only else selected:
            print(f"executing {chapter} ({args.profile}) ...", flush=True)
            runs.append(execute(chapter, parameters))
            print(f"  done in {runs[-1].seconds:.1f} s", flush=True)
        if not args.no_html:
            missing = [c for c in chapters if not (STAGE / "chapters" / f"{c}.ipynb").exists()]
            if missing:
                raise BuildError(f"not executed yet, cannot build the HTML: {missing}")
            print("building the HTML ...", flush=True)
            html = build_html()
    except BuildError as error:
        print(f"\nBUILD FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if runs:
            BUILD.mkdir(exist_ok=True)
            record = {"profile": args.profile, "chapters": [asdict(r) for r in runs],
                      "budgets": {"chapter_s": BUDGET_S, "chapter_mb": MEMORY_BUDGET_MB,
                                  "book_s": BOOK_BUDGET_S}}
            (BUILD / "timings.json").write_text(json.dumps(record, indent=2))
            print("\n" + report(runs, budgets=args.profile == "quick"))
    if not args.no_html:
        print(f"\nThe book is built: open {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
