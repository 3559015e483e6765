"""Loader for the RFC 9162 known-answer vectors in ``tests/data/rfc9162``.

The vectors are data (copied from transparency-dev/merkle, Apache-2.0: see the README and
LICENSE beside them). Each JSON file is one case; its path below ``inclusion/`` or
``consistency/``, without ``.json``, is its pytest id. A missing folder is an error, never a
skip: a silently skipped vector suite would prove nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KINDS = ("inclusion", "consistency")

Case = tuple[str, dict[str, Any]]


def vectors_dir() -> Path:
    """The RFC 9162 vectors folder, part of the repository."""
    return Path(__file__).resolve().parent / "data" / "rfc9162"


def load_cases(kind: str) -> list[Case]:
    """Every ``kind`` case as ``(test_id, case)``, sorted by id; raise if there are none."""
    if kind not in KINDS:
        raise ValueError(f"unknown vector kind {kind!r}, expected one of {KINDS}")
    folder = vectors_dir() / kind
    if not folder.is_dir():
        raise FileNotFoundError(
            f"RFC 9162 vectors not found at {folder}: tests/data/rfc9162 is part of the repository"
        )
    cases = [
        (path.relative_to(folder).with_suffix("").as_posix(), json.loads(path.read_bytes()))
        for path in sorted(folder.rglob("*.json"))
    ]
    if not cases:
        raise FileNotFoundError(f"no {kind} vectors (*.json) under {folder}")
    return cases
