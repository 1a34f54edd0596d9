"""The shared linear algebra against independent references: reconstruction, scipy, closed forms."""

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.distance
import scipy.stats
import torch

from deepinside import linalg


def psd(d: int, rank: int | None = None, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, rank or d, generator=g, dtype=torch.float64)
    return a @ a.T


def test_eigh_desc_sorts_and_reconstructs():
    m = psd(6)
    values, vectors = linalg.eigh_desc(m)
    assert torch.all(values[:-1] >= values[1:])
    assert torch.allclose(vectors.T @ torch.diag(values) @ vectors, m)
    assert np.allclose(values.numpy(), scipy.linalg.eigvalsh(m.numpy())[::-1])


def test_sqrt_factor_reconstructs_and_drops_null_directions():
    m = psd(7, rank=3)
    factor = linalg.sqrt_factor(m)
    assert factor.shape == (3, 7) and factor.dtype == torch.float64
    assert torch.allclose(factor.T @ factor, m, atol=1e-10)


def test_matrix_power_against_scipy():
    m = psd(5)
    assert torch.allclose(linalg.matrix_power(m, 2), m @ m, atol=1e-10)
    root = linalg.matrix_power(m, 0.5)
    assert np.allclose(root.numpy(), scipy.linalg.sqrtm(m.numpy()).real, atol=1e-8)
    assert torch.allclose(root @ root, m, atol=1e-10)


def test_matrix_correlations_against_scipy():
    a, b = torch.randn(7, 7), torch.randn(7, 7)
    pearson = scipy.stats.pearsonr(a.flatten().numpy(), b.flatten().numpy())[0]
    cosine = 1 - scipy.spatial.distance.cosine(a.flatten().numpy(), b.flatten().numpy())
    assert linalg.matrix_correlation(a, b) == pytest.approx(pearson, abs=1e-6)
    assert linalg.matrix_correlation(a, b, centered=False) == pytest.approx(cosine, abs=1e-6)
    assert linalg.matrix_correlation(a, 3 * a + 1) == pytest.approx(1.0)
    off = ~np.eye(7, dtype=bool)
    pearson_off = scipy.stats.pearsonr(a.numpy()[off], b.numpy()[off])[0]
    got = linalg.matrix_correlation(a, b, off_diagonal=True)
    assert got == pytest.approx(pearson_off, abs=1e-6)
    # a shared diagonal makes the full correlation high, not the off-diagonal one
    big = 50 * torch.eye(7)
    assert linalg.matrix_correlation(a + big, b + big) > 0.9
    assert linalg.matrix_correlation(a + big, b + big, off_diagonal=True) == pytest.approx(got)
    with pytest.raises(ValueError, match="square"):
        linalg.matrix_correlation(torch.zeros(2, 3), torch.zeros(2, 3), off_diagonal=True)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="square"):
        linalg.eigh_desc(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="square"):
        linalg.sqrt_factor(torch.ones(2, 3))
    with pytest.raises(ValueError, match="non-finite"):
        linalg.sqrt_factor(torch.full((2, 2), float("nan")))
    with pytest.raises(ValueError, match="shapes"):
        linalg.matrix_correlation(torch.ones(2, 2), torch.ones(3, 3))
    with pytest.raises(ValueError, match="constant"):
        linalg.matrix_correlation(torch.ones(2, 2), torch.eye(2))
