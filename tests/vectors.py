"""Loader for the RFC 9162 known-answer vectors in ``../shared/vectors/rfc9162``.

The vectors are data (copied from transparency-dev/merkle, see the README beside them). Each
JSON file is one case; its path below ``inclusion/`` or ``consistency/``, without ``.json``,
is its pytest id. A missing folder is an error, never a skip: CI always has ``shared/`` beside
the repository, and a silently skipped vector suite would prove nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

VECTORS_ENV = "PROVENANCE_VECTORS"
"""Overrides the vectors folder (the one holding ``inclusion/`` and ``consistency/``)."""

KINDS = ("inclusion", "consistency")

Case = tuple[str, dict[str, Any]]


def vectors_dir() -> Path:
    """The RFC 9162 vectors folder: ``$PROVENANCE_VECTORS``, else ``shared/`` beside the repo."""
    override = os.environ.get(VECTORS_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared" / "vectors" / "rfc9162"


def load_cases(kind: str) -> list[Case]:
    """Every ``kind`` case as ``(test_id, case)``, sorted by id; raise if there are none."""
    if kind not in KINDS:
        raise ValueError(f"unknown vector kind {kind!r}, expected one of {KINDS}")
    folder = vectors_dir() / kind
    if not folder.is_dir():
        raise FileNotFoundError(
            f"RFC 9162 vectors not found at {folder}: check out shared/ beside the repository "
            f"or set {VECTORS_ENV}"
        )
    cases = [
        (path.relative_to(folder).with_suffix("").as_posix(), json.loads(path.read_bytes()))
        for path in sorted(folder.rglob("*.json"))
    ]
    if not cases:
        raise FileNotFoundError(f"no {kind} vectors (*.json) under {folder}")
    return cases
