"""The stand-in dry run of the `full` profile: its code path, end to end, on a CPU in minutes.

With ``DEEPINSIDE_STANDIN=1`` in the environment (what ``python -m deepinside.book.build
--standin`` sets), a chapter run with ``PROFILE = "full"`` executes the real `full` code path:
its settings table, model builders, training, measurements, figures, glue and prose. Only
what needs a download or a GPU's hours is replaced:

- every public dataset by a **stand-in** with its real image shape, channels, class count
  and splits (:func:`deepinside.data.stand_in`): MNIST by the offline digits, the colour sets
  by crops of the bundled photographs, :data:`IMAGES` images per split;
- every ImageNet-pretrained model by its architecture at random initialization;
- sizes, epochs and step counts by the small values of :data:`SHRINK` (:func:`shrink`).

With ``DEEPINSIDE_STANDIN=full-size`` (``build --standin full-size``) the stand-ins have the
real datasets' sizes and nothing shrinks: the `full` profile's cost, measured offline.

Nothing of it can pass for a real result: the page opens with a banner (:func:`announce`),
every printed line starts with :data:`MARK`, every figure carries it (:func:`mark_figures`),
and checkpoints live in a folder of their own (:func:`checkpoint_folder`). A figure with an
empty panel prints :data:`EMPTY_FIGURE` on the standard error, which fails the dry run.
"""

from __future__ import annotations

import builtins
import functools
import os
import sys
from typing import Any

import numpy as np
import torch

ENV = "DEEPINSIDE_STANDIN"
MARK = "[stand-in]"
EMPTY_FIGURE = "deepinside: empty figure"
# name -> (channels, side, classes, real train and test sizes) of the public datasets
SHAPES = {
    "mnist": (1, 28, 10, (60000, 10000)),
    "cifar10": (3, 32, 10, (50000, 10000)),
    "cifar100": (3, 32, 100, (50000, 10000)),
    "svhn": (3, 32, 10, (73257, 26032)),
}
IMAGES = {"train": 300, "test": 200}  # per split, every stand-in dataset of the dry run
SCALE_ENV = "DEEPINSIDE_STANDIN_SCALE"  # a whole number: the dry run with that many times IMAGES
# the dry run's values of the knobs that set the cost of a chapter; the others are `full`'s
SHRINK: dict[str, Any] = {
    "epochs": 1,
    "random_label_epochs": 1,
    "cnn_epochs": 1,
    "noise_epochs": 1,
    "noise_images": 200,
    "linear_images": 200,
    "linear_steps": 30,
    "linear_checkpoints": [3, 10, 30],
    "digits_images": 400,
    "rotations": 2,
    "compared_layers": 3,  # Chapter 6: VGG-11's deep layers give 3072 × 3072 covariances
    "agop_images": 16,
    "imagenet_outputs": 8,  # Chapter 7: class scores of the ImageNet models' AGOP (1000)
    "iterations": 1,
    "bars_sizes": {"train": 60, "val": 30, "test": 60},
    "digits_sizes": {"train": 60, "val": 30, "test": 60},
    "benchmark_sizes": {"train": 60, "val": 30, "test": 60},
    "steps": 4,
    "deep_steps": 4,
    "mlp_steps": 20,
    "relu_steps": 20,
    "perturb_draws": 2,
    "digits_noise": [0.0, 0.5],  # Chapter 8: two of the noise levels, the blank field among them
    "mlp_side": 12,  # Chapter 9: the side of the photograph the MLPs invert (d = 3 × side²)
    "mlp_depths": [1, 2],
    "relu_widths": [[2, 2], [2, 4]],
}
# the knobs of SHRINK that count images: $DEEPINSIDE_STANDIN_SCALE multiplies them as well
IMAGE_KNOBS = frozenset(
    ("noise_images", "linear_images", "digits_images", "agop_images", "bars_sizes",
     "digits_sizes", "benchmark_sizes")
)  # fmt: skip
BANNER = (
    "**Stand-in dry run.** This page executed the `full` profile's code with stand-ins: "
    "offline images in place of the public datasets, randomly initialized networks in place "
    "of the pretrained ones, and tiny sizes and epochs. Its numbers test the code; they are "
    "not results, and no claim is checked on them."
)


def _mode() -> str:
    value = os.environ.get(ENV, "")
    if value not in ("", "0", "1", "full-size"):
        raise ValueError(
            f"{ENV} must be 1 (dry run with stand-ins), full-size (stand-ins at the real "
            f"sizes) or 0/unset, got {value!r}"
        )
    return value


def active() -> bool:
    """Whether stand-ins replace the public data and models (``DEEPINSIDE_STANDIN`` is 1 or
    full-size)."""
    return _mode() in ("1", "full-size")


def full_size() -> bool:
    """Whether the stand-ins have the real sizes and nothing shrinks (``full-size``)."""
    return _mode() == "full-size"


def shrink(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with each knob of :data:`SHRINK` it has at the dry run's value (a size
    only ever shrinks: a `full` value below the stand-in's stays; the :data:`IMAGE_KNOBS`
    times ``$DEEPINSIDE_STANDIN_SCALE``); unchanged at full size."""
    if full_size():
        return dict(settings)
    return {k: _smaller(v, _small(k)) if k in SHRINK else v for k, v in settings.items()}


def _small(knob: str) -> Any:
    if knob not in IMAGE_KNOBS:
        return SHRINK[knob]
    value = SHRINK[knob]
    return _scaled(value) if isinstance(value, dict) else _scaled({"n": value})["n"]


def _smaller(value: Any, small: Any) -> Any:
    if isinstance(value, int) and isinstance(small, int):
        return min(value, small)
    return small


def image_counts(name: str) -> dict[str, int]:
    """How many images each split of the stand-in of ``name`` has: :data:`IMAGES` (times
    ``$DEEPINSIDE_STANDIN_SCALE``), or the real dataset's at full size."""
    return dict(zip(("train", "test"), SHAPES[name][3])) if full_size() else _scaled(IMAGES)


def _scaled(counts: dict[str, int]) -> dict[str, int]:
    value = os.environ.get(SCALE_ENV, "1")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{SCALE_ENV} must be a whole number from 1, got {value!r}")
    return {split: count * int(value) for split, count in counts.items()}


def cycling(y: torch.Tensor) -> torch.Tensor:
    """An order of labels ``y`` that cycles over the classes: the first of each class, then
    the second of each, and so on (each class in its original order)."""
    by_class = torch.argsort(y, stable=True)
    rank = torch.empty_like(by_class)
    counts = torch.bincount(y)
    starts = torch.cumsum(counts, 0) - counts
    rank[by_class] = torch.arange(len(y)) - starts[y[by_class]]
    return torch.argsort(rank * len(counts) + y, stable=True)


def announce() -> None:
    """Show the stand-in banner, print-mark every line and mark every figure (IPython only)."""
    mark_prints()
    mark_figures()
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        return
    if get_ipython() is not None:
        display(Markdown(BANNER), metadata={"deepinside": {"standin": True}})


@functools.cache
def mark_prints() -> None:
    """Start every line that ``print`` writes to the screen with :data:`MARK`."""
    original = builtins.print

    def marked(*args: Any, sep: str | None = " ", end: str | None = "\n", **kwargs: Any) -> None:
        if kwargs.get("file") not in (None, sys.stdout, sys.stderr):
            return original(*args, sep=sep, end=end, **kwargs)
        text = (" " if sep is None else sep).join(map(str, args))
        original("\n".join(f"{MARK} {line}" for line in text.split("\n")), end=end, **kwargs)

    builtins.print = marked


@functools.cache
def mark_figures() -> None:
    """Write :data:`MARK` across every figure drawn, and report an empty one
    (:func:`empty_panels`) on the standard error."""
    from matplotlib.backend_bases import FigureCanvasBase

    original = FigureCanvasBase.print_figure

    def marked(self: FigureCanvasBase, *args: Any, **kwargs: Any) -> Any:
        figure = self.figure
        if not getattr(figure, "_standin_marked", False):
            figure._standin_marked = True
            for problem in empty_panels(figure):
                sys.stderr.write(f"{EMPTY_FIGURE}: {problem}\n")
            figure.text(0.5, 0.5, "STAND-IN", ha="center", va="center", rotation=25,
                        fontsize=48, color="red", alpha=0.25, zorder=1000)  # fmt: skip
        return original(self, *args, **kwargs)

    FigureCanvasBase.print_figure = marked


def empty_panels(figure: Any) -> list[str]:
    """What is empty in a matplotlib ``figure``: no panel at all, a visible panel with axes
    that draws nothing finite, or a labelled line (one in a legend) or an image whose values
    are all NaN or infinite."""
    panels = [ax for ax in figure.get_axes() if ax.get_visible()]
    if not panels:
        return ["the figure has no panel"]
    problems = []
    for number, ax in enumerate(panels, start=1):
        name = repr(ax.get_title() or ax.get_ylabel() or f"panel {number}")
        # a line without any point is a legend's proxy (seaborn adds them), not a blank curve
        lines = [line for line in ax.get_lines() if np.size(line.get_ydata())]
        blank_lines = [line for line in lines if not _finite(line.get_ydata())]
        blank_images = [image for image in ax.get_images() if not _finite(image.get_array())]
        drawn = (
            len(lines) > len(blank_lines)
            or len(ax.get_images()) > len(blank_images)
            or ax.collections
            or ax.patches
        )
        if ax.axison and not drawn:
            problems.append(f"{name} draws nothing")
            continue
        problems += [
            f"{name}: the line {line.get_label()!r} has no finite value"
            for line in blank_lines
            if not line.get_label().startswith("_")
        ]
        problems += [f"{name}: an image has no finite value" for _ in blank_images]
    return problems


def _finite(values: Any) -> bool:
    """Whether ``values`` hold a finite number (an empty sequence holds none)."""
    array = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    return bool(np.isfinite(array).any())


def is_standin(notebook: Any) -> bool:
    """Whether an executed notebook (nbformat) ran with stand-ins: it shows the banner."""
    return any(
        out.get("metadata", {}).get("deepinside", {}).get("standin")
        for cell in notebook.cells
        for out in cell.get("outputs", [])
    )
