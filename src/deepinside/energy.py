"""Energy profiles of first-layer filters in the principal basis of image patches.

Let p_n ∈ R^d (d = C k²) be the k×k patches of the training images, flattened in the
(C, kh, kw) order of a conv weight, and u_i, λ_i² the eigenvectors and eigenvalues of their
(uncentered) second-moment matrix (1/N) Σ_n p_n p_nᵀ, so that λ_i² = (1/N) Σ_n (p_nᵀ u_i)²
is the patch energy along u_i. For filters w_f (f = 1…F) that started at w_f⁰, the
**energy profile** is

    e_i = √( (1/F) Σ_f ((w_f − w_f⁰)ᵀ u_i)² ),   divided by its maximum.

For a depth-2 linear CNN trained by gradient descent from a small initialization, the
profile after t steps of size η is ∝ λ_i (1 − (1 − ηλ_i²)^t) / (ηλ_i²); its continuous
form, with one free parameter s (≈ ηt),

    e(λ; s) ∝ (1 − exp(−s λ²)) / λ,

grows like s·λ early (PCA-like: strong directions first) and tends to 1/λ (whitening).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .linalg import eigh_desc, matrix_correlation


def patch_moment(images: torch.Tensor, k: int = 3, batch_size: int = 256) -> torch.Tensor:
    """(1/N) Σ p pᵀ over all k×k patches (stride 1, no padding) of ``images`` (N, C, H, W),
    accumulated batch by batch in float64; (Ck², Ck²) in conv-weight order."""
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    if k < 1 or k > min(images.shape[2:]):
        raise ValueError(f"k must be between 1 and the image size, got {k}")
    d = images.shape[1] * k * k
    total, count = torch.zeros(d, d, dtype=torch.float64), 0
    for start in range(0, len(images), batch_size):
        patches = F.unfold(images[start : start + batch_size].double(), k)  # (B, d, P)
        total += torch.einsum("bip,bjp->ij", patches, patches)
        count += patches.shape[0] * patches.shape[2]
    return total / count


def patch_pca(moment: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """λ_i (the square roots of the eigenvalues, largest first) and the principal
    directions u_i as rows, from a patch second-moment matrix."""
    values, vectors = eigh_desc(moment)
    return values.clamp_min(0).sqrt(), vectors


def energy_profile(
    weight: torch.Tensor, initial: torch.Tensor, basis: torch.Tensor
) -> torch.Tensor:
    """e_i = √((1/F) Σ_f ((w_f − w_f⁰)ᵀ u_i)²) / max_i, for conv weights (F, C, k, k) and the
    directions u_i as rows of ``basis`` (d, d)."""
    if weight.shape != initial.shape:
        raise ValueError(
            f"weight and initial differ in shape: {tuple(weight.shape)}, {tuple(initial.shape)}"
        )
    delta = (weight - initial).detach().double().reshape(len(weight), -1)
    if delta.shape[1] != basis.shape[1]:
        raise ValueError(f"filters of size {delta.shape[1]} and a basis of size {basis.shape[1]}")
    energy = (delta @ basis.T).pow(2).mean(dim=0).sqrt()
    return energy / energy.max()


def whitening_profile(lambdas: torch.Tensor, s: float) -> torch.Tensor:
    """The linear theory's profile (1 − exp(−s λ²)) / λ, divided by its maximum."""
    if s <= 0:
        raise ValueError(f"s must be positive, got {s}")
    lambdas = lambdas.double()
    profile = -torch.expm1(-s * lambdas**2) / lambdas
    return profile / profile.max()


def fit_profile(
    lambdas: torch.Tensor, measured: torch.Tensor, grid: torch.Tensor | None = None
) -> tuple[float, float]:
    """The s of :func:`whitening_profile` that maximizes the Pearson correlation with
    ``measured``, searched on a log grid (default: 400 values spanning 10⁻³ to 10³ times
    1/λ_max² … 1/λ_min²); returns (s, correlation)."""
    lam = lambdas.double()
    if grid is None:
        lo, hi = 1e-3 / float(lam.max()) ** 2, 1e3 / float(lam.min()) ** 2
        grid = torch.logspace(torch.log10(torch.tensor(lo)), torch.log10(torch.tensor(hi)), 400)
    scores = [matrix_correlation(whitening_profile(lam, float(s)), measured) for s in grid]
    best = int(torch.tensor(scores).argmax())
    return float(grid[best]), scores[best]


def linear_cnn_filters(
    images: torch.Tensor,
    targets: torch.Tensor,
    filters: int,
    steps: int,
    lr: float,
    checkpoints: list[int],
    generator: torch.Generator,
    k: int = 3,
    init_std: float = 1e-4,
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Train the filters of a depth-2 linear CNN by full-batch gradient descent.

    The network is f(x) = A · vec(W ∗ x): ``filters`` k×k convolutions W (no padding,
    initialized N(0, init_std²)) and a fixed random read-out A with entries
    N(0, 1/(filters·P)) over the P positions; the loss is ½‖f(x) − y‖² averaged over the
    images (N, C, H, W), with ``targets`` (N, classes). Returns the initial filters and
    the filters after each step count in ``checkpoints``.
    """
    if images.ndim != 4 or targets.ndim != 2 or len(images) != len(targets):
        raise ValueError("need images (N, C, H, W) and targets (N, classes) of the same N")
    if lr <= 0 or steps < 1 or any(not 1 <= c <= steps for c in checkpoints):
        raise ValueError("need lr > 0, steps ≥ 1 and checkpoints between 1 and steps")
    c = images.shape[1]
    positions = (images.shape[2] - k + 1) * (images.shape[3] - k + 1)
    w = init_std * torch.randn(filters, c, k, k, generator=generator)
    readout = torch.randn(targets.shape[1], filters * positions, generator=generator)
    readout /= (filters * positions) ** 0.5
    initial, saved = w.clone(), {}
    for step in range(1, steps + 1):
        w.requires_grad_(True)
        residual = F.conv2d(images, w).flatten(1) @ readout.T - targets
        (grad,) = torch.autograd.grad(0.5 * residual.pow(2).sum(1).mean(), w)
        w = (w - lr * grad).detach()
        if step in checkpoints:
            saved[step] = w.clone()
    return initial, saved
