"""Input inversion: gradient descent against its closed form on linear maps, the blur against
scipy, the distances against their definitions, exact inversion and the ResNet stages."""

import numpy as np
import pytest
import torch
from scipy.linalg import null_space
from scipy.ndimage import gaussian_filter
from torch import nn

from deepinside import data, inversion, models


def _linear_embed(rows: int, d: int, seed: int = 0) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    layer = nn.Linear(d, rows, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(rows, d, generator=g, dtype=torch.float64) / d**0.5)
    return nn.Sequential(nn.Flatten(), layer)


def _image(shape=(2, 3, 4), seed: int = 1) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_gaussian_blur_matches_scipy_with_mirrored_borders():
    x = torch.rand(2, 3, 7, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for sigma in (0.4, 1.0, 2.4):
        ours = inversion.blur(x, sigma).numpy()
        theirs = np.stack(
            [
                [gaussian_filter(c, sigma, mode="mirror", truncate=1 / sigma) for c in im]
                for im in x.numpy()
            ]
        )
        np.testing.assert_allclose(ours, theirs, atol=1e-12)
    assert torch.isclose(
        inversion.gaussian_kernel(1.3).sum(), torch.tensor(1.0, dtype=torch.float64)
    )


def test_linear_schedule_starts_at_start_and_heads_to_end():
    s = inversion.linear_schedule(1.0, 0.0, 4)
    assert s.tolist() == [1.0, 0.75, 0.5, 0.25]


def test_l2_descent_follows_its_closed_form_on_a_linear_map():
    """Constant step η on ½‖J a − J a*‖²: a_n − a* = (I − η JᵀJ)ⁿ (a_0 − a*)."""
    target, embed = _image(), _linear_embed(10, 24)
    j = embed[1].weight.detach()
    start = 0.7 + 0.05 * torch.randn(
        target.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    )
    lr, steps = 0.3, 25
    r = inversion.invert(
        embed, target, steps, lr, lr_end=lr, loss="l2", clamp=None, start=start, record_every=5
    )
    step = torch.eye(24, dtype=torch.float64) - lr * j.T @ j
    expected = (
        target.flatten() + torch.linalg.matrix_power(step, steps) @ (start - target).flatten()
    )
    torch.testing.assert_close(r.image.flatten(), expected)
    assert r.steps.tolist() == [0, 5, 10, 15, 20, 25]
    torch.testing.assert_close(r.m_i[-1], torch.linalg.vector_norm(expected - target.flatten()))
    torch.testing.assert_close(
        r.m_g[-1], torch.linalg.vector_norm(j @ (expected - target.flatten()))
    )


def test_l1_step_is_a_sign_step_and_normalize_sets_the_pixel_rms():
    target, embed = _image(), _linear_embed(30, 24)
    j = embed[1].weight.detach()
    start = torch.full(target.shape, 0.7, dtype=torch.float64)
    r = inversion.invert(embed, target, 1, 0.01, lr_end=0.01, clamp=None, start=start)
    grad = j.T @ torch.sign(j @ (start - target).flatten())
    torch.testing.assert_close(r.image.flatten(), start.flatten() - 0.01 * grad)
    r = inversion.invert(embed, target, 1, 0.01, clamp=None, start=start, normalize=True)
    rms = (r.image - start).pow(2).mean().sqrt()
    torch.testing.assert_close(rms, torch.tensor(0.01, dtype=torch.float64))


def test_under_complete_descent_stalls_at_the_null_space_distance_over_complete_recovers():
    target = _image()
    for rows, expect_zero in ((12, False), (48, True)):
        embed = _linear_embed(rows, 24)
        j = embed[1].weight.detach()
        g = torch.Generator().manual_seed(5)
        start = 0.7 + 0.05 * torch.randn(target.shape, generator=g, dtype=torch.float64)
        lr = 1 / torch.linalg.matrix_norm(j, 2).item() ** 2
        r = inversion.invert(embed, target, 3000, lr, lr_end=lr, loss="l2", clamp=None, start=start)
        basis = torch.from_numpy(null_space(j.numpy()))
        in_null = torch.linalg.vector_norm(basis.T @ (start - target).flatten()).item()
        assert inversion.stall_distance(j, start, target) == pytest.approx(in_null, abs=1e-10)
        assert r.m_i[-1].item() == pytest.approx(in_null, abs=1e-6)
        assert (in_null < 1e-10) == expect_zero
        assert r.matched


def test_shift_reference_and_clamp():
    target, embed = _image(), _linear_embed(10, 24)
    r = inversion.invert(embed, target, 3, 5.0, generator=torch.Generator().manual_seed(7))
    shift = inversion.SHIFT_STD * torch.randn(
        (1, *target.shape), generator=torch.Generator().manual_seed(7)
    )
    expected = torch.linalg.vector_norm(embed(target[None] + shift) - embed(target[None])).item()
    assert r.m_s == pytest.approx(expected, rel=1e-6)
    assert r.image.min() >= 0.0 and r.image.max() <= 1.0


def test_kept_images_are_the_inputs_whose_distances_were_recorded():
    target, embed = _image(), _linear_embed(10, 24)
    g = lambda: torch.Generator().manual_seed(3)
    r = inversion.invert(embed, target, 7, 0.5, record_every=3, keep_images=True, generator=g())
    assert r.images.shape == (len(r.steps), *target.shape)
    m_i = torch.linalg.vector_norm((r.images - target).flatten(1), dim=1)
    m_g = torch.linalg.vector_norm((embed(r.images) - embed(target[None])), dim=1)
    torch.testing.assert_close(m_i, r.m_i), torch.testing.assert_close(m_g.detach(), r.m_g)
    torch.testing.assert_close(r.images[-1], r.image)
    plain = inversion.invert(embed, target, 7, 0.5, record_every=3, generator=g())
    assert plain.images is None and torch.equal(plain.image, r.image)  # keeping changes nothing


def test_invert_rejects_bad_inputs():
    embed = _linear_embed(10, 24)
    with pytest.raises(ValueError, match="loss"):
        inversion.invert(embed, _image(), 2, 0.1, loss="l3")
    with pytest.raises(ValueError, match="shape"):
        inversion.invert(embed, _image()[None], 2, 0.1)
    with pytest.raises(ValueError, match="lr"):
        inversion.invert(embed, _image(), 2, 0.0)
    with pytest.raises(ValueError, match="start"):
        inversion.invert(embed, _image(), 2, 0.1, start=torch.zeros(3))
    with pytest.raises(ValueError, match="sigma"):
        inversion.gaussian_kernel(0.0)


def test_exact_inversion_and_composition_of_a_linear_mlp():
    torch.manual_seed(0)
    net = inversion.affine_mlp([12, 12, 12, 12]).double()
    x = torch.randn(12, dtype=torch.float64)
    out = net(x[None])[0].detach()
    torch.testing.assert_close(inversion.invert_exactly(net, out), x)
    single = inversion.compose_affine(net)
    torch.testing.assert_close(single(x[None]), net(x[None]))
    with pytest.raises(ValueError, match="square"):
        inversion.invert_exactly(inversion.affine_mlp([12, 20]), torch.zeros(20))
    with pytest.raises(ValueError, match="ReLU"):
        inversion.invert_exactly(inversion.affine_mlp([12, 12], relu=True), torch.zeros(12))
    with pytest.raises(ValueError, match="dims"):
        inversion.affine_mlp([12])


def test_neighbour_correlation_matches_numpy():
    x = torch.rand(2, 5, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pairs = [(x[:, :, :-1], x[:, :, 1:]), (x[:, :-1, :], x[:, 1:, :])]
    left = np.concatenate([p[0].flatten().numpy() for p in pairs])
    right = np.concatenate([p[1].flatten().numpy() for p in pairs])
    assert inversion.neighbour_correlation(x) == pytest.approx(np.corrcoef(left, right)[0, 1])
    noise = torch.randn(3, 64, 64, generator=torch.Generator().manual_seed(1))
    assert abs(inversion.neighbour_correlation(noise)) < 0.03
    assert inversion.neighbour_correlation(data.photographs(64, ("chelsea",))[0]) > 0.8


def test_resnet_stages_of_the_small_and_torchvision_resnets():
    x = torch.rand(2, 3, 32, 32)
    small = models.ResNet((4, 8, 8, 16), num_classes=5)
    shapes = [(4, 16, 16), (4, 16, 16), (8, 8, 8), (8, 4, 4), (16, 2, 2)]
    for stage, shape in zip(models.RESNET_STAGES, shapes):
        out = models.resnet_embedding(small, stage, [0.5] * 3, [0.25] * 3)(x)
        assert out.shape == (2, *shape)
    assert small(x).shape == (2, 5)
    big = models.pretrained("resnet18", trained=False)
    assert models.resnet_stages(big)(x).shape == (2, 512, 1, 1)
    standardized = models.Standardize([0.5] * 3, [0.25] * 3)(x)
    torch.testing.assert_close(standardized, (x - 0.5) / 0.25)
    with pytest.raises(TypeError, match="not a ResNet"):
        models.resnet_stages(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="stage"):
        models.resnet_embedding(small, "conv6", [0.5] * 3, [0.25] * 3)


def test_inverting_a_resnet_stage_matches_its_embedding():
    torch.manual_seed(0)
    embed = models.resnet_embedding(models.ResNet((4, 8, 8, 16)), "conv2", [0.5] * 3, [0.25] * 3)
    image = data.photographs(16, ("chelsea",))[0]
    r = inversion.invert(
        embed,
        image,
        100,
        0.05,
        normalize=True,
        blur_sigma=(1.0, 0.3),
        generator=torch.Generator().manual_seed(0),
    )
    assert r.m_g[-1] < 0.5 * r.m_g[0] and r.m_i[-1] < r.m_i[0]
