"""The book's small networks, all without biases so that covariances tell the whole story.

Both are ``nn.Sequential`` so that a layer is addressed by its index, and the
hidden representations are the outputs of the ``nn.ReLU`` modules
(see :func:`hidden_layers`).
"""

from __future__ import annotations

from typing import Sequence

from torch import nn


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
    image_size: int,
    num_classes: int = 10,
    kernel_size: int = 5,
    stride: int = 2,
) -> nn.Sequential:
    """[Conv (no padding) → ReLU] × (len(channels) − 1) → Flatten → Linear, without biases.

    ``channels`` starts with the number of input channels, e.g. ``(1, 32, 64)``.
    """
    channels = _positive_ints(channels, "channels")
    if len(channels) < 2:
        raise ValueError(f"channels needs input channels and one layer at least, got {channels}")
    size = image_size
    layers: list[nn.Module] = []
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(c_in, c_out, kernel_size, stride=stride, bias=False), nn.ReLU()]
        size = (size - kernel_size) // stride + 1
        if size < 1:
            raise ValueError(
                f"a {image_size}-pixel image is too small for {len(channels) - 1} "
                f"convolutions of size {kernel_size} and stride {stride}"
            )
    layers += [nn.Flatten(), nn.Linear(channels[-1] * size * size, num_classes, bias=False)]
    return nn.Sequential(*layers)


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
