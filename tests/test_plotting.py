"""The shared drawings: one image per class, filters as images, a spectrum by rank."""

import matplotlib.pyplot as plt
import torch

from deepinside import data, plotting


def test_show_images_draws_one_image_per_class():
    images = data.ImageSet("toy", torch.rand(30, 1, 8, 8), torch.arange(30) % 3, ("a", "b", "c"))
    fig = plotting.show_images(images, title="toy")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3 and [ax.get_title() for ax in shown] == ["a", "b", "c"]
    plt.close(fig)


def test_show_filters_and_rank_plot():
    fig, axes = plt.subplots(1, 4)
    plotting.show_filters(axes, torch.randn(4, 3, 3), label="layer 1")
    assert all(ax.images for ax in axes) and axes[0].get_ylabel() == "layer 1"
    fig, ax = plt.subplots()
    plotting.rank_plot(ax, torch.tensor([4.0, 2.0, 1.0]), label="spectrum")
    (line,) = ax.lines
    assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == [4.0, 2.0, 1.0]
    plt.close("all")
