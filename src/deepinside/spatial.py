"""Spatial structure of convolutional filters.

A conv layer's weight ``W`` (C_out, C_in, k, k) holds C_out·C_in spatial filters of k×k
pixels. Their **spatial covariance** is the k²×k² matrix

    C = (1 / (C_out C_in)) Σ_{o,i} w_{oi} w_{oi}ᵀ,   w_{oi} = vec(W[o, i]) ∈ R^{k²},

uncentered, averaged over input and output channels. Its eigenvectors, drawn as k×k
images, are the layer's **spatial eigenvectors**. Two sets of eigenvectors are compared by
the overlap of the subspaces their top r span, ‖Q_aᵀ Q_b‖²_F / r ∈ [0, 1] (1: the same
subspace, whatever the order or sign of the eigenvectors inside it; r/k² on average for
random subspaces). Eigenvectors of different filter sizes are first resampled to a common grid.
"""

from __future__ import annotations

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


def _as_images(
    values: torch.Tensor, vectors: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvector rows as k×k images, each signed so that its largest entry is positive."""
    largest = vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True))
    return values, (vectors * torch.sign(largest)).reshape(-1, k, k)
