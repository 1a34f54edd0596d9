"""The stand-in dry run: stand-ins with the real shapes, kept apart and marked everywhere."""

import builtins

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backend_bases import FigureCanvasBase  # noqa: E402

from deepinside import data, models, runtime, standin, training  # noqa: E402


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setenv(standin.ENV, "1")


def test_the_switch_is_off_unless_set_to_1(monkeypatch):
    monkeypatch.delenv(standin.ENV, raising=False)
    assert not standin.active()
    monkeypatch.setenv(standin.ENV, "0")
    assert not standin.active()
    monkeypatch.setenv(standin.ENV, "yes")
    with pytest.raises(ValueError, match="DEEPINSIDE_STANDIN must be 1"):
        standin.active()


@pytest.mark.parametrize("name", sorted(standin.SHAPES))
def test_a_stand_in_has_the_real_shape_channels_classes_and_splits(name, stand_in, offline):
    channels, side, classes, _ = standin.SHAPES[name]
    for split in data.SPLITS:
        images = data.load(name, split)
        assert images.image_shape == (channels, side, side)
        assert images.num_classes == classes and len(images) == standin.IMAGES[split]
        counts = torch.bincount(images.y, minlength=classes)
        assert counts.min() == counts.max() == standin.IMAGES[split] // classes
        assert torch.isfinite(images.x).all()


def test_without_the_switch_a_public_dataset_is_the_real_one(monkeypatch, offline):
    monkeypatch.delenv(standin.ENV, raising=False)
    with pytest.raises(RuntimeError, match="cannot be reached"):
        data.load("cifar10", "train")


def test_cycling_orders_labels_round_by_round_each_class_in_its_order():
    y = torch.tensor([2, 0, 0, 1, 2, 0])
    order = standin.cycling(y)
    assert y[order].tolist() == [0, 1, 2, 0, 2, 0]
    assert order.tolist() == [1, 3, 0, 2, 4, 5]


def test_a_pretrained_model_is_its_architecture_at_random_initialization(stand_in, offline):
    torch.manual_seed(3)
    stand = models.pretrained("resnet18")
    torch.manual_seed(3)
    fresh = models.pretrained("resnet18", trained=False)
    assert not stand.training
    for (name, a), b in zip(stand.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name


def test_checkpoints_of_the_dry_run_live_apart(monkeypatch, private_cache):
    monkeypatch.delenv(standin.ENV, raising=False)
    real = training.checkpoint_folder()
    monkeypatch.setenv(standin.ENV, "1")
    assert training.checkpoint_folder() != real
    assert training.checkpoint_folder().parent == real.parent == private_cache


def test_a_network_trained_in_the_dry_run_is_never_read_by_a_real_run(monkeypatch, tmp_path):
    images = data.ImageSet("toy", torch.randn(8, 1, 4, 4), torch.arange(8) % 2, ("a", "b"))
    fit = {"epochs": 1, "lr": 0.1, "batch_size": 4, "optimizer": "sgd"}

    def train(value):
        monkeypatch.setenv(standin.ENV, value)
        return training.trained("toy", models.mlp, {"dims": [16, 2]}, images, images, seed=0, **fit)

    assert not train("1").from_cache
    assert not train("0").from_cache
    assert train("1").from_cache and train("0").from_cache


def test_shrink_lowers_the_costly_knobs_only():
    full = {"epochs": 30, "steps": 2, "lr": 0.01, "agop_images": 2000, "config": [64, "M"]}
    small = standin.shrink(full)
    assert small == {**full, "epochs": 1, "agop_images": standin.SHRINK["agop_images"]}


def test_the_dry_run_shrinks_full_only_and_refuses_quick(stand_in, monkeypatch):
    table = {"quick": {"epochs": 8}, "full": {"epochs": 30}}
    monkeypatch.setattr(standin, "announce", lambda: None)
    assert runtime.choose_profile("quick", table) == {"epochs": 8}
    assert runtime.start("full", 0, "cpu", table).settings == {"epochs": 1}
    assert runtime.start("full", 0, "cpu", table, epochs=2).settings == {"epochs": 2}
    with pytest.raises(ValueError, match="dry-runs the full profile"):
        runtime.start("quick", 0, "cpu", table)


def test_every_printed_line_is_marked(monkeypatch, capsys):
    monkeypatch.setattr(builtins, "print", builtins.print)  # restored after the test
    standin.mark_prints.__wrapped__()
    print("accuracy", 0.5, sep=": ")
    print("a\nb", end="!\n")
    assert capsys.readouterr().out == "[stand-in] accuracy: 0.5\n[stand-in] a\n[stand-in] b!\n"


def test_every_figure_is_marked_and_an_empty_one_reported(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(FigureCanvasBase, "print_figure", FigureCanvasBase.print_figure)
    standin.mark_figures.__wrapped__()
    fig, (full_panel, empty_panel) = plt.subplots(1, 2)
    full_panel.plot([1, 2, 3])
    empty_panel.set_title("accuracy")
    fig.savefig(tmp_path / "a.png")
    plt.close(fig)
    assert any(t.get_text() == "STAND-IN" for t in fig.texts)
    err = capsys.readouterr().err
    assert f"{standin.EMPTY_FIGURE}: 'accuracy' draws nothing" in err
    assert err.count(standin.EMPTY_FIGURE) == 1


def test_empty_panels_finds_no_panel_nothing_drawn_and_only_nan():
    assert standin.empty_panels(plt.figure()) == ["the figure has no panel"]
    assert standin.empty_panels(plt.subplots()[0]) == ["'panel 1' draws nothing"]
    fig, axes = plt.subplots(1, 5)
    axes[0].plot([1.0, 2.0])
    axes[0].plot([float("nan")] * 2)  # unlabelled, e.g. seaborn's error bar of one sample
    axes[1].plot([1.0, 2.0])
    axes[1].plot([float("nan")] * 3, label="loss")
    axes[1].set_title("loss")
    axes[2].imshow(torch.full((2, 2), float("nan")).numpy())
    axes[2].plot([1.0, 2.0])
    axes[3].axis("off")  # an unused panel, switched off
    axes[4].plot([float("inf")] * 2)
    problems = standin.empty_panels(fig)
    plt.close("all")
    assert problems == [
        "'loss': the line 'loss' has no finite value",
        "'panel 3': an image has no finite value",
        "'panel 5' draws nothing",
    ]


def test_empty_panels_takes_seaborn_legend_proxies_for_no_curve():
    import pandas as pd
    import seaborn as sns

    table = pd.DataFrame({"x": [1, 2, 1, 2], "y": [1.0, 2.0, 3.0, 4.0], "model": list("aabb")})
    ax = sns.lineplot(table, x="x", y="y", hue="model", marker="o")
    assert any(line.get_label() == "a" and not len(line.get_ydata()) for line in ax.get_lines())
    assert standin.empty_panels(ax.figure) == []
    plt.close("all")
