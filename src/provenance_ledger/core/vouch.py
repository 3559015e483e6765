"""Whose grant made a decision, and whether an attester the verifier trusts vouches for it.

specs/rules.md section 8. Pure: it reads a work's state, the decision of :func:`rules.may`
and the key record of the granting key; the trusted attesters are the verifier's (its policy's
``attester`` lines, or ``--attester``). With ``require_attested`` a decision that rests on a
key no trusted attester vouches for is not an "allowed": that is how a verifier refuses a
consent laundered through a copy someone else registered first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .identity import KeyRecord, Vouching, vouching
from .keystate import KeyLookup, holder
from .rules import Decision, WorkState


def granter(state: WorkState | None, decision: Decision, at: int,
            keys: KeyLookup | None = None) -> str | None:
    """The key whose signature makes ``decision`` an "allowed" (section 8, step 1): the signer
    of the grant or licence offer it cites (the controller when it was made), or the
    controller at ``at`` when the key asking controls the work; None for a refusal. With
    ``keys``, the controller is the key holding its control then (section 9)."""
    if state is None or not decision.allowed:
        return None
    first = decision.events[0] if decision.events else None
    grant = state.grant(first) if first else None
    if grant is not None:
        return _holder(state, grant.at, keys)
    licence = state.licence(first) if first else None
    if licence is not None:
        return _holder(state, licence.offered_at, keys)
    return _holder(state, at, keys)


def _holder(state: WorkState, t: int, keys: KeyLookup | None) -> str | None:
    controller = state.controller_at(t)
    return None if controller is None else holder(controller, t, keys)


@dataclass(frozen=True, slots=True)
class Vouched:
    """A decision with the vouching for its granting key (None for a refusal)."""

    decision: Decision
    vouching: Vouching | None

    @property
    def allowed(self) -> bool:
        return self.decision.allowed


def vouch(state: WorkState | None, decision: Decision, at: int, record: KeyRecord | None,
          trusted: Iterable[str], require_attested: bool,
          keys: KeyLookup | None = None) -> Vouched:
    """Section 8, steps 1-3: name the granting key, the attestations of it in force at ``at``
    (``record`` is that key's record, or None), and under ``require_attested`` turn an
    "allowed" that no trusted attester vouches for into a refusal."""
    key = granter(state, decision, at, keys)
    if key is None:
        return Vouched(decision, None)
    v = vouching(key, record, at, trusted)
    if require_attested and not v.trusted:
        reason = (f"{decision.reason}, but the key that granted it ({key}) is "
                  + ("attested only by attesters you do not trust" if v.attested
                     else "not attested by anyone")
                  + " (--require-attested)")
        return Vouched(Decision(False, reason, decision.events, decision.conditions), v)
    return Vouched(decision, v)
