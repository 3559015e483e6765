"""CAWG Training and Data Mining Assertion 1.1, both ways (specs/vocabularies.md section 4).

:func:`render` gives the assertion a C2PA manifest definition carries (``label`` and
``data``); :func:`read` takes that, its ``data`` alone, or a manifest definition with an
``assertions`` list, under the CAWG labels or the older C2PA 1.x ones (``c2pa.``). Left out:
the CBOR form inside a signed manifest (a C2PA tool reads and writes it), and custom entry
labels (they name no ledger purpose).
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import MalformedError, quoted
from ..encoding import load_json
from .model import (
    ALLOWED,
    CONSTRAINED,
    MAPPED_PURPOSES,
    NOT_ALLOWED,
    Preferences,
    Reading,
    fewer,
    training_rule,
)

VERSION = "CAWG Training and Data Mining Assertion 1.1 (DIF ratified, 2025-05-16)"
MEDIA_TYPE = "application/json"
LABEL = "cawg.training-mining"
LEGACY_LABEL = "c2pa.training-mining"  # C2PA technical specification 1.x
PREFIXES = ("cawg.", "c2pa.")
MAX_CONSTRAINT_CHARS = 1024


def entry_label(purpose: str, prefix: str = "cawg.") -> str:
    """``ai_training`` -> ``cawg.ai_training``: the four entries are named after the
    purposes (specs/events.md section 4)."""
    return prefix + purpose


def render(prefs: Preferences) -> dict[str, Any]:
    """The assertion, with an entry for every mapped purpose (section 4.1)."""
    entries: dict[str, Any] = {}
    for stance in prefs.stances:
        entry: dict[str, Any] = {"use": stance.use}
        if stance.use == CONSTRAINED:
            entry["constraint_info"] = constraint_text(prefs, stance.conditions)
        entries[entry_label(stance.purpose)] = entry
    return {"label": LABEL, "data": {"entries": entries}}


def constraint_text(prefs: Preferences, conditions: tuple[str, ...]) -> str:
    if conditions:
        why = f"allowed to anyone on condition of {', '.join(conditions)}"
    else:
        why = "licence required: allowed only to the keys the rights holder names"
    return f"{why}; see {prefs.pointer()}"[:MAX_CONSTRAINT_CHARS]


def to_text(prefs: Preferences) -> str:
    return json.dumps(render(prefs), indent=2, ensure_ascii=False) + "\n"


def read(data: bytes) -> Reading:
    """What the assertion allows to anyone; ``constrained`` and ``notAllowed`` import as
    nothing (section 4.2)."""
    doc = load_json(data, "the CAWG training-mining assertion")
    entries = _entries(doc)
    allowed: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    for key, entry in entries.items():
        purpose = _purpose(key)
        if purpose is None:
            notes.append(f"{key}: not an entry of the assertion the ledger maps; ignored")
            continue
        use = entry.get("use") if isinstance(entry, dict) else None
        if use == ALLOWED:
            allowed[purpose] = fewer(allowed.get(purpose), ())
        elif use == CONSTRAINED:
            notes.append(f"{key}: constrained; a licence or condition the ledger cannot "
                         "read, so nothing is imported")
        elif use != NOT_ALLOWED:
            notes.append(f"{key}: use {quoted(use, 42)} is unknown; nothing is imported")
    training_rule(allowed, notes, "the assertion")
    return Reading("cawg", allowed, tuple(notes))


def _entries(doc: Any) -> dict[str, Any]:
    if isinstance(doc, dict) and isinstance(doc.get("assertions"), list):
        found = [a for a in doc["assertions"]
                 if isinstance(a, dict) and a.get("label") in (LABEL, LEGACY_LABEL)]
        if len(found) != 1:
            raise MalformedError(f"the manifest has {len(found)} {LABEL} (or "
                                 f"{LEGACY_LABEL}) assertions; expected one")
        doc = found[0]
    if isinstance(doc, dict) and "label" in doc:
        if doc["label"] not in (LABEL, LEGACY_LABEL):
            raise MalformedError(f"the assertion's label is {quoted(doc['label'], 62)}, not "
                                 f"{LABEL} or {LEGACY_LABEL}")
        doc = doc.get("data")
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), dict):
        raise MalformedError("not a training-mining assertion: expected an object with "
                             "\"entries\" (or \"label\" and \"data\", or \"assertions\")")
    return dict(doc["entries"])


def _purpose(key: str) -> str | None:
    for prefix in PREFIXES:
        if key.startswith(prefix) and key[len(prefix):] in MAPPED_PURPOSES:
            return key[len(prefix):]
    return None
