"""Experimental setups shared by several chapters.

Part I (dimensionality, alignment, rainbow networks) studies the same two
networks, so their recipe lives here: a chapter that asks for them with the same
profile and seed gets the checkpoints an earlier chapter trained.
"""

from __future__ import annotations

from typing import Any

import torch

from . import data, models
from .runtime import choose_profile, pick_device, seed_everything
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
    return tuple(data.load(settings["dataset"], split, gray=settings["gray"])
                 for split in ("train", "test"))  # type: ignore[return-value]


def part1_networks(
    settings: dict[str, Any],
    train_set: data.ImageSet,
    test_set: data.ImageSet,
    seed: int,
    device: torch.device | str = "cpu",
) -> dict[str, TrainedModel]:
    """The Part I MLP and CNN trained from ``seed`` (from the cache when possible)."""
    c, h, w = train_set.image_shape
    mlp_dims = [c * h * w, *settings["mlp_widths"], train_set.num_classes]
    cnn_channels = [c, *settings["cnn_channels"]]
    fit = {"epochs": settings["epochs"], "lr": settings["lr"], "momentum": 0.9,
           "batch_size": settings["batch_size"]}
    return {
        "mlp": trained("mlp", lambda: models.mlp(mlp_dims), {"dims": mlp_dims},
                       train_set, test_set, seed=seed, device=device, **fit),
        "cnn": trained("cnn", lambda: models.cnn(cnn_channels, h, train_set.num_classes),
                       {"channels": cnn_channels, "image_size": h, "kernel": 5, "stride": 2},
                       train_set, test_set, seed=seed, device=device, **fit),
    }


def part1_session(profile: str, seed: int, device: str = "auto"):
    """A Part I chapter's start: validate the profile, seed, pick the device, load the data
    and the networks trained from ``seed``.

    Returns (settings, device, train_set, test_set, networks).
    """
    settings = choose_profile(profile, PART1)
    seed_everything(seed)
    chosen = pick_device(device)
    train_set, test_set = part1_data(settings)
    nets = part1_networks(settings, train_set, test_set, seed, chosen)
    return settings, chosen, train_set, test_set, nets


# Part III, Chapter 7: a small CNN as in the CNFA paper's appendix (3×3 convolutions
# without bias, max pooling, small Gaussian initialization, Adam), trained on natural
# images: photo crops in `quick`, CIFAR-10 in `full`, where ImageNet-pretrained
# torchvision models are measured too.
CNFA = {
    "quick": {"dataset": "photos", "config": [32, "M", 64, "M", 128, "M"], "epochs": 12,
              "lr": 1e-3, "batch_size": 128, "init_std": [5e-3, 1e-2], "agop_images": 500,
              "map_size": 128, "pretrained": []},
    "full": {"dataset": "cifar10", "config": [64, "M", 128, "M", 256, "M", 256, "M"],
             "epochs": 30, "lr": 1e-3, "batch_size": 128, "init_std": [5e-3, 1e-2],
             "agop_images": 2000, "map_size": 224, "pretrained": list(models.PRETRAINED)},
}  # fmt: skip


def cnfa_session(profile: str, seed: int, device: str = "auto", **overrides: Any):
    """Chapter 7's start: settings (with ``overrides``), device, data and the small CNN
    trained from ``seed``. Returns (settings, device, train_set, test_set, network)."""
    settings = choose_profile(profile, CNFA, **overrides)
    seed_everything(seed)
    chosen = pick_device(device)
    train_set, test_set = (data.load(settings["dataset"], split) for split in ("train", "test"))
    c, h, _ = train_set.image_shape
    config, stds = settings["config"], settings["init_std"]
    net = trained(
        "cnfa_cnn", lambda: models.normal_init_(models.vgg(config, c, h, train_set.num_classes), stds),
        {"config": config, "in": c, "size": h, "init_std": stds}, train_set, test_set,
        seed=seed, device=chosen, epochs=settings["epochs"], lr=settings["lr"],
        optimizer="adam", batch_size=settings["batch_size"],
    )
    return settings, chosen, train_set, test_set, net
