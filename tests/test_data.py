import pickle
import struct
import time

import numpy as np
import pytest
import torch

from deepinside import data


def test_mnist5k_split_is_stratified_disjoint_and_standardized():
    train, test = data.load("mnist5k", "train"), data.load("mnist5k", "test")
    assert train.x.shape == (4000, 1, 28, 28) and test.x.shape == (1000, 1, 28, 28)
    assert torch.bincount(train.y).tolist() == [400] * 10
    assert torch.bincount(test.y).tolist() == [100] * 10
    assert abs(train.x.mean().item()) < 1e-4 and abs(train.x.std().item() - 1) < 1e-3
    train_rows = {row.numpy().tobytes() for row in train.x.flatten(1)}
    assert not any(row.numpy().tobytes() in train_rows for row in test.x.flatten(1))


def test_mnist5k_raw_pixels_are_in_the_unit_interval():
    x = data.load("mnist5k", "test", normalize=False).x
    assert x.min() == 0 and x.max() == 1


def test_photos_are_balanced_crops_labelled_by_photo():
    train = data.load("photos", "train", crop=16, crops_per_photo=(30, 10))
    test = data.load("photos", "test", crop=16, crops_per_photo=(30, 10), gray=True)
    assert train.x.shape == (30 * len(data.PHOTOS), 3, 16, 16)
    assert test.x.shape == (10 * len(data.PHOTOS), 1, 16, 16)
    assert train.classes == data.PHOTOS and torch.bincount(test.y).tolist() == [10] * 10


@pytest.mark.parametrize("height, width", [(300, 451), (512, 512), (40, 44)])
def test_photo_test_crops_never_overlap_train_crops(height, width):
    rng = np.random.default_rng(0)
    _, train_cols = data.crop_positions(height, width, 8, 500, "train", rng)
    _, test_cols = data.crop_positions(height, width, 8, 500, "test", rng)
    assert train_cols.min() >= 0 and test_cols.max() + 8 <= width
    assert (
        train_cols.max() + 8 <= test_cols.min()
    )  # the last train column is left of the first test one
    with pytest.raises(ValueError, match="too small"):
        data.crop_positions(height, 20, 8, 1, "test", rng)


def test_gray_uses_luminance_weights():
    rgb = torch.rand(2, 3, 4, 4)
    expected = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    assert torch.allclose(data._to_gray(rgb)[:, 0], expected)


def test_bad_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load("imagenet")
    with pytest.raises(ValueError, match="unknown split"):
        data.load("mnist5k", "validation")
    with pytest.raises(ValueError, match="crop"):
        data.load("photos", crop=2)


def test_loader_is_reproducible_with_a_seed():
    images = data.load("mnist5k", "test")
    first = [y for _, y in images.loader(100, shuffle=True, seed=4)]
    again = [y for _, y in images.loader(100, shuffle=True, seed=4)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_offline_full_profile_fails_fast_with_instructions(offline):
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="PROFILE='quick'"):
        data.load("cifar10", "train")
    assert time.perf_counter() - start < 5


def _write_idx(path, array):
    """torchvision's MNIST files: big-endian magic (0x08 = ubyte, number of dims), then sizes."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_loads_files_in_torchvision_format(private_cache):
    raw = private_cache / "datasets" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 8)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    test = data.load("mnist", "test", normalize=False)
    assert test.x.shape == (8, 1, 28, 28) and test.y.tolist() == list(range(8))
    assert test.x.min() >= 0 and test.x.max() <= 1
    assert data.load("mnist", "train").x.shape == (20, 1, 28, 28)


def test_cifar10_loads_files_in_torchvision_format(private_cache, monkeypatch):
    import torchvision.datasets.cifar as cifar

    folder = private_cache / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ]
    for name in names:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 1, 2, 3]}
        (folder / name).write_bytes(pickle.dumps(batch))
    classes = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": classes}))
    monkeypatch.setattr(
        cifar, "check_integrity", lambda *args, **kwargs: True
    )  # our files, other md5s
    train = data.load("cifar10", "train", normalize=False)
    assert train.x.shape == (20, 3, 32, 32) and train.classes[0] == "airplane"
    gray = data.load("cifar10", "test", gray=True)
    assert gray.x.shape == (4, 1, 32, 32) and gray.y.tolist() == [0, 1, 2, 3]


def test_photographs_are_whole_resized_rgb_images():
    photos = data.photographs(48, ("camera", "chelsea"))
    assert photos.shape == (2, 3, 48, 48)
    assert photos.min() >= 0 and photos.max() <= 1
    assert torch.equal(photos[0, 0], photos[0, 1])  # the gray camera man in three channels
    with pytest.raises(ValueError, match="unknown photographs"):
        data.photographs(48, ("lena",))


def test_with_classes_keeps_and_relabels():
    images = data.ImageSet(
        "toy", torch.zeros(6, 1, 2, 2), torch.tensor([0, 1, 2, 1, 0, 2]), ("a", "b", "c")
    )
    picked = images.with_classes([2, 0], "toy 2")
    assert (
        picked.y.tolist() == [1, 0, 1, 0]
        and picked.classes == ("c", "a")
        and picked.name == "toy 2"
    )
    with pytest.raises(ValueError, match="classes"):
        images.with_classes([3], "bad")


def test_pad_adds_black_borders_before_standardizing():
    plain = data.load("mnist5k", "train", normalize=False).x
    padded = data.load("mnist5k", "train", normalize=False, pad=2).x
    assert padded.shape[-2:] == (32, 32)
    assert torch.equal(padded[..., 2:-2, 2:-2], plain) and padded[..., :2, :].abs().sum() == 0
    standardized = data.load("mnist5k", "train", pad=2).x
    assert abs(standardized.mean()) < 1e-4 and abs(standardized.std() - 1) < 1e-3
    with pytest.raises(ValueError, match="pad must be"):
        data.load("mnist5k", "train", pad=-1)
