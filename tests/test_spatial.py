"""Spatial covariances of conv filters against brute force; the subspace overlap's extremes
and its random baseline."""

import math

import pytest
import torch

from deepinside import spatial


def test_spatial_covariance_matches_a_loop_over_channels():
    w = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    expected = (
        sum(
            torch.outer(w[o, i].flatten(), w[o, i].flatten()).double()
            for o in range(4)
            for i in range(3)
        )
        / 12
    )
    torch.testing.assert_close(spatial.spatial_covariance(w), expected)


def test_spatial_eigenvectors_diagonalize_the_covariance_with_fixed_signs():
    w = torch.randn(6, 2, 3, 3, generator=torch.Generator().manual_seed(1))
    values, images = spatial.spatial_eigenvectors(w)
    c = spatial.spatial_covariance(w)
    vectors = images.reshape(9, 9)
    torch.testing.assert_close(vectors @ c @ vectors.T, torch.diag(values))
    assert torch.all(values[:-1] >= values[1:])
    largest = vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True))
    assert torch.all(largest > 0)


def test_top_share():
    assert spatial.top_share(torch.tensor([1.0, 3.0, 4.0, 2.0]), 2) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="r must"):
        spatial.top_share(torch.ones(4), 5)


def test_resample_keeps_the_field_of_view_and_unit_norm():
    constant = torch.ones(1, 3, 3)
    out = spatial.resample(constant, 5)
    torch.testing.assert_close(out, torch.full((1, 5, 5), 0.2, dtype=torch.float64))
    ramp = torch.arange(3.0).expand(3, 3)[None]  # 0, 1, 2 along columns
    out = spatial.resample(ramp, 5)[0]
    assert torch.allclose(out[:, 0], torch.zeros(5, dtype=torch.float64))
    assert torch.allclose(out[:, 2] * 2, out[:, 4])  # linear in between
    images = torch.randn(2, 4, 4)
    torch.testing.assert_close(
        spatial.resample(images, 4),
        images.double() / images.double().norm(dim=(1, 2), keepdim=True),
    )


def test_subspace_overlap_extremes_and_random_baseline():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(3, 25, generator=g, dtype=torch.float64)
    mix = torch.randn(3, 3, generator=g, dtype=torch.float64)
    assert spatial.subspace_overlap(a, mix @ a) == pytest.approx(1.0)
    e = torch.eye(6, dtype=torch.float64)
    assert spatial.subspace_overlap(e[:2], e[2:4]) == pytest.approx(0.0)
    draws = [
        spatial.subspace_overlap(torch.randn(3, 25, generator=g), torch.randn(3, 25, generator=g))
        for _ in range(400)
    ]
    assert sum(draws) / len(draws) == pytest.approx(3 / 25, abs=0.01)
    with pytest.raises(ValueError, match="same number"):
        spatial.subspace_overlap(a, a[:2])


def test_universal_eigenvectors_pool_trace_normalized_layers():
    g = torch.Generator().manual_seed(1)
    w1, w2 = torch.randn(4, 3, 3, 3, generator=g), 10 * torch.randn(2, 5, 3, 3, generator=g)
    values, images = spatial.universal_eigenvectors([w1, w2])
    c = [spatial.spatial_covariance(w) for w in (w1, w2)]
    pooled = (c[0] / c[0].trace() + c[1] / c[1].trace()) / 2
    vectors = images.reshape(9, 9)
    torch.testing.assert_close(vectors @ pooled @ vectors.T, torch.diag(values))
    assert values.sum().item() == pytest.approx(1.0)


def test_neighbour_correlation_of_a_known_covariance():
    # an exponential kernel on a 3×3 grid: adjacent pixels correlate at exactly 0.5
    k = 3
    yx = torch.stack(torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij"), -1)
    d = (yx.reshape(-1, 1, 2) - yx.reshape(1, -1, 2)).abs().sum(-1).double()
    cov = 0.5**d * 4.0  # variance 4, correlation 0.5^(city-block distance)
    assert spatial.neighbour_correlation(cov) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="covariance"):
        spatial.neighbour_correlation(torch.eye(5))


def test_smooth_filters_correlate_as_a_gaussian_smoothing_predicts():
    g = torch.Generator().manual_seed(0)
    for width in (1.0, 2.0):
        filters = spatial.smooth_filters(20000, 5, width, g)
        cov = spatial.spatial_covariance(filters[:, None])
        expected = math.exp(-1 / (4 * width**2))
        assert spatial.neighbour_correlation(cov) == pytest.approx(expected, abs=0.02)
    with pytest.raises(ValueError, match="width"):
        spatial.smooth_filters(3, 3, 0.0, g)


def test_smooth_null_matches_the_neighbour_correlation_of_the_weights():
    g = torch.Generator().manual_seed(1)
    weight = spatial.smooth_filters(4000, 5, 1.5, g).reshape(200, 20, 5, 5)
    null = spatial.smooth_null(weight, g)
    assert null.shape == weight.shape
    target = spatial.neighbour_correlation(spatial.spatial_covariance(weight))
    assert spatial.neighbour_correlation(spatial.spatial_covariance(null)) == pytest.approx(
        target, abs=0.02
    )
    # white weights give a nearly white null
    white = spatial.smooth_null(torch.randn(100, 40, 3, 3, generator=g), g)
    assert abs(spatial.neighbour_correlation(spatial.spatial_covariance(white))) < 0.05


def test_spread_of_a_point_and_of_a_ring():
    centre = torch.zeros(5, 5)
    centre[2, 2] = 1.0
    assert spatial.spread(centre) == 0.0
    corners = torch.zeros(3, 3)
    corners[0, 0] = corners[2, 2] = 1.0
    assert spatial.spread(corners) == pytest.approx(math.sqrt(2))
    assert spatial.spread(torch.ones(4, 4)) == pytest.approx(math.sqrt(2 * 1.25))
