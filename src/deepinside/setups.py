"""The setups several chapters share: their profile tables and trained networks.

Only what more than one chapter uses lives here; a chapter's own settings table sits in the
chapter, next to its parameters cell.

- Part I (Chapters 1–3) studies the same MLP and CNN: a chapter that asks for them with the
  same profile and seed gets the checkpoints an earlier chapter trained.
- Chapter 4 trains VGG-type networks from :data:`SPATIAL` (:func:`vgg_network`), Chapter 5
  the same from its own table (sharing Chapter 4's checkpoints in `quick`);
  Chapter 6 trains its own with :func:`train_vgg` and freezes the spatial eigenvectors of
  Chapter 4's reference network (:func:`universal_filters`).
- Chapters 5 and 9 train small ResNets (:func:`train_resnet`).
"""

from __future__ import annotations

from typing import Any

import torch

from . import data, models, tasks
from .runtime import choose_profile
from .spatial import universal_eigenvectors
from .training import TrainedModel, trained

# The tutorial's setup: grayscale CIFAR-10, MLP 1024-512-256-10 and a CNN with two
# 5×5 stride-2 convolutions, SGD with momentum. `quick` keeps the architectures and
# swaps the data for the 5000 offline MNIST digits.
PART1 = {
    "quick": {"dataset": "mnist5k", "gray": True, "mlp_widths": [512, 256],
              "cnn_channels": [32, 64], "epochs": 12, "lr": 0.01, "batch_size": 128},
    "full": {"dataset": "cifar10", "gray": True, "mlp_widths": [512, 256],
             "cnn_channels": [32, 64], "epochs": 5, "lr": 0.01, "batch_size": 128},
}  # fmt: skip


def part1_data(settings: dict[str, Any]) -> tuple[data.ImageSet, data.ImageSet]:
    """Train and test splits of the Part I dataset."""
    train_set, test_set = (
        data.load(settings["dataset"], split, gray=settings["gray"]) for split in ("train", "test")
    )
    return train_set, test_set


def part1_networks(
    settings: dict[str, Any],
    train_set: data.ImageSet,
    test_set: data.ImageSet,
    seed: int,
    device: torch.device | str = "cpu",
) -> dict[str, TrainedModel]:
    """The Part I MLP and CNN trained from ``seed`` (from the cache when possible)."""
    c, h, w = train_set.image_shape
    classes = train_set.num_classes
    fit = {
        "epochs": settings["epochs"],
        "lr": settings["lr"],
        "momentum": 0.9,
        "batch_size": settings["batch_size"],
        "optimizer": "sgd",
    }
    mlp = {"dims": [c * h * w, *settings["mlp_widths"], classes]}
    cnn = {"channels": [c, *settings["cnn_channels"]], "image_size": h, "num_classes": classes}
    return {
        "mlp": trained(
            "mlp", models.mlp, mlp, train_set, test_set, seed=seed, device=device, **fit
        ),
        "cnn": trained(
            "cnn", models.cnn, cnn, train_set, test_set, seed=seed, device=device, **fit
        ),
    }


# Part II, Chapters 4 and 5: VGG-11-type networks (eight 3×3 or 5×5 convolutions without
# biases, max pooling, a linear classifier). `quick` narrows them and keeps three poolings so
# that the last four convolutions still see 4×4 maps of 32-pixel photo crops.
VGG_QUICK = [16, "M", 32, "M", 32, 32, "M", 64, 64, 64, 64]
VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
SPATIAL = {
    "quick": {"config": VGG_QUICK, "sizes": [3, 5],
              "reference_dataset": "photos", "reference_kernel": 5,
              "datasets": ["photos", "mnist5k"], "epochs": 8,
              "lr": 1e-3, "batch_size": 128, "ranks": 3},
    "full": {"config": VGG11, "sizes": [3, 5, 7],
             "reference_dataset": "cifar10", "reference_kernel": 5,
             "datasets": ["cifar10", "cifar100"], "epochs": 30,
             "lr": 1e-3, "batch_size": 128, "ranks": 3},
}  # fmt: skip


def fit_arguments(settings: dict[str, Any]) -> dict[str, Any]:
    """The training arguments of Part II and Chapter 7: the profile's optimizer (Adam unless
    ``settings["optimizer"]`` says "sgd", then with ``settings["momentum"]``), epochs,
    learning rate and batch size."""
    fit = {
        "epochs": settings["epochs"],
        "lr": settings["lr"],
        "optimizer": settings.get("optimizer", "adam"),
        "batch_size": settings["batch_size"],
    }
    if fit["optimizer"] == "sgd":
        fit["momentum"] = settings["momentum"]
    return fit


def vgg_data(dataset: str) -> tuple[data.ImageSet, data.ImageSet]:
    """Train and test splits of ``dataset`` as the Part II networks see them (colour, or gray
    for digits, standardized with the train split's statistics)."""
    train_set, test_set = (data.load(dataset, split) for split in ("train", "test"))
    return train_set, test_set


def vgg_network(
    settings: dict[str, Any],
    dataset: str,
    kernel_size: int,
    seed: int,
    random_labels: bool = False,
    device: torch.device | str = "cpu",
) -> TrainedModel:
    """The profile's VGG-type network with ``kernel_size`` filters trained on ``dataset``
    (its labels randomly permuted with ``random_labels``, by a permutation drawn from ``seed``),
    from the cache when possible."""
    train_set, test_set = vgg_data(dataset)
    if random_labels:
        train_set = tasks.with_random_labels(train_set, torch.Generator().manual_seed(seed))
    return train_vgg(settings, kernel_size, train_set, test_set, seed, device)


def vgg_frozen_first(**arguments: Any) -> torch.nn.Sequential:
    """:func:`models.vgg` with its first convolution frozen at its initialization."""
    model = models.vgg(**arguments)
    next(iter(models.conv_layers(model).values())).weight.requires_grad_(False)
    return model


def train_vgg(
    settings: dict[str, Any],
    kernel_size: int,
    train_set: data.ImageSet,
    test_set: data.ImageSet,
    seed: int,
    device: torch.device | str = "cpu",
    frozen_first: bool = False,
) -> TrainedModel:
    """The profile's VGG-type network (``settings["config"]``) with ``kernel_size`` filters,
    trained with Adam (from the cache when possible); with ``frozen_first`` its first
    convolution keeps its initial weights."""
    c, h, _ = train_set.image_shape
    arguments = {
        "config": settings["config"],
        "in_channels": c,
        "image_size": h,
        "num_classes": train_set.num_classes,
        "kernel_size": kernel_size,
    }
    return trained(
        f"vgg_k{kernel_size}" + ("_frozen_first" if frozen_first else ""),
        vgg_frozen_first if frozen_first else models.vgg,
        arguments,
        train_set,
        test_set,
        seed=seed,
        device=device,
        **fit_arguments(settings),
    )


def universal_filters(profile: str, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Chapter 4's universal spatial eigenvectors (3×3, pooled over the layers of the learned
    part W − W₀ of its 3×3 network), largest first: (9, 3, 3)."""
    settings = choose_profile(profile, SPATIAL)
    net = vgg_network(settings, settings["reference_dataset"], 3, seed, device=device)
    return universal_eigenvectors(net.learned_conv_weights())[1].float()


def train_resnet(
    name: str,
    widths: list[int],
    train_set: data.ImageSet,
    test_set: data.ImageSet,
    epochs: int,
    seed: int,
    device: torch.device | str = "cpu",
    blocks: list[int] | None = None,
    stem_pool: bool = True,
    fit: dict[str, Any] | None = None,
) -> TrainedModel:
    """A :class:`models.ResNet` (one block per stage unless ``blocks`` says otherwise) trained
    with Adam at learning rate 10⁻³ and batch 128, or with the arguments of :func:`adam` given
    as ``fit`` (from the cache when possible)."""
    arguments = {
        "widths": widths,
        "blocks": blocks or [1] * len(widths),
        "num_classes": train_set.num_classes,
        "stem_pool": stem_pool,
    }
    fit = fit or {"lr": 1e-3, "optimizer": "adam", "batch_size": 128}
    return trained(
        f"resnet_{name}",
        models.ResNet,
        arguments,
        train_set,
        test_set,
        seed=seed,
        device=device,
        **{**fit, "epochs": epochs},
    )
