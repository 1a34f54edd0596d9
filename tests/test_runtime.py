import pytest
import torch

from deepinside import runtime

SETTINGS = {"quick": {"epochs": 3, "width": 8}, "full": {"epochs": 30, "width": 64}}


def test_choose_profile_picks_and_overrides():
    assert runtime.choose_profile("full", SETTINGS) == {"epochs": 30, "width": 64}
    assert runtime.choose_profile("quick", SETTINGS, epochs=None)["epochs"] == 3
    assert runtime.choose_profile("quick", SETTINGS, epochs=5)["epochs"] == 5


@pytest.mark.parametrize("profile", ["fast", "", "QUICK"])
def test_unknown_profile_is_a_clear_error(profile):
    with pytest.raises(ValueError, match="unknown PROFILE"):
        runtime.choose_profile(profile, SETTINGS)


def test_unknown_knob_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown knob"):
        runtime.choose_profile("quick", SETTINGS, depth=3)


def test_profile_missing_from_chapter():
    with pytest.raises(ValueError, match="no settings"):
        runtime.choose_profile("full", {"quick": {}})


def test_same_seed_same_numbers():
    runtime.seed_everything(3)
    a = torch.randn(5)
    runtime.seed_everything(3)
    assert torch.equal(a, torch.randn(5))


@pytest.mark.parametrize("seed", [1.5, "1", True])
def test_seed_must_be_an_integer(seed):
    with pytest.raises(TypeError, match="SEED must be an integer"):
        runtime.seed_everything(seed)


def test_pick_device():
    assert runtime.pick_device("cpu").type == "cpu"
    assert runtime.pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="unknown DEVICE"):
        runtime.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            runtime.pick_device("cuda")


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPINSIDE_CACHE", str(tmp_path / "elsewhere"))
    assert runtime.cache_root() == tmp_path / "elsewhere"
    assert runtime.cache_root().is_dir()


def test_start_gives_a_session_with_the_profile_seed_and_device():
    table = {"quick": {"epochs": 2, "lr": 0.1}, "full": {"epochs": 30, "lr": 0.1}}
    session = runtime.start("quick", 3, "cpu", table, epochs=5)
    assert session.settings == {"epochs": 5, "lr": 0.1} and session.seed == 3
    assert session.device == torch.device("cpu") and session.profile == "quick"
    draw = torch.rand(2, generator=session.generator)
    assert torch.equal(
        draw, torch.rand(2, generator=runtime.start("quick", 3, "cpu", table).generator)
    )
    with pytest.raises(ValueError, match="unknown knob"):
        runtime.start("quick", 3, "cpu", table, epoch=5)


@pytest.mark.parametrize(
    "args, overrides, error, message",
    [
        (
            ("fast", 0, "cpu"),
            {},
            ValueError,
            'PROFILE must be one of "quick", "full", got \'fast\'',
        ),
        (("quick", "0", "cpu"), {}, TypeError, "SEED must be an integer from 0 to"),
        (("quick", -1, "cpu"), {}, ValueError, "got -1 (int)"),
        (("quick", 0, "gpu"), {}, ValueError, "DEVICE must be one of"),
        (("quick", 0, 1), {}, TypeError, "DEVICE must be one of"),
        (
            ("quick", 0, "cpu"),
            {"epochs": "3"},
            TypeError,
            "EPOCHS must be a positive integer or None (the profile's value), got '3' (str)",
        ),
        (("quick", 0, "cpu"), {"epochs": 0}, ValueError, "EPOCHS must be a positive integer"),
        (("quick", 0, "cpu"), {"epochs": True}, TypeError, "got True (bool)"),
        (("quick", 0, "cpu"), {"lr": 0.5}, ValueError, "LR is not a declared chapter parameter"),
    ],
)
def test_start_checks_every_parameter_against_its_declaration(args, overrides, error, message):
    table = {"quick": {"epochs": 2, "lr": 0.1}, "full": {"epochs": 30, "lr": 0.1}}
    with pytest.raises(error) as raised:
        runtime.start(*args, table, **overrides)
    assert message in str(raised.value)


def test_check_knobs_checks_the_knobs_a_chapter_uses_directly():
    runtime.check_knobs(TOP=30, SAMPLES=5, REFERENCES=3)
    with pytest.raises(
        ValueError, match=r"SAMPLES must be an integer of at least 2, got 0 \(int\)"
    ):
        runtime.check_knobs(SAMPLES=0)
    with pytest.raises(TypeError, match="TOP must be a positive integer"):
        runtime.check_knobs(TOP=None)
    with pytest.raises(ValueError, match="TOPS is not a declared chapter parameter"):
        runtime.check_knobs(TOPS=3)
