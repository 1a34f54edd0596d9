"""Measured run times and benchmarks: the record ``_build/timings.json`` and the book's page
``book/measurements.md``, generated into the stage at build time.

``_build/timings.json`` holds ``{"profile", "chapters": [{chapter, seconds, peak_mb, ok,
profile, date}], "budgets"}``; each build merges its executed chapters into it, so a chapter that
was up to date keeps its last measurement. ``_build/benchmarks/hot_paths.json`` is written by
``benchmarks/hot_paths.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

TITLE = "# Measurements"
HOT_PATHS = "python benchmarks/hot_paths.py"


def timings_file(root: Path) -> Path:
    return root / "_build" / "timings.json"


def benchmarks_file(root: Path) -> Path:
    return root / "_build" / "benchmarks" / "hot_paths.json"


def read_json(path: Path) -> object:
    """The JSON content of ``path``, or None if it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def merge_timings(
    previous: object,
    executed: list[dict],
    chapters: list[str],
    profile: str,
    budgets: dict[str, float],
) -> dict:
    """The timings record with ``executed`` entries replacing earlier ones of their chapters;
    chapters not executed keep their last entry. Entries follow the order of ``chapters``."""
    previous = previous if isinstance(previous, dict) else {}
    entries = {
        e["chapter"]: {"profile": previous.get("profile"), "date": None, **e}
        for e in previous.get("chapters", [])
        if isinstance(e, dict) and "chapter" in e
    }
    entries.update({e["chapter"]: e for e in executed})
    return {
        "profile": profile,
        "chapters": [entries[c] for c in chapters if c in entries],
        "budgets": budgets,
    }


def _memory(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def chapter_table(timings: dict) -> list[str]:
    """Markdown lines: each chapter's run time, peak memory, date and profile; the book total."""
    entries = [e for e in timings.get("chapters", []) if isinstance(e, dict)]
    lines = [
        "| chapter | run time | peak memory | date | profile |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for e in entries:
        lines.append(
            f"| `{e['chapter']}` | {e['seconds']:.1f} s | {_memory(e['peak_mb'])} | "
            f"{(e.get('date') or '–')[:10]} | {e.get('profile') or '–'} |"
        )
    total = sum(e["seconds"] for e in entries)
    peak = max((e["peak_mb"] for e in entries), default=0.0)
    profiles = ", ".join(sorted({e["profile"] for e in entries if e.get("profile")}))
    lines.append(f"| **the book** | **{total:.1f} s** | {_memory(peak)} (largest) | | {profiles} |")
    return lines


def _cost(side: dict) -> str:
    rate = side.get("steps_per_second")
    return f"{side['seconds']:.2f} s" + (f" ({rate:.0f} steps/s)" if rate else "")


def benchmark_table(rows: list[dict]) -> list[str]:
    """Markdown lines: each hot path against its naive version (rows of ``hot_paths.json``)."""
    lines = [
        "| hot path | size | package | naive | time ratio | peak memory | results agree to |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in rows:
        fast, naive = r["fast"], r["naive"]
        lines.append(
            f"| `{r['benchmark']}` | {r['size']} | {_cost(fast)} | {_cost(naive)} | "
            f"×{r['time_ratio']:.1f} | {fast['peak_mb']:.0f} MB vs "
            f"{naive['peak_mb']:.0f} MB | {r['relative_difference']:.1e} |"
        )
    return lines


def timings_section(timings: object) -> list[str]:
    lines = ["## Run time of each chapter", ""]
    if not isinstance(timings, dict) or not timings.get("chapters"):
        return lines + [
            "No run time was recorded where this book was built: `make book` executes "
            "the chapters and records their run times in `_build/timings.json`."
        ]
    return lines + [
        "Each chapter's last execution, measured by the build (`_build/timings.json`); "
        "a chapter found up to date keeps the measurement of its last execution.",
        "",
        *chapter_table(timings),
    ]


def benchmarks_section(rows: object) -> list[str]:
    lines = ["## Hot paths against their naive versions", ""]
    if not isinstance(rows, list) or not rows:
        return lines + [
            f"No benchmark was run where this book was built: `{HOT_PATHS}` writes "
            "`_build/benchmarks/hot_paths.json`; build the book again to see it here."
        ]
    return lines + [
        f"Measured by `{HOT_PATHS}`, each measurement in its own process (peak = that "
        "process's resident memory).",
        "",
        *benchmark_table(rows),
    ]


def measurements_page(timings: object, benchmarks: object) -> str:
    """The page ``book/measurements.md`` (MyST Markdown) from the two records (None if absent)."""
    lines = [
        TITLE,
        "",
        "Generated when the book was built.",
        "",
        *timings_section(timings),
        "",
        *benchmarks_section(benchmarks),
    ]
    return "\n".join(lines) + "\n"


def write_page(root: Path, target: Path) -> Path:
    """Write the measurements page of the book rooted at ``root`` to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    page = measurements_page(read_json(timings_file(root)), read_json(benchmarks_file(root)))
    target.write_text(page)
    return target
