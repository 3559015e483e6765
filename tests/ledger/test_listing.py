"""The state of a grant or licence in words at a given time (ledger/listing.py), each state
reached with the clock given, never waited for (specs/cli.md section 3.4)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from provenance_ledger.core.rules import Grant, Licence
from provenance_ledger.ledger.listing import grant_status, licence_status

KEY = "ed25519:" + "ab" * 32
T = 1_800_000_000  # the grant or offer's time


@pytest.mark.parametrize(("grant", "now", "state"), [
    (Grant("g", KEY, ("ai_training",), T), T, "in force"),
    (Grant("g", KEY, ("ai_training",), T), T - 1, "not yet started"),
    (Grant("g", KEY, ("ai_training",), T, until=T + 10), T + 9, "in force"),
    (Grant("g", KEY, ("ai_training",), T, until=T + 10), T + 10, "expired"),
    (Grant("g", KEY, ("ai_training",), T, revoked_by="r", revoked_at=T + 5), T + 4, "in force"),
    (Grant("g", KEY, ("ai_training",), T, revoked_by="r", revoked_at=T + 5), T + 5, "revoked"),
])
def test_grant_status(grant: Grant, now: int, state: str) -> None:
    assert grant_status(grant, now) == state


NO_TERMS: Mapping[str, Any] = MappingProxyType({})
OFFER = Licence("o", KEY, ("ai_inference",), T, NO_TERMS, start=T + 100, until=T + 200,
                offer_expires=T + 50)
ACCEPTED = Licence("o", KEY, ("ai_inference",), T, NO_TERMS, start=T + 100, until=T + 200,
                   offer_expires=T + 50, accepted_by="a", accepted_at=T + 10)


@pytest.mark.parametrize(("licence", "now", "state"), [
    (OFFER, T, "open offer"),
    (OFFER, T + 50, "offer lapsed"),  # not accepted before it expired
    (Licence("o", KEY, ("ai_inference",), T, NO_TERMS, until=T + 20), T + 20, "offer lapsed"),
    (Licence("o", KEY, ("ai_inference",), T, NO_TERMS, terminated_by="t", terminated_at=T + 1),
     T + 1, "offer withdrawn"),
    (ACCEPTED, T + 9, "open offer"),  # asked about a time before the acceptance
    (ACCEPTED, T + 10, "not yet started"),
    (ACCEPTED, T + 100, "in force"),
    (ACCEPTED, T + 200, "ended"),
    (Licence("o", KEY, ("ai_inference",), T, NO_TERMS, accepted_by="a", accepted_at=T + 1,
             terminated_by="t", terminated_at=T + 2), T + 2, "terminated"),
])
def test_licence_status(licence: Licence, now: int, state: str) -> None:
    assert licence_status(licence, now) == state
