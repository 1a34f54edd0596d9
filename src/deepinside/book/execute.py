"""Executing one chapter: papermill into the stage, with a report of where a chapter failed.

- :func:`sync`: ``jupytext --sync`` of the chapters' ``.py`` and ``.ipynb`` pairs;
- :func:`execute`: one chapter executed with papermill into ``_build/stage/chapters``, its
  run time and peak memory measured; a failing cell raises :class:`BuildError` naming it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat

from ..interactive import STATIC_ENV
from ..runtime import NO_PROGRESS_ENV, RECORD_ENV
from . import fingerprints


@dataclass
class Run:
    chapter: str
    seconds: float
    peak_mb: float
    ok: bool
    cached: bool = False  # up to date, not executed: its last measurement
    profile: str = ""
    date: str = ""
    device: str = ""  # where the chapter ran, its training precision, its peak GPU memory
    precision: str = ""
    peak_gpu_mb: float = 0.0


class BuildError(RuntimeError):
    """A step of the build failed; the message says which and why."""


def sync(root: Path, chapters: list[str]) -> None:
    """Sync each chapter's py:percent source with its paired notebook."""
    sources = [str(root / "chapters" / f"{c}.py") for c in chapters]
    run_command(
        [sys.executable, "-m", "jupytext", "--sync", "--quiet", *sources], "jupytext --sync"
    )


def execute(
    root: Path, chapter: str, parameters: dict[str, object], stage_dir: Path | None = None
) -> Run:
    """Execute one chapter with papermill into ``stage_dir`` (default: the book's stage); raise
    BuildError on failure."""
    source = root / "chapters" / f"{chapter}.ipynb"
    target = (stage_dir or fingerprints.stage(root)) / "chapters" / f"{chapter}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "papermill",
        str(source),
        str(target),
        "--kernel",
        "python3",
        "--cwd",
        str(source.parent),
        "--no-progress-bar",
    ]
    for name, value in parameters.items():
        command += ["-y", f"{name}: {json.dumps(value)}"]
    record = target.with_suffix(".run.json")
    record.unlink(missing_ok=True)
    env = dict(
        os.environ,
        **{NO_PROGRESS_ENV: "1", STATIC_ENV: "1", "PYTHONWARNINGS": "ignore::DeprecationWarning"},
        **{RECORD_ENV: str(record)},
    )
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    run = Run(
        chapter,
        time.perf_counter() - start,
        usage.ru_maxrss / 1024,
        status == 0,
        profile=str(parameters.get("PROFILE", "")),
        date=datetime.now().astimezone().isoformat(timespec="seconds"),
    )
    if not run.ok:
        raise BuildError(f"chapter {chapter} failed: {_failing_cell(target) or output[-3000:]}")
    _hide_injected_parameters(target)
    return _where_it_ran(run, record, str(parameters.get("DEVICE", "auto")))


def _where_it_ran(run: Run, record: Path, device: str) -> Run:
    """``run`` with its device, precision and peak GPU memory (the chapter's record, see
    :func:`deepinside.runtime.write_record`); a :class:`BuildError` if it fell back to the CPU
    while a CUDA GPU was visible and ``device`` was not "cpu"."""
    try:
        facts = json.loads(record.read_text())
    except (OSError, ValueError):
        return run
    run.device, run.precision = facts["device"], facts["precision"]
    run.peak_gpu_mb = facts["peak_gpu_mb"]
    if facts["cuda_visible"] and device != "cpu" and (run.device != "cuda" or not run.peak_gpu_mb):
        raise BuildError(
            f"chapter {run.chapter} ran on the {run.device} although {facts['gpu']} is visible "
            f"(DEVICE={device!r}): something fell back to the CPU"
        )
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
                return (
                    f"code cell {number} (starting `{first_line(cell.source)}`) raised "
                    f"{out.get('ename')}: {out.get('evalue')}"
                )
    return None


def first_line(source: str) -> str:
    """The first line of a cell's ``source`` that is not blank: how a message names the cell."""
    return next((line for line in source.splitlines() if line.strip()), "")


def run_command(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
