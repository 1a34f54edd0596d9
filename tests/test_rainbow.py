import pytest
import torch

from deepinside import covariance as cov
from deepinside import data, models, rainbow, training


def test_sampled_weights_have_the_stated_covariance():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(40, 6, generator=g) * torch.tensor([3.0, 1, 1, 0.5, 0.2, 0.1])
    target = cov.weight_covariance(w)  # (1/n) WᵀW, not WᵀW
    samples = rainbow.sample_weights(w, neurons=200_000, generator=g)
    empirical = cov.weight_covariance(samples)
    assert torch.allclose(empirical, target, atol=0.03 * target.abs().max())
    assert not torch.allclose(empirical, 40 * target, rtol=0.5)


def test_sampled_conv_weights_keep_their_shape():
    w = torch.randn(8, 3, 5, 5)
    assert rainbow.sample_weights(w).shape == w.shape
    assert rainbow.sample_weights(w, neurons=4).shape == (4, 3, 5, 5)
    with pytest.raises(ValueError, match="positive"):
        rainbow.sample_weights(w, neurons=0)


def test_express_in_rewrites_the_input_channels():
    align = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64))[0].float()  # gen -> ref
    h_gen = torch.randn(10, 4, 3, 3)
    h_ref = torch.einsum("rg,bgxy->brxy", align, h_gen)  # the reference sees A h_gen
    conv = torch.nn.Conv2d(4, 6, 3, bias=False)
    rewritten = rainbow.express_in(conv.weight.detach(), align)
    expected = torch.nn.functional.conv2d(h_ref, conv.weight.detach())
    assert torch.allclose(torch.nn.functional.conv2d(h_gen, rewritten), expected, atol=1e-5)
    linear = torch.randn(10, 4 * 9)  # a classifier reading the flattened (C, H, W) map
    got = h_gen.flatten(1) @ rainbow.express_in(linear, align).T
    assert torch.allclose(got, h_ref.flatten(1) @ linear.T, atol=1e-4)
    with pytest.raises(ValueError, match="multiple"):
        rainbow.express_in(torch.randn(3, 10), align)


def test_generated_network_keeps_most_of_the_accuracy():
    train, test = data.load("mnist5k", "train"), data.load("mnist5k", "test")
    small_train = train.subset(torch.arange(0, 4000, 4))
    net = training.trained(
        "mlp", models.mlp, {"dims": [784, 64, 32, 10]}, small_train, test, epochs=4, lr=0.05
    )
    generated = rainbow.generate(net.model, small_train, torch.Generator().manual_seed(1))
    acc = training.accuracy(generated, test)
    assert acc > 0.5 * net.test_accuracy and acc > 3 * 10
    assert not torch.equal(generated[1].weight, net.model[1].weight)
    assert (
        training.accuracy(rainbow.retrain_classifier(generated, small_train, steps=100), test)
        > acc - 5
    )
