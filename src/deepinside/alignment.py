"""Comparing two networks: optimal orthogonal alignment, r², subspace overlap, linear CKA.

Notation: φ(x) ∈ R^{d₁} and ψ(x) ∈ R^{d₂} are the representations of the same
input by two networks. The cross-covariance is E[ψ φᵀ] (d₂ × d₁), uncentered, as
returned (transposed) by ``activation_covariances(net1, ..., other=net2)``.
"""

from __future__ import annotations

import math

import torch


def orthogonal_alignment(cross: torch.Tensor) -> torch.Tensor:
    """The A minimizing E‖Aφ − ψ‖² over AᵀA = I, from ``cross`` = E[ψ φᵀ] (d₂ × d₁).

    With the SVD E[ψ φᵀ] = U S Vᵀ, the solution is A = U Vᵀ (orthogonal Procrustes).
    """
    _check_matrix(cross, "cross")
    u, _, vh = torch.linalg.svd(cross, full_matrices=False)
    return u @ vh


def r2(align: torch.Tensor, cross: torch.Tensor, energy_phi: float, energy_psi: float) -> float:
    """Share of the energy that the alignment ``align`` explains.

    r² = E⟨Aφ, ψ⟩ / √(E‖φ‖² E‖ψ‖²) = tr(A E[φ ψᵀ]) / √(E‖φ‖² E‖ψ‖²), with ``cross`` = E[ψ φᵀ]
    and the energies E‖φ‖² = tr E[φ φᵀ], E‖ψ‖² = tr E[ψ ψᵀ]. For the optimal A it is
    tr S / √(E‖φ‖² E‖ψ‖²), and E‖Aφ − ψ‖² = E‖φ‖² + E‖ψ‖² − 2 tr S. It is 1 when ψ = Qφ
    for an orthogonal Q, and at most 1 by Cauchy–Schwarz.
    """
    _check_matrix(cross, "cross")
    if align.shape != cross.shape:
        raise ValueError(f"align has shape {tuple(align.shape)}, cross {tuple(cross.shape)}")
    if not energy_phi > 0 or not energy_psi > 0:
        raise ValueError("energies must be positive")
    return float((align * cross).sum() / math.sqrt(energy_phi * energy_psi))


def random_orthogonal(
    rows: int, cols: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A random (rows × cols) matrix with orthonormal rows or columns, Haar-distributed."""
    g = torch.randn(max(rows, cols), min(rows, cols), generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(g)
    q = q * torch.sign(torch.diagonal(r))  # the sign fix makes the law uniform
    return q if rows >= cols else q.T


def subspace_overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean squared cosine of the principal angles between the row spaces of ``a`` and ``b``.

    Both are k × d with orthonormal rows (e.g. the top k eigenvectors of two networks). The
    value is ‖a bᵀ‖²_F / k: 1 for the same subspace, whatever the basis chosen in it (so it
    ignores eigenvectors that swap or mix among close eigenvalues), 0 for orthogonal ones,
    and k/d on average for two independent uniformly random subspaces.
    """
    _check_matrix(a, "a"), _check_matrix(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b differ in shape: {tuple(a.shape)}, {tuple(b.shape)}")
    if a.shape[0] == 0:
        raise ValueError("a and b have no row: the overlap of empty subspaces is undefined")
    return float(torch.linalg.matrix_norm(a.double() @ b.double().T) ** 2 / a.shape[0])


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear centered kernel alignment of features ``x`` (n × d₁) and ``y`` (n × d₂).

    CKA = ‖X̄ᵀȲ‖²_F / (‖X̄ᵀX̄‖_F ‖ȲᵀȲ‖_F) with X̄, Ȳ centered over the n samples. It is
    invariant to orthogonal transforms and isotropic scaling of either side, and to
    translations (it is centered); it is not invariant to general invertible maps.
    """
    _check_matrix(x, "x"), _check_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y need the same samples, got {x.shape[0]} and {y.shape[0]}")
    x = x.double() - x.double().mean(0)
    y = y.double() - y.double().mean(0)
    cross = torch.linalg.matrix_norm(x.T @ y) ** 2
    return float(cross / (torch.linalg.matrix_norm(x.T @ x) * torch.linalg.matrix_norm(y.T @ y)))


def _check_matrix(m: torch.Tensor, name: str) -> None:
    if not isinstance(m, torch.Tensor) or m.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-dimensional tensor, got {getattr(m, 'shape', type(m))}"
        )
