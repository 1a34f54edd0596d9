import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes

from deepinside import alignment as al


def test_procrustes_matches_scipy_and_is_orthogonal():
    g = torch.Generator().manual_seed(0)
    phi, psi = (
        torch.randn(500, 6, generator=g, dtype=torch.float64),
        torch.randn(500, 6, generator=g, dtype=torch.float64),
    )
    cross = psi.T @ phi / 500  # E[ψ φᵀ]
    a = al.orthogonal_alignment(cross)
    r, _ = orthogonal_procrustes(phi.numpy(), psi.numpy())  # argmin ‖φ R − ψ‖, so A = Rᵀ
    np.testing.assert_allclose(a.numpy(), r.T, atol=1e-10)
    assert torch.allclose(a.T @ a, torch.eye(6, dtype=torch.float64), atol=1e-10)


def test_r2_is_one_for_a_rotated_copy_and_matches_the_residual_identity():
    g = torch.Generator().manual_seed(1)
    phi = torch.randn(1000, 5, generator=g, dtype=torch.float64)
    q = al.random_orthogonal(5, 5, g)
    psi = phi @ q.T
    cross, e_phi, e_psi = psi.T @ phi / 1000, (phi**2).sum(1).mean(), (psi**2).sum(1).mean()
    a = al.orthogonal_alignment(cross)
    assert torch.allclose(a, q, atol=1e-8)
    assert al.r2(a, cross, e_phi, e_psi) == pytest.approx(1)
    noisy = psi + 0.5 * torch.randn(1000, 5, generator=g, dtype=torch.float64)
    cross, e_psi = noisy.T @ phi / 1000, (noisy**2).sum(1).mean()
    a = al.orthogonal_alignment(cross)
    residual = ((phi @ a.T - noisy) ** 2).sum(1).mean()
    trace_s = torch.linalg.svdvals(cross).sum()
    assert residual == pytest.approx(e_phi + e_psi - 2 * trace_s)  # E‖Aφ−ψ‖² = E‖φ‖²+E‖ψ‖²−2 tr S
    assert 0 < al.r2(a, cross, e_phi, e_psi) < 1


def test_optimal_alignment_beats_any_other_orthogonal_matrix():
    g = torch.Generator().manual_seed(2)
    cross = torch.randn(4, 4, generator=g, dtype=torch.float64)
    best = al.r2(al.orthogonal_alignment(cross), cross, 1.0, 1.0)
    for _ in range(50):
        assert al.r2(al.random_orthogonal(4, 4, g), cross, 1.0, 1.0) <= best + 1e-12


def test_alignment_between_different_widths():
    cross = torch.randn(7, 3, dtype=torch.float64)  # ψ has 7 dims, φ has 3
    a = al.orthogonal_alignment(cross)
    assert a.shape == (7, 3) and torch.allclose(
        a.T @ a, torch.eye(3, dtype=torch.float64), atol=1e-10
    )
    assert al.random_orthogonal(7, 3).shape == (7, 3) and al.random_orthogonal(3, 7).shape == (3, 7)


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="2-dimensional"):
        al.orthogonal_alignment(torch.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        al.r2(torch.eye(3), torch.zeros(3, 4), 1.0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        al.r2(torch.eye(3), torch.eye(3), 0.0, 1.0)
    with pytest.raises(ValueError, match="same samples"):
        al.linear_cka(torch.zeros(5, 2), torch.zeros(4, 2))


def test_linear_cka_equals_the_kernel_formula_and_has_its_invariances():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(60, 8, generator=g, dtype=torch.float64)
    y = x @ torch.randn(8, 5, generator=g, dtype=torch.float64) + torch.randn(
        60, 5, generator=g, dtype=torch.float64
    )
    h = torch.eye(60, dtype=torch.float64) - 1 / 60
    hsic = lambda a, b: torch.trace(a @ h @ b @ h)
    kx, ky = x @ x.T, y @ y.T
    reference = hsic(kx, ky) / torch.sqrt(hsic(kx, kx) * hsic(ky, ky))
    assert al.linear_cka(x, y) == pytest.approx(float(reference))
    q = al.random_orthogonal(8, 8, g)
    assert al.linear_cka(3 * x @ q + 1, y) == pytest.approx(al.linear_cka(x, y))
    assert al.linear_cka(x, x) == pytest.approx(1)


def test_subspace_overlap_is_the_mean_squared_cosine_of_scipys_principal_angles():
    from scipy.linalg import subspace_angles

    g = torch.Generator().manual_seed(3)
    a, b = al.random_orthogonal(4, 30, g), al.random_orthogonal(4, 30, g)
    angles = subspace_angles(a.numpy().T, b.numpy().T)
    assert al.subspace_overlap(a, b) == pytest.approx(np.mean(np.cos(angles) ** 2), abs=1e-12)
    mixed = al.random_orthogonal(4, 4, g) @ a  # another basis of the same subspace
    assert al.subspace_overlap(a, mixed) == pytest.approx(1)
    with pytest.raises(ValueError, match="shape"):
        al.subspace_overlap(a, b[:3])


def test_subspace_overlap_of_random_subspaces_averages_k_over_d():
    g = torch.Generator().manual_seed(4)
    values = [
        al.subspace_overlap(al.random_orthogonal(5, 40, g), al.random_orthogonal(5, 40, g))
        for _ in range(2000)
    ]
    assert np.mean(values) == pytest.approx(5 / 40, rel=0.05)


def test_subspace_overlap_of_empty_subspaces_is_refused():
    with pytest.raises(ValueError, match="no row"):
        al.subspace_overlap(torch.zeros(0, 5), torch.zeros(0, 5))
