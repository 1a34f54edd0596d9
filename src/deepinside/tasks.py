"""Tasks built from data: local signals in noise, pure noise, random labels, and their splits.

- ``bars``: one row of an image of Gaussian noise is a bar whose sign is the class.
- ``digits in noise``: a digit pasted at a random place in a larger field of noise.
- ``noise``: white-noise images with random labels, nothing natural in them.
- random labels: a dataset's labels permuted, nothing left to learn that generalizes.

Split builders return :class:`Splits` (train, validation, test) with explicit sizes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from .data import ImageSet, load


class Splits(NamedTuple):
    """Train, validation and test sets of one task."""

    train: ImageSet
    val: ImageSet
    test: ImageSet


# --- Local-signal tasks: a small signal somewhere in a field of Gaussian noise ---------


def bars_in_noise(
    count: int, noise: float, generator: torch.Generator, height: int = 16, width: int = 32
) -> ImageSet:
    """Images of Gaussian noise in which one random row is a bar of constant sign.

    The bar's pixels are ±1/√width (the row has unit norm); the class is its sign
    ("+" or "−"). ``noise`` is the background pixels' standard deviation in units of
    the bar's pixel value, so each row of noise carries noise² times the bar's energy.
    """
    _check_task(count, noise)
    x = torch.randn(count, 1, height, width, generator=generator) * noise / width**0.5
    y = torch.randint(0, 2, (count,), generator=generator)
    rows = torch.randint(0, height, (count,), generator=generator)
    x[torch.arange(count), 0, rows] = (1 - 2 * y.float())[:, None] / width**0.5
    return ImageSet("bars", x, y, ("+", "−"))


def digits_in_noise(
    digits: ImageSet, noise: float, generator: torch.Generator, frame: int = 42
) -> ImageSet:
    """Each image of ``digits`` (pixels in [0, 1]) pasted at a random place in a
    ``frame``×``frame`` field of Gaussian noise of standard deviation ``noise``."""
    _check_task(len(digits), noise)
    n, c, h, w = digits.x.shape
    if frame < max(h, w):
        raise ValueError(f"a {frame}-pixel frame cannot hold {h}×{w} digits")
    x = torch.randn(n, c, frame, frame, generator=generator) * noise
    tops = torch.randint(0, frame - h + 1, (n,), generator=generator)
    lefts = torch.randint(0, frame - w + 1, (n,), generator=generator)
    for i, (top, left) in enumerate(zip(tops.tolist(), lefts.tolist())):
        x[i, :, top : top + h, left : left + w] = digits.x[i]
    return ImageSet(f"{digits.name} in noise", x, digits.y, digits.classes)


def _check_task(count: int, noise: float) -> None:
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    if not noise >= 0:
        raise ValueError(f"noise must be ≥ 0, got {noise}")


# --- Pure noise with random labels: a training set with nothing natural in it -----------

NOISE_MEAN, NOISE_STD = 0.5, 1 / 3  # pixel distribution of the noise images


def noise_images(
    count: int, num_classes: int, generator: torch.Generator, size: int = 32, channels: int = 3
) -> ImageSet:
    """``count`` images of white Gaussian noise, N(0.5, (1/3)²) per pixel, each with a
    uniformly random label among ``num_classes``. Returned standardized as :func:`load`
    does (so ``x`` ~ N(0, 1)); :data:`NOISE_MEAN` and :data:`NOISE_STD` undo it."""
    _check_task(count, 0.0)
    if num_classes < 2 or size < 1 or channels < 1:
        raise ValueError(
            f"need num_classes ≥ 2, size ≥ 1, channels ≥ 1; got {num_classes}, {size}, {channels}"
        )
    x = torch.randn(count, channels, size, size, generator=generator)
    y = torch.randint(0, num_classes, (count,), generator=generator)
    return ImageSet("noise", x, y, tuple(str(c) for c in range(num_classes)))


def with_random_labels(images: ImageSet, generator: torch.Generator) -> ImageSet:
    """The same images with their labels randomly permuted (so the classes stay balanced)
    and nothing left to learn that generalizes."""
    shuffled = images.y[torch.randperm(len(images), generator=generator)]
    return ImageSet(f"{images.name} random labels", images.x, shuffled, images.classes)


def bars_splits(
    noise: float, generator: torch.Generator, *, train: int, val: int, test: int
) -> Splits:
    """Train, validation and test sets of the bars task at ``noise``."""
    return Splits(*(bars_in_noise(n, noise, generator) for n in (train, val, test)))


def digits_splits(
    dataset: str,
    noise: float,
    generator: torch.Generator,
    *,
    train: int,
    val: int,
    test: int,
    pool: int = 1,
    frame: int = 42,
) -> Splits:
    """Digits of ``dataset`` (``pool``×``pool`` average-pooled) pasted into a ``frame``-pixel
    field of noise: the digits are drawn once per dataset size (validation from the train
    split), the noise at every call."""
    sets = []
    for split, (start, stop) in (
        ("train", (0, train)),
        ("train", (train, train + val)),
        ("test", (0, test)),
    ):
        digits = load(dataset, split, normalize=False)
        order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(len(digits)))
        digits = digits.subset(order[start:stop])
        if pool > 1:
            digits = ImageSet(digits.name, F.avg_pool2d(digits.x, pool), digits.y, digits.classes)
        sets.append(digits_in_noise(digits, noise, generator, frame))
    return Splits(*sets)


def benchmark_splits(
    name: str, generator: torch.Generator, *, train: int, val: int, test: int
) -> Splits:
    """Random train, validation and test subsets of a public dataset (``full`` profile)."""
    train_set, test_set = (load(name, split) for split in ("train", "test"))
    order = torch.randperm(len(train_set), generator=generator)
    return Splits(
        train_set.subset(order[:train]),
        train_set.subset(order[train : train + val]),
        test_set.subset(torch.randperm(len(test_set), generator=generator)[:test]),
    )
