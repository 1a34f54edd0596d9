"""Covariances of activations and weights, their spectra, and clipping.

Conventions used throughout the book:

- Covariances are **uncentered** second moments, E[φ(x) φ(x)ᵀ]: the mean is not
  subtracted (as if a normalization layer made it zero), unless asked for
  (``centered=True``).
- For convolutional activations of shape (B, C, H, W), every spatial position is
  one more sample: the covariance is C × C, over channels only.
- The weight covariance of a layer with n neurons is C = (1/n) WᵀW, where a
  convolution weight (C_out, C_in, kh, kw) is reshaped to (C_out, C_in·kh·kw)
  in PyTorch's (C_in, kh, kw) order, the order of ``F.unfold``.
- Eigenvalues come sorted in decreasing order; eigenvectors are returned as
  the **rows** of a matrix.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .data import ImageSet
from .runtime import progress

# --- activations ----------------------------------------------------------------------


def as_samples(activation: torch.Tensor) -> torch.Tensor:
    """(B, C) stays; (B, C, H, W) becomes (B·H·W, C): spatial positions are samples."""
    if activation.ndim == 2:
        return activation
    if activation.ndim == 4:
        return activation.permute(0, 2, 3, 1).reshape(-1, activation.shape[1])
    raise ValueError(
        f"expected activations of shape (B, C) or (B, C, H, W), got {tuple(activation.shape)}"
    )


def representations(
    model: nn.Sequential, x: torch.Tensor, layers: Sequence[int]
) -> list[torch.Tensor]:
    """Outputs of the modules ``model[i]`` for i in ``layers``, in one forward pass."""
    _check_layers(model, layers)
    outputs, wanted = {}, set(layers)
    for i, module in enumerate(model[: max(layers) + 1]):
        x = module(x)
        if i in wanted:
            outputs[i] = x
    return [outputs[i] for i in layers]


@torch.no_grad()
def activation_covariances(
    model: nn.Sequential,
    images: ImageSet,
    layers: Sequence[int],
    other: nn.Sequential | None = None,
    other_layers: Sequence[int] | None = None,
    *,
    centered: bool = False,
    device: torch.device | str = "cpu",
    batch_size: int = 500,
) -> list[torch.Tensor]:
    """(Cross-)covariances E[φ(x) ψ(x)ᵀ], accumulated batch by batch.

    φ is the output of ``model[i]`` for i in ``layers``; ψ that of ``other`` at
    ``other_layers`` (default: ``model`` itself at the same layers). Uncentered by
    default; ``centered=True`` subtracts the means, E[φψᵀ] − E[φ] E[ψ]ᵀ. Each layer is
    divided by its own number of samples (images × positions for a convolution).
    Returns one float64 matrix of shape (C_φ, C_ψ) per layer, on the CPU.
    """
    other = model if other is None else other
    other_layers = list(layers) if other_layers is None else list(other_layers)
    if len(other_layers) != len(layers):
        raise ValueError(f"{len(layers)} layers but {len(other_layers)} other_layers")
    model.eval(), other.eval()
    same = other is model and other_layers == list(layers)
    moments = [_Moments() for _ in layers]
    for x, _ in progress(images.loader(batch_size), desc="activation covariance"):
        x = x.to(device)
        phis = [as_samples(a).double() for a in representations(model, x, layers)]
        psis = (
            phis
            if same
            else [as_samples(a).double() for a in representations(other, x, other_layers)]
        )
        for moment, phi, psi in zip(moments, phis, psis):
            moment.add(phi, psi)
    return [moment.covariance(centered) for moment in moments]


class _Moments:
    """Running sums of φψᵀ, φ and ψ over samples, for one layer."""

    def __init__(self) -> None:
        self.count, self.product, self.sum_phi, self.sum_psi = 0, 0.0, 0.0, 0.0

    def add(self, phi: torch.Tensor, psi: torch.Tensor) -> None:
        if phi.shape[0] != psi.shape[0]:
            raise ValueError(
                f"the two representations have {phi.shape[0]} and {psi.shape[0]} samples per "
                "batch: compare layers with the same spatial size"
            )
        self.count += phi.shape[0]
        self.product = self.product + phi.T @ psi
        self.sum_phi = self.sum_phi + phi.sum(0)
        self.sum_psi = self.sum_psi + psi.sum(0)

    def covariance(self, centered: bool) -> torch.Tensor:
        c = self.product / self.count
        if centered:
            c = c - torch.outer(self.sum_phi, self.sum_psi) / self.count**2
        return c.cpu()


# --- weights ---------------------------------------------------------------------------


def weight_matrix(layer: nn.Module | torch.Tensor) -> torch.Tensor:
    """Weights as an (n neurons, d inputs) matrix; conv weights as (C_out, C_in·kh·kw)."""
    weight = layer.weight if isinstance(layer, nn.Module) else layer
    if not isinstance(weight, torch.Tensor) or weight.ndim not in (2, 4):
        raise ValueError("expected a Linear/Conv2d layer or a weight tensor of 2 or 4 dimensions")
    return weight.detach().reshape(weight.shape[0], -1)


def weight_covariance(layer: nn.Module | torch.Tensor) -> torch.Tensor:
    """The d × d weight covariance (1/n) WᵀW, in float64."""
    w = weight_matrix(layer).double()
    return w.T @ w / w.shape[0]


def weight_spectrum(layer: nn.Module | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (decreasing) and eigenvectors (rows) of (1/n) WᵀW, from an SVD of W.

    Only the min(n, d) eigenvalues that can be non-zero are returned.
    """
    w = weight_matrix(layer).double().cpu()
    _, s, vh = torch.linalg.svd(w, full_matrices=False)
    return s**2 / w.shape[0], vh


def bures_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """Normalized Bures similarity tr((A^½ B A^½)^½) / √(tr A · tr B) of two positive
    semi-definite matrices, in [0, 1]: 1 when B is a positive multiple of A; unchanged by
    rescaling either and by rotating both alike (A, B → QAQᵀ, QBQᵀ)."""
    for m, name in ((a, "a"), (b, "b")):
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError(f"{name} must be a square matrix, got shape {tuple(m.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"a and b differ in shape: {tuple(a.shape)}, {tuple(b.shape)}")
    a, b = a.double(), b.double()
    values, vectors = torch.linalg.eigh(a)
    root = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    middle = torch.linalg.eigvalsh(root @ b @ root).clamp_min(0).sqrt().sum()
    return float(middle / (a.trace() * b.trace()).sqrt())


def participation_ratio(eigenvalues: torch.Tensor) -> float:
    """Effective dimension (Σλ)² / Σλ²: d for a flat spectrum of d values, 1 for one spike."""
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).clamp(min=0)
    return float(lam.sum() ** 2 / (lam**2).sum())


# --- Marchenko–Pastur --------------------------------------------------------------------


def mp_support(ratio: float, variance: float) -> tuple[float, float]:
    """Edges σ²(1 ∓ √γ)² of the Marchenko–Pastur bulk.

    For a n × d matrix W of i.i.d. entries of variance σ², the eigenvalues of
    (1/n) WᵀW spread over this interval as n, d → ∞ with γ = d / n.
    """
    _check_mp(ratio, variance)
    root = math.sqrt(ratio)
    return variance * (1 - root) ** 2, variance * (1 + root) ** 2


def mp_density(x: np.ndarray | float, ratio: float, variance: float) -> np.ndarray:
    """Density of the continuous part of the Marchenko–Pastur law at ``x``.

    It integrates to min(1, 1/γ): for γ > 1 the remaining 1 − 1/γ of the
    eigenvalues are exactly zero.
    """
    lo, hi = mp_support(ratio, variance)
    x = np.asarray(x, dtype=float)
    inside = (x > lo) & (x < hi)
    safe = np.where(inside, x, 1.0)
    dens = np.sqrt(np.clip((hi - safe) * (safe - lo), 0, None)) / (
        2 * np.pi * variance * ratio * safe
    )
    return np.where(inside, dens, 0.0)


def mp_expected_spectrum(count: int, ratio: float, variance: float) -> np.ndarray:
    """The ``count`` non-zero eigenvalues expected under Marchenko–Pastur, decreasing.

    Rank r gets the quantile 1 − (r − ½)/count of the law's continuous part,
    so it can be drawn on the same rank plot as a measured spectrum.
    """
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    lo, hi = mp_support(ratio, variance)
    grid = np.linspace(lo, hi, 20001)
    dens = mp_density(grid, ratio, variance)
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))])
    cdf /= cdf[-1]
    levels = 1 - (np.arange(1, count + 1) - 0.5) / count
    return np.interp(levels, cdf, grid)


def count_outside_bulk(eigenvalues: torch.Tensor, ratio: float, variance: float) -> int:
    """How many eigenvalues lie above the upper Marchenko–Pastur edge."""
    return int((torch.as_tensor(eigenvalues) > mp_support(ratio, variance)[1]).sum())


def _check_mp(ratio: float, variance: float) -> None:
    if not ratio > 0 or not variance > 0:
        raise ValueError(f"ratio and variance must be positive, got {ratio} and {variance}")


# --- clipping --------------------------------------------------------------------------


class Projection(nn.Module):
    """Projects (B, C) or (B, C, H, W) activations along C with a fixed C × C matrix."""

    def __init__(self, projector: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("projector", projector)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.projector.to(x.dtype)
        return x @ p if x.ndim == 2 else torch.einsum("bchw,cd->bdhw", x, p)


def projector(basis: torch.Tensor, rank: int) -> torch.Tensor:
    """V_kᵀ V_k: the orthogonal projector on the first ``rank`` rows of ``basis``."""
    if not 0 <= rank <= basis.shape[0]:
        raise ValueError(f"rank must be between 0 and {basis.shape[0]}, got {rank}")
    top = basis[:rank]
    return top.T @ top


@torch.no_grad()
def clipping_curve(
    model: nn.Sequential,
    images: ImageSet,
    layer: int,
    basis: torch.Tensor,
    ranks: Sequence[int],
    on: str,
    device: torch.device | str = "cpu",
) -> list[float]:
    """Accuracy (%) of ``model`` clipped to each rank in ``ranks``.

    ``on="activations"``: the output of ``model[layer]`` is projected on the
    first k rows of ``basis`` (activation eigenvectors over channels).
    ``on="weights"``: every neuron of the Linear/Conv2d ``model[layer]`` is
    projected, W ← W V_kᵀ V_k, with ``basis`` the weight eigenvectors.
    The layers before the clipped one run once, not once per rank.
    """
    if on not in ("activations", "weights"):
        raise ValueError(f"on must be 'activations' or 'weights', got {on!r}")
    _check_layers(model, [layer])
    model.eval()
    start = layer + 1 if on == "activations" else layer
    head, tail = model[:start], model[start:]
    features = torch.cat([head(x.to(device)) for x, _ in images.loader(1000)])
    basis = basis.to(device=device, dtype=features.dtype)
    correct = []
    for rank in progress(ranks, desc=f"clipping {on} of layer {layer}"):
        p = projector(basis, rank)
        if on == "activations":
            net = nn.Sequential(Projection(p), *tail)
        else:
            clipped = _with_projected_weight(tail[0], p)
            net = nn.Sequential(clipped, *tail[1:])
        predictions = torch.cat([net(f).argmax(-1) for f in features.split(1000)])
        correct.append(100.0 * (predictions.cpu() == images.y).float().mean().item())
    return correct


def _with_projected_weight(layer: nn.Module, p: torch.Tensor) -> nn.Module:
    if not isinstance(layer, (nn.Linear, nn.Conv2d)):
        raise ValueError(
            f"weight clipping needs a Linear or Conv2d layer, got {type(layer).__name__}"
        )
    clipped = copy.deepcopy(layer)
    with torch.no_grad():
        clipped.weight.copy_((weight_matrix(layer) @ p).reshape(layer.weight.shape))
    return clipped


def _check_layers(model: nn.Module, layers: Sequence[int]) -> None:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"expected an nn.Sequential model, got {type(model).__name__}")
    if not layers or not all(isinstance(i, int) and 0 <= i < len(model) for i in layers):
        raise ValueError(
            f"layers must be indices between 0 and {len(model) - 1}, got {list(layers)}"
        )
