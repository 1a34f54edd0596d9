"""The shared setups and every chapter's settings table: same knobs in both profiles."""

import ast

import pytest
import torch

from conftest import CHAPTERS, ROOT
from deepinside import data, models, runtime, setups


def chapter_tables():
    """{chapter: its SETTINGS table} for the chapters that define one, read from the source."""
    tables = {}
    for chapter in CHAPTERS:
        tree = ast.parse((ROOT / "chapters" / f"{chapter}.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [
                "SETTINGS"
            ]:
                source = ast.unparse(node.value)
                tables[chapter] = eval(source, {"setups": setups})  # noqa: S307 - our own literal
    return tables


TABLES = {
    "setups.PART1": setups.PART1,
    "setups.SPATIAL": setups.SPATIAL,
    **{f"chapter {c}": t for c, t in chapter_tables().items()},
}


def test_every_chapter_uses_a_shared_table_or_defines_its_own():
    text = {c: (ROOT / "chapters" / f"{c}.py").read_text() for c in CHAPTERS}
    for chapter, source in text.items():
        assert "runtime.start(PROFILE, SEED, DEVICE," in source, chapter
        assert ("SETTINGS = {" in source) != (
            "setups.PART1" in source or "setups.SPATIAL" in source
        )


@pytest.mark.parametrize("name", TABLES)
def test_quick_and_full_have_the_same_knobs(name):
    table = TABLES[name]
    assert set(table) == set(runtime.PROFILES)
    assert set(table["quick"]) == set(table["full"]), name

    def shape(value):  # named fields (dicts) must agree too, down to their keys
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return [shape(value[0])]
        return None

    assert shape(table["quick"]) == shape(table["full"]), name


def test_part1_networks_share_checkpoints_across_chapters(monkeypatch):
    settings = runtime.choose_profile("quick", setups.PART1, epochs=1)
    train_set, test_set = setups.part1_data(settings)
    small = train_set.subset(range(256)), test_set.subset(range(128))
    first = setups.part1_networks(settings, *small, seed=0)
    again = setups.part1_networks(settings, *small, seed=0)
    assert not first["mlp"].from_cache and again["mlp"].from_cache and again["cnn"].from_cache


def test_a_frozen_first_layer_keeps_its_initial_weights(private_cache):
    digits = data.load("mnist5k", "train").subset(torch.arange(0, 4000, 16))
    test = data.load("mnist5k", "test").subset(torch.arange(0, 1000, 10))
    settings = {"config": [4, "M", 8], "epochs": 1, "lr": 1e-2, "batch_size": 64}
    frozen = setups.train_vgg(settings, 3, digits, test, 0, frozen_first=True)
    trained = setups.train_vgg(settings, 3, digits, test, 0)
    pairs = [list(models.conv_layers(n.model).values()) for n in (frozen, trained)]
    initial = list(models.conv_layers(frozen.initial).values())
    assert torch.equal(pairs[0][0].weight, initial[0].weight)  # frozen: unchanged
    assert not torch.equal(pairs[0][1].weight, initial[1].weight)  # the rest learns
    assert not torch.equal(pairs[1][0].weight, initial[0].weight)  # unfrozen: learns
