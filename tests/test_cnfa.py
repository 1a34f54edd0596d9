"""Patch-AGOP, CNFM, correlations, feature maps and Theorem 1, against independent references."""

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from deepinside import cnfa
from deepinside.linalg import matrix_correlation


def small_net(inplace=False):
    """conv → ReLU → strided, padded, dilated conv with bias → ReLU → linear, in float64."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        nn.ReLU(inplace=inplace),
        nn.Conv2d(4, 5, 3, stride=2, padding=2, dilation=2, bias=True),
        nn.ReLU(inplace=inplace),
        nn.Flatten(),
        nn.Linear(5 * 4 * 4, 3),
    ).double()


def brute_force_agop(net, x):
    """The definition, written out: unfold the second conv's input, rebuild the rest of the
    network as a function of the patches, take the full Jacobian, sum its outer products."""
    conv = net[2]
    h = net[1](net[0](x)).detach()
    patches = F.unfold(h, conv.kernel_size, conv.dilation, conv.padding, conv.stride)

    def from_patches(p):
        z = conv.weight.reshape(conv.out_channels, -1) @ p + conv.bias[:, None]
        return net[5](net[4](net[3](z.reshape(len(x), conv.out_channels, 4, 4))))

    jac = torch.autograd.functional.jacobian(from_patches, patches)  # (B, K, B, d, L)
    per_image = torch.stack([jac[b, :, b] for b in range(len(x))])  # (B, K, d, L)
    return torch.einsum("bkdl,bkel->de", per_image, per_image) / len(x)


@pytest.mark.parametrize("inplace", [False, True])
def test_patch_agop_matches_the_brute_force_definition(inplace):
    net = small_net(inplace)
    x = torch.randn(6, 2, 8, 8, dtype=torch.float64)
    expected = brute_force_agop(small_net(False), x)
    assert torch.allclose(cnfa.patch_agop(net, x, ["2"], batch_size=4)["2"], expected, atol=1e-10)
    assert torch.allclose(cnfa.patch_agop_unfolded(net, x, "2", batch_size=4), expected, atol=1e-10)


def test_output_gradient_covariance_of_a_linear_network_is_closed_form():
    # f_k(x) = Σ_p a_{k,p}ᵀ z_p: the gradient at position p is a_{k,p} whatever the image
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3, bias=False), nn.Flatten(), nn.Linear(3 * 4 * 4, 2, bias=False)
    ).double()
    a = net[2].weight.detach().reshape(2, 3, 16)  # (K, C_out, positions)
    expected = torch.einsum("kcp,kdp->cd", a, a)
    g = cnfa.output_gradient_covariance(net, torch.randn(5, 1, 6, 6, dtype=torch.float64))["0"]
    assert torch.allclose(g, expected)


def test_agop_works_inside_any_module_and_for_a_subset_of_outputs():
    net = torchvision.models.resnet18(num_classes=4).double().eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    name = "layer2.0.conv1"
    fast = cnfa.patch_agop(net, x, [name], outputs=[1, 3])[name]
    assert torch.allclose(fast, cnfa.patch_agop_unfolded(net, x, name, outputs=[1, 3]))
    assert cnfa.block_entry_convs(net) == ["conv1"] + [
        f"layer{i}.{j}.conv1" for i in range(1, 5) for j in range(2)
    ]


def test_cnfm_is_the_gram_matrix_in_unfold_order():
    conv = nn.Conv2d(3, 6, 3, padding=1, bias=False)
    x = torch.randn(1, 3, 5, 5)
    patches = F.unfold(x, 3, padding=1)[0].double()  # (27, positions)
    z = conv(x).detach().reshape(6, -1).double()
    # ‖W p‖² = pᵀ (WᵀW) p for every patch p
    assert torch.allclose(
        (z**2).sum(0), torch.einsum("dp,de,ep->p", patches, cnfa.cnfm(conv), patches), rtol=1e-5
    )


def test_patch_norm_map_is_the_norm_of_each_transformed_patch():
    conv = nn.Conv2d(2, 4, 3, stride=2, padding=1, dilation=1)
    x = torch.randn(2, 2, 9, 9, dtype=torch.float64)
    a = torch.randn(18, 18, dtype=torch.float64)
    m = a @ a.T
    patches = F.unfold(x, 3, padding=1, stride=2)  # (B, 18, L)
    expected = torch.einsum("bdl,de,bel->bl", patches, m, patches).sqrt().reshape(2, 5, 5)
    assert torch.allclose(cnfa.patch_norm_map(x, m, conv).double(), expected, rtol=1e-5)
    assert cnfa.patch_norm_map(x[0], m, conv).shape == (5, 5)


def test_theorem1_one_step_from_zero_gives_the_rank_one_closed_form():
    x = torch.randn(20, 2, 6, 6, dtype=torch.float64)
    y = torch.randn(20, dtype=torch.float64)
    net = cnfa.one_step_network(2, 6, width=5).double()
    cnfa.gradient_step(net, net[0], x, y, lr=0.3)
    # W(1) ∝ γ sᵀ with s the label-weighted sum of all patches (the proof of Theorem 1)
    s = torch.einsum("b,bdl->d", y, F.unfold(x, 3, padding=1))
    m = cnfa.cnfm(net[0])
    assert matrix_correlation(m, torch.outer(s, s)) == pytest.approx(1.0, abs=1e-9)
    assert matrix_correlation(m, cnfa.patch_agop(net, x)["0"]) == pytest.approx(1.0, abs=1e-9)


def test_gradient_step_moves_only_the_chosen_layer_downhill():
    x, y = torch.randn(8, 1, 5, 5), torch.randn(8)
    net = cnfa.one_step_network(1, 5, width=3, downstream="random")
    before = [p.detach().clone() for p in net.parameters()]
    first = cnfa.gradient_step(net, net[0], x, y, lr=0.5)
    assert cnfa.gradient_step(net, net[0], x, y, lr=0.0) < first
    changed = [not torch.equal(b, p) for b, p in zip(before, net.parameters())]
    assert changed == [True, False, False]


def test_layer_inputs_stop_early_so_larger_images_work():
    net = small_net()
    x = torch.randn(1, 2, 20, 20, dtype=torch.float64)  # too large for the classifier
    seen = cnfa.layer_inputs(net, x, ["2", "0"])
    assert torch.equal(seen["0"], x)
    assert torch.allclose(seen["2"], net[1](net[0](x)))


def test_spectrum_matched_rotation_keeps_the_spectrum_and_averages_to_its_mean():
    a = torch.randn(6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    g = a @ a.T
    gen = torch.Generator().manual_seed(1)
    draws = [cnfa.spectrum_matched_rotation(g, gen) for _ in range(4000)]
    assert torch.allclose(torch.linalg.eigvalsh(draws[0]), torch.linalg.eigvalsh(g), atol=1e-9)
    assert torch.allclose(draws[0], draws[0].T)
    # E[Q Λ Qᵀ] = (tr Λ / k) I for Haar Q: the eigenvectors carry no direction on average
    mean = torch.stack(draws).mean(0)
    expected = torch.eye(6, dtype=torch.float64) * g.trace() / 6
    assert (mean - expected).abs().max() < 0.05 * g.trace() / 6
    with pytest.raises(ValueError, match="square"):
        cnfa.spectrum_matched_rotation(torch.zeros(2, 3))


def test_errors_are_clear():
    net = small_net()
    x = torch.randn(2, 2, 8, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="no conv layer named"):
        cnfa.patch_agop(net, x, ["5"])
    with pytest.raises(ValueError, match="outputs"):
        cnfa.patch_agop(net, x, outputs=[3])
    with pytest.raises(ValueError, match="images"):
        cnfa.patch_agop(net, x[0])
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        cnfa.patch_agop(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), torch.randn(1, 1, 2, 2))
    with pytest.raises(ValueError, match="grouped"):
        cnfa.patch_agop(nn.Sequential(nn.Conv2d(2, 2, 1, groups=2), nn.Flatten()), x)
    with pytest.raises(ValueError, match="matrix"):
        cnfa.patch_norm_map(x, torch.eye(5), net[0])
    with pytest.raises(ValueError, match="downstream"):
        cnfa.one_step_network(1, 5, downstream="learned")
    with pytest.raises(ValueError, match="target"):
        cnfa.gradient_step(net, net[0], x, torch.zeros(2, 1), lr=0.1)
