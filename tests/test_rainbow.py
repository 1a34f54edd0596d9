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


@pytest.mark.parametrize(
    "build",
    [
        lambda: models.mlp([144, 24, 16, 10]),
        lambda: models.cnn([1, 6, 5], image_size=12, kernel_size=3, stride=1),
    ],
)
def test_sampling_a_permutation_regenerates_the_reference_exactly(monkeypatch, build):
    # If "sampling" returned the reference's own neurons in a shuffled order, alignment must
    # find that permutation at every layer and the generated network must be the reference.
    torch.manual_seed(0)
    reference = build()
    images = data.ImageSet("gaussian", torch.randn(300, 1, 12, 12), torch.zeros(300).long(), ("0",))
    g = torch.Generator().manual_seed(0)

    def permuted(weight, neurons=None, generator=None):
        return weight[torch.randperm(weight.shape[0], generator=g)]

    monkeypatch.setattr(rainbow, "sample_weights", permuted)
    generated = rainbow.generate(reference, images)
    fresh = torch.randn(50, 1, 12, 12)
    with torch.no_grad():
        expected = reference(fresh)
        assert torch.allclose(generated(fresh), expected, atol=1e-5 * expected.abs().max())
        first = models.weight_layers(reference)[0]
        assert not torch.equal(generated[first].weight, reference[first].weight)


def test_sample_from_draws_the_covariance_of_another_network(monkeypatch):
    reference, source = models.mlp([144, 8, 10]), models.mlp([144, 8, 10])
    images = data.ImageSet("gaussian", torch.randn(40, 1, 12, 12), torch.zeros(40).long(), ("0",))
    drawn = []
    monkeypatch.setattr(
        rainbow, "sample_weights", lambda weight, generator=None: drawn.append(weight) or weight
    )
    generated = rainbow.generate(reference, images, sample_from=source)
    assert torch.equal(drawn[0], source[1].weight.detach())
    assert not torch.equal(generated[-1].weight, source[-1].weight)  # the reference's classifier
    with pytest.raises(ValueError, match="architecture"):
        rainbow.generate(reference, images, sample_from=models.mlp([144, 8, 8, 10]))
