"""The record of several seeds, ``chapters/claims/seeds-<profile>.json``, written by
:mod:`.seeds` and read by the ledger and the tests: ``{"profile", "chapters": {chapter: {seed:
{"fingerprint", "date", "machine", "glued"}}}}``."""

from __future__ import annotations

import json
from pathlib import Path

from . import fingerprints
from .imports import module_graph


def record_file(root: Path, profile: str) -> Path:
    return root / "chapters" / "claims" / f"seeds-{profile}.json"


def read_record(root: Path, profile: str) -> dict:
    """The record of the profile: ``{"profile", "chapters": {chapter: {seed: {"fingerprint",
    "date", "machine", "glued"}}}}``; empty if missing or unreadable."""
    try:
        record = json.loads(record_file(root, profile).read_text())
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("chapters"), dict):
        return {"profile": profile, "chapters": {}}
    return record


def parameters(profile: str, seed: int) -> dict[str, object]:
    return {"PROFILE": profile, "SEED": seed}


def current(root: Path, chapter: str, profile: str, seed: int, entry: dict) -> bool:
    """Whether a record entry was computed from the chapter's present inputs."""
    graph = module_graph(root / "src")
    value = fingerprints.fingerprint(root, chapter, parameters(profile, seed), graph)
    return entry.get("fingerprint") == value
