"""What a work's state says about the uses the ecosystem's vocabularies name, and what a
document in one of them asks the ledger to record (specs/vocabularies.md sections 2 and 3).

:func:`preferences` reads a state at a time and gives, for each purpose that some vocabulary
names, one of three answers: ``allowed`` only where a grant to anyone (``*``) without
conditions is in force; ``constrained`` where a grant to anyone with conditions, a grant to one
key, a licence in force or an open licence offer covers it (a licence is needed, or a
condition); ``notAllowed`` otherwise: the ledger's default. :func:`propose` turns a
:class:`Reading` (what a parsed document allows to anyone) into the ``consent.grant`` bodies
the controller would sign, leaving out what a grant in force already gives.

Pure: no I/O, no clock (the time is a parameter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..events import ANYONE
from ..rules import COVERS, WorkState, covers

ALLOWED = "allowed"
CONSTRAINED = "constrained"
NOT_ALLOWED = "notAllowed"
USES = (ALLOWED, CONSTRAINED, NOT_ALLOWED)

MAPPED_PURPOSES = ("ai_training", "ai_generative_training", "ai_inference", "data_mining")
"""The ledger purposes at least one vocabulary names (specs/vocabularies.md section 2).
``ai_generation`` and custom purposes map to none of them."""

ATTRIBUTION = "attribution"


@dataclass(frozen=True, slots=True)
class Stance:
    """The answer for one purpose, with the events behind it."""

    purpose: str
    use: str
    conditions: tuple[str, ...] = ()
    events: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.use not in USES:
            raise ValueError(f"use must be one of {USES}, not {self.use!r}")


@dataclass(frozen=True, slots=True)
class Preferences:
    """A work's stance on each mapped purpose at ``at``; ``page`` is the URL of the node's
    page for the work (``GET /works/{id}``), where a licence or condition is explained, or
    None when the rendering has no node to point at."""

    work: str
    at: int
    stances: tuple[Stance, ...]
    page: str | None = None

    def __post_init__(self) -> None:
        if tuple(s.purpose for s in self.stances) != MAPPED_PURPOSES:
            raise ValueError(f"a stance for each of {MAPPED_PURPOSES}, in that order")

    def stance(self, purpose: str) -> Stance:
        return self.stances[MAPPED_PURPOSES.index(purpose)]

    def use(self, purpose: str) -> str:
        return self.stance(purpose).use

    def pointer(self) -> str:
        """Where a reader learns the terms: the page, else the work id."""
        return self.page or f"work {self.work} on its provenance ledger"


def preferences(state: WorkState | None, work: str, at: int,
                page: str | None = None) -> Preferences:
    """Default deny: ``allowed`` only where a grant to anyone without conditions is in force
    at ``at`` (specs/vocabularies.md section 2.1)."""
    return Preferences(work, at, tuple(_stance(state, p, at) for p in MAPPED_PURPOSES), page)


def _stance(state: WorkState | None, purpose: str, at: int) -> Stance:
    if state is None or state.dataset is not None or at < state.registered_at:
        return Stance(purpose, NOT_ALLOWED)
    # (1) a grant to anyone: allowed if one has no conditions; else the fewest conditions.
    anyone = [g for g in state.grants
              if g.grantee == ANYONE and covers(g.purposes, purpose) and g.in_force(at)]
    if anyone:
        best = min(anyone, key=lambda g: (len(g.conditions), sorted(g.conditions)))
        use = ALLOWED if not best.conditions else CONSTRAINED
        return Stance(purpose, use, tuple(sorted(best.conditions)), (best.id,))
    # (2) a grant to one key, a licence in force, or an open offer: a licence is needed.
    keyed = tuple(g.id for g in state.grants if covers(g.purposes, purpose) and g.in_force(at))
    licensed = tuple(x.id for x in state.licences if covers(x.purposes, purpose)
                     and (x.in_force(at) or x.open_offer(at)))
    if keyed or licensed:
        return Stance(purpose, CONSTRAINED, (), keyed + licensed)
    # (3) the ledger's default.
    return Stance(purpose, NOT_ALLOWED)


@dataclass(frozen=True, slots=True)
class Reading:
    """What a parsed document allows anyone to do, in ledger purposes, with the conditions
    of each (``attribution``); ``notes`` say what was read but not imported, and why."""

    vocabulary: str
    allowed: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.allowed) - set(MAPPED_PURPOSES)
        if unknown:
            raise ValueError(f"not a mapped purpose: {sorted(unknown)}")
        object.__setattr__(self, "allowed", MappingProxyType(dict(self.allowed)))


def fewer(a: tuple[str, ...] | None, b: tuple[str, ...]) -> tuple[str, ...]:
    """Of two ways to be allowed, the one with fewer conditions (``a`` None: ``b``)."""
    if a is None:
        return b
    return a if (len(a), a) <= (len(b), b) else b


def training_rule(allowed: dict[str, tuple[str, ...]], notes: list[str], what: str) -> None:
    """The ledger's ``ai_training`` covers generative training (specs/rules.md section 5):
    a document that allows training but not generative training cannot be recorded as
    ``ai_training`` without allowing more than it says, so that purpose is dropped."""
    if "ai_training" in allowed and "ai_generative_training" not in allowed:
        del allowed["ai_training"]
        notes.append(f"{what} allows AI training but not generative AI training; the "
                     "ledger's ai_training includes generative training, so it is not "
                     "imported")


def propose(state: WorkState | None, reading: Reading, at: int) -> tuple[dict[str, Any], ...]:
    """The ``consent.grant`` bodies (grantee ``*``) that record ``reading`` on ``state``: one
    per set of conditions, leaving out each purpose a grant in force at ``at`` already gives
    with no more conditions, and each purpose another of the same grant covers."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for purpose in MAPPED_PURPOSES:
        conditions = reading.allowed.get(purpose)
        if conditions is None or _already(state, purpose, conditions, at):
            continue
        groups.setdefault(tuple(sorted(conditions)), []).append(purpose)
    bodies = []
    for conditions, purposes in groups.items():
        kept = [p for p in purposes
                if not any(q != p and p in COVERS.get(q, frozenset()) for q in purposes)]
        body: dict[str, Any] = {"grantee": ANYONE, "purposes": kept}
        if conditions:
            body["conditions"] = list(conditions)
        bodies.append(body)
    return tuple(bodies)


def _already(state: WorkState | None, purpose: str, conditions: tuple[str, ...],
             at: int) -> bool:
    if state is None:
        return False
    return any(g.grantee == ANYONE and covers(g.purposes, purpose) and g.in_force(at)
               and set(g.conditions) <= set(conditions) for g in state.grants)
