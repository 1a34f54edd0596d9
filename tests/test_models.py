import pytest
import torch
from torch import nn

from deepinside import models


def test_mlp_shapes_and_no_biases():
    net = models.mlp([784, 64, 32, 10])
    assert net(torch.randn(5, 1, 28, 28)).shape == (5, 10)
    assert all(m.bias is None for m in net if isinstance(m, nn.Linear))
    assert models.hidden_layers(net) == [2, 4]
    assert models.weight_layers(net) == [1, 3, 5]


def test_cnn_shapes_follow_the_arithmetic_of_unpadded_strided_convolutions():
    net = models.cnn([1, 8, 16], image_size=28)  # 28 -> 12 -> 4
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert net[-1].in_features == 16 * 4 * 4
    net = models.cnn([1, 32, 64], image_size=32)  # the tutorial's 1600 features
    assert net[-1].in_features == 1600


@pytest.mark.parametrize("dims", [[784], [784, 0, 10], [784, 2.5, 10], [784, True, 10]])
def test_bad_mlp_sizes(dims):
    with pytest.raises(ValueError):
        models.mlp(dims)


def test_image_too_small_for_the_cnn():
    with pytest.raises(ValueError, match="too small"):
        models.cnn([1, 8, 8, 8], image_size=12)
