"""The book executed for several seeds, and the record of what each chapter glued in each.

    python -m deepinside.book.seeds [--seeds 0 1 2] [--profile quick] [--chapters ...]

Each seed executes the chapters into ``_build/seeds/seed-S/`` (incrementally, like the build; a
chapter the book's stage executed from the same inputs is copied from there). Then every
chapter's glued values, with the fingerprint of the inputs they were computed from, are merged
into the committed record ``chapters/claims/seeds-<profile>.json``, with the date and the
machine. The claims ledger evaluates every declared claim on that record; an entry whose chapter
changed since is shown as out of date. The command ends with a table of how many claims held in
how many seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime
from pathlib import Path

import nbformat

from ..runtime import PROFILES
from . import claims, fingerprints
from .execute import BuildError, sync
from .glued import glued_values
from .imports import module_graph
from .record import parameters, read_record, record_file
from .toc import add_root_argument, toc_chapters

DEFAULT_SEEDS = (0, 1, 2)


def seed_stage(root: Path, seed: int) -> Path:
    return root / "_build" / "seeds" / f"seed-{seed}"


def machine() -> str:
    import torch

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )


def run_seed(root: Path, chapters: list[str], profile: str, seed: int) -> dict[str, dict]:
    """Execute the chapters for one seed; their record entries."""
    from .build import execute_changed  # the build writes the ledger, which reads the record

    stage_dir = seed_stage(root, seed)
    given = parameters(profile, seed)
    for _ in execute_changed(
        root, chapters, given, stage_dir=stage_dir, reuse=(fingerprints.stage(root),)
    ):
        pass
    graph = module_graph(root / "src")
    entries = {}
    for chapter in chapters:
        notebook = nbformat.read(stage_dir / "chapters" / f"{chapter}.ipynb", as_version=4)
        entries[chapter] = {
            "fingerprint": fingerprints.fingerprint(root, chapter, given, graph),
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": machine(),
            "glued": glued_values(notebook),
        }
    return entries


def summary(root: Path, record: dict, chapters: list[str]) -> str:
    """One line per chapter: its claims, and how many held in every recorded seed."""
    lines = []
    for chapter in chapters:
        seeds = record["chapters"].get(chapter, {})
        declared = claims.load(root, chapter)
        everywhere = sum(
            all(claims.evaluate(c, e["glued"]).verdict == "holds" for e in seeds.values())
            for c in declared
        )
        lines.append(
            f"{chapter:<28} {len(declared):>3} claims, {everywhere:>3} hold in all "
            f"{len(seeds)} recorded seed(s)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_root_argument(cli)
    cli.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS))
    cli.add_argument("--profile", default="quick", choices=PROFILES)
    cli.add_argument("--chapters", nargs="*", help="only these chapters (default: all)")
    args = cli.parse_args(argv)
    root = args.root.resolve()
    every = toc_chapters(root)
    unknown = sorted(set(args.chapters or []) - set(every))
    if unknown:
        cli.error(f"not chapters of _toc.yml: {unknown}; known: {every}")
    chapters = [c for c in every if not args.chapters or c in args.chapters]
    record = read_record(root, args.profile)
    try:
        sync(root, every)
        for seed in args.seeds:
            print(f"seed {seed}:", flush=True)
            for chapter, entry in run_seed(root, chapters, args.profile, seed).items():
                record["chapters"].setdefault(chapter, {})[str(seed)] = entry
            text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            fingerprints.write_atomically(record_file(root, args.profile), text)
    except BuildError as error:
        print(f"\nFAILED: {error}", file=sys.stderr)
        return 1
    print(f"\nrecorded in {record_file(root, args.profile)}\n")
    print(summary(root, record, chapters))
    return 0


if __name__ == "__main__":
    sys.exit(main())
