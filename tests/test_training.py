import pytest
import torch

from deepinside import data, models, training


@pytest.fixture(scope="module")
def digits():
    train, test = data.load("mnist5k", "train"), data.load("mnist5k", "test")
    return train.subset(torch.arange(0, 4000, 8)), test.subset(torch.arange(0, 1000, 4))


def fit(digits, **kwargs):
    return training.trained(
        "tiny", models.mlp, {"dims": [784, 32, 10]}, *digits, epochs=3, lr=0.05, **kwargs
    )


def test_training_learns_well_above_chance(digits):
    net = fit(digits)
    assert net.test_accuracy > 50 and len(net.history) == 3
    assert net.history[-1]["train_loss"] < net.history[0]["train_loss"]
    assert not torch.equal(net.model[1].weight, net.initial[1].weight)


def test_same_seed_same_weights_different_seed_different_weights(
    digits, private_cache, tmp_path, monkeypatch
):
    first = fit(digits, seed=1)
    monkeypatch.setenv("DEEPINSIDE_CACHE", str(tmp_path / "other"))  # retrain, not reload
    again = fit(digits, seed=1)
    assert not again.from_cache
    assert torch.equal(first.model[1].weight, again.model[1].weight)
    assert not torch.equal(first.model[1].weight, fit(digits, seed=2).model[1].weight)


def test_checkpoint_is_reused_and_written_atomically(digits, private_cache):
    first = fit(digits)
    second = fit(digits)
    assert not first.from_cache and second.from_cache
    assert torch.equal(first.model[1].weight, second.model[1].weight)
    assert second.history == first.history
    files = list((private_cache / "checkpoints").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # no temporary file left behind


def test_corrupt_checkpoint_is_rebuilt(digits, private_cache):
    fit(digits)
    (path,) = (private_cache / "checkpoints").iterdir()
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = fit(digits)
    assert not rebuilt.from_cache and fit(digits).from_cache


class Payload:  # an arbitrary object: loading it would need full unpickling
    pass


def test_checkpoints_load_with_weights_only(private_cache):
    path = private_cache / "evil.pt"
    path.parent.mkdir(parents=True)
    torch.save({"model": Payload(), "history": []}, path)
    with pytest.warns(UserWarning, match="unreadable"):
        assert training.load_checkpoint(path) is None
    assert not path.exists()


def test_training_arguments_are_checked(digits):
    with pytest.raises(ValueError, match="epochs"):
        training.train(models.mlp([784, 10]), *digits, epochs=0)


def test_adam_trains_and_unknown_optimizers_are_refused(digits):
    net = models.mlp([784, 32, 10])
    history = training.train(net, *digits, epochs=2, lr=1e-3, optimizer="adam")
    assert history[-1]["test_acc"] > 50
    with pytest.raises(ValueError, match="optimizer"):
        training.train(net, *digits, epochs=1, optimizer="lbfgs")


def test_mixed_precision_trains_in_bfloat16_and_keeps_float32_weights(digits):
    results = {}
    for mixed in (False, True):
        torch.manual_seed(0)
        model = models.mlp([784, 32, 10])
        history = training.train(model, *digits, epochs=3, lr=0.05, mixed_precision=mixed)
        results[mixed] = (model, history)
    model, history = results[True]
    assert history[-1]["test_acc"] > 50 and model[1].weight.dtype == torch.float32
    assert not torch.equal(model[1].weight, results[False][0][1].weight)  # bfloat16 forward passes


def test_random_numbers_after_training_do_not_depend_on_the_cache(digits, private_cache):
    trained_now = fit(digits, seed=3)
    after_training = torch.rand(3)
    loaded = fit(digits, seed=3)
    after_loading = torch.rand(3)
    assert not trained_now.from_cache and loaded.from_cache
    assert torch.equal(after_training, after_loading)


def key(build, arguments, digits, **train_kwargs):
    return training.checkpoint_key(build, arguments, *digits, epochs=3, **train_kwargs)


def test_checkpoint_key_applies_the_builders_defaults(digits):
    explicit = {
        "channels": [1, 4],
        "image_size": 28,
        "num_classes": 10,
        "kernel_size": 5,
        "stride": 2,
    }
    implicit = {"channels": [1, 4], "image_size": 28}
    assert key(models.cnn, implicit, digits) == key(models.cnn, explicit, digits)
    assert key(models.cnn, implicit, digits)["arguments"]["kernel_size"] == 5
    assert key(models.cnn, {**implicit, "stride": 1}, digits) != key(models.cnn, implicit, digits)


def test_a_changed_default_gives_a_new_key(digits):
    def cnn(channels, image_size, num_classes=10, kernel_size=5, stride=2):
        return models.cnn(channels, image_size, num_classes, kernel_size, stride)

    def cnn_changed(channels, image_size, num_classes=10, kernel_size=3, stride=2):
        return models.cnn(channels, image_size, num_classes, kernel_size, stride)

    cnn_changed.__qualname__ = cnn.__qualname__  # the same builder, one default changed
    arguments = {"channels": [1, 4], "image_size": 28}
    assert key(cnn, arguments, digits) != key(cnn_changed, arguments, digits)


def test_checkpoint_key_holds_every_training_argument_precision_and_device_kind(digits):
    base = key(models.mlp, {"dims": [784, 10]}, digits)
    assert base["train"]["momentum"] == 0.9 and base["train"]["optimizer"] == "sgd"
    assert base["train"]["device_kind"] == "cpu" and base["train"]["precision"] == "float32"
    assert key(models.mlp, {"dims": [784, 10]}, digits, mixed_precision=True) != base
    assert key(models.mlp, {"dims": [784, 10]}, digits, lr=0.02) != base
    assert key(models.mlp, {"dims": [784, 10]}, digits, seed=1) != base
    with pytest.raises(TypeError):
        key(models.mlp, {"dims": [784, 10]}, digits, learning_rate=0.1)


def test_checkpoint_key_serializes_tensors(digits):
    filters = torch.randn(2, 3, 3)
    arguments = {"config": [4], "filters": filters, "in_channels": 1, "image_size": 28}
    first = key(models.factorized, arguments, digits)
    assert first["arguments"]["filters"]["shape"] == [2, 3, 3]
    assert first != key(models.factorized, {**arguments, "filters": -filters}, digits)


@pytest.mark.parametrize("native", [True, False])
def test_precision_uses_bfloat16_only_where_the_gpu_has_it_natively(monkeypatch, native):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native)
    assert training.precision("cuda") == ("bfloat16" if native else "float16")
    assert training.precision("cuda", mixed_precision=False) == "float32"
    assert training.precision("cpu") == "float32" and training.precision("cpu", True) == "bfloat16"


def test_checkpoint_key_tells_a_bfloat16_gpu_from_a_float16_one(monkeypatch, digits):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    keys = {}
    for native in (True, False):
        monkeypatch.setattr(
            torch.cuda, "is_bf16_supported", lambda including_emulation=True, n=native: n
        )
        keys[native] = key(models.mlp, {"dims": [784, 10]}, digits, device="cuda")
    assert keys[True]["train"]["precision"] == "bfloat16"
    assert keys[False]["train"]["precision"] == "float16"
    assert keys[True]["train"]["device_kind"] == "cuda" and keys[True] != keys[False]


def test_float16_training_scales_the_loss_and_keeps_float32_weights(monkeypatch, digits):
    monkeypatch.setattr(training, "precision", lambda kind, mixed=None: "float16")
    torch.manual_seed(0)
    model = models.mlp([784, 32, 10])
    history = training.train(model, *digits, epochs=2, lr=0.05)
    assert history[-1]["test_acc"] > 50 and model[1].weight.dtype == torch.float32
    assert torch.isfinite(model[1].weight).all()
