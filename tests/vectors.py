"""Loader for the RFC 9162 known-answer vectors in ``tests/data/rfc9162``.

The vectors are data (copied from transparency-dev/merkle, Apache-2.0: see the README and
LICENSE beside them). Each JSON file is one case; its path below ``inclusion/`` or
``consistency/``, without ``.json``, is its pytest id. A missing folder is an error, never a
skip: a silently skipped vector suite would prove nothing.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
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


def load_generator(script: Path, name: str) -> ModuleType:
    """The vector generator ``script`` (a ``make_vectors.py`` beside its known-answer file),
    imported as module ``name``: tests check that it writes the committed file, and use its
    story. Registered in ``sys.modules`` first, as its dataclasses look their module up."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"{script} is part of the repository")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_known_answers(path: Path, fmt: str) -> dict[str, Any]:
    """A known-answer file of format ``fmt`` with at least one case; a missing file is an
    error, never a skip."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is part of the repository (make_vectors.py writes it)")
    data: dict[str, Any] = json.loads(path.read_bytes())
    if data.get("format") != fmt or not data.get("cases"):
        raise ValueError(f"{path} is not a {fmt} file with cases")
    return data
