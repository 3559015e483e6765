"""Really Simple Licensing (RSL) 1.0, both ways (specs/vocabularies.md section 7).

:func:`render` writes an ``<rsl>`` document with one ``<content>`` for the work and a
``<license>`` per kind of answer: free (allowed to anyone), attribution (allowed to anyone
who credits), and a licence to obtain (a ``purchase`` whose ``<custom>`` is the work's page).
:func:`read` parses with defusedxml: a document type declaration (and so every entity, the
"billion laughs" and external entities) is refused, as is one over :data:`MAX_ELEMENTS`
elements; the caller caps the bytes. Left out: RSL in RSS feeds and HTML, ``<permits
type="user">``/``"geo"`` (a licence so limited imports as nothing), licence servers, and the
Open License Protocol.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml
from defusedxml.ElementTree import fromstring

from ...errors import MalformedError, quoted
from ..rules import COVERS
from .model import ALLOWED, ATTRIBUTION, CONSTRAINED, Preferences, Reading, fewer, training_rule

VERSION = "RSL 1.0 (RSL-SPEC-1.0, Recommendation, 2025-11-06)"
NAMESPACE = "https://rslstandard.org/rsl"
MEDIA_TYPE = "application/rsl+xml"
MAX_ELEMENTS = 10_000

EXPORT_TOKENS = {"ai-train": ("ai_training", "ai_generative_training"),
                 "ai-input": ("ai_inference",)}
"""RSL 1.0 usage tokens written, with the ledger purposes each needs: ``ai-train`` is
training of any model, so it is free only where ``ai_training`` (which covers generative
training) is."""
_TRAINING = frozenset({"ai_training", "ai_generative_training"})
IMPORT_TOKENS: dict[str, frozenset[str]] = {
    "ai-train": _TRAINING,
    "ai-input": frozenset({"ai_inference"}),
    "ai-all": _TRAINING | {"ai_inference"},
    "all": _TRAINING | {"ai_inference", "data_mining"},
    # the July 2025 draft's tokens, still in published RSL guides
    "train-ai": _TRAINING,
    "train-genai": frozenset({"ai_generative_training"}),
    "ai-use": frozenset({"ai_inference"}),
}
"""The ledger purposes each usage token allows (section 7.2)."""
FREE, ATTRIBUTION_PAYMENT, PURCHASE = "free", "attribution", "purchase"


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def _token_use(prefs: Preferences, purposes: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    first = prefs.stance(purposes[0])
    if first.use == ALLOWED:
        return ALLOWED, ()
    if first.use == CONSTRAINED and first.conditions == (ATTRIBUTION,):
        return ATTRIBUTION, ()
    if any(prefs.use(p) != "notAllowed" for p in purposes):
        return CONSTRAINED, ()
    return "notAllowed", ()


def render(prefs: Preferences) -> str:
    """One ``<content>``: its ``url`` is the work's page, or its path on the node."""
    groups: dict[str, list[str]] = {ALLOWED: [], ATTRIBUTION: [], CONSTRAINED: []}
    for token, purposes in EXPORT_TOKENS.items():
        use, _ = _token_use(prefs, purposes)
        if use in groups:
            groups[use].append(token)
    url = prefs.page or f"/works/{prefs.work}"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<rsl xmlns="{NAMESPACE}">',
             f"  <content url={quoteattr(url)}>", "    <license>"]
    if groups[ALLOWED]:
        lines.append(f'      <permits type="usage">{" ".join(groups[ALLOWED])}</permits>')
    else:  # a licence that permits no usage would permit every usage: say none
        lines.append('      <prohibits type="usage">all</prohibits>')
    lines += [f'      <payment type="{FREE}"/>', "    </license>"]
    if groups[ATTRIBUTION]:
        lines += ["    <license>",
                  f'      <permits type="usage">{" ".join(groups[ATTRIBUTION])}</permits>',
                  f'      <payment type="{ATTRIBUTION_PAYMENT}"/>', "    </license>"]
    if groups[CONSTRAINED]:
        lines += ["    <license>",
                  f'      <permits type="usage">{" ".join(groups[CONSTRAINED])}</permits>',
                  f'      <payment type="{PURCHASE}">',
                  f"        <custom>{escape(prefs.pointer())}</custom>",
                  "      </payment>", "    </license>"]
    lines += ["  </content>", "</rsl>"]
    return "\n".join(lines) + "\n"


def to_text(prefs: Preferences) -> str:
    return render(prefs)


def parse(data: bytes) -> Element:
    """The document's root, parsed with entity expansion and DTDs refused."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as e:
        raise MalformedError("the RSL document declares a DTD (<!DOCTYPE>): refused, "
                             "entities and external references are not expanded") from e
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden) as e:
        raise MalformedError("the RSL document declares entities: refused, entities and "
                             "external references are not expanded") from e
    except defusedxml.DefusedXmlException as e:
        raise MalformedError(f"the RSL document is refused: {e}") from e
    except ParseError as e:
        raise MalformedError(f"the RSL document is not well-formed XML: {e}") from e
    count = 0
    for _ in root.iter():
        count += 1
        if count > MAX_ELEMENTS:
            raise MalformedError(f"the RSL document has more than {MAX_ELEMENTS} elements")
    if root.tag != _q("rsl"):
        raise MalformedError(f"not an RSL document: the root is {quoted(root.tag)}, expected <rsl "
                             f"xmlns=\"{NAMESPACE}\">")
    return root


def read(data: bytes) -> Reading:
    """Usages a free or attribution ``<license>`` permits by name import as grants to
    anyone (with ``attribution`` for the latter); every other licence imports as nothing
    (section 7.2)."""
    root = parse(data)
    contents = root.findall(_q("content"))
    if len(contents) != 1:
        raise MalformedError(f"the RSL document has {len(contents)} <content> elements; "
                             "import reads a document with one, for the work")
    content = contents[0]
    notes: list[str] = []
    allowed: dict[str, tuple[str, ...]] = {}
    if content.get("server"):
        return Reading("rsl", {}, ("the content names a licence server: a licence must be "
                                   "obtained there, so nothing is imported",))
    for n, licence in enumerate(content.findall(_q("license")), 1):
        conditions = _conditions(licence, n, notes)
        if conditions is None:
            continue
        permits = _tokens(licence, "permits", n, notes)
        if permits is None:
            continue
        prohibits = _tokens(licence, "prohibits", n, notes) or set()
        granted = set().union(*(IMPORT_TOKENS[t] for t in permits if t in IMPORT_TOKENS))
        denied = set().union(*(IMPORT_TOKENS[t] for t in prohibits if t in IMPORT_TOKENS))
        denied |= set().union(*(COVERS.get(p, frozenset()) for p in denied))
        for token in sorted((permits | prohibits) - set(IMPORT_TOKENS)):
            notes.append(f"licence {n}: usage {quoted(token, 42)} names no ledger purpose; ignored")
        for purpose in granted - denied:
            allowed[purpose] = fewer(allowed.get(purpose), conditions)
    training_rule(allowed, notes, "the RSL document")
    return Reading("rsl", allowed, tuple(notes))


def _conditions(licence: Element, n: int, notes: list[str]) -> tuple[str, ...] | None:
    payments = licence.findall(_q("payment"))
    if not payments:
        return ()
    if len(payments) > 1:
        notes.append(f"licence {n}: several <payment> elements; not imported")
        return None
    payment = payments[0]
    kind = payment.get("type")
    if kind == FREE or (kind is None and len(payment) == 0):
        return ()
    if kind == ATTRIBUTION_PAYMENT:
        return (ATTRIBUTION,)
    notes.append(f"licence {n}: payment {quoted(kind, 42)} requires a licence; not imported")
    return None


def _tokens(licence: Element, what: str, n: int, notes: list[str]) -> set[str] | None:
    """The usage tokens of ``<permits>``/``<prohibits>``; None for a licence whose
    ``<permits>`` limits users or places, or names no usage (it is not imported)."""
    tokens: set[str] = set()
    usage = False
    for element in licence.findall(_q(what)):
        kind = element.get("type")
        if kind == "usage":
            usage = True
            tokens.update((element.text or "").split())
        elif what == "permits":
            notes.append(f"licence {n}: permits limited by {str(kind)[:20]}; not imported")
            return None
    if what == "permits" and not usage:
        notes.append(f"licence {n}: names no usage it permits; not imported (the ledger "
                     "grants only what is named)")
        return None
    return tokens
