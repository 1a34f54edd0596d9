"""Figure style and the few plots that several chapters draw."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from .data import ImageSet


def setup() -> None:
    """The book's figure style: seaborn's ticks theme, readable fonts, crisp PNGs."""
    sns.set_theme(context="notebook", style="ticks", palette="colorblind")
    plt.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 110, "axes.titlesize": "medium",
        "axes.spines.top": False, "axes.spines.right": False, "figure.autolayout": False,
    })  # fmt: skip


def show_images(images: ImageSet, count: int = 10, title: str | None = None) -> plt.Figure:
    """One row of the first image of each class (up to ``count``), titled by class."""
    firsts = [
        int(torch.nonzero(images.y == c)[0])
        for c in range(images.num_classes)
        if (images.y == c).any()
    ][:count]
    fig, axes = plt.subplots(1, len(firsts), figsize=(1.3 * len(firsts), 1.7))
    for ax, i in zip(np.atleast_1d(axes), firsts):
        x = images.x[i]
        x = (x - x.min()) / (x.max() - x.min() + 1e-12)
        ax.imshow(x.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray")
        ax.set_title(images.classes[images.y[i]], fontsize="small")
        ax.axis("off")
    if title:
        fig.suptitle(title, y=1.05)
    return fig


def show_filters(axes: Sequence[plt.Axes], filters: torch.Tensor, label: str | None = None) -> None:
    """Filter images (n, k, k) along ``axes``, on one color scale symmetric about 0, without
    ticks or frame; ``label`` names the row."""
    limit = float(filters.abs().max())
    for ax, f in zip(axes, filters):
        ax.imshow(f, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([]), ax.set_yticks([])
        ax.spines[:].set_visible(False)
    if label:
        axes[0].set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")


def rank_plot(
    ax: plt.Axes,
    values: Sequence[float] | torch.Tensor,
    label: str | None = None,
    loglog: bool = True,
    **kwargs,
) -> None:
    """Plot sorted values against their rank 1, 2, …"""
    values = np.asarray(values, dtype=float)
    ax.plot(np.arange(1, len(values) + 1), values, label=label, **kwargs)
    ax.set_yscale("log")
    if loglog:
        ax.set_xscale("log")
    ax.set_xlabel("rank")
