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


def current_entries(root: Path, chapter: str, record: dict) -> tuple[dict[str, dict], int]:
    """The chapter's entries of ``record`` computed from its present inputs, ``{seed: entry}``,
    and how many entries were computed from earlier ones."""
    entries = record["chapters"].get(chapter, {})
    graph = module_graph(root / "src")
    current = {
        seed: entry
        for seed, entry in sorted(entries.items())
        if entry.get("fingerprint")
        == fingerprints.fingerprint(root, chapter, parameters(record["profile"], int(seed)), graph)
    }
    return current, len(entries) - len(current)
