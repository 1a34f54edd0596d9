"""Execution profiles, seeding, device choice, cache root and progress bars.

Every chapter starts with :func:`start`: its papermill parameters (profile, seed, device,
overrides of its knobs) and its settings table become a :class:`Session`, with every parameter
checked against its declaration (:mod:`deepinside.parameters`), the profile's settings chosen
(:func:`choose_profile`), every generator seeded (:func:`seed_everything`) and the device picked
(:func:`pick_device`). A chapter checks the knobs it uses directly with :func:`check_knobs`.
In the stand-in dry run (:mod:`deepinside.standin`) the `full` profile's settings shrink and
the page says so first.
"""

from __future__ import annotations

import atexit
import json
import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from . import standin
from .parameters import DEVICES, PROFILES, check, check_all

CACHE_ENV = "DEEPINSIDE_CACHE"
RECORD_ENV = "DEEPINSIDE_RECORD"  # a file: where the chapter's device and precision are written
NO_PROGRESS_ENV = "DEEPINSIDE_NO_PROGRESS"

T = TypeVar("T")


@dataclass(frozen=True)
class Session:
    """What a chapter starts from: its profile's settings, the seed, the device, and a torch
    generator seeded with the seed for every random draw of the chapter."""

    profile: str
    seed: int
    device: torch.device
    generator: torch.Generator
    settings: dict[str, Any]


def start(
    profile: str, seed: int, device: str, table: Mapping[str, Mapping[str, Any]], **overrides: Any
) -> Session:
    """A chapter's start: the settings of ``profile`` in ``table`` with ``overrides`` (see
    :func:`choose_profile`), everything seeded with ``seed``, and the device.

    Each parameter is checked against its declaration (:data:`deepinside.parameters.KNOBS`),
    an override by its upper-case name: ``epochs=EPOCHS`` as ``EPOCHS``.
    """
    check_all({"PROFILE": profile, "SEED": seed, "DEVICE": device})
    if standin.active():
        if profile != "full":
            raise ValueError(
                f"{standin.ENV}=1 dry-runs the full profile: run with PROFILE='full', "
                f"or unset {standin.ENV} for PROFILE={profile!r}"
            )
        standin.announce()
    settings = choose_profile(profile, table, **overrides)
    check_all({name.upper(): value for name, value in overrides.items()})
    generator = seed_everything(seed)
    session = Session(profile, int(seed), pick_device(device), generator, settings)
    if os.environ.get(RECORD_ENV):
        atexit.register(write_record, Path(os.environ[RECORD_ENV]), session.device)
    return session


def write_record(path: Path, device: torch.device) -> None:
    """Write, as JSON, where the chapter ran: its device, whether a CUDA GPU was visible and
    which, the precision of its training (:func:`precision`) and the peak
    GPU memory allocated (MB). The build asks for it with ``$DEEPINSIDE_RECORD`` (at exit)."""
    cuda = torch.cuda.is_available()
    record = {
        "device": device.type,
        "cuda_visible": cuda,
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "precision": precision(device.type),
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else 0.0,
    }
    path.write_text(json.dumps(record))


def check_knobs(**knobs: Any) -> None:
    """Check the knobs a chapter uses directly, ``check_knobs(TOP=TOP)``: a ``TypeError`` or
    ``ValueError`` names a wrong one and what it allows (:mod:`deepinside.parameters`)."""
    check_all(knobs)


def choose_profile(
    profile: str, settings: Mapping[str, Mapping[str, Any]], **overrides: Any
) -> dict[str, Any]:
    """Settings of ``profile`` from a ``{profile: {knob: value}}`` table.

    ``overrides`` whose value is not ``None`` replace the profile's value, so a
    chapter can expose a knob as a papermill parameter defaulting to ``None``.
    Unknown profiles and unknown knobs raise ``ValueError``. In the stand-in dry run the
    `full` profile's sizes shrink first (:func:`deepinside.standin.shrink`).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown PROFILE {profile!r}: choose one of {PROFILES}")
    if profile not in settings:
        raise ValueError(f"this chapter defines no settings for PROFILE {profile!r}")
    chosen = dict(settings[profile])
    if profile == "full" and standin.active():
        chosen = standin.shrink(chosen)
    unknown = sorted(set(overrides) - set(chosen))
    if unknown:
        raise ValueError(f"unknown knob(s) {unknown}; known knobs: {sorted(chosen)}")
    chosen.update({k: v for k, v in overrides.items() if v is not None})
    return chosen


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch; return a torch generator seeded alike."""
    check("SEED", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(int(seed))


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple's MPS, then the CPU."""
    if device not in DEVICES:
        raise ValueError(f"unknown DEVICE {device!r}: choose one of {DEVICES}")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("DEVICE='cuda' but no CUDA GPU is visible; use DEVICE='auto' or 'cpu'")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("DEVICE='mps' but MPS is not available; use DEVICE='auto' or 'cpu'")
    return torch.device(device)


def native_bfloat16() -> bool:
    """Whether the CUDA GPU computes in bfloat16 natively (Ampere or newer; not a T4)."""
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)


def precision(device_kind: str, mixed_precision: bool | None = None) -> str:
    """The precision of the forward pass: "bfloat16" or "float16" (autocast) or "float32".

    Mixed precision is on by default on CUDA only (``mixed_precision=None``): bfloat16 where
    the GPU supports it natively, else float16 with a gradient scaler. On the CPU or MPS,
    ``mixed_precision=True`` gives bfloat16."""
    if mixed_precision is None:
        mixed_precision = device_kind == "cuda"
    if not mixed_precision:
        return "float32"
    return "float16" if device_kind == "cuda" and not native_bfloat16() else "bfloat16"


def cache_root() -> Path:
    """Root folder of downloaded datasets and trained checkpoints.

    ``$DEEPINSIDE_CACHE`` if set, else ``~/.cache/deepinside``.
    """
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "deepinside"
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterable[T]:
    """A tqdm progress bar, silenced when ``$DEEPINSIDE_NO_PROGRESS`` is set (book builds)."""
    if os.environ.get(NO_PROGRESS_ENV):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
