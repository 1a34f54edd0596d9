"""ConvRFM: patch kernels against direct formulas, closed-form gradients against autograd."""

import math

import pytest
import torch
import torch.nn.functional as F

from deepinside import rfm, tasks
from deepinside.linalg import sqrt_factor


def _metric(d: int, seed: int = 0) -> torch.Tensor:
    a = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T / d


def _direct(name: str, t: torch.Tensor, x: torch.Tensor, m: torch.Tensor, bandwidth: float):
    """K(t, x) from unfolded patches (P, d) of two images, in float64, from the formulas."""
    diff = t - x
    squared = torch.einsum("pi,ij,pj->p", diff, m, diff)
    if name == "laplace":  # a Laplace kernel at every position, averaged
        return torch.exp(-squared.sqrt() / bandwidth).mean()
    if name == "global_laplace":  # one Laplace kernel of the RMS distance
        return torch.exp(-squared.mean().sqrt() / bandwidth)
    dot = torch.einsum("pi,ij,pj->p", t, m, x)
    nt = torch.einsum("pi,ij,pj->p", t, m, t).sqrt()
    nx = torch.einsum("pi,ij,pj->p", x, m, x).sqrt()
    theta = torch.arccos((dot / (nt * nx)).clamp(-1, 1))
    return ((dot * (math.pi - theta) + ((nt * nx) ** 2 - dot**2).sqrt()) / math.pi).mean()


def _setup(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    train = torch.randn(6, 2, 6, 5, generator=g, dtype=torch.float64)
    x = torch.randn(3, 2, 6, 5, generator=g, dtype=torch.float64)
    m = _metric(18, seed)
    factor = sqrt_factor(m)
    return train, x, m, factor


@pytest.mark.parametrize("name", rfm.KERNELS)
def test_kernel_matrix_matches_direct_formula(name):
    train, x, m, factor = _setup()
    kernel = rfm.PatchKernel(name, q=3, bandwidth=2.0)
    got = kernel.matrix(rfm.metric_patches(x, factor, 3), rfm.metric_patches(train, factor, 3))
    pt, px = (F.unfold(v, 3).transpose(1, 2) for v in (train, x))
    want = torch.stack(
        [torch.stack([_direct(name, pt[j], px[i], m, 2.0) for j in range(6)]) for i in range(3)]
    )
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", rfm.KERNELS)
def test_patch_agop_matches_autograd(name):
    train, x, m, factor = _setup(1)
    kernel = rfm.PatchKernel(name, q=3, bandwidth=1.5)
    alpha = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    got = rfm.patch_agop(
        kernel,
        rfm.metric_patches(train, factor, 3),
        alpha,
        rfm.metric_patches(x, factor, 3),
        factor,
    )
    pt, px = (F.unfold(v, 3).transpose(1, 2) for v in (train, x))
    want = torch.zeros(18, 18, dtype=torch.float64)
    for i in range(3):
        z = px[i].clone().requires_grad_(True)
        for c in range(3):
            f = sum(alpha[j, c] * _direct(name, pt[j], z, m, 1.5) for j in range(6))
            (grad,) = torch.autograd.grad(f, z)
            want += grad.T @ grad
    assert torch.allclose(got, want / 3, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("name", ["laplace", "global_laplace"])
def test_median_bandwidth_is_the_median_train_distance(name):
    train, _, m, factor = _setup(4)
    u = rfm.metric_patches(train, factor, 3)
    kernel = rfm.PatchKernel(name, 3)
    with pytest.raises(ValueError, match="calibrated"):
        kernel.matrix(u, u)
    pt = F.unfold(train, 3).transpose(1, 2)
    distances = []
    for i in range(6):
        for j in range(i + 1, 6):
            squared = torch.einsum("pi,ij,pj->p", pt[i] - pt[j], m, pt[i] - pt[j])
            distances += squared.sqrt().tolist() if name == "laplace" else [squared.mean().sqrt()]
    want = torch.tensor(distances).median().item()  # the lower median, as torch's
    assert kernel.calibrated(u).bandwidth == pytest.approx(want, rel=1e-4)
    assert rfm.PatchKernel("relu", 3).calibrated(u).bandwidth == "median"  # no bandwidth there


def test_median_bandwidth_leaves_out_blank_patch_pairs():
    x = torch.zeros(6, 1, 12, 12)
    x[:, :, :3, :3] = torch.rand(6, 1, 3, 3, generator=torch.Generator().manual_seed(1))
    u = rfm.metric_patches(x, torch.eye(9), 3)  # 100 positions, 91 of them blank in every image
    kernel = rfm.PatchKernel("laplace", 3).calibrated(u)
    i, j = torch.triu_indices(6, 6, offset=1)
    distances = torch.cdist(u, u)[:, i, j]
    assert (distances == 0).float().mean() > 0.5  # the plain median would be 0
    assert kernel.bandwidth == pytest.approx(distances[distances > 0].median().item(), rel=1e-4)
    with pytest.raises(ValueError, match="identical"):
        rfm.PatchKernel("laplace", 3).calibrated(torch.zeros(100, 6, 9))


def test_relu_kernel_is_twice_the_relu_feature_expectation():
    a, b = torch.tensor([[1.0, 0.5, -0.3]]), torch.tensor([[0.2, -1.0, 0.4]])
    w = torch.randn(400_000, 3, generator=torch.Generator().manual_seed(0))
    monte_carlo = 2 * (F.relu(w @ a.T) * F.relu(w @ b.T)).mean()
    kernel = rfm.PatchKernel("relu", q=1)
    exact = kernel.matrix(a[:, None, :], b[:, None, :])  # one position, one image each
    assert exact.item() == pytest.approx(monte_carlo.item(), rel=0.02)


@pytest.mark.parametrize("name", rfm.KERNELS)
def test_kernel_matrix_is_positive_semidefinite(name):
    x = torch.randn(40, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    factor = sqrt_factor(_metric(9).float())
    u = rfm.metric_patches(x, factor, 3)
    k = rfm.PatchKernel(name, 3).calibrated(u).matrix(u, u)
    assert torch.allclose(k, k.T, atol=1e-5)
    assert torch.linalg.eigvalsh(k).min() > -1e-5 * k.abs().max()


def test_metric_patches_match_unfolded_patches_and_skip_null_directions():
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    v = torch.randn(27, 4, dtype=torch.float64)
    m = v @ v.T  # rank 4
    factor = sqrt_factor(m)
    assert factor.shape == (4, 27)
    u = rfm.metric_patches(x, factor, 3)  # (P, N, r)
    patches = F.unfold(x, 3).transpose(1, 2)  # (N, P, d)
    norms = torch.einsum("npi,ij,npj->pn", patches, m, patches)
    assert torch.allclose(u.double().pow(2).sum(-1), norms.float().double(), rtol=1e-4)


def test_ridge_solutions_solve_the_regularized_system():
    a = torch.randn(12, 12, dtype=torch.float64)
    k, y = a @ a.T, torch.randn(12, 2, dtype=torch.float64)
    for ridge, alpha in zip((1e-3, 1.0), rfm.ridge_solutions(k, y, (1e-3, 1.0))):
        assert torch.allclose(
            (k + ridge * torch.eye(12, dtype=torch.float64)) @ alpha, y, atol=1e-8
        )


def test_conv_rfm_learns_the_bar_direction_and_beats_the_fixed_kernel():
    g = torch.Generator().manual_seed(0)
    train, val, test = (tasks.bars_in_noise(n, 1.5, g) for n in (400, 200, 400))
    result = rfm.conv_rfm(train, val, rfm.PatchKernel("laplace", 3), iterations=2, report=test)
    assert len(result.metrics) == len(result.val_accuracy) == len(result.report_accuracy) == 3
    assert all(len(row) == len(rfm.RIDGES) for row in result.val_accuracy)
    assert result.metrics[1].trace().item() == pytest.approx(9.0)  # trace-d normalization
    top = torch.linalg.eigh(result.metrics[1]).eigenvectors[:, -1].abs()
    assert torch.allclose(
        top, torch.full((9,), 1 / 3, dtype=torch.float64), atol=0.1
    )  # constant sign
    assert result.report_accuracy[result.best[0]] > result.report_accuracy[0]
    assert result.accuracy(test) == pytest.approx(result.report_accuracy[result.best[0]])


def test_deep_conv_rfm_shapes_and_report():
    g = torch.Generator().manual_seed(0)
    train, val, test = (tasks.bars_in_noise(n, 1.0, g) for n in (120, 60, 60))
    deep = rfm.deep_conv_rfm(
        train,
        val,
        rfm.PatchKernel("laplace", 3),
        layers=2,
        width=4,
        generator=g,
        report=test,
        iterations=1,
    )
    assert len(deep.stages) == 2 and len(deep.filters) == 1
    assert deep.filters[0].shape == (4, 1, 3, 3)
    assert deep.features(test.x).shape == (60, 4, 14, 30)
    assert len(deep.report_accuracy) == 2
    assert deep.accuracy(test, stage=1) == pytest.approx(deep.report_accuracy[1])


def test_errors():
    with pytest.raises(ValueError, match="unknown patch kernel"):
        rfm.PatchKernel("gauss")
    with pytest.raises(ValueError, match="positive integer"):
        rfm.PatchKernel("laplace", q=0)
    with pytest.raises(ValueError, match="bandwidth"):
        rfm.PatchKernel("laplace", bandwidth=0)
    with pytest.raises(ValueError, match="bandwidth"):
        rfm.PatchKernel("laplace", bandwidth="mean")
    with pytest.raises(ValueError, match="columns"):
        rfm.metric_patches(torch.zeros(1, 2, 5, 5), torch.eye(9), 3)
    with pytest.raises(ValueError, match="smaller"):
        rfm.metric_patches(torch.zeros(1, 1, 2, 2), torch.eye(9), 3)
    with pytest.raises(ValueError, match="ridges"):
        rfm.ridge_solutions(torch.eye(2), torch.zeros(2, 1), (0.0,))
    g = torch.Generator().manual_seed(0)
    bars = tasks.bars_in_noise(10, 1.0, g)
    with pytest.raises(ValueError, match="iterations"):
        rfm.conv_rfm(bars, bars, iterations=-1)
    with pytest.raises(ValueError, match="layers"):
        rfm.deep_conv_rfm(bars, bars, layers=0)
