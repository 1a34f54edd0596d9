"""Energy profiles: the patch moment against all patches at once, the profile against its
definition, the formula's limits, the fit, and one step of the linear CNN against plain math."""

import pytest
import torch
import torch.nn.functional as F

from deepinside import energy


def _images(seed=0):
    return torch.randn(7, 2, 6, 5, generator=torch.Generator().manual_seed(seed))


def test_patch_moment_matches_all_patches_at_once():
    x = _images()
    patches = F.unfold(x.double(), 3).permute(0, 2, 1).reshape(-1, 18)
    expected = patches.T @ patches / len(patches)
    torch.testing.assert_close(energy.patch_moment(x, 3, batch_size=3), expected)
    # conv-weight order: a filter's response is its dot product with the unfolded patch
    w = torch.randn(1, 2, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(F.conv2d(x.double(), w).flatten(), (patches @ w.flatten()))


def test_patch_pca_lambdas_are_rms_projections():
    x = _images(1)
    patches = F.unfold(x.double(), 3).permute(0, 2, 1).reshape(-1, 18)
    lambdas, basis = energy.patch_pca(energy.patch_moment(x, 3))
    torch.testing.assert_close(lambdas, (patches @ basis.T).pow(2).mean(0).sqrt())
    assert torch.all(lambdas[:-1] >= lambdas[1:])


def test_energy_profile_matches_its_definition():
    g = torch.Generator().manual_seed(2)
    w, w0 = torch.randn(5, 2, 3, 3, generator=g), torch.randn(5, 2, 3, 3, generator=g)
    basis = torch.linalg.qr(torch.randn(18, 18, generator=g, dtype=torch.float64)).Q.T
    e = torch.stack(
        [
            torch.sqrt(sum(((w[f] - w0[f]).double().flatten() @ u) ** 2 for f in range(5)) / 5)
            for u in basis
        ]
    )
    torch.testing.assert_close(energy.energy_profile(w, w0, basis), e / e.max())
    with pytest.raises(ValueError, match="basis"):
        energy.energy_profile(w, w0, basis[:, :9])


def test_whitening_profile_limits_and_fit():
    lambdas = torch.tensor([4.0, 2.0, 1.0, 0.5, 0.25], dtype=torch.float64)
    early = energy.whitening_profile(lambdas, 1e-6)
    torch.testing.assert_close(early, lambdas / lambdas.max(), rtol=1e-4, atol=0)
    late = energy.whitening_profile(lambdas, 1e6)
    torch.testing.assert_close(late, (1 / lambdas) / (1 / lambdas).max())
    s, corr = energy.fit_profile(lambdas, energy.whitening_profile(lambdas, 0.7))
    assert corr == pytest.approx(1.0, abs=1e-4) and s == pytest.approx(0.7, rel=0.05)
    with pytest.raises(ValueError, match="positive"):
        energy.whitening_profile(lambdas, 0.0)


def test_linear_cnn_step_is_the_least_squares_gradient():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 1, 5, 5, generator=g)
    y = torch.randn(4, 2, generator=g)
    w0, saved = energy.linear_cnn_filters(x, y, 3, 1, 0.1, [1], torch.Generator().manual_seed(4))
    # replay the random draws: filters, then the read-out
    replay = torch.Generator().manual_seed(4)
    w = 1e-4 * torch.randn(3, 1, 3, 3, generator=replay)
    a = torch.randn(2, 3 * 9, generator=replay) / 27**0.5
    torch.testing.assert_close(w0, w)
    patches = F.unfold(x, 3)  # (N, 9, P)
    z = torch.einsum("fd,ndp->nfp", w.reshape(3, 9), patches).flatten(1)  # (N, F·P)
    residual = z @ a.T - y
    grad_z = (residual @ a).reshape(4, 3, 9) / 4
    grad_w = torch.einsum("nfp,ndp->fd", grad_z, patches).reshape(3, 1, 3, 3)
    torch.testing.assert_close(saved[1], w - 0.1 * grad_w)
    with pytest.raises(ValueError, match="checkpoints"):
        energy.linear_cnn_filters(x, y, 3, 2, 0.1, [3], g)
