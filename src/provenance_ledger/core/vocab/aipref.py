"""IETF AI Preferences, both ways (specs/vocabularies.md section 6): the ``Content-Usage``
structured-field Dictionary (RFC 9651 section 3.2) of draft-ietf-aipref-vocab, parsed and
written by ``http-sfv``.

The vocabulary is a draft, and its categories changed between revisions, so every rendering
and reading names its revision: :data:`CURRENT` (``train-ai``, ``search``) or :data:`OLDER`
(-02: ``all``, ``train-ai``, ``train-genai``, ``ai-use``, ``search``, nested). Left out: the
robots.txt ``Content-Usage`` rule with a path (only the field value, or one
``Content-Usage:`` line, is read), and ``search``, which names no ledger purpose.
"""

from __future__ import annotations

from typing import Any

from http_sfv.dictionary import Dictionary
from http_sfv.item import Item
from http_sfv.types import Token

from ...errors import MalformedError, quoted
from .model import ALLOWED, Preferences, Reading, training_rule

CURRENT = "draft-ietf-aipref-vocab-07"
OLDER = "draft-ietf-aipref-vocab-02"
VERSIONS = (CURRENT, OLDER)
MEDIA_TYPE = "text/plain"
FIELD = "Content-Usage"
MAX_FIELD_BYTES = 8192

CATEGORIES: dict[str, dict[str, str]] = {
    # -07: "AI Model Training" is training a model that generates synthetic content.
    CURRENT: {"train-ai": "ai_generative_training"},
    # -02: "all" is automated processing (mining), with train-ai, ai-use, search inside it,
    # and train-genai inside train-ai.
    OLDER: {"all": "data_mining", "train-ai": "ai_training",
            "train-genai": "ai_generative_training", "ai-use": "ai_inference"},
}
PARENT = {"train-ai": "all", "train-genai": "train-ai", "ai-use": "all", "search": "all"}
"""draft -02, "Vocabulary Definition": a category without a preference takes its
parent's."""
OLDER_ONLY = frozenset({"all", "train-genai", "ai-use"})


def render(prefs: Preferences, version: str = CURRENT) -> str:
    """The field value: ``y`` only for a purpose allowed to anyone, ``n`` otherwise (the
    format has no "constrained"; a licence is an arrangement that overrides it, section 6.1).
    """
    if version not in VERSIONS:
        raise ValueError(f"aipref version must be one of {VERSIONS}")
    d = Dictionary()
    for label, purpose in CATEGORIES[version].items():
        d[label] = Item(Token("y" if prefs.use(purpose) == ALLOWED else "n"))
    if version == OLDER and prefs.use("data_mining") == ALLOWED:
        d["search"] = Item(Token("n"))  # all=y must not imply search
    return str(d)


def to_text(prefs: Preferences, version: str = CURRENT) -> str:
    return render(prefs, version) + "\n"


def read(data: bytes, version: str = CURRENT) -> Reading:
    """``y`` imports as a grant to anyone; ``n``, a value that is not the token ``y`` or
    ``n``, and an absent category import as nothing (the draft's "Processing Algorithm").
    A field that names a category only -02 has is read as -02 whatever ``version`` says."""
    if version not in VERSIONS:
        raise ValueError(f"aipref version must be one of {VERSIONS}")
    if len(data) > MAX_FIELD_BYTES:
        raise MalformedError(f"the {FIELD} value is larger than {MAX_FIELD_BYTES} bytes")
    value = _value(data)
    d = Dictionary()
    try:
        if value:  # an empty field is an empty Dictionary: no preference at all
            d.parse(value)
    except ValueError as e:
        raise MalformedError(f"not a {FIELD} structured field (RFC 9651 Dictionary): "
                             f"{quoted(value.decode('ascii', 'replace'))}") from e
    prefs: dict[str, bool] = {}
    for label, member in d.items():
        token = getattr(member, "value", None)
        if isinstance(token, Token) and str(token) in ("y", "n"):
            prefs[label] = str(token) == "y"
    if OLDER_ONLY & set(d.keys()):
        version = OLDER
    allowed: dict[str, tuple[str, ...]] = {}
    notes = [f"read as {version}"]
    for label, purpose in CATEGORIES[version].items():
        if _resolve(prefs, label, version):
            allowed[purpose] = ()
    ignored = sorted(set(d.keys()) - set(CATEGORIES[version]))
    if ignored:
        notes.append(f"{', '.join(ignored)}: no ledger purpose; ignored")
    training_rule(allowed, notes, f"the {FIELD} field")
    return Reading(f"aipref/{version}", allowed, tuple(notes))


def _resolve(prefs: dict[str, bool], label: str, version: str) -> bool:
    found: Any = prefs.get(label)
    while found is None and version == OLDER and label in PARENT:
        label = PARENT[label]
        found = prefs.get(label)
    return found is True


def _value(data: bytes) -> bytes:
    """The field value: the bytes given, or those after ``Content-Usage:`` on one line."""
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    if not lines:
        return b""  # no preference at all: every category unknown
    if len(lines) != 1:
        raise MalformedError(f"give one {FIELD} field value (or one '{FIELD}: ...' line), "
                             f"not {len(lines)} lines")
    line = lines[0]
    name, sep, rest = line.partition(b":")
    if sep and name.strip().lower() == FIELD.lower().encode():
        return rest.strip()
    return line
