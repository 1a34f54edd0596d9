"""The formulas of the covariance module against independent references."""

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.linalg import sqrtm
from torch import nn

from deepinside import covariance as cov
from deepinside import models
from deepinside.alignment import random_orthogonal
from deepinside.covariance import bures_similarity
from deepinside.data import ImageSet
from deepinside.linalg import eigh_desc


def random_images(n=37, shape=(1, 12, 12), classes=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ImageSet(
        "random",
        torch.randn(n, *shape, generator=g),
        torch.randint(0, classes, (n,), generator=g),
        tuple(map(str, range(classes))),
    )


def test_streaming_covariance_equals_full_batch_for_an_mlp():
    images = random_images()
    net = models.mlp([144, 20, 15, 10])
    streamed = cov.activation_covariances(net, images, [2, 4], batch_size=5)
    with torch.no_grad():
        h1 = torch.relu(images.x.flatten(1) @ net[1].weight.T)
        h2 = torch.relu(h1 @ net[3].weight.T)
    for full, s in zip([h1, h2], streamed):
        full = full.double()
        assert torch.allclose(s, full.T @ full / len(images), atol=1e-10)


def test_conv_covariance_counts_positions_as_samples():
    images = random_images(n=9)
    net = models.cnn([1, 6, 4], image_size=12, kernel_size=3, stride=1)
    (streamed,) = cov.activation_covariances(net, images, [1], batch_size=2)
    with torch.no_grad():
        a = net[1](net[0](images.x)).double()  # (B, C, H, W)
    samples = np.concatenate(
        [
            a[b, :, i, j].numpy()[None]
            for b in range(a.shape[0])
            for i in range(a.shape[2])
            for j in range(a.shape[3])
        ]
    )
    np.testing.assert_allclose(streamed.numpy(), samples.T @ samples / len(samples), atol=1e-10)


def brute_force_covariance(activation):
    """E[φφᵀ] over every (image, position) sample, from an explicit list of samples."""
    a = activation.double()
    if a.ndim == 2:
        samples = a.numpy()
    else:
        samples = np.stack(
            [
                a[b, :, i, j].numpy()
                for b in range(a.shape[0])
                for i in range(a.shape[2])
                for j in range(a.shape[3])
            ]
        )
    return samples.T @ samples / len(samples)


def test_several_conv_layers_in_one_call_each_divided_by_its_own_sample_count():
    # Two conv layers with different spatial sizes (10×10, then 8×8) in one call: each layer
    # must be averaged over its own positions, as one call per layer and a brute force do.
    images = random_images(n=7)
    net = models.cnn([1, 6, 4], image_size=12, kernel_size=3, stride=1)
    together = cov.activation_covariances(net, images, [1, 3], batch_size=3)
    alone = [cov.activation_covariances(net, images, [i], batch_size=3)[0] for i in (1, 3)]
    with torch.no_grad():
        h1 = net[:2](images.x)
        h2 = net[:4](images.x)
    assert h1.shape[-1] != h2.shape[-1]
    for c, single, h in zip(together, alone, (h1, h2)):
        np.testing.assert_allclose(c.numpy(), single.numpy(), atol=1e-12)
        np.testing.assert_allclose(c.numpy(), brute_force_covariance(h), atol=1e-10)


def test_centered_covariance_is_numpys_biased_covariance():
    images = random_images()
    net = models.cnn([1, 6, 4], image_size=12, kernel_size=3, stride=1)
    (c,) = cov.activation_covariances(net, images, [3], centered=True, batch_size=4)
    with torch.no_grad():
        samples = cov.as_samples(net[:4](images.x)).double().numpy()
    np.testing.assert_allclose(c.numpy(), np.cov(samples.T, bias=True), atol=1e-10)


def test_centered_cross_covariance():
    images = random_images()
    a, b = models.mlp([144, 8, 10]), models.mlp([144, 5, 10])
    (cross,) = cov.activation_covariances(a, images, [2], other=b, centered=True, batch_size=6)
    with torch.no_grad():
        pa = torch.relu(images.x.flatten(1) @ a[1].weight.T).double().numpy()
        pb = torch.relu(images.x.flatten(1) @ b[1].weight.T).double().numpy()
    expected = np.cov(pa.T, pb.T, bias=True)[:8, 8:]
    np.testing.assert_allclose(cross.numpy(), expected, atol=1e-6)  # float32 forward passes


def test_cross_covariance_needs_the_same_number_of_samples():
    images = random_images(n=4)
    net = models.cnn([1, 6, 4], image_size=12, kernel_size=3, stride=1)
    with pytest.raises(ValueError, match="spatial size"):
        cov.activation_covariances(net, images, [1], other_layers=[3])


def test_cross_covariance_between_two_networks():
    images = random_images()
    a, b = models.mlp([144, 8, 10]), models.mlp([144, 5, 10])
    (cross,) = cov.activation_covariances(a, images, [2], other=b, batch_size=4)
    with torch.no_grad():
        pa = torch.relu(images.x.flatten(1) @ a[1].weight.T).double()
        pb = torch.relu(images.x.flatten(1) @ b[1].weight.T).double()
    assert cross.shape == (8, 5)
    assert torch.allclose(cross, pa.T @ pb / len(images), atol=1e-10)


def test_covariance_argument_errors():
    with pytest.raises(ValueError, match="other_layers"):
        cov.activation_covariances(
            models.mlp([144, 8, 10]), random_images(), [2], other_layers=[2, 2]
        )
    with pytest.raises(ValueError, match="layers"):
        cov.activation_covariances(models.mlp([144, 8, 10]), random_images(), [7])
    with pytest.raises(TypeError, match="Sequential"):
        cov.representations(nn.Linear(3, 3), torch.zeros(1, 3), [0])
    with pytest.raises(ValueError, match="shape"):
        cov.as_samples(torch.zeros(2, 3, 4))


def test_conv_weight_matrix_uses_the_order_of_unfold():
    conv = nn.Conv2d(3, 5, 3, bias=False)
    x = torch.randn(2, 3, 7, 7)
    patches = nn.functional.unfold(x, 3)  # (B, C_in*9, positions)
    expected = (cov.weight_matrix(conv) @ patches).reshape(2, 5, 5, 5)
    assert torch.allclose(conv(x), expected, atol=1e-5)


def test_weight_covariance_and_spectrum_agree():
    w = torch.randn(30, 12)
    c = cov.weight_covariance(w)
    assert torch.allclose(c, w.double().T @ w.double() / 30)
    values, vectors = cov.weight_spectrum(w)
    ref = np.sort(np.linalg.eigvalsh(c.numpy()))[::-1]
    np.testing.assert_allclose(values.numpy(), ref, rtol=1e-10, atol=1e-12)
    assert torch.allclose(vectors @ c @ vectors.T, torch.diag(values), atol=1e-10)


def test_weight_spectrum_of_a_wide_layer_keeps_the_nonzero_eigenvalues():
    values, vectors = cov.weight_spectrum(torch.randn(10, 40))  # rank 10 < d = 40
    assert values.shape == (10,) and vectors.shape == (10, 40)


def test_participation_ratio_closed_forms():
    assert cov.participation_ratio(torch.ones(7)) == pytest.approx(7)
    assert cov.participation_ratio(torch.tensor([3.0, 0, 0])) == pytest.approx(1)


@pytest.mark.parametrize("ratio", [0.25, 0.5, 1.0, 2.0, 4.0])
def test_marchenko_pastur_moments(ratio):
    variance = 0.3
    lo, hi = cov.mp_support(ratio, variance)
    moment = lambda k: integrate.quad(
        lambda x: x**k * cov.mp_density(x, ratio, variance), lo, hi, limit=200
    )[0]
    assert moment(0) == pytest.approx(min(1, 1 / ratio), rel=1e-4)  # mass of the continuous part
    assert moment(1) == pytest.approx(variance, rel=1e-4)  # E[λ] = σ² (zeros add nothing)
    assert moment(2) == pytest.approx(variance**2 * (1 + ratio), rel=1e-4)  # E[λ²] = σ⁴(1 + γ)


@pytest.mark.parametrize("n, d", [(2000, 500), (600, 1200)])
def test_marchenko_pastur_matches_a_large_random_matrix(n, d):
    variance = 0.05
    w = variance**0.5 * torch.randn(n, d, generator=torch.Generator().manual_seed(1))
    values, _ = cov.weight_spectrum(w)
    expected = cov.mp_expected_spectrum(len(values), d / n, variance)
    lo, hi = cov.mp_support(d / n, variance)
    assert np.max(np.abs(values.numpy() - expected)) < 0.03 * hi
    assert cov.count_outside_bulk(values, d / n, variance) <= 2


def test_spikes_are_counted_outside_the_bulk():
    n, d, variance = 1000, 400, 1.0
    g = torch.Generator().manual_seed(2)
    spikes = torch.linalg.qr(torch.randn(d, 3, generator=g))[0].T  # 3 orthonormal directions
    w = torch.randn(n, d, generator=g) + torch.randn(n, 3, generator=g) @ (3 * spikes)
    values, _ = cov.weight_spectrum(w)
    assert cov.count_outside_bulk(values, d / n, variance) == 3


def test_marchenko_pastur_bad_arguments():
    with pytest.raises(ValueError):
        cov.mp_support(0, 1)
    with pytest.raises(ValueError):
        cov.mp_density(1.0, 1.0, -1)
    with pytest.raises(ValueError):
        cov.mp_expected_spectrum(0, 1, 1)


def test_projector_is_an_orthogonal_projection():
    basis = torch.linalg.qr(torch.randn(8, 8))[0].T
    p = cov.projector(basis, 3)
    assert torch.allclose(p @ p, p, atol=1e-6) and torch.allclose(p, p.T)
    assert torch.trace(p).item() == pytest.approx(3, abs=1e-5)
    assert torch.allclose(cov.projector(basis, 8), torch.eye(8), atol=1e-5)
    with pytest.raises(ValueError, match="rank"):
        cov.projector(basis, 9)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_clipping_at_full_rank_changes_nothing(kind):
    images = random_images(n=200)
    net = (
        models.mlp([144, 30, 20, 10]) if kind == "mlp" else models.cnn([1, 6, 8], 12, kernel_size=3)
    )
    with torch.no_grad():
        reference = 100.0 * (net(images.x).argmax(-1) == images.y).float().mean().item()
    for on, layer in (
        ("weights", models.weight_layers(net)[1]),
        ("activations", models.hidden_layers(net)[0]),
    ):
        if on == "weights":
            _, basis = eigh_desc(cov.weight_covariance(net[layer]))
        else:
            _, basis = eigh_desc(cov.activation_covariances(net, images, [layer])[0])
        full = basis.shape[0]
        acc = cov.clipping_curve(net, images, layer, basis.float(), [0, full], on=on)
        assert acc[1] == pytest.approx(reference)


def test_weight_clipping_projects_every_neuron():
    images = random_images(n=50)
    net = models.mlp([144, 16, 10])
    basis = torch.linalg.qr(torch.randn(144, 144))[0].T
    clipped = cov._with_projected_weight(net[1], cov.projector(basis, 4))
    assert torch.linalg.matrix_rank(clipped.weight.detach()).item() == 4
    with pytest.raises(ValueError, match="on must be"):
        cov.clipping_curve(net, images, 1, basis, [1], on="neurons")


def _psd(d, seed, rank=None):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, rank or d, generator=g, dtype=torch.float64)
    return a @ a.T


def test_bures_similarity_matches_scipy_and_its_invariances():
    a, b = _psd(6, 0), _psd(6, 1, rank=3)
    root = sqrtm(a.numpy())
    expected = np.trace(sqrtm(root @ b.numpy() @ root)).real / np.sqrt(
        np.trace(a.numpy()) * np.trace(b.numpy())
    )
    assert bures_similarity(a, b) == pytest.approx(expected, rel=1e-6)
    assert bures_similarity(a, 3.0 * a) == pytest.approx(1.0)
    q = random_orthogonal(6, 6, torch.Generator().manual_seed(2)).double()
    assert bures_similarity(q @ a @ q.T, 5 * q @ b @ q.T) == pytest.approx(bures_similarity(a, b))
    assert bures_similarity(b, a) == pytest.approx(bures_similarity(a, b))
    # commuting (diagonal) matrices: Σ√(a_i b_i) / √(Σa Σb); orthogonal supports give 0
    da, db = torch.tensor([1.0, 4.0, 0.0]), torch.tensor([4.0, 1.0, 0.0])
    assert bures_similarity(torch.diag(da), torch.diag(db)) == pytest.approx(4 / 5)
    assert bures_similarity(
        torch.diag(torch.tensor([1.0, 0.0])), torch.diag(torch.tensor([0.0, 1.0]))
    ) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="differ"):
        bures_similarity(a, b[:3, :3])
