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


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pooled_cnn_reads_out_one_value_per_channel(pool):
    net = models.cnn([1, 8, 16], (16, 32), 2, kernel_size=3, stride=1, pool=pool)
    x = torch.randn(3, 1, 16, 32)
    assert net(x).shape == (3, 2) and net[-1].in_features == 16
    maps = net[:4](x)  # after the last ReLU
    pooled = maps.amax((2, 3)) if pool == "max" else maps.mean((2, 3))
    assert torch.allclose(net[-1](pooled), net(x))
    with pytest.raises(ValueError, match="pool"):
        models.cnn([1, 8], 8, pool="sum")


@pytest.mark.parametrize("dims", [[784], [784, 0, 10], [784, 2.5, 10], [784, True, 10]])
def test_bad_mlp_sizes(dims):
    with pytest.raises(ValueError):
        models.mlp(dims)


def test_image_too_small_for_the_cnn():
    with pytest.raises(ValueError, match="too small"):
        models.cnn([1, 8, 8, 8], image_size=12)


def test_vgg_follows_its_configuration():
    net = models.vgg([8, "M", 16, "M"], in_channels=3, image_size=32, num_classes=7)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    convs = [m for m in net if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16] and all(c.bias is None for c in convs)
    assert isinstance(models.vgg([8, "M"], 1, 8, pool="avg")[2], nn.AvgPool2d)
    with pytest.raises(ValueError, match="odd"):
        models.vgg([8], 1, 8, kernel_size=4)
    with pytest.raises(ValueError, match="too small"):
        models.vgg([8, "M", "M", "M", "M"], 1, 8)


def test_normal_init_sets_each_layer_scale():
    net = models.normal_init_(models.vgg([64, "M", 64, "M"], 3, 16), [5e-3, 1e-2])
    stds = [m.weight.std().item() for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert stds[0] == pytest.approx(5e-3, rel=0.1)
    assert stds[1] == pytest.approx(1e-2, rel=0.1) and stds[2] == pytest.approx(1e-2, rel=0.1)


def test_pretrained_models_fail_fast_offline(offline):
    import time

    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="PROFILE='quick'"):
        models.pretrained("vgg11")
    assert time.perf_counter() - start < 5
    with pytest.raises(ValueError, match="unknown pretrained"):
        models.pretrained("lenet")
    assert isinstance(models.pretrained("alexnet", trained=False), nn.Module)


def test_factorized_network_freezes_the_same_filters_on_every_channel():
    filters = torch.randn(4, 3, 3, generator=torch.Generator().manual_seed(0))
    net = models.factorized([8, "M", 6], filters, in_channels=2, image_size=8, num_classes=3)
    depthwise = [m for m in net if isinstance(m, nn.Conv2d) and not m.weight.requires_grad]
    assert [d.weight.shape for d in depthwise] == [(8, 1, 3, 3), (32, 1, 3, 3)]
    torch.testing.assert_close(depthwise[1].weight[4 * 5 : 4 * 6, 0], filters)  # channel 5's block
    assert models.pointwise_layers(net) == [2, 6]
    x = torch.randn(5, 2, 8, 8)
    assert net(x).shape == (5, 3)
    # channel c's maps are the frozen filters applied to channel c alone
    torch.testing.assert_close(
        net[0](x)[:, 4:8], nn.functional.conv2d(x[:, 1:2], filters[:, None], padding=1)
    )
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"2.weight", "6.weight", "8.weight"}
    with pytest.raises(ValueError, match="filters"):
        models.factorized([8], torch.randn(4, 2, 2), 1, 8)


def test_resnet20_has_nineteen_convolutions_and_cifar_resolution():
    net = models.ResNet((16, 32, 64), (3, 3, 3), num_classes=10, stem_pool=False)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 19  # + the classifier: 20 weight layers
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    params = sum(p.numel() for p in net.parameters())
    assert 0.26e6 < params < 0.29e6  # ResNet20: 0.27 M parameters
    with pytest.raises(ValueError, match="block count per stage"):
        models.ResNet((16, 32), (3,))
