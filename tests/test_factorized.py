"""Factorized networks, the normalized Bures similarity (against scipy's sqrtm), pooled spatial
eigenvectors and class selection."""

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm
from torch import nn

from deepinside import data, models, spatial
from deepinside.alignment import random_orthogonal
from deepinside.covariance import bures_similarity


def _psd(d, seed, rank=None):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, rank or d, generator=g, dtype=torch.float64)
    return a @ a.T


def test_bures_similarity_matches_scipy_and_its_invariances():
    a, b = _psd(6, 0), _psd(6, 1, rank=3)
    root = sqrtm(a.numpy())
    expected = np.trace(sqrtm(root @ b.numpy() @ root)).real / np.sqrt(np.trace(a.numpy()) * np.trace(b.numpy()))
    assert bures_similarity(a, b) == pytest.approx(expected, rel=1e-6)
    assert bures_similarity(a, 3.0 * a) == pytest.approx(1.0)
    q = random_orthogonal(6, 6, torch.Generator().manual_seed(2)).double()
    assert bures_similarity(q @ a @ q.T, 5 * q @ b @ q.T) == pytest.approx(bures_similarity(a, b))
    assert bures_similarity(b, a) == pytest.approx(bures_similarity(a, b))
    # commuting (diagonal) matrices: Σ√(a_i b_i) / √(Σa Σb); orthogonal supports give 0
    da, db = torch.tensor([1.0, 4.0, 0.0]), torch.tensor([4.0, 1.0, 0.0])
    assert bures_similarity(torch.diag(da), torch.diag(db)) == pytest.approx(4 / 5)
    assert bures_similarity(torch.diag(torch.tensor([1.0, 0.0])), torch.diag(torch.tensor([0.0, 1.0]))) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="differ"):
        bures_similarity(a, b[:3, :3])


def test_factorized_network_freezes_the_same_filters_on_every_channel():
    filters = torch.randn(4, 3, 3, generator=torch.Generator().manual_seed(0))
    net = models.factorized([8, "M", 6], filters, in_channels=2, image_size=8, num_classes=3)
    depthwise = [m for m in net if isinstance(m, nn.Conv2d) and not m.weight.requires_grad]
    assert [d.weight.shape for d in depthwise] == [(8, 1, 3, 3), (32, 1, 3, 3)]
    torch.testing.assert_close(depthwise[1].weight[4 * 5: 4 * 6, 0], filters)  # channel 5's block
    assert models.pointwise_layers(net) == [2, 6]
    x = torch.randn(5, 2, 8, 8)
    assert net(x).shape == (5, 3)
    # channel c's maps are the frozen filters applied to channel c alone
    torch.testing.assert_close(net[0](x)[:, 4:8], nn.functional.conv2d(x[:, 1:2], filters[:, None], padding=1))
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"2.weight", "6.weight", "8.weight"}
    with pytest.raises(ValueError, match="filters"):
        models.factorized([8], torch.randn(4, 2, 2), 1, 8)


def test_universal_eigenvectors_pool_trace_normalized_layers():
    g = torch.Generator().manual_seed(1)
    w1, w2 = torch.randn(4, 3, 3, 3, generator=g), 10 * torch.randn(2, 5, 3, 3, generator=g)
    values, images = spatial.universal_eigenvectors([w1, w2])
    c = [spatial.spatial_covariance(w) for w in (w1, w2)]
    pooled = (c[0] / c[0].trace() + c[1] / c[1].trace()) / 2
    vectors = images.reshape(9, 9)
    torch.testing.assert_close(vectors @ pooled @ vectors.T, torch.diag(values))
    assert values.sum().item() == pytest.approx(1.0)


def test_with_classes_keeps_and_relabels():
    images = data.ImageSet("toy", torch.zeros(6, 1, 2, 2), torch.tensor([0, 1, 2, 1, 0, 2]), ("a", "b", "c"))
    picked = images.with_classes([2, 0], "toy 2")
    assert picked.y.tolist() == [1, 0, 1, 0] and picked.classes == ("c", "a") and picked.name == "toy 2"
    with pytest.raises(ValueError, match="classes"):
        images.with_classes([3], "bad")
