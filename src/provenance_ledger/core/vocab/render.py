"""One entry point for the four vocabularies: :func:`render` a work's preferences in a
format, :func:`read` a document in one, :func:`detect` which (specs/vocabularies.md
section 3)."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import MalformedError
from . import aipref, cawg, rsl, tdmrep
from .model import Preferences, Reading

FORMATS = ("cawg", "tdmrep", "aipref", "rsl")
MAX_DOCUMENT_BYTES = 1 << 20
"""Largest document read for import, in bytes."""


@dataclass(frozen=True, slots=True)
class Rendering:
    """A rendering: its text, media type and the version of the standard it follows."""

    format: str
    version: str
    media_type: str
    text: str


def render(prefs: Preferences, fmt: str, aipref_version: str = aipref.CURRENT) -> Rendering:
    if fmt == "cawg":
        return Rendering(fmt, cawg.VERSION, cawg.MEDIA_TYPE, cawg.to_text(prefs))
    if fmt == "tdmrep":
        return Rendering(fmt, tdmrep.VERSION, tdmrep.MEDIA_TYPE, tdmrep.to_text(prefs))
    if fmt == "aipref":
        return Rendering(fmt, aipref_version, aipref.MEDIA_TYPE,
                         aipref.to_text(prefs, aipref_version))
    if fmt == "rsl":
        return Rendering(fmt, rsl.VERSION, rsl.MEDIA_TYPE, rsl.to_text(prefs))
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def detect(data: bytes) -> str:
    """The format of a document: XML is RSL; JSON with ``entries``, ``label`` or
    ``assertions`` is CAWG, other JSON TDMRep; anything else an aipref field value."""
    head = data.lstrip()[:1]
    if head == b"<":
        return "rsl"
    if head in (b"{", b"["):
        if head == b"[" or b"tdm-reservation" in data:
            return "tdmrep"
        return "cawg"
    return "aipref"


def read(data: bytes, fmt: str | None = None, *, path: str | None = None,
         aipref_version: str = aipref.CURRENT) -> Reading:
    """What ``data`` allows anyone to do; ``fmt`` None: :func:`detect` it."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise MalformedError(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    fmt = fmt or detect(data)
    if fmt == "cawg":
        return cawg.read(data)
    if fmt == "tdmrep":
        return tdmrep.read(data, path)
    if fmt == "aipref":
        return aipref.read(data, aipref_version)
    if fmt == "rsl":
        return rsl.read(data)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")
