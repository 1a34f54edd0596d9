"""Spatial structure of convolutional filters.

A conv layer's weight ``W`` (C_out, C_in, k, k) holds C_out·C_in spatial filters of k×k
pixels. Their **spatial covariance** is the k²×k² matrix

    C = (1 / (C_out C_in)) Σ_{o,i} w_{oi} w_{oi}ᵀ,   w_{oi} = vec(W[o, i]) ∈ R^{k²},

uncentered, averaged over input and output channels. Its eigenvectors, drawn as k×k
images, are the layer's **spatial eigenvectors**. Two sets of eigenvectors are compared by
the overlap of the subspaces their top r span, ‖Q_aᵀ Q_b‖²_F / r ∈ [0, 1] (1: the same
subspace, whatever the order or sign of the eigenvectors inside it; r/k² on average for
random subspaces). Eigenvectors of different filter sizes are first resampled to a common grid.

Any spatially smooth ensemble of filters has a blob and two gradients as its top eigenvectors,
so the chapter compares learned filters with a **smooth null**: k×k crops of white noise
smoothed by a Gaussian whose width matches the learned filters' correlation between
neighbouring pixels (:func:`smooth_null`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .linalg import eigh_desc


def spatial_covariance(weight: torch.Tensor) -> torch.Tensor:
    """The (k², k²) spatial covariance of a conv weight (C_out, C_in, k, k), in float64."""
    if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise ValueError(f"weight must have shape (C_out, C_in, k, k), got {tuple(weight.shape)}")
    filters = weight.detach().double().reshape(-1, weight.shape[2] * weight.shape[3])
    return filters.T @ filters / filters.shape[0]


def spatial_eigenvectors(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (k²,), largest first, and eigenvectors as k×k images (k², k, k) of the
    spatial covariance. Signs are fixed so that each eigenvector's largest entry (in
    magnitude) is positive."""
    return _as_images(*eigh_desc(spatial_covariance(weight)), weight.shape[-1])


def top_share(eigenvalues: torch.Tensor, r: int) -> float:
    """Share of the total variance (the trace) carried by the top ``r`` eigenvalues."""
    if not 1 <= r <= len(eigenvalues):
        raise ValueError(f"r must be between 1 and {len(eigenvalues)}, got {r}")
    values = eigenvalues.sort(descending=True).values
    return float(values[:r].sum() / values.sum())


def resample(images: torch.Tensor, size: int) -> torch.Tensor:
    """k×k images (n, k, k) resampled to (n, size, size) by bilinear interpolation on the
    same field of view (corner pixels stay corners), each rescaled to unit norm."""
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, k, k), got {tuple(images.shape)}")
    if size < 2:
        raise ValueError(f"size must be at least 2, got {size}")
    out = F.interpolate(
        images[:, None].double(), size=(size, size), mode="bilinear", align_corners=True
    )[:, 0]
    return out / torch.linalg.vector_norm(out, dim=(1, 2), keepdim=True)


def subspace_overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """Overlap ‖Q_aᵀ Q_b‖²_F / r of the subspaces spanned by the r vectors (rows, or
    images flattened) of ``a`` and of ``b``: 1 for the same subspace, 0 for orthogonal ones."""
    a, b = a.reshape(len(a), -1).double(), b.reshape(len(b), -1).double()
    if a.shape != b.shape or len(a) > a.shape[1]:
        raise ValueError(
            f"need the same number r ≤ dimension of vectors, got {tuple(a.shape)} "
            f"and {tuple(b.shape)}"
        )
    qa, qb = torch.linalg.qr(a.T).Q, torch.linalg.qr(b.T).Q
    return float((qa.T @ qb).pow(2).sum() / len(a))


def universal_eigenvectors(weights: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and eigenvector images of the layers' spatial covariances averaged after
    normalizing each to trace 1, so that every layer counts alike (all k×k)."""
    if not weights:
        raise ValueError("need at least one conv weight")
    pooled = sum(c / c.trace() for c in map(spatial_covariance, weights)) / len(weights)
    return _as_images(*eigh_desc(pooled), weights[0].shape[-1])


def neighbour_correlation(covariance: torch.Tensor) -> float:
    """Mean correlation between horizontally or vertically adjacent pixels of k×k filters
    whose (k², k²) spatial covariance is ``covariance``."""
    k = math.isqrt(covariance.shape[0])
    if covariance.ndim != 2 or covariance.shape != (k * k, k * k) or k < 2:
        raise ValueError(f"covariance must be (k², k²) with k ≥ 2, got {tuple(covariance.shape)}")
    scale = covariance.diagonal().double().clamp_min(1e-300).sqrt()
    corr = covariance.double() / torch.outer(scale, scale)
    pixel = torch.arange(k * k).reshape(k, k)
    pairs = [(pixel[:, :-1], pixel[:, 1:]), (pixel[:-1], pixel[1:])]
    return float(torch.cat([corr[a.flatten(), b.flatten()] for a, b in pairs]).mean())


def smooth_filters(count: int, k: int, width: float, generator: torch.Generator) -> torch.Tensor:
    """``count`` k×k filters (count, k, k) cut from white noise smoothed by a Gaussian of
    standard deviation ``width`` pixels: a stationary ensemble whose pixels d apart correlate
    at about exp(−d²/(4 width²)) (exactly so as the grid gets fine)."""
    if count < 1 or k < 1:
        raise ValueError(f"count and k must be positive, got {count} and {k}")
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    half = max(1, math.ceil(3 * width))
    x = torch.arange(-half, half + 1, dtype=torch.float64)
    kernel = torch.exp(-(x**2) / (2 * width**2))
    kernel = kernel / kernel.sum()
    size = k + 2 * half
    noise = torch.randn(count, 1, size, size, generator=generator, dtype=torch.float64)
    rows = F.conv2d(noise, kernel.view(1, 1, 1, -1))
    return F.conv2d(rows, kernel.view(1, 1, -1, 1))[:, 0]


def smooth_null(weight: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """As many smooth filters as ``weight`` (C_out, C_in, k, k) holds, whose neighbouring
    pixels correlate as in ``weight`` (Gaussian width √(−1 / (4 ln ρ)) for a correlation ρ;
    ρ ≤ 0 gives nearly white filters)."""
    rho = neighbour_correlation(spatial_covariance(weight))
    width = math.sqrt(-1 / (4 * math.log(rho))) if 0 < rho < 1 else 0.2 if rho <= 0 else 1e3
    c_out, c_in, k, _ = weight.shape
    return smooth_filters(c_out * c_in, k, width, generator).reshape(weight.shape)


def spread(image: torch.Tensor) -> float:
    """Root-mean-square distance (in pixels) from the centre of a k×k image, weighted by
    its squared values: how far the image extends."""
    if image.ndim != 2 or image.shape[0] != image.shape[1]:
        raise ValueError(f"image must be k×k, got {tuple(image.shape)}")
    k = image.shape[0]
    y, x = torch.meshgrid(*(torch.arange(k, dtype=torch.float64) - (k - 1) / 2,) * 2, indexing="ij")
    weight = image.double() ** 2
    return float(((x**2 + y**2) * weight).sum() / weight.sum()) ** 0.5


def _as_images(
    values: torch.Tensor, vectors: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvector rows as k×k images, each signed so that its largest entry is positive."""
    largest = vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True))
    return values, (vectors * torch.sign(largest)).reshape(-1, k, k)
