"""The synthetic tasks: where the signal is, what the noise is, and how the splits are drawn."""

import pytest
import torch

from deepinside import data, tasks


def test_local_signal_tasks():
    g = torch.Generator().manual_seed(0)
    bars = tasks.bars_in_noise(50, 0.0, g)
    rows = bars.x[:, 0].abs().sum(-1).argmax(-1)
    bar = bars.x[torch.arange(50), 0, rows]
    assert torch.allclose(bar.abs(), torch.full_like(bar, 32**-0.5))
    assert torch.equal((bar[:, 0] < 0).long(), bars.y)
    digits = data.ImageSet("d", torch.rand(5, 1, 14, 14), torch.arange(5), tuple("01234"))
    framed = tasks.digits_in_noise(digits, 0.0, g, frame=21)
    assert framed.x.shape == (5, 1, 21, 21)
    assert torch.allclose(framed.x.sum((1, 2, 3)), digits.x.sum((1, 2, 3)))
    with pytest.raises(ValueError, match="noise"):
        tasks.bars_in_noise(5, -1.0, g)
    with pytest.raises(ValueError, match="frame"):
        tasks.digits_in_noise(digits, 0.1, g, frame=10)


def test_noise_images_are_standard_normal_with_random_labels():
    g = torch.Generator().manual_seed(0)
    noise = tasks.noise_images(500, 7, g, size=8)
    assert noise.x.shape == (500, 3, 8, 8) and noise.num_classes == 7
    assert abs(noise.x.mean()) < 0.02 and abs(noise.x.std() - 1) < 0.02
    assert set(noise.y.tolist()) == set(range(7))
    again = tasks.noise_images(500, 7, torch.Generator().manual_seed(0), size=8)
    assert torch.equal(noise.x, again.x)
    with pytest.raises(ValueError, match="num_classes"):
        tasks.noise_images(10, 1, g)


def test_random_labels_permute_the_labels():
    images = data.ImageSet(
        "d", torch.zeros(100, 1, 2, 2), torch.arange(100) % 10, tuple("0123456789")
    )
    shuffled = tasks.with_random_labels(images, torch.Generator().manual_seed(0))
    assert sorted(shuffled.y.tolist()) == sorted(images.y.tolist())
    assert (shuffled.y != images.y).float().mean() > 0.5 and "random labels" in shuffled.name


def test_split_sizes_are_explicit_and_digits_fixed_per_seed():
    g = torch.Generator().manual_seed(0)
    bars = tasks.bars_splits(1.0, g, train=30, val=10, test=20)
    assert [len(s) for s in bars] == [30, 10, 20] and bars.val is bars[1]
    first = tasks.digits_splits("mnist5k", 0.0, g, train=20, val=5, test=10, pool=2, frame=21)
    again = tasks.digits_splits("mnist5k", 0.0, g, train=20, val=5, test=10, pool=2, frame=21)
    assert first.train.x.shape == (20, 1, 21, 21) and len(first.test) == 10
    assert torch.equal(first.train.y, again.train.y), "the same digits, other noise positions"
