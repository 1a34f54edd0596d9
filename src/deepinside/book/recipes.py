"""The running page's table of recipes: what each source states, next to `full` and `quick`.

Each chapter's settings table is read from its source (the table its ``runtime.start`` call
is given, :func:`settings_table`), so the `full` and `quick` columns are the values the
chapter runs with; :data:`SOURCES` holds what the sources state, with where they state it,
and why `full` departs where it does. ``python -m deepinside.book.recipes`` prints the tables.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import setups
from .toc import toc_chapters


@dataclass(frozen=True)
class Row:
    """One line of a chapter's recipe: ``knob`` names its settings entry (a path through
    nested entries, "resnet.widths"); without one, ``full`` and ``quick`` say it in words."""

    what: str
    source: str
    knob: str | None = None
    full: str = ""
    quick: str = ""
    note: str = ""


PART1 = [
    Row("data", "grayscale CIFAR-10, 50,000 / 10,000 [tutorial, data cells]", "dataset"),
    Row("MLP hidden widths", "512, 256; no bias [tutorial, model printout]", "mlp_widths"),
    Row(
        "CNN channels", "32, 64; 5×5, stride 2, no bias [tutorial, model printout]", "cnn_channels"
    ),
    Row("optimizer", "SGD, momentum 0.9 [tutorial, `train_model`]", None, "same", "same"),
    Row("learning rate", "0.01", "lr"),
    Row("batch", "128", "batch_size"),
    Row("epochs", "5", "epochs", note="`quick` trains longer on its small training set"),
]
SOURCES: dict[str, list[Row]] = {
    "01_dimensionality": PART1,
    "02_alignment": PART1,
    "03_rainbow": PART1,
    "04_spatial": [
        Row("network", "VGG-11 without biases, linear classifier [§2.1]", "config"),
        Row("reference data", "ImageNet [§2.1]", "reference_dataset",
            note="ImageNet cannot be downloaded automatically, nor trained within the hour"),
        Row("datasets compared", "ImageNet, CIFAR-10, CIFAR-100 [§2.2]", "datasets"),
        Row("filter sizes", "three sizes [§2.2]", "sizes"),
        Row("optimizer", "not stated in the text", None, "Adam", "Adam"),
        Row("learning rate", "not stated in the text", "lr"),
        Row("epochs", "not stated in the text", "epochs"),
    ],
    "05_energy": [
        Row("data", "CIFAR-10 [§3]", "reference_dataset"),
        Row("VGG", "VGG-11 [§3]", "config"),
        Row("ResNet", "ResNet20: three stages of three blocks, 16-32-64", "resnet.widths"),
        Row("optimizer", "SGD without momentum [reference notes]", "optimizer"),
        Row("learning rate", "0.01", "lr"),
        Row("batch", "256", "batch_size"),
        Row("epochs", "30", "epochs"),
        Row("epochs, random labels", "100", "random_label_epochs"),
        Row("linear CNN steps", "not stated", "linear_steps"),
    ],
    "06_factorized": [
        Row("network", "widths in an appendix not in the text", "config",
            note="Chapter 4's VGG-11 widths and recipe"),
        Row("natural datasets", "CIFAR-10, CIFAR-100, ImageNet [§2.2]", "natural"),
        Row("digits", "not in the source (the book's control)", "digits",
            note="padded to 32 pixels, for VGG-11's five poolings"),
        Row("frozen filters m", "not stated", "filters"),
        Row("epochs", "not stated", "epochs"),
    ],
    "07_cnfa": [
        Row("data", "ten datasets, CIFAR-10 among them [App. B]", "dataset"),
        Row("network", "3×3 convolutions, no bias, max pooling [§2, App. B]", "config"),
        Row("initialization", "std 5·10⁻³ first layer, 10⁻² others [App. B]", "init_std"),
        Row("optimizer", "Adam [App. B]", None, "Adam", "Adam"),
        Row("learning rate", "2·10⁻⁴ [App. B]", "lr"),
        Row("batch", "128 [App. B]", "batch_size"),
        Row("epochs", "500 [App. B]", "epochs",
            note="fewer, to keep the book within an hour of one GPU"),
        Row("ImageNet models", "AlexNet, all VGGs, all ResNets [§2.1]", "pretrained",
            note="the smallest of each family"),
    ],
    "08_convrfm": [
        Row("bars: train / val / test", "500 / — / 500 [reference notes]", "bars_sizes",
            note="the validation split is the book's: the source chose on test"),
        Row("digits frame", "28×28 digit in a 42×42 noise frame", "frame"),
        Row("ConvRFM rounds", "5 [App. B]", "iterations"),
        Row("AGOP images", "20 [source's code]", "agop_images"),
        Row("Deep ConvRFM filters", "64 per layer [App. B]", "width"),
        Row("Deep ConvRFM layers", "3 [§4]", "layers"),
        Row("base kernel", "deep CNTK [§3.2]", None, "Laplace", "Laplace",
            "no PyTorch implementation of the CNTK exists"),
        Row("CNN width", "64 [App. B]", "cnn_width"),
        Row("CNN epochs", "25, best test epoch [App. B]", "cnn_epochs",
            note="last epoch reported, so that no test score selects"),
        Row("CNN learning rate", "10⁻⁴, Adam [App. B]", "cnn_lr"),
        Row("CNN batch", "128 [App. B]", "cnn_batch"),
    ],
    "09_inversion": [
        Row("networks", "ResNet-50, untrained and ImageNet-trained [§2]", "big"),
        Row("image", "a dalmatian at 299 pixels [§2, §3]", "image_size",
            note="scikit-image's cat at torchvision's 224 pixels: redistributable and offline"),
        Row("steps", "500 [reference notes]", "steps"),
        Row("MLP input", "3×29×29 [§4.1]", "mlp_side"),
        Row("noise-trained network", "ResNet-50 on 10,000 noise images, 100 classes [§5]",
            "noise_images", note="a small ResNet: the same as the one trained on natural images"),
        Row("noise classes", "100 [§5]", "noise_classes"),
    ],
}  # fmt: skip


def settings_table(root: Path, chapter: str) -> dict[str, dict[str, Any]]:
    """The ``{profile: settings}`` table the chapter's ``runtime.start`` call is given, read
    from its source: the chapter's own ``SETTINGS`` or a table of :mod:`deepinside.setups`."""
    tree = ast.parse((root / "chapters" / f"{chapter}.py").read_text())
    names: dict[str, Any] = {"setups": setups}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and [_name(t) for t in node.targets] == ["SETTINGS"]:
            names["SETTINGS"] = _evaluate(node.value, names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "runtime.start":
            return _evaluate(node.args[3], names)
    raise ValueError(f"{chapter} calls no runtime.start(PROFILE, SEED, DEVICE, table)")


def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _evaluate(node: ast.expr, names: dict[str, Any]) -> Any:
    return eval(compile(ast.Expression(node), "<settings>", "eval"), {"__builtins__": {}}, names)


def value(settings: dict[str, Any], knob: str) -> Any:
    """The entry ``knob`` ("resnet.widths": a nested one) of ``settings``."""
    for part in knob.split("."):
        if part not in settings:
            raise KeyError(f"no setting {knob!r}")
        settings = settings[part]
    return settings


def show(entry: Any) -> str:
    """A settings entry as a table cell: the VGG-11 configuration and named datasets by name,
    a dict of sizes as ``a / b / c``, lists and names compactly."""
    if entry == setups.VGG11:
        return "VGG-11"
    if isinstance(entry, dict) and "name" in entry:  # a dataset of Chapter 6
        return str(entry["name"])
    if entry == []:
        return "none"
    if isinstance(entry, dict):
        return " / ".join(show(v) for v in entry.values())
    if isinstance(entry, list):
        return "[" + ", ".join(show(v) for v in entry) + "]"
    if isinstance(entry, float):
        return f"{entry:g}"
    return str(entry)


def table(root: Path) -> str:
    """The Markdown tables of every chapter in ``_toc.yml``, one after the other; chapters
    that share their rows (Part I) share one table."""
    chapters = toc_chapters(root)
    groups: list[tuple[list[int], list[Row]]] = []
    for number, chapter in enumerate(chapters, start=1):
        if groups and groups[-1][1] is SOURCES[chapter]:
            groups[-1][0].append(number)
        else:
            groups.append(([number], SOURCES[chapter]))
    parts = []
    for numbers, rows in groups:
        links = [f"[Chapter {n}](../chapters/{chapters[n - 1]}.ipynb)" for n in numbers]
        title = " and ".join([", ".join(links[:-1]), links[-1]] if len(links) > 1 else links)
        parts.append(f"**{title}**\n\n{_chapter_table(root, chapters[numbers[0] - 1], rows)}")
    return "\n\n".join(parts) + "\n"


def _chapter_table(root: Path, chapter: str, rows: list[Row]) -> str:
    settings = settings_table(root, chapter)
    lines = ["| | source | `full` | `quick` | why `full` departs |", "|---|---|---|---|---|"]
    for row in rows:
        full, quick = (
            (show(value(settings["full"], row.knob)), show(value(settings["quick"], row.knob)))
            if row.knob
            else (row.full, row.quick)
        )
        lines.append(f"| {row.what} | {row.source} | {full} | {quick} | {row.note} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(table(Path(".")))
