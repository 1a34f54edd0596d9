"""The full profile's cost: its scale over the dry run, and the table, measured or estimated."""

import json

import pytest

from deepinside import data, setups, standin
from deepinside.book import cost


def test_the_full_scale_counts_training_images_times_epochs():
    part1 = setups.PART1["full"]  # CIFAR-10, 5 epochs; the dry run: 1 epoch
    assert cost.full_scale(part1) == pytest.approx(50000 / standin.IMAGES["train"] * 5)
    kernels = {"digits": "mnist", "digits_sizes": {"train": 5000, "val": 1000, "test": 2000}}
    assert cost.full_scale(kernels) == 5000 / standin.SHRINK["digits_sizes"]["train"]


def write(root, record):
    (root / "book").mkdir(exist_ok=True)
    (root / cost.COST_FILE).write_text(json.dumps(record))


def test_the_table_says_whether_it_is_measured_or_estimated(tmp_path):
    assert "No measurement" in cost.table(tmp_path)
    row = {"chapter": "01_a", "seconds": 90.0, "peak_gpu_mb": 2048.0, "precision": "bfloat16"}
    write(tmp_path, {"kind": "measured", "device": "NVIDIA H100", "chapters": [row]})
    text = cost.table(tmp_path)
    assert (
        text.startswith("**Measured** on NVIDIA H100") and "| 01_a | 1.5 | 2.0 | bfloat16 |" in text
    )
    row = {"chapter": "01_a", "seconds": 120.0, "cpu_seconds": [20.0, 30.0], "full_scale": 833.3}
    write(tmp_path, {"kind": "estimated", "device": "2 CPU cores", "speedup": 100, "scale": 2,
                     "chapters": [row]})  # fmt: skip
    text = cost.table(tmp_path)
    assert text.startswith("**Estimated, not measured**") and "assumed speed-up" in text
    assert "| 01_a | 20 / 30 | 833× | 2.0 |" in text and "the whole book: 2 min" in text


def test_a_full_size_run_off_the_gpu_is_not_a_measurement(tmp_path, monkeypatch):
    monkeypatch.setattr(cost, "toc_chapters", lambda root: ["01_a"])
    runs = [{"chapter": "01_a", "seconds": 1.0, "device": "cpu", "peak_gpu_mb": 0.0}]
    monkeypatch.setattr(cost.dryrun, "runs", lambda root, size="dry": runs)
    with pytest.raises(SystemExit, match="did not run on a CUDA GPU"):
        cost.measure(tmp_path)


def test_the_scale_multiplies_the_stand_in_images(monkeypatch):
    monkeypatch.setenv(standin.ENV, "1")
    monkeypatch.setenv(standin.SCALE_ENV, "2")
    x, y, _ = data.stand_in("cifar10", "test")
    assert len(y) == 2 * standin.IMAGES["test"]
    full = {"epochs": 30, "agop_images": 2000, "digits_sizes": {"train": 5000, "test": 2000}}
    assert standin.shrink(full) == {
        "epochs": standin.SHRINK["epochs"],  # not an image count: not scaled
        "agop_images": 2 * standin.SHRINK["agop_images"],
        "digits_sizes": {k: 2 * v for k, v in standin.SHRINK["digits_sizes"].items()},
    }
    monkeypatch.setenv(standin.SCALE_ENV, "0")
    with pytest.raises(ValueError, match="whole number from 1"):
        data.stand_in("cifar10", "test")


def test_at_full_size_the_stand_ins_have_the_real_sizes_and_nothing_shrinks(monkeypatch):
    monkeypatch.setenv(standin.ENV, "full-size")
    assert standin.active() and standin.full_size()
    assert standin.shrink({"epochs": 30}) == {"epochs": 30}
    x, y, _ = data.stand_in("mnist", "test")
    assert x.shape == (10000, 1, 28, 28) and torch_bincount_equal(y)


def torch_bincount_equal(y):
    counts = y.bincount()
    return int(counts.max() - counts.min()) <= 1
