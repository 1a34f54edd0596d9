"""Rainbow networks: new networks whose weights are sampled from a trained network's covariances.

Layer by layer, each neuron of the generated network draws its weights from
N(0, C) with C = (1/n) W̃ᵀW̃ the weight covariance of the reference layer expressed
in the generated network's coordinates (W̃ = W A, A the alignment of the previous
layer). The generated layer's output is then aligned with the reference one,
and the trained classifier is reused through the last alignment.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .alignment import orthogonal_alignment
from .covariance import activation_covariances, weight_matrix
from .data import ImageSet
from .models import weight_layers


def sample_weights(
    weight: torch.Tensor, neurons: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``neurons`` new neurons (rows) drawn i.i.d. from N(0, (1/n) WᵀW), shaped like ``weight``.

    With W = U S Vᵀ (thin SVD), a row g (S/√n) Vᵀ with g ~ N(0, I) has covariance
    V S² Vᵀ / n = (1/n) WᵀW, at the cost of an SVD of W rather than of the d × d covariance.
    """
    w = weight_matrix(weight).double()
    n = w.shape[0]
    neurons = n if neurons is None else neurons
    if neurons < 1:
        raise ValueError(f"neurons must be positive, got {neurons}")
    _, s, vh = torch.linalg.svd(w, full_matrices=False)
    g = torch.randn(neurons, s.shape[0], generator=generator, dtype=torch.float64)
    sample = g @ (s[:, None] / n**0.5 * vh)
    return sample.reshape(neurons, *weight.shape[1:]).to(weight.dtype)


def express_in(weight: torch.Tensor, align: torch.Tensor) -> torch.Tensor:
    """Weights acting on the reference representation, rewritten to act on the generated one.

    ``align`` (C_ref × C_gen) maps generated channels to reference channels. The input
    channels are axis 1 of a Linear or Conv2d weight; a Linear that reads a flattened
    (C, H, W) map has C·H·W inputs, ordered channel first.
    """
    c_ref, c_gen = align.shape
    out, inputs = weight.shape[0], weight.shape[1]
    if inputs % c_ref:
        raise ValueError(f"weight has {inputs} input channels, not a multiple of {c_ref}")
    grouped = weight.reshape(out, c_ref, -1)  # (out, C_ref, rest)
    rewritten = torch.einsum("orx,rg->ogx", grouped.double(), align.double())
    shape = (
        (out, c_gen, *weight.shape[2:]) if weight.ndim == 4 else (out, c_gen * grouped.shape[-1])
    )
    return rewritten.reshape(shape).to(weight.dtype)


@torch.no_grad()
def generate(
    reference: nn.Sequential,
    images: ImageSet,
    generator: torch.Generator | None = None,
    *,
    sample_from: nn.Sequential | None = None,
    device: torch.device | str = "cpu",
) -> nn.Sequential:
    """A rainbow network of ``reference``'s architecture, aligned on ``images``.

    Every weight layer but the last is sampled from the weight covariance of
    ``sample_from`` (default: ``reference``; ``reference`` at initialization gives the
    control whose covariances hold nothing learned). Each generated layer is aligned with
    ``reference``'s representation, and the last layer (the classifier) is ``reference``'s,
    expressed in the generated coordinates. Each weight layer except the last must be
    followed by the ReLU whose output is aligned.
    """
    source = reference if sample_from is None else sample_from
    layers = weight_layers(reference)
    if weight_layers(source) != layers:
        raise ValueError("sample_from must have the architecture of reference")
    generated = copy.deepcopy(reference).to(device)
    align = None
    for position, index in enumerate(layers):
        last = position == len(layers) - 1
        weight = (reference if last else source)[index].weight.detach()
        if align is not None:
            weight = express_in(weight, align.to(weight.device))
        new = weight if last else sample_weights(weight.cpu(), generator=generator)
        generated[index].weight.copy_(new.to(device))
        if not last:
            relu = index + 1
            if not isinstance(reference[relu], nn.ReLU):
                raise ValueError(f"layer {index} is not followed by a ReLU")
            (cross,) = activation_covariances(
                reference, images, [relu], other=generated, device=device
            )
            align = orthogonal_alignment(cross).float()  # (C_ref, C_gen)
    return generated.eval()


def retrain_classifier(
    model: nn.Sequential,
    train_set: ImageSet,
    steps: int = 300,
    lr: float = 0.05,
    device: torch.device | str = "cpu",
) -> nn.Sequential:
    """A copy of ``model`` whose last Linear layer is refit (full-batch Adam, cross-entropy)."""
    if not isinstance(model[-1], nn.Linear):
        raise ValueError("the last module must be the Linear classifier")
    model = copy.deepcopy(model).to(device).eval()
    with torch.no_grad():
        features = torch.cat([model[:-1](x.to(device)) for x, _ in train_set.loader(1000)])
    labels = train_set.y.to(device)
    classifier = model[-1]
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(classifier(features), labels).backward()
        optimizer.step()
    return model
