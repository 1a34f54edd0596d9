"""What the `full` profile costs on one GPU: measured with stand-ins at full size, or estimated.

    python -m deepinside.book.cost measure    # on a GPU, after `build --standin full-size`
    python -m deepinside.book.cost estimate   # on a CPU, after `build --standin` (the dry run)

``measure`` reads each chapter's time, device, training precision and peak GPU memory from
the stand-in run at the real sizes (:mod:`deepinside.standin`, no download needed).
``estimate`` executes each chapter's dry run again with :data:`SCALE` times the stand-in
images (and image counts, :data:`deepinside.standin.IMAGE_KNOBS`), fits its time as
``a + b·s`` through the two sizes (the dry run's ``s = 1`` and ``s = SCALE``), extrapolates
to the `full` profile's scale (:func:`full_scale`) and divides by an assumed speed-up of one
GPU over this CPU, :data:`ASSUMED_GPU_SPEEDUP`. Both write
:data:`COST_FILE`, which the build renders on the running page (:func:`table`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from .. import standin
from . import dryrun, recipes
from .execute import execute
from .toc import toc_chapters

COST_FILE = Path("book") / "full_cost.json"
SCALE = 2
# an assumption, not a measurement: how much faster one recent data-centre GPU trains these
# networks than the two CPU cores the estimate is measured on
ASSUMED_GPU_SPEEDUP = 100
# the settings entry that names a chapter's main dataset, first found
DATASET_KNOBS = ("dataset", "reference_dataset", "natural", "digits")


def full_scale(settings: dict[str, Any]) -> float:
    """How many times the dry run's work the `full` profile does, counted in training images
    × epochs: the real train split over the stand-in's, times the full over the dry epochs
    (Chapter 8's kernels: its digits' train size over the dry run's)."""
    shrunk = standin.shrink(settings)
    epochs = settings.get("epochs", 1) / shrunk.get("epochs", 1)
    if "digits_sizes" in settings:
        return settings["digits_sizes"]["train"] / shrunk["digits_sizes"]["train"] * epochs
    name = next(settings[k] for k in DATASET_KNOBS if k in settings)
    if isinstance(name, list):
        name = name[0]["dataset"]
    real = standin.SHAPES[name][3][0] if name in standin.SHAPES else standin.IMAGES["train"]
    return real / standin.IMAGES["train"] * epochs


def estimate(root: Path) -> dict[str, Any]:
    """Each chapter's dry run again at :data:`SCALE` times the images, and the extrapolation
    to the `full` profile (the dry run's own times are the first size)."""
    first = {r["chapter"]: r["seconds"] for r in dryrun.runs(root)}
    missing = [c for c in toc_chapters(root) if c not in first]
    if missing:
        raise SystemExit(f"no dry run of {missing}: run `make dryrun` first")
    os.environ.update({standin.ENV: "1", standin.SCALE_ENV: str(SCALE)})
    rows = []
    for chapter in toc_chapters(root):
        print(f"{chapter}: the dry run at {SCALE}× the images ...", flush=True)
        second = execute(root, chapter, {"PROFILE": "full"}, dryrun.stage(root, "scaled"))
        slope = max(second.seconds - first[chapter], 0.0) / (SCALE - 1)  # timing noise
        scale = full_scale(recipes.settings_table(root, chapter)["full"])
        cpu = first[chapter] + slope * (scale - 1)
        rows.append({"chapter": chapter, "seconds": cpu / ASSUMED_GPU_SPEEDUP,
                     "cpu_seconds": [first[chapter], second.seconds], "full_scale": scale,
                     "peak_gpu_mb": None, "precision": None})  # fmt: skip
    return {"kind": "estimated", "device": f"{os.cpu_count()} CPU cores ({platform.machine()})",
            "speedup": ASSUMED_GPU_SPEEDUP, "scale": SCALE, "chapters": rows}  # fmt: skip


def measure(root: Path) -> dict[str, Any]:
    """The stand-in run at full size, chapter by chapter, as it was recorded."""
    runs = {r["chapter"]: r for r in dryrun.runs(root, "full-size")}
    missing = [c for c in toc_chapters(root) if c not in runs]
    if missing:
        raise SystemExit(f"no full-size run of {missing}: run `build --standin full-size`")
    if any(runs[c]["device"] != "cuda" for c in runs):
        raise SystemExit("the full-size run did not run on a CUDA GPU: nothing to measure")
    rows = [{k: runs[c][k] for k in ("chapter", "seconds", "peak_gpu_mb", "precision")}
            for c in toc_chapters(root)]  # fmt: skip
    return {"kind": "measured", "device": runs[rows[0]["chapter"]].get("gpu") or "CUDA GPU",
            "chapters": rows}  # fmt: skip


def table(root: Path) -> str:
    """The Markdown table of :data:`COST_FILE`, with a line that says how it was obtained."""
    try:
        cost = json.loads((root / COST_FILE).read_text())
    except (OSError, ValueError):
        return "*No measurement or estimate of the `full` profile's cost yet.*\n"
    total = sum(r["seconds"] for r in cost["chapters"]) / 60
    if cost["kind"] == "measured":
        head = f"**Measured** on {cost['device']}, stand-in data at the real sizes"
        lines = ["| chapter | time (min) | peak GPU memory (GB) | precision |", "|---|---|---|---|"]
        lines += [f"| {r['chapter']} | {r['seconds'] / 60:.1f} | {r['peak_gpu_mb'] / 1024:.1f} "
                  f"| {r['precision']} |" for r in cost["chapters"]]  # fmt: skip
    else:
        head = (
            f"**Estimated, not measured**: no GPU was available. Each chapter's dry run was timed "
            f"on {cost['device']} at two sizes (the stand-in images ×1 and ×{cost['scale']}), "
            f"extrapolated linearly to the `full` profile's training images × epochs, and "
            f"divided by an assumed speed-up of one GPU over those cores of "
            f"{cost['speedup']}×. A cost that grows faster than the images (Chapter 8's kernel "
            "matrices) is underestimated. Peak GPU memory and precision are not measured "
            "(training uses bfloat16 where the GPU supports it natively)"
        )
        lines = ["| chapter | dry run, ×1 / ×2 (s) | `full` / dry-run work | GPU time (min) |",
                 "|---|---|---|---|"]  # fmt: skip
        lines += [f"| {r['chapter']} | {r['cpu_seconds'][0]:.0f} / {r['cpu_seconds'][1]:.0f} "
                  f"| {r['full_scale']:.0f}× | {r['seconds'] / 60:.1f} |"
                  for r in cost["chapters"]]  # fmt: skip
    return f"{head}; the whole book: {total:.0f} min.\n\n" + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("how", choices=("measure", "estimate"))
    parser.add_argument("--root", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    root = args.root.resolve()
    cost = measure(root) if args.how == "measure" else estimate(root)
    (root / COST_FILE).write_text(json.dumps(cost, indent=1) + "\n")
    sys.stdout.write(table(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
