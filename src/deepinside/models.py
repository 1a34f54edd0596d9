"""The book's networks.

The MLP, CNN and VGG have no biases, so that covariances tell the whole story; they
are ``nn.Sequential`` so that a layer is addressed by its index, and the hidden
representations are the outputs of the ``nn.ReLU`` modules (see :func:`hidden_layers`).
ResNets (small ones built here, torchvision's in the ``full`` profile) are addressed by
their five stages conv1–conv5 (see :func:`resnet_stages`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from . import standin


def mlp(dims: Sequence[int]) -> nn.Sequential:
    """Flatten → [Linear → ReLU] × (len(dims) − 2) → Linear, without biases.

    ``dims`` starts with the input dimension and ends with the number of classes,
    e.g. ``(784, 512, 256, 10)``.
    """
    dims = _positive_ints(dims, "dims")
    if len(dims) < 2:
        raise ValueError(f"dims needs an input and an output size, got {dims}")
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(d_in, d_out, bias=False))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn(
    channels: Sequence[int],
    image_size: int | tuple[int, int],
    num_classes: int = 10,
    kernel_size: int = 5,
    stride: int = 2,
    pool: str | None = None,
) -> nn.Sequential:
    """[Conv (no padding) → ReLU] × (len(channels) − 1) → Flatten → Linear, without biases.

    ``channels`` starts with the number of input channels, e.g. ``(1, 32, 64)``;
    ``image_size`` is the side of square images or (height, width). ``pool`` ("max" or
    "avg") pools each channel over all positions before the read-out.
    """
    if pool not in (None, "max", "avg"):
        raise ValueError(f'pool must be None, "max" or "avg", got {pool!r}')
    channels = _positive_ints(channels, "channels")
    if len(channels) < 2:
        raise ValueError(f"channels needs input channels and one layer at least, got {channels}")
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    layers: list[nn.Module] = []
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(c_in, c_out, kernel_size, stride=stride, bias=False), nn.ReLU()]
        size = tuple((s - kernel_size) // stride + 1 for s in size)
        if min(size) < 1:
            raise ValueError(
                f"a {image_size}-pixel image is too small for {len(channels) - 1} "
                f"convolutions of size {kernel_size} and stride {stride}"
            )
    if pool is not None:
        layers.append(nn.AdaptiveMaxPool2d(1) if pool == "max" else nn.AdaptiveAvgPool2d(1))
        size = (1, 1)
    layers += [nn.Flatten(), nn.Linear(channels[-1] * size[0] * size[1], num_classes, bias=False)]
    return nn.Sequential(*layers)


def vgg(
    config: Sequence[int | str],
    in_channels: int,
    image_size: int,
    num_classes: int = 10,
    kernel_size: int = 3,
    pool: str = "max",
    init_std: Sequence[float] | None = None,
) -> nn.Sequential:
    """A VGG-type network without biases: for each entry of ``config``, an integer is a
    Conv (``kernel_size``, zero padding keeping the size) → ReLU, and ``"M"`` a 2×2
    pooling (``pool``: "max" or "avg"); then Flatten → Linear. PyTorch's default
    initialization, or with ``init_std`` the Gaussian one of :func:`normal_init_`.

    VGG-11 is ``(64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")``.
    """
    if pool not in ("max", "avg"):
        raise ValueError(f"pool must be 'max' or 'avg', got {pool!r}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the padding keeps the size), got {kernel_size}")
    layers: list[nn.Module] = []
    channels, size = in_channels, image_size
    for entry in config:
        if entry == "M":
            layers.append(nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2))
            size //= 2
            if size < 1:
                raise ValueError(f"a {image_size}-pixel image is too small for {list(config)}")
        else:
            (width,) = _positive_ints([entry], "config entries")
            layers += [
                nn.Conv2d(channels, width, kernel_size, padding=kernel_size // 2, bias=False),
                nn.ReLU(),
            ]
            channels = width
    layers += [nn.Flatten(), nn.Linear(channels * size * size, num_classes, bias=False)]
    model = nn.Sequential(*layers)
    return model if init_std is None else normal_init_(model, init_std)


def factorized(
    config: Sequence[int | str],
    filters: torch.Tensor,
    in_channels: int,
    image_size: int,
    num_classes: int = 10,
) -> nn.Sequential:
    """A VGG-type network with every convolution factorized into space and channels: for
    each integer entry of ``config``, a depthwise convolution applying the same **frozen**
    spatial ``filters`` (m, k, k) to every channel (zero padding keeping the size; C·m
    outputs, channel c's in positions c·m … c·m + m − 1) → ReLU → a learned pointwise 1×1
    convolution to ``entry`` channels, without bias; ``"M"`` is a 2×2 max pooling; then
    Flatten → Linear. Only the pointwise convolutions and the classifier learn."""
    if filters.ndim != 3 or filters.shape[1] != filters.shape[2] or filters.shape[1] % 2 == 0:
        raise ValueError(
            f"filters must have shape (m, k, k) with k odd, got {tuple(filters.shape)}"
        )
    m, k = filters.shape[0], filters.shape[1]
    layers: list[nn.Module] = []
    channels, size = in_channels, image_size
    for entry in config:
        if entry == "M":
            layers.append(nn.MaxPool2d(2))
            size //= 2
            if size < 1:
                raise ValueError(f"a {image_size}-pixel image is too small for {list(config)}")
            continue
        (width,) = _positive_ints([entry], "config entries")
        depthwise = nn.Conv2d(
            channels, channels * m, k, padding=k // 2, groups=channels, bias=False
        )
        with torch.no_grad():
            depthwise.weight.copy_(filters.to(depthwise.weight).repeat(channels, 1, 1)[:, None])
        depthwise.weight.requires_grad_(False)
        layers += [depthwise, nn.ReLU(), nn.Conv2d(channels * m, width, 1, bias=False)]
        channels = width
    layers += [nn.Flatten(), nn.Linear(channels * size * size, num_classes, bias=False)]
    return nn.Sequential(*layers)


def pointwise_layers(model: nn.Sequential) -> list[int]:
    """Indices of the learned 1×1 convolutions of a :func:`factorized` network."""
    return [int(name) for name, conv in conv_layers(model).items() if conv.weight.requires_grad]


@torch.no_grad()
def normal_init_(model: nn.Module, stds: Sequence[float]) -> nn.Module:
    """Draw the weights of the Linear/Conv2d layers, in order, from N(0, std²); the last
    std is repeated for the remaining layers. Returns ``model``."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not stds or any(s < 0 for s in stds):
        raise ValueError(f"stds must be a non-empty list of non-negative numbers, got {stds}")
    for i, layer in enumerate(layers):
        layer.weight.normal_(0.0, stds[min(i, len(stds) - 1)])
    return model


class ResNet(nn.Module):
    """A ResNet for small images with torchvision's module names: a 3×3 stem
    (conv1, bn1, relu, maxpool), stages of ``BasicBlock``s (layer1, layer2, …, each after
    the first halving the size), global average pooling and a linear ``fc``.

    The default has four stages of one block. ResNet20 of He et al. for CIFAR is
    ``widths=(16, 32, 64), blocks=(3, 3, 3), stem_pool=False`` (with 1×1 projection
    shortcuts where the shape changes, their option B)."""

    def __init__(
        self,
        widths: Sequence[int] = (16, 32, 64, 128),
        blocks: Sequence[int] = (1, 1, 1, 1),
        num_classes: int = 10,
        in_channels: int = 3,
        stem_pool: bool = True,
    ) -> None:
        from torchvision.models.resnet import BasicBlock

        super().__init__()
        widths, blocks = _positive_ints(widths, "widths"), _positive_ints(blocks, "blocks")
        if not widths or len(widths) != len(blocks):
            raise ValueError(
                f"need one block count per stage: got widths {widths}, blocks {blocks}"
            )
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(2) if stem_pool else nn.Identity()
        self.stages = len(widths)
        c_in = widths[0]
        for i, (width, count) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            shortcut = None
            if stride != 1 or c_in != width:
                shortcut = nn.Sequential(
                    nn.Conv2d(c_in, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width)
                )
            stage = [BasicBlock(c_in, width, stride, shortcut)]
            stage += [BasicBlock(width, width) for _ in range(count - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
            c_in = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, self.stages + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


RESNET_STAGES = ("conv1", "conv2", "conv3", "conv4", "conv5")


def resnet_stages(model: nn.Module) -> nn.Sequential:
    """The five stages of a ResNet (this module's or torchvision's) named as in the
    ResNet paper: conv1 (stem with max pooling), conv2–conv5 (torchvision's layer1–4)."""
    needed = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")
    missing = [name for name in needed if not hasattr(model, name)]
    if missing:
        raise TypeError(f"not a ResNet: {type(model).__name__} has no {missing}")
    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
    layers = [model.layer1, model.layer2, model.layer3, model.layer4]
    return nn.Sequential(OrderedDict(zip(RESNET_STAGES, [stem, *layers])))


class Standardize(nn.Module):
    """(x − mean) / std per channel, for networks fed pixels in [0, 1]."""

    def __init__(
        self, mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32)[:, None, None])
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32)[:, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def resnet_embedding(
    model: nn.Module,
    stage: str,
    mean: Sequence[float] | torch.Tensor,
    std: Sequence[float] | torch.Tensor,
) -> nn.Sequential:
    """Pixels in [0, 1] → standardized with ``mean``/``std`` → the ResNet up to the output of
    ``stage`` (one of :data:`RESNET_STAGES`). Shares the model's modules and puts them in
    eval mode."""
    if stage not in RESNET_STAGES:
        raise ValueError(f"unknown stage {stage!r}: choose one of {RESNET_STAGES}")
    stages = resnet_stages(model)[: RESNET_STAGES.index(stage) + 1]
    return nn.Sequential(Standardize(mean, std), *stages).eval().to(next(model.parameters()).device)


# torchvision's ImageNet classifiers studied in the full profile, and their input statistics
PRETRAINED = ("alexnet", "vgg11", "resnet18", "resnet50")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def pretrained(name: str, trained: bool = True) -> nn.Module:
    """torchvision's ImageNet-pretrained ``name`` (one of :data:`PRETRAINED`), in eval mode;
    ``trained=False`` gives the same architecture at its random initialization.

    Weights are downloaded once into ``cache_root()/torch``; offline, this fails
    within seconds and says what to do. In the stand-in dry run (:mod:`deepinside.standin`)
    every model is at its random initialization.
    """
    import torchvision

    from .data import require_network
    from .runtime import cache_root

    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}: choose one of {PRETRAINED}")
    if not trained or standin.active():
        return torchvision.models.get_model(name, weights=None).eval()
    weights = torchvision.models.get_model_weights(name).DEFAULT
    hub = cache_root() / "torch"
    torch.hub.set_dir(str(hub))
    if not (hub / "checkpoints" / Path(weights.url).name).exists():
        require_network("download.pytorch.org", f"the pretrained weights of {name!r}", hub)
    return torchvision.models.get_model(name, weights=weights).eval()


def conv_layers(model: nn.Module) -> dict[str, nn.Conv2d]:
    """The ``nn.Conv2d`` modules of ``model`` by qualified name, first to last (for an
    ``nn.Sequential`` the name is the index)."""
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def hidden_layers(model: nn.Sequential) -> list[int]:
    """Indices of the ReLU modules whose outputs are the hidden representations."""
    return [i for i, module in enumerate(model) if isinstance(module, nn.ReLU)]


def weight_layers(model: nn.Sequential) -> list[int]:
    """Indices of the Linear and Conv2d modules, first to last."""
    return [i for i, module in enumerate(model) if isinstance(module, (nn.Linear, nn.Conv2d))]


def _positive_ints(values: Sequence[int], what: str) -> list[int]:
    values = list(values)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise ValueError(f"{what} must be positive integers, got {values}")
    return values
