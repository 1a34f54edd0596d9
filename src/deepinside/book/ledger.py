"""The claims ledger: the book's page ``book/ledger.md``, generated at build time from the
declarations (:mod:`.claims`), the executed chapters of the stage and the record of several
seeds (:mod:`.seeds`).

Per chapter, one row per claim: its sentence with the values of this build, a link to where the
chapter makes it, its source and the source's number, the effect and its control, the verdict of
this build, in how many recorded seeds it held with the range of its effect, and its verdict at
full scale (a build of the ``full`` profile fills that column).
"""

from __future__ import annotations

import math
from pathlib import Path

import nbformat

from . import claims, record
from .fingerprints import stage
from .glued import glued_values
from .toc import toc_chapters

TITLE = "# Claims ledger"
MARK = {"holds": "✔ holds", "fails": "✘ fails", "error": "⚠ error"}


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 100 or value == 0:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.3g}"
    return f"{value:.2g}" if magnitude < 1e-3 else f"{value:.3f}".rstrip("0").rstrip(".")


def shown(value: object) -> str:
    """A measured value as a table cell: numbers rounded, mappings as ``label value`` lists."""
    if value is None:
        return "–"
    if isinstance(value, dict):
        return "; ".join(f"{label} {shown(v)}" for label, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, int | float):
        return _number(value)
    return f"“{value}”"


def _glue(match, glued: dict) -> str:
    name, spec = match.group(1), match.group(2)
    if name not in glued:
        return f"`{name}`"
    value = glued[name]
    try:
        return format(value, spec) if spec else str(value)
    except (TypeError, ValueError):
        return str(value)


def rendered(sentence: str, glued: dict) -> str:
    """The sentence with its glue roles replaced by this build's values, as a table cell."""
    text = claims.GLUE_ROLE.sub(lambda m: _glue(m, glued), sentence)
    return (
        text.replace("{footcite:t}", "{cite:t}")
        .replace("{footcite:p}", "{cite:p}")
        .replace("|", "\\|")
    )


def source_cell(claim: claims.Claim) -> str:
    if claim.source is None:
        return "the book"
    cell = f"{{cite:t}}`{claim.source['key']}`"
    if claim.source.get("where"):
        cell += f", {claim.source['where']}"
    if claim.source.get("value"):
        cell += f": {claim.source['value']}"
    return cell.replace("|", "\\|")


def _range(values: list[object]) -> str:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != len(values) or not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    return f" (effect {shown(low)})" if low == high else f" (effect {shown(low)}–{shown(high)})"


def seeds_cell(claim: claims.Claim, fresh: list[dict], stale: int) -> str:
    """In how many recorded seeds the claim held, with the range of a single-valued effect;
    entries computed from an earlier version of the chapter are counted as out of date."""
    if not fresh:
        return f"out of date ({stale} recorded before the chapter changed)" if stale else "–"
    outcomes = [claims.evaluate(claim, e["glued"]) for e in fresh]
    held = sum(o.verdict == "holds" for o in outcomes)
    cell = f"{held}/{len(outcomes)}{_range([o.effect for o in outcomes])}"
    return cell + (f", {stale} out of date" if stale else "")


def staged_build(root: Path, chapter: str) -> tuple[dict, str] | None:
    """The glued values and profile of the chapter's execution in the stage, if any."""
    path = stage(root) / "chapters" / f"{chapter}.ipynb"
    if not path.exists():
        return None
    notebook = nbformat.read(path, as_version=4)
    given = notebook.metadata.get("papermill", {}).get("parameters", {})
    return glued_values(notebook), given.get("PROFILE", "quick")


def chapter_rows(root: Path, chapter: str, seeds: dict) -> tuple[list[str], dict[str, int]]:
    """The chapter's table and the count of each verdict of this build."""
    build = staged_build(root, chapter)
    glued, profile = build or ({}, None)
    lines = [
        "| claim | source | effect | control | this build | seeds | full scale |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    counts: dict[str, int] = {}
    current, stale = record.current_entries(root, chapter, seeds)
    fresh = list(current.values())
    for claim in claims.load(root, chapter):
        outcome = claims.evaluate(claim, glued) if build else None
        verdict = MARK[outcome.verdict] + f" ({profile})" if outcome else "not run"
        if outcome and outcome.states is not None:
            verdict += f", states {shown(outcome.states)}"
        key = outcome.verdict if outcome else "not run"
        counts[key] = counts.get(key, 0) + 1
        link = f'<a href="../chapters/{chapter}.html#{claim.anchor}">↗&nbsp;{claim.id}</a>'
        lines.append(
            f"| {rendered(claim.sentence, glued)} {link} | {source_cell(claim)} | "
            f"{shown(outcome.effect) if outcome else '–'} | "
            f"{shown(outcome.control) if outcome else '–'} | {verdict} | "
            f"{seeds_cell(claim, fresh, stale)} | "
            f"{verdict if profile == 'full' else 'not run'} |"
        )
    return lines, counts


def _title(root: Path, chapter: str) -> str:
    notebook = nbformat.read(root / "chapters" / f"{chapter}.ipynb", as_version=4)
    first = notebook.cells[0].source.splitlines()[0] if notebook.cells else chapter
    return first.lstrip("# ").strip() or chapter


def introduction(profiles: set[str], seeds: dict) -> list[str]:
    entries = [e for by_seed in seeds["chapters"].values() for e in by_seed.values()]
    dates = sorted(e.get("date", "")[:10] for e in entries if e.get("date"))
    machines = sorted({e.get("machine", "") for e in entries} - {""})
    seed_list = sorted({int(s) for by_seed in seeds["chapters"].values() for s in by_seed})
    lines = [
        TITLE,
        "",
        "Every claim the chapters make, declared once in `chapters/claims/<chapter>.yml` and "
        "tested by `tests/test_claims.py` (one test per claim, named by its id). *Effect* is what "
        "the chapter measured; *control* what the null model or baseline that could have "
        "produced it gave on the same measure; the claim's rule puts its threshold between the "
        "two. The link after each sentence, named by the claim's id, opens the place in the "
        "chapter that makes it. Generated when the book was built.",
        "",
    ]
    if profiles == {"quick"}:
        lines += [
            "**This build ran the `quick` profile**: every verdict below was measured at the "
            "small scale of that profile (offline digits and photographs, small networks, few "
            "epochs), not at the scale of the sources. The *full scale* column stays empty until "
            "the book is built with `make book PROFILE=full`.",
            "",
        ]
    if seed_list:
        lines += [
            f"*Seeds* counts the seeds in which the claim held, over the record of seeds "
            f"{', '.join(map(str, seed_list))} in the `{seeds['profile']}` profile "
            f"(`python -m deepinside.book.seeds`, {dates[0]} to {dates[-1]}; "
            f"{'; '.join(machines)}), with the range of a single-valued effect.",
            "",
        ]
    else:
        lines += ["No seeds were recorded: run `python -m deepinside.book.seeds`.", ""]
    return lines


def ledger_page(root: Path) -> str:
    """The page ``book/ledger.md`` (MyST Markdown)."""
    chapters = toc_chapters(root)
    seeds = record.read_record(root, "quick")
    builds = [staged_build(root, c) for c in chapters]
    profiles = {b[1] for b in builds if b}
    sections, totals = [], {}
    for chapter in chapters:
        rows, counts = chapter_rows(root, chapter, seeds)
        for verdict, count in counts.items():
            totals[verdict] = totals.get(verdict, 0) + count
        sections += ["", f"## {_title(root, chapter)}", "", *rows]
    summary = ", ".join(f"{count} {verdict}" for verdict, count in sorted(totals.items()))
    lines = [*introduction(profiles, seeds), f"{sum(totals.values())} claims: {summary}."]
    return "\n".join([*lines, *sections]) + "\n"


def write_page(root: Path, target: Path) -> Path:
    """Write the ledger of the book rooted at ``root`` to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(ledger_page(root))
    return target
