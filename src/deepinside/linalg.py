"""Linear algebra the chapters share: eigenpairs, square roots and powers of PSD matrices,
correlation of matrices. The bottom layer of the package: it imports nothing of its own.

Conventions: eigenvalues come sorted in decreasing order and eigenvectors as the **rows** of
a matrix; symmetric positive semi-definite matrices are factored in float64.
"""

from __future__ import annotations

import torch


def eigh_desc(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues in decreasing order and the matching eigenvectors as rows."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {tuple(matrix.shape)}")
    values, vectors = torch.linalg.eigh(matrix)
    return values.flip(0), vectors.flip(1).T


def sqrt_factor(matrix: torch.Tensor, rtol: float = 1e-7) -> torch.Tensor:
    """R = Λ^½ Vᵀ (r × d, float64) with RᵀR = M for a symmetric positive semi-definite M,
    keeping the r eigenvalues above rtol·max (the others are zero up to rounding)."""
    if (
        not isinstance(matrix, torch.Tensor)
        or matrix.ndim != 2
        or matrix.shape[0] != matrix.shape[1]
    ):
        raise ValueError("expected a square matrix (a torch tensor)")
    if not torch.isfinite(matrix).all():
        raise ValueError("the matrix has non-finite entries")
    values, vectors = torch.linalg.eigh(matrix.double())
    keep = values > rtol * values.max().clamp(min=1e-300)
    return (vectors[:, keep] * values[keep].sqrt()).T


def matrix_power(matrix: torch.Tensor, power: float) -> torch.Tensor:
    """Mᵖ of a symmetric positive semi-definite M (negative round-off eigenvalues set to 0)."""
    values, vectors = torch.linalg.eigh(matrix.double())
    return (vectors * values.clamp(min=0) ** power) @ vectors.T


def matrix_correlation(
    a: torch.Tensor, b: torch.Tensor, centered: bool = True, off_diagonal: bool = False
) -> float:
    """Correlation of two matrices as flattened vectors.

    ``centered=True``: Pearson correlation (each matrix's mean entry subtracted);
    ``centered=False``: the uncentered cosine similarity. ``off_diagonal=True`` uses only the
    entries off the diagonal of two square matrices, so that a shared large diagonal (any
    covariance near a multiple of the identity) does not count as agreement.
    """
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if a.shape != b.shape:
        raise ValueError(f"matrices of different shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if off_diagonal:
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"off_diagonal needs square matrices, got {tuple(a.shape)}")
        keep = ~torch.eye(a.shape[0], dtype=torch.bool)
        a, b = a[keep], b[keep]
    a, b = a.flatten(), b.flatten()
    if centered:
        a, b = a - a.mean(), b - b.mean()
    denominator = a.norm() * b.norm()
    if denominator == 0:
        raise ValueError("correlation of a constant matrix is undefined")
    return float(a @ b / denominator)
