"""The ecosystem's vocabularies for AI and mining preferences, to and from a work's state
(specs/vocabularies.md): CAWG training-and-data-mining, W3C TDMRep, IETF AI Preferences and
RSL. Pure functions: a state in, a rendering out; a document in, the grants it proposes out.
"""

from __future__ import annotations

from . import aipref, cawg, rsl, tdmrep
from .model import (
    ALLOWED,
    CONSTRAINED,
    MAPPED_PURPOSES,
    NOT_ALLOWED,
    Preferences,
    Reading,
    Stance,
    preferences,
    propose,
)
from .render import FORMATS, Rendering, detect, read, render

__all__ = ["ALLOWED", "CONSTRAINED", "FORMATS", "MAPPED_PURPOSES", "NOT_ALLOWED",
           "Preferences", "Reading", "Rendering", "Stance", "aipref", "cawg", "detect",
           "preferences", "propose", "read", "render", "rsl", "tdmrep"]
