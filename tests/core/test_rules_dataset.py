"""R12 (specs/rules.md): dataset.disclose starts and continues one series per key and name."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.dataset import EMPTY_ROOT, series_id
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.core.rules import WorkState, apply, may
from provenance_ledger.errors import ConflictError, RuleError

from ..conftest import NOW

DEV = PrivateKey.from_seed(hashlib.sha256(b"rules developer").digest())
OTHER = PrivateKey.from_seed(hashlib.sha256(b"rules other developer").digest())
ROOT = hashlib.sha256(b"some root").hexdigest()


def disclose(version: str, prev: str | None, key: PrivateKey = DEV, at: int = NOW,
             work: str | None = None, **body: Any) -> SignedEvent:
    b: dict[str, Any] = {"name": "corpus", "version": version, "purposes": ["ai_training"],
                         "root": ROOT, "count": 3, **body}
    work = work or series_id(key.public.text, b["name"])
    return sign_event(Event("dataset.disclose", work, prev, key.public.text, at, b), key)


def test_versions_chain_through_prev() -> None:
    v1 = disclose("v1", None)
    st = apply(None, v1)
    assert (st.dataset, st.versions, st.head, st.controller) == (
        "corpus", ("v1",), v1.id, DEV.public.text)
    v2 = disclose("v2", v1.id, at=NOW + 1)
    st2 = apply(st, v2)
    assert st2.versions == ("v1", "v2") and st2.head == v2.id and st2.events == 2


def test_a_later_version_must_name_the_latest() -> None:
    st = apply(None, disclose("v1", None))
    with pytest.raises(ConflictError):
        apply(st, disclose("v2", None))
    with pytest.raises(ConflictError):
        apply(st, disclose("v2", hashlib.sha256(b"elsewhere").hexdigest()))


def test_a_version_is_disclosed_once() -> None:
    v1 = disclose("v1", None)
    with pytest.raises(RuleError, match="already disclosed"):
        apply(apply(None, v1), disclose("v1", v1.id, root=EMPTY_ROOT.hex(), count=0))


def test_the_first_version_names_no_previous() -> None:
    with pytest.raises(RuleError, match="prev null"):
        apply(None, disclose("v1", hashlib.sha256(b"x").hexdigest()))


def test_another_key_cannot_continue_the_series() -> None:
    v1 = disclose("v1", None)
    with pytest.raises(RuleError, match="must have work"):
        apply(apply(None, v1), disclose("v2", v1.id, key=OTHER, work=v1.event.work))


def test_time_does_not_go_backwards() -> None:
    v1 = disclose("v1", None, at=NOW)
    with pytest.raises(RuleError, match="before"):
        apply(apply(None, v1), disclose("v2", v1.id, at=NOW - 1))


def test_an_empty_set_has_the_empty_root() -> None:
    with pytest.raises(RuleError, match="empty root"):
        apply(None, disclose("v1", None, count=0))
    assert apply(None, disclose("v1", None, count=0, root=EMPTY_ROOT.hex())).versions == ("v1",)


def test_a_series_is_no_work_and_a_work_no_series() -> None:
    st = apply(None, disclose("v1", None))
    grant = sign_event(Event("consent.grant", st.work, st.head, DEV.public.text, NOW,
                             {"grantee": "*", "purposes": ["ai_training"]}), DEV)
    with pytest.raises(RuleError, match="not a work"):
        apply(st, grant)
    assert not may(st, DEV.public.text, "ai_training", NOW).allowed
    work = series_id(DEV.public.text, "corpus")
    reg = sign_event(Event("work.register", work, None, OTHER.public.text, NOW,
                           {"size": 1, "media_type": "image/png"}), OTHER)
    registered: WorkState = apply(None, reg)
    with pytest.raises(RuleError, match="not a dataset"):
        apply(registered, disclose("v1", registered.head))
    with pytest.raises(ConflictError):
        apply(st, sign_event(Event("work.register", work, None, OTHER.public.text, NOW,
                                   {"size": 1, "media_type": "image/png"}), OTHER))
    assert work != work_id_of(hashlib.sha256(b"corpus").hexdigest())
