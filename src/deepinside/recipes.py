"""Experimental setups shared by several chapters.

Part I (dimensionality, alignment, rainbow networks) studies the same two
networks, so their recipe lives here: a chapter that asks for them with the same
profile and seed gets the checkpoints an earlier chapter trained.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from . import data, models, rfm
from .spatial import universal_eigenvectors
from .runtime import choose_profile, pick_device, seed_everything
from .training import TrainedModel, train, trained

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
             "agop_images": 2000, "map_size": 224, "pretrained": ["alexnet", "vgg11", "resnet18"]},
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


# Part III, Chapter 8: ConvRFM on the local-signal tasks of the source (bars in noise,
# digits pasted into noise), against the fixed kernel and a CNN of the same shape.
# `quick` halves the digits (14×14 in a 21×21 frame, as 28 in 42); `full` keeps them whole
# and adds CIFAR-10 and SVHN subsets.
CONVRFM = {
    "quick": {"bars": [1000, 500, 1000], "bars_noise": [0.5, 1.0, 2.0, 3.0],
              "digits": "mnist5k", "digits_split": [1500, 500, 1000], "pool": 2, "frame": 21,
              "digits_noise": [0.0, 0.25, 0.5], "q": 3, "bandwidth": 1.0, "iterations": 3,
              "agop_images": 100, "width": 8, "layers": 2, "cnn_epochs": 20, "cnn_lr": 3e-3,
              "benchmarks": [], "benchmark_split": [0, 0, 0]},
    "full": {"bars": [1000, 500, 1000], "bars_noise": [0.5, 1.0, 2.0, 3.0, 4.0],
             "digits": "mnist", "digits_split": [5000, 1000, 2000], "pool": 1, "frame": 42,
             "digits_noise": [0.0, 0.25, 0.5, 0.75], "q": 3, "bandwidth": 1.0, "iterations": 5,
             "agop_images": 200, "width": 32, "layers": 3, "cnn_epochs": 50, "cnn_lr": 1e-3,
             "benchmarks": ["cifar10", "svhn"], "benchmark_split": [5000, 1000, 2000]},
}  # fmt: skip


def seeded_session(table: dict[str, dict[str, Any]], profile: str, seed: int,
                   device: str = "auto", **overrides: Any):
    """A chapter's start: the settings of ``profile`` in ``table`` (with ``overrides``), the
    device, and a torch generator seeded with ``seed`` for every random draw of the chapter."""
    settings = choose_profile(profile, table, **overrides)
    generator = seed_everything(seed)
    return settings, pick_device(device), generator


def convrfm_session(profile: str, seed: int, device: str = "auto", **overrides: Any):
    """Chapter 8's start, see :func:`seeded_session`."""
    return seeded_session(CONVRFM, profile, seed, device, **overrides)


def bars_splits(settings: dict[str, Any], noise: float, generator: torch.Generator):
    """Train, validation and test sets of the bars task at ``noise``."""
    return tuple(data.bars_in_noise(n, noise, generator) for n in settings["bars"])


def digits_splits(settings: dict[str, Any], noise: float, generator: torch.Generator):
    """Train, validation and test sets of digits pasted into noise: the digits are drawn
    once per seed (validation from the train split), the noise at every call."""
    n_train, n_val, n_test = settings["digits_split"]
    pool = settings["pool"]
    sets = []
    for split, (start, stop) in (("train", (0, n_train)), ("train", (n_train, n_train + n_val)),
                                 ("test", (0, n_test))):
        digits = data.load(settings["digits"], split, normalize=False)
        order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(len(digits)))
        digits = digits.subset(order[start:stop])
        if pool > 1:
            digits = data.ImageSet(digits.name, F.avg_pool2d(digits.x, pool), digits.y, digits.classes)
        sets.append(data.digits_in_noise(digits, noise, generator, settings["frame"]))
    return tuple(sets)


def benchmark_splits(settings: dict[str, Any], name: str, generator: torch.Generator):
    """Train, validation and test subsets of a public dataset (``full`` profile)."""
    n_train, n_val, n_test = settings["benchmark_split"]
    train_set, test_set = (data.load(name, split) for split in ("train", "test"))
    order = torch.randperm(len(train_set), generator=generator)
    return (train_set.subset(order[:n_train]), train_set.subset(order[n_train:n_train + n_val]),
            test_set.subset(torch.randperm(len(test_set), generator=generator)[:n_test]))


def compare_on_task(settings: dict[str, Any], splits, generator: torch.Generator,
                    device: torch.device | str = "cpu", layers: int = 2) -> dict[str, Any]:
    """Test accuracies (%) on one task of the fixed kernel (M = I), ConvRFM, Deep ConvRFM
    with 1…``layers`` feature-learning layers and a CNN of the same shape (``layers``
    3×3 convolutions of ``width`` channels, ReLU, a linear read-out; Adam, cross-entropy,
    the last epoch's accuracy). Choices are made on the validation split."""
    train_set, val_set, test_set = splits
    kernel = rfm.PatchKernel("laplace", settings["q"], settings["bandwidth"])
    deep = rfm.deep_conv_rfm(
        train_set, val_set, kernel, layers=layers, width=settings["width"], generator=generator,
        report=test_set, iterations=settings["iterations"], agop_images=settings["agop_images"],
        device=device)
    first = deep.stages[0]
    c, h, w = train_set.image_shape
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
    cnn = models.cnn([c] + [settings["width"]] * layers, (h, w), train_set.num_classes,
                     kernel_size=settings["q"], stride=1)
    history = train(cnn, train_set, test_set, epochs=settings["cnn_epochs"], lr=settings["cnn_lr"],
                    optimizer="adam", device=device, desc="training the CNN")
    return {"fixed": first.report_accuracy[0], "convrfm": deep.report_accuracy[0],
            "deep": deep.report_accuracy, "cnn": history[-1]["test_acc"]}


# Part IV, Chapter 9: inverting layer embeddings of a photograph. `quick` inverts an
# untrained ResNet-18 at 96 pixels and small ResNets trained on photo crops or on pure
# noise; `full` inverts torchvision's ResNet-50, untrained and ImageNet-trained, at 224.
INVERSION = {
    "quick": {"image_size": 96, "target": "chelsea", "big": [["resnet18", False]],
              "widths": [16, 32, 64, 128], "natural": "photos", "epochs": 8,
              "noise_images": 2000, "noise_classes": 10, "noise_epochs": 8,
              "steps": 300, "lr": 0.2, "blur": [2.4, 0.4], "deep_steps": 400, "deep_lr": 0.05,
              "mlp_side": 16, "mlp_widths": [0.5, 0.75, 1.25, 2.0], "mlp_depths": [1, 2, 3, 4, 6],
              "mlp_steps": 2000, "relu_widths": [[2, 2], [2, 4], [4, 8]], "relu_steps": 600,
              "perturb_draws": 20},
    "full": {"image_size": 224, "target": "chelsea", "big": [["resnet50", False], ["resnet50", True]],
             "widths": [32, 64, 128, 256], "natural": "cifar10", "epochs": 20,
             "noise_images": 10000, "noise_classes": 100, "noise_epochs": 30,
             "steps": 500, "lr": 0.2, "blur": [2.4, 0.4], "deep_steps": 1000, "deep_lr": 0.05,
             "mlp_side": 29, "mlp_widths": [0.4, 0.8, 1.2, 2.0], "mlp_depths": [1, 2, 3, 4, 6],
             "mlp_steps": 5000, "relu_widths": [[2, 2], [2, 4], [4, 8]], "relu_steps": 2000,
             "perturb_draws": 20},
}  # fmt: skip


def inversion_session(profile: str, seed: int, device: str = "auto", **overrides: Any):
    """Chapter 9's start, see :func:`seeded_session`."""
    return seeded_session(INVERSION, profile, seed, device, **overrides)


def small_resnets(settings: dict[str, Any], seed: int, device: torch.device | str = "cpu"):
    """The small ResNet trained on natural images and the same architecture trained on
    noise images with random labels (from the cache when possible), each with the pixel
    mean and standard deviation it was trained with. Returns {name: (TrainedModel, mean, std)}."""
    natural = [data.load(settings["natural"], split) for split in ("train", "test")]
    noise_draw = torch.Generator().manual_seed(seed)
    noise = [data.noise_images(n, settings["noise_classes"], noise_draw)
             for n in (settings["noise_images"], settings["noise_images"] // 4)]
    return {
        "photos": (train_resnet("photos", settings["widths"], *natural, settings["epochs"], seed, device),
                   *data.channel_stats(settings["natural"])),
        "noise": (train_resnet("noise", settings["widths"], *noise, settings["noise_epochs"], seed, device),
                  [data.NOISE_MEAN] * 3, [data.NOISE_STD] * 3),
    }


def train_resnet(name: str, widths: list[int], train_set: data.ImageSet, test_set: data.ImageSet,
                 epochs: int, seed: int, device: torch.device | str = "cpu") -> TrainedModel:
    """A small :class:`models.ResNet` trained with Adam (from the cache when possible)."""
    classes = train_set.num_classes
    return trained(f"resnet_{name}", lambda: models.ResNet(widths, num_classes=classes),
                   {"widths": widths, "classes": classes}, train_set, test_set, seed=seed,
                   device=device, epochs=epochs, lr=1e-3, optimizer="adam", batch_size=128)


# Part II, Chapters 4 and 5: VGG-11-type networks (eight 3×3 or 5×5 convolutions without
# biases, max pooling, a linear classifier). `quick` narrows them and keeps three poolings so
# that the last four convolutions still see 4×4 maps of 32-pixel photo crops.
VGG_QUICK = [16, "M", 32, "M", 32, 32, "M", 64, 64, 64, 64]
VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
SPATIAL = {
    "quick": {"config": VGG_QUICK, "sizes": [3, 5],
              "reference": ["photos", 5], "datasets": ["photos", "mnist5k"], "epochs": 8,
              "lr": 1e-3, "batch_size": 128, "ranks": 3, "resnet_widths": [16, 32, 64, 128],
              "linear_images": 500, "linear_filters": 8, "linear_steps": 1000,
              "linear_checkpoints": [3, 10, 30, 100, 300, 1000]},
    "full": {"config": VGG11, "sizes": [3, 5, 7], "reference": ["cifar10", 5], "datasets": ["cifar10", "cifar100"],
             "epochs": 30, "lr": 1e-3, "batch_size": 128, "ranks": 3, "resnet_widths": [32, 64, 128, 256],
             "linear_images": 2000, "linear_filters": 16, "linear_steps": 3000,
             "linear_checkpoints": [3, 10, 30, 100, 300, 1000, 3000]},
}  # fmt: skip


def vgg_network(settings: dict[str, Any], dataset: str, kernel_size: int, seed: int,
                random_labels: bool = False, device: torch.device | str = "cpu") -> TrainedModel:
    """The profile's VGG-type network with ``kernel_size`` filters trained on ``dataset``
    (its labels randomly permuted with ``random_labels``), from the cache when possible."""
    train_set, test_set = (data.load(dataset, split) for split in ("train", "test"))
    if random_labels:
        train_set = data.with_random_labels(train_set, torch.Generator().manual_seed(seed))
    return train_vgg(settings, kernel_size, train_set, test_set, seed, device)


def train_vgg(settings: dict[str, Any], kernel_size: int, train_set: data.ImageSet,
              test_set: data.ImageSet, seed: int, device: torch.device | str = "cpu") -> TrainedModel:
    """The profile's VGG-type network (``settings["config"]``) with ``kernel_size`` filters,
    trained with Adam (from the cache when possible)."""
    c, h, _ = train_set.image_shape
    config, classes = settings["config"], train_set.num_classes
    return trained(
        f"vgg_k{kernel_size}", lambda: models.vgg(config, c, h, classes, kernel_size=kernel_size),
        {"config": config, "in": c, "size": h, "classes": classes, "kernel": kernel_size},
        train_set, test_set, seed=seed, device=device, epochs=settings["epochs"], lr=settings["lr"],
        optimizer="adam", batch_size=settings["batch_size"])


def spatial_session(profile: str, seed: int, device: str = "auto", **overrides: Any):
    """Chapters 4 and 5's start, see :func:`seeded_session`."""
    return seeded_session(SPATIAL, profile, seed, device, **overrides)



# Part II, Chapter 6: factorized networks (frozen spatial eigenvectors, learned channel
# mixing) with the widths of the Chapter 4 networks, on grayscale images so that one probe set
# can be fed to all of them. `quick` splits the ten photographs into two disjoint natural
# datasets of five; `full` uses CIFAR-10 and CIFAR-100, and MNIST for digits.
FACTORIZED = {
    "quick": {"config": VGG_QUICK,
              "natural": [["photos", [0, 2, 4, 6, 8], "photos A"], ["photos", [1, 3, 5, 7, 9], "photos B"]],
              "digits": "mnist5k", "digits_images": 2000, "filters": 3, "filter_sweep": [1, 3, 5],
              "epochs": 8, "lr": 1e-3, "batch_size": 128, "rotations": 10},
    "full": {"config": VGG11, "natural": [["cifar10", None, "cifar10"], ["cifar100", None, "cifar100"]],
             "digits": "mnist", "digits_images": 20000, "filters": 3, "filter_sweep": [1, 2, 3, 5, 9],
             "epochs": 30, "lr": 1e-3, "batch_size": 128, "rotations": 10},
}  # fmt: skip


def factorized_session(profile: str, seed: int, device: str = "auto", **overrides: Any):
    """Chapter 6's start, see :func:`seeded_session`."""
    return seeded_session(FACTORIZED, profile, seed, device, **overrides)


def universal_filters(profile: str, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Chapter 4's universal spatial eigenvectors (3×3, pooled over the layers of the learned
    part W − W₀ of its 3×3 network), largest first: (9, 3, 3)."""
    settings = choose_profile(profile, SPATIAL)
    net = vgg_network(settings, settings["reference"][0], 3, seed, device=device)
    return universal_eigenvectors(net.learned_conv_weights())[1].float()


def factorized_data(settings: dict[str, Any], generator: torch.Generator) -> dict[str, tuple]:
    """Grayscale train and test sets: the natural datasets, digits (a random subset), and the
    first natural dataset with randomly permuted labels. {name: (train, test)}."""
    sets = {}
    for dataset, classes, name in settings["natural"]:
        split = [data.load(dataset, s, gray=True) for s in ("train", "test")]
        sets[name] = tuple(x.with_classes(classes, name) if classes else x for x in split)
    train_set, test_set = (data.load(settings["digits"], s, gray=True) for s in ("train", "test"))
    pick = torch.randperm(len(train_set), generator=generator)[: settings["digits_images"]]
    sets["digits"] = (train_set.subset(pick), test_set)
    first = settings["natural"][0][2]
    sets[f"{first} random labels"] = (data.with_random_labels(sets[first][0], generator), sets[first][1])
    return sets


def factorized_network(settings: dict[str, Any], filters: torch.Tensor, m: int,
                       train_set: data.ImageSet, test_set: data.ImageSet, seed: int,
                       device: torch.device | str = "cpu") -> TrainedModel:
    """A factorized network with the top ``m`` of ``filters`` and their negatives frozen in its
    depthwise convolutions (2m per channel), trained from ``seed`` (cached when possible)."""
    frozen = torch.cat([filters[:m], -filters[:m]])
    c, h, _ = train_set.image_shape
    config, classes = settings["config"], train_set.num_classes
    return trained(
        f"factorized_m{m}", lambda: models.factorized(config, frozen, c, h, classes),
        {"config": config, "filters": [round(v, 6) for v in frozen.flatten().tolist()],
         "in": c, "size": h, "classes": classes}, train_set, test_set, seed=seed, device=device,
        epochs=settings["epochs"], lr=settings["lr"], optimizer="adam", batch_size=settings["batch_size"])
