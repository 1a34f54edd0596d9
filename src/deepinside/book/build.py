"""Build the book: sync the chapter pairs, execute the chapters that changed, build the HTML.

    python -m deepinside.book.build [--root .] [--profile quick|full] [--force]
        [--chapters 01_dimensionality ...] [--changed-since REF] [--param NAME=VALUE ...]
        [--no-html | --html-only] [--standin]

1. ``jupytext --sync`` every chapter listed in ``_toc.yml`` (``.py`` ↔ ``.ipynb``).
2. Execute each chapter with papermill into ``_build/stage/chapters/`` with the profile's
   parameters (each ``--param`` must be a parameter of every selected chapter, with a value
   its declaration allows, see :mod:`deepinside.parameters`: checked before anything
   executes), unless it is up to date: its staged notebook executed fine from the same inputs
   (:mod:`.fingerprints`). ``--force`` executes every chapter again. A failing cell stops the
   build, naming chapter and cell. Explorers draw their static figure (``DEEPINSIDE_STATIC=1``).
3. Write the student and instructor copies (``_build/teaching``), the measurements page, the
   claims ledger (:mod:`.ledger`), the tables of the chapters' parameters and recipes (into
   the running page, in place of its :data:`PARAMETERS_MARKER` and :data:`RECIPES_MARKER`
   lines, :mod:`.recipes`), the table of the full profile's cost (:mod:`.cost`), and build
   the staged book with Jupyter Book, strictly (warnings are errors) and without executing
   anything, into ``_build/html``. ``--html-only`` starts here, from chapters executed elsewhere.
4. Print each chapter's run time and peak memory; merge them into ``_build/timings.json``.

``--standin`` is the dry run of the `full` profile (:mod:`deepinside.standin`): every selected
chapter executes its `full` code path with stand-in data and models, into a stage of its own
(``_build/standin``), and must pass the checks of :mod:`.dryrun`; no HTML is built.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import nbformat
import yaml

from .. import parameters as knobs
from .. import standin
from ..runtime import PROFILES
from . import cells, colab, cost, dryrun, fingerprints, ledger, measurements, recipes, teaching
from .execute import BuildError, Run, execute, run_command, sync
from .imports import module_graph, module_name
from .toc import add_root_argument, toc_chapters

# budgets of the quick profile on a 2-core CPU: each chapter, its peak memory, the whole book
BUDGET_S = 180
MEMORY_BUDGET_MB = 6144
BOOK_BUDGET_S = 900
# budget of the stand-in dry run of every chapter on a 2-core CPU
DRY_RUN_BUDGET_S = 600
# changes to these may change every chapter's output; changes to the tooling change none
EVERYTHING = ("requirements.txt", "pyproject.toml", "_toc.yml", "_config.yml")
TOOLING = "src/deepinside/book/"
# the line of book/running.md that the staged copy has replaced by the parameters' tables
PARAMETERS_MARKER = "<!-- the build writes the tables of every chapter's parameters here -->"
RECIPES_MARKER = "<!-- the build writes the table of recipes here -->"
COST_MARKER = "<!-- the build writes the table of the full profile's cost here -->"


def build_dir(root: Path) -> Path:
    return root / "_build"


def affected_chapters(root: Path, changed: list[str], chapters: list[str]) -> list[str]:
    """The chapters whose output may change with the ``changed`` files (paths from ``root``): a
    chapter's own files, a package module it imports transitively, or the environment."""
    if any(path in EVERYTHING for path in changed):
        return list(chapters)
    graph = module_graph(root / "src")
    modules: set[str] = set()
    for path in changed:
        if path.startswith(TOOLING) or not path.startswith("src/"):
            continue
        module = module_name(root / "src", root / path)
        if module in graph:
            modules.add(module)
        elif module is None or (root / path).exists():  # package data, say: it may matter anywhere
            return list(chapters)
    touched = {Path(path).stem for path in changed if path.startswith("chapters/")}
    return [
        c
        for c in chapters
        if c in touched or modules & fingerprints.chapter_modules(root, c, graph)
    ]


def changed_since(root: Path, ref: str) -> list[str]:
    """Files changed between the merge base with ``ref`` and the working tree (git)."""
    result = subprocess.run(
        ["git", "diff", "--name-only", f"{ref}..."], capture_output=True, text=True, cwd=root
    )
    if result.returncode != 0:
        raise BuildError(f"git diff against {ref!r} failed: {result.stderr.strip()}")
    return result.stdout.split()


def cached_run(root: Path, chapter: str) -> Run:
    """An up-to-date chapter, with its last measurement from ``_build/timings.json``."""
    record = measurements.read_json(measurements.timings_file(root))
    entries = record.get("chapters", []) if isinstance(record, dict) else []
    last = next((e for e in entries if isinstance(e, dict) and e.get("chapter") == chapter), {})
    return Run(
        chapter,
        last.get("seconds", math.nan),
        last.get("peak_mb", math.nan),
        True,
        cached=True,
        profile=last.get("profile") or "",
        date=last.get("date") or "",
    )


def _staged_elsewhere(
    root: Path, chapter: str, value: str, stage_dir: Path, reuse: tuple[Path, ...]
) -> bool:
    """Copy the chapter from the first stage of ``reuse`` that executed it from the same
    inputs (fingerprint ``value``) into ``stage_dir``; whether one did."""
    for other in reuse:
        if other != stage_dir and fingerprints.up_to_date(other, chapter, value):
            target = stage_dir / "chapters" / f"{chapter}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(other / "chapters" / f"{chapter}.ipynb", target)
            fingerprints.record(stage_dir, chapter, value)
            return fingerprints.refresh_prose(root, stage_dir, chapter)
    return False


def execute_changed(
    root: Path,
    chapters: list[str],
    parameters: dict[str, object],
    force: bool = False,
    stage_dir: Path | None = None,
    reuse: tuple[Path, ...] = (),
    standin_run: bool = False,
) -> Iterator[Run]:
    """Execute the chapters that are not up to date in ``stage_dir`` (default: the book's
    stage; all with ``force``), in order, yielding each run; a chapter's fingerprint is
    recorded once it executed successfully (in a ``standin_run``, once it also passed the
    checks of :func:`.dryrun.problems`). A chapter whose code is up to date gets its
    changed prose without executing; one executed from the same inputs in a stage of ``reuse``
    is copied from there."""
    stage_dir = stage_dir or fingerprints.stage(root)
    graph = module_graph(root / "src")
    for chapter in chapters:
        value = fingerprints.fingerprint(root, chapter, parameters, graph)
        fresh = fingerprints.up_to_date(stage_dir, chapter, value)
        if not force and (
            (fresh and fingerprints.refresh_prose(root, stage_dir, chapter))
            or _staged_elsewhere(root, chapter, value, stage_dir, reuse)
        ):
            print(f"{chapter}: up to date, not executed again", flush=True)
            yield cached_run(root, chapter)
            continue
        print(f"executing {chapter} ({parameters.get('PROFILE')}) ...", flush=True)
        fingerprints.record(stage_dir, chapter, None)  # stale until this execution succeeds
        run = execute(root, chapter, parameters, stage_dir)
        if standin_run:
            check_dry_run(stage_dir, chapter)
        fingerprints.record(stage_dir, chapter, value)
        print(f"  done in {run.seconds:.1f} s", flush=True)
        yield run


def check_dry_run(stage_dir: Path, chapter: str) -> None:
    """Raise :class:`BuildError` naming the chapter and each cell that fails a check of the
    stand-in dry run (:func:`.dryrun.problems`)."""
    notebook = nbformat.read(stage_dir / "chapters" / f"{chapter}.ipynb", as_version=4)
    found = dryrun.problems(notebook)
    if found:
        raise BuildError(f"chapter {chapter}, dry run of `full`:\n  " + "\n  ".join(found))


def parameters_table(root: Path) -> str:
    """The Markdown tables of every chapter's parameters: values, defaults and meanings, from
    their parameters cells and their declarations (:func:`deepinside.parameters.table`)."""
    chapters = toc_chapters(root)
    defaults = {c: fingerprints.chapter_parameters(root, c) for c in chapters}
    comments = {c: fingerprints.parameter_comments(root, c) for c in chapters}
    try:
        return knobs.table(defaults, comments)
    except ValueError as error:
        raise BuildError(f"the table of parameters: {error}") from error


def write_generated(page: Path, marker: str, text: str) -> None:
    """Replace the line ``marker`` of ``page`` by ``text``."""
    content = page.read_text()
    if marker not in content.splitlines():
        raise BuildError(f"{page.name} has no line {marker!r} for what the build writes there")
    page.write_text(content.replace(marker, text.rstrip("\n")))


def write_parameters(root: Path, page: Path) -> None:
    """Write :func:`parameters_table` in place of the :data:`PARAMETERS_MARKER` line of
    ``page``."""
    write_generated(page, PARAMETERS_MARKER, parameters_table(root))


def build_html(root: Path) -> Path:
    """Build the staged book strictly with Jupyter Book; return the HTML folder."""
    stage = fingerprints.stage(root)
    for item in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / item, stage / item)
    shutil.copytree(root / "book", stage / "book", dirs_exist_ok=True)
    measurements.write_page(root, stage / "book" / "measurements.md")
    ledger.write_page(root, stage / "book" / "ledger.md")
    write_parameters(root, stage / "book" / "running.md")
    write_generated(stage / "book" / "running.md", RECIPES_MARKER, recipes.table(root))
    write_generated(stage / "book" / "running.md", COST_MARKER, cost.table(root))
    chapters = [root / "chapters" / f"{c}.ipynb" for c in toc_chapters(root)]
    for staged in (stage / "chapters" / c.name for c in chapters):
        if staged.exists():  # the site serves its own badge image: it works offline
            colab.localize_badges(staged)
    try:
        teaching.write_page(root, stage / "book" / "teaching.md")
        zips = teaching.write_copies(chapters, build_dir(root) / "teaching", stage / "chapters")
    except ValueError as error:
        raise BuildError(f"teaching copies: {error}") from error
    (stage / "book" / "downloads").mkdir(exist_ok=True)
    for path in zips.values():  # offered for download by book/teaching.md
        shutil.copy2(path, stage / "book" / "downloads" / path.name)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    run_command(
        [
            str(jupyter_book),
            "build",
            str(stage),
            "--path-output",
            str(root),
            "--builder",
            "html",
            "-W",
            "-n",
            "--keep-going",
            "--quiet",
        ],
        "jupyter-book build",
    )
    return build_dir(root) / "html"


def _flags(run: Run, budgets: bool) -> list[str]:
    """What a run exceeds; an up-to-date chapter's last measurement is not checked again."""
    if not budgets or run.cached:
        return []
    return ([f"over the {BUDGET_S} s budget"] if run.seconds > BUDGET_S else []) + (
        [f"over the {MEMORY_BUDGET_MB} MB budget"] if run.peak_mb > MEMORY_BUDGET_MB else []
    )


def _row(run: Run, budgets: bool) -> str:
    if math.isnan(run.seconds):
        return f"{run.chapter:<28} {'-':>8} {'-':>12}  (cached, not measured)"
    return (
        f"{run.chapter:<28} {run.seconds:>7.1f}s {run.peak_mb:>9.0f} MB"
        + ("  (cached)" if run.cached else "")
        + "".join(f"  WARNING: {f}" for f in _flags(run, budgets))
    )


def report(runs: list[Run], budgets: bool = True) -> str:
    """A table of run times and peak memory, up-to-date chapters marked "(cached)"; with
    ``budgets`` (the quick profile), a warning for what the executed chapters exceed:
    :data:`BUDGET_S` or :data:`MEMORY_BUDGET_MB` per chapter, :data:`BOOK_BUDGET_S` in all."""
    lines = [f"{'chapter':<28} {'time':>8} {'peak memory':>12}", "-" * 50]
    lines += [_row(r, budgets) for r in runs]
    total = sum(r.seconds for r in runs if not math.isnan(r.seconds))
    executed = sum(r.seconds for r in runs if not r.cached)
    lines.append(
        f"{'total':<28} {total:>7.1f}s"
        + (
            f"  WARNING: over the {BOOK_BUDGET_S} s budget of the book"
            if budgets and executed > BOOK_BUDGET_S
            else ""
        )
    )
    return "\n".join(lines)


def record_timings(root: Path, runs: list[Run], chapters: list[str], profile: str) -> None:
    """Merge the executed runs into ``_build/timings.json``."""
    path = measurements.timings_file(root)
    budgets = {"chapter_s": BUDGET_S, "chapter_mb": MEMORY_BUDGET_MB, "book_s": BOOK_BUDGET_S}
    executed = [{k: v for k, v in asdict(r).items() if k != "cached"} for r in runs if not r.cached]
    record = measurements.merge_timings(
        measurements.read_json(path), executed, chapters, profile, budgets
    )
    fingerprints.write_atomically(path, json.dumps(record, indent=2) + "\n")


def parser() -> argparse.ArgumentParser:
    """The command line of :func:`main`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_root_argument(parser)
    parser.add_argument("--profile", default="quick", choices=PROFILES)
    parser.add_argument(
        "--chapters", nargs="*", help="only these chapters (default: all in _toc.yml)"
    )
    parser.add_argument(
        "--changed-since",
        metavar="REF",
        help="only the chapters affected by the changes since git REF (a pull request)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra papermill parameter, VALUE in YAML (e.g. SEED=1), of every selected chapter",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="execute the chapters again even if they are up to date",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-html", action="store_true", help="execute chapters, skip the HTML")
    mode.add_argument(
        "--html-only",
        action="store_true",
        help="build the HTML from the chapters already executed in _build/stage",
    )
    parser.add_argument(
        "--standin",
        nargs="?",
        const="dry",
        choices=("dry", "full-size"),
        help="the full profile with stand-in data and models, no HTML: its dry run (tiny "
        "sizes, into _build/standin) or, with full-size, at the real sizes (its cost)",
    )
    return parser


def parameters_of(args: argparse.Namespace, cli: argparse.ArgumentParser) -> dict[str, object]:
    """The papermill parameters: the profile and every ``--param``, its value read as YAML."""
    parameters: dict[str, object] = {"PROFILE": args.profile}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            cli.error(f"--param takes NAME=VALUE, got {item!r}")
        try:
            parameters[name] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            cli.error(f"--param {name}: {value!r} is not a YAML value ({error})")
    return parameters


def check_parameters(root: Path, chapters: list[str], given: dict[str, object]) -> None:
    """Raise ``ValueError`` unless each parameter of ``given`` is one of every chapter of
    ``chapters`` (their parameters cells), naming those that lack it and the known ones; a
    ``TypeError`` or ``ValueError`` if its declaration does not allow its value."""
    known = {c: fingerprints.chapter_parameters(root, c) for c in chapters}
    for name, value in given.items():
        lacking = [c for c, defaults in known.items() if name not in defaults]
        if lacking:
            having = [c for c in chapters if c not in lacking]
            raise ValueError(_unknown(name, lacking, having, known))
        if name in knobs.KNOBS:
            try:
                knobs.check(name, value)
            except (TypeError, ValueError) as error:
                raise type(error)(f"--param {error}") from error


def _unknown(name: str, lacking: list[str], having: list[str], cells: dict) -> str:
    """Why ``--param name`` is refused: the chapters that lack it and what they know."""
    known = sorted(set.intersection(*(set(cells[c]) for c in lacking)))
    message = f"--param {name}: not a parameter of {', '.join(lacking)} (known: {', '.join(known)})"
    close = difflib.get_close_matches(name, {p for d in cells.values() for p in d}, n=1)
    if close and close[0] != name:
        message += f"; did you mean {close[0]}?"
    if having:
        message += f"; only {', '.join(having)} know it: select with --chapters {' '.join(having)}"
    return message


def selection(
    root: Path, args: argparse.Namespace, cli: argparse.ArgumentParser, chapters: list[str]
) -> list[str]:
    """The chapters to execute: ``--chapters``, narrowed by ``--changed-since``."""
    unknown = sorted(set(args.chapters or []) - set(chapters))
    if unknown:
        cli.error(f"not chapters of _toc.yml: {unknown}; known: {chapters}")
    selected = [c for c in chapters if not args.chapters or c in args.chapters]
    if args.changed_since:
        try:
            changed = changed_since(root, args.changed_since)
        except BuildError as error:
            cli.error(str(error))
        selected = [c for c in affected_chapters(root, changed, chapters) if c in selected]
        print(f"chapters affected since {args.changed_since}: {' '.join(selected) or 'none'}")
    return selected


def html(root: Path, chapters: list[str]) -> Path:
    """Build the HTML once every chapter is staged, each with its present prose where its code
    is the one it was executed from."""
    stage = fingerprints.stage(root) / "chapters"
    missing = [c for c in chapters if not (stage / f"{c}.ipynb").exists()]
    if missing:
        raise BuildError(f"not executed yet, cannot build the HTML: {missing}")
    for chapter in chapters:
        fingerprints.refresh_prose(root, stage.parent, chapter)
    print("building the HTML ...", flush=True)
    return build_html(root)


def summary(
    root: Path, runs: list[Run], chapters: list[str], profile: str, stand_in: Path | None = None
) -> None:
    """Record and print the run times, then how many chapters executed. A stand-in run's are
    not the book's: they go to ``runs.json`` in its stage ``stand_in`` (a dry run is held to
    :data:`DRY_RUN_BUDGET_S`)."""
    executed = [r for r in runs if not r.cached]
    if executed and stand_in is None:
        record_timings(root, runs, chapters, profile)
    elif executed:
        dryrun.record_runs(stand_in, [asdict(r) for r in executed])
    if runs:
        print("\n" + report(runs, budgets=profile == "quick" and stand_in is None))
    seconds = sum(r.seconds for r in executed)
    if stand_in == dryrun.stage(root, "dry") and seconds > DRY_RUN_BUDGET_S:
        print(f"WARNING: the dry run took {seconds:.0f} s, over its {DRY_RUN_BUDGET_S} s budget")
    print(f"{len(executed)} chapter(s) executed, {len(runs) - len(executed)} up to date")


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    root = args.root.resolve()
    chapters = toc_chapters(root)
    selected = selection(root, args, cli, chapters)
    parameters = parameters_of(args, cli)
    if args.standin and args.html_only:
        cli.error("--standin executes chapters and builds no HTML: drop --html-only")
    if args.standin:  # the full profile, with stand-ins, in a stage of its own
        os.environ[standin.ENV] = "1" if args.standin == "dry" else "full-size"
        parameters["PROFILE"] = "full"
    try:  # before anything executes; --param PROFILE=... may replace --profile
        check_parameters(root, selected, {k: v for k, v in parameters.items() if k != "PROFILE"})
        knobs.check("PROFILE", parameters["PROFILE"])
    except (TypeError, ValueError) as error:
        cli.error(str(error))
    runs: list[Run] = []
    stage_dir = dryrun.stage(root, args.standin) if args.standin else None
    try:
        print(f"syncing {len(chapters)} chapter pair(s)", flush=True)
        sync(root, chapters)
        cells.fix(root)  # metadata derived from the text: a re-created cell gets it again
        if not args.html_only:
            for run in execute_changed(
                root, selected, parameters, args.force, stage_dir, standin_run=bool(args.standin)
            ):
                runs.append(run)  # one by one: a failure keeps the runs before it
        if not (args.no_html or args.standin):
            book = html(root, chapters)
    except BuildError as error:
        print(f"\nBUILD FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if not args.html_only:
            summary(root, runs, chapters, str(parameters["PROFILE"]), stage_dir)
    if not (args.no_html or args.standin):
        print(f"\nThe book is built: open {book / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
