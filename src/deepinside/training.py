"""Seeded training with a checkpoint cache: load the checkpoint if present, else train.

A checkpoint is keyed by a hash of everything that determines the trained
weights (architecture, data, hyperparameters, seed), written atomically and
read back with ``weights_only=True``. A corrupt or unreadable checkpoint is
deleted and the network retrained.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import standin
from .data import ImageSet
from .models import conv_layers
from .runtime import cache_root, precision, progress

CHECKPOINT_VERSION = 2  # bump when training code changes what a key produces
OPTIMIZERS = ("sgd", "adam")


@dataclass
class TrainedModel:
    """A trained network, the same network at initialization, and its training history."""

    model: nn.Module
    initial: nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    from_cache: bool = False

    @property
    def test_accuracy(self) -> float:
        """Test accuracy (%) after the last epoch."""
        return self.history[-1]["test_acc"]

    def mean_test_accuracy(self, last: int = 3) -> float:
        """Test accuracy (%) averaged over the ``last`` epochs, steadier than the last one."""
        return sum(r["test_acc"] for r in self.history[-last:]) / len(self.history[-last:])

    def learned_conv_weights(self) -> list[torch.Tensor]:
        """What training added to each conv layer, W − W₀, first to last, on the CPU."""
        pairs = zip(conv_layers(self.model).values(), conv_layers(self.initial).values())
        return [(m.weight - m0.weight).detach().cpu() for m, m0 in pairs]


@torch.no_grad()
def accuracy(
    model: nn.Module, images: ImageSet, device: torch.device | str = "cpu", batch_size: int = 1000
) -> float:
    """Top-1 accuracy in percent of ``model`` on ``images``."""
    model.eval()
    correct = 0
    for x, y in images.loader(batch_size):
        correct += (model(x.to(device)).argmax(-1).cpu() == y).sum().item()
    return 100.0 * correct / len(images)


def train(
    model: nn.Module,
    train_set: ImageSet,
    test_set: ImageSet,
    *,
    epochs: int,
    lr: float = 0.01,
    momentum: float = 0.9,
    optimizer: str = "sgd",
    batch_size: int = 128,
    seed: int = 0,
    device: torch.device | str = "cpu",
    desc: str = "training",
    mixed_precision: bool | None = None,
) -> list[dict[str, float]]:
    """Train with cross-entropy and ``optimizer`` ("sgd" with ``momentum``, or "adam");
    return one record per epoch.

    Each record holds the mean train loss, train accuracy and test accuracy (%).
    ``mixed_precision`` runs the forward pass in autocast, in the dtype :func:`precision`
    picks (weights, gradients and every measurement the chapters make stay in
    float32/float64; float16 scales the loss against underflow); by default it is on for CUDA
    and off elsewhere.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}: choose one of {OPTIMIZERS}")
    model.to(device)
    device_type = torch.device(device).type
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(
        precision(device_type, mixed_precision)
    )
    scaler = torch.amp.GradScaler(device_type, enabled=dtype == torch.float16)
    step = (
        torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        if optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr=lr)
    )
    history = []
    for epoch in progress(range(epochs), desc=desc):
        model.train()
        total_loss, correct = 0.0, 0
        for x, y in train_set.loader(batch_size, shuffle=True, seed=seed * 1000 + epoch):
            x, y = x.to(device), y.to(device)
            with torch.autocast(device_type, dtype=dtype, enabled=dtype is not None):
                logits = model(x)
                loss = nn.functional.cross_entropy(logits.float(), y)
            step.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(step)
            scaler.update()
            total_loss += loss.item() * len(y)
            correct += (logits.argmax(-1) == y).sum().item()
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": total_loss / len(train_set),
                "train_acc": 100.0 * correct / len(train_set),
                "test_acc": accuracy(model, test_set, device),
            }
        )
    model.eval()
    return history


def trained(
    name: str,
    build: Callable[..., nn.Module],
    arguments: dict[str, Any],
    train_set: ImageSet,
    test_set: ImageSet,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    **train_kwargs: Any,
) -> TrainedModel:
    """The network ``build(**arguments)`` trained on ``train_set`` with :func:`train`, from the
    cache when possible. ``name`` labels the checkpoint file and the progress bar; the cache key
    is :func:`checkpoint_key`, derived from the builder and the training call themselves."""
    key = checkpoint_key(
        build, arguments, train_set, test_set, seed=seed, device=device, **train_kwargs
    )
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    path = checkpoint_folder() / f"{name}-{digest[:16]}.pt"

    torch.manual_seed(seed)
    initial = build(**arguments)
    model = copy.deepcopy(initial)
    # loading and training consume random numbers differently (e.g. data loaders draw seeds):
    # restore the generators afterwards so that what follows is the same either way
    with torch.random.fork_rng():
        saved = load_checkpoint(path)
        if saved is not None:
            model.load_state_dict(saved["model"])
            return TrainedModel(
                model.to(device).eval(),
                initial.to(device).eval(),
                saved["history"],
                from_cache=True,
            )
        history = train(
            model,
            train_set,
            test_set,
            seed=seed,
            device=device,
            desc=f"training {name}",
            **train_kwargs,
        )
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_checkpoint(path, {"model": state, "history": history, "key": json.dumps(key)})
    return TrainedModel(model.eval(), initial.to(device).eval(), history)


def checkpoint_folder() -> Path:
    """Where checkpoints live: ``cache_root()/checkpoints``; the stand-in dry run's apart, in
    ``cache_root()/standin-checkpoints``, so that neither is ever taken for the other."""
    return cache_root() / ("standin-checkpoints" if standin.active() else "checkpoints")


def checkpoint_key(
    build: Callable[..., nn.Module],
    arguments: dict[str, Any],
    train_set: ImageSet,
    test_set: ImageSet,
    **train_kwargs: Any,
) -> dict[str, Any]:
    """Everything that determines a trained network, as plain JSON: the builder's qualified
    name and its bound arguments **with defaults applied**, every argument of :func:`train`
    with its defaults (seed included), the device kind and the precision it resolves to, and
    the datasets' names and sizes. A changed default therefore changes the key."""
    built = inspect.signature(build).bind(**arguments)
    built.apply_defaults()
    fit = inspect.signature(train).bind(None, train_set, test_set, **train_kwargs)
    fit.apply_defaults()
    training = {
        k: v
        for k, v in fit.arguments.items()
        if k not in ("model", "train_set", "test_set", "device", "desc", "mixed_precision")
    }
    device_kind = torch.device(fit.arguments["device"]).type
    training["device_kind"] = device_kind
    training["precision"] = precision(device_kind, fit.arguments["mixed_precision"])
    return _jsonable(
        {
            "builder": f"{build.__module__}.{build.__qualname__}",
            "arguments": built.arguments,
            "train": training,
            "version": CHECKPOINT_VERSION,
            "data": [train_set.name, len(train_set), test_set.name, len(test_set)],
        }
    )


def _jsonable(value: Any) -> Any:
    """Tensors as rounded lists, tuples as lists, devices and dtypes as strings."""
    if isinstance(value, torch.Tensor):
        return {
            "shape": list(value.shape),
            "values": [round(v, 6) for v in value.detach().flatten().tolist()],
        }
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with ``torch.save`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or ``None`` if absent; a corrupt one is deleted."""
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or not {"model", "history"} <= payload.keys():
            raise ValueError("missing keys")
        return payload
    except Exception as error:  # noqa: BLE001 - any unreadable file is rebuilt
        warnings.warn(f"checkpoint {path} is unreadable ({error}); retraining", stacklevel=2)
        path.unlink(missing_ok=True)
        return None
