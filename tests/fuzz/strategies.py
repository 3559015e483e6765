"""Hypothesis strategies for the fuzz and property suite, and its settings.

Example counts: every test states its count for the default (CI) run; ``HYPOTHESIS_PROFILE=long``
multiplies them by ``LONG_FACTOR`` for the documented long run::

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/fuzz

Values are built the way their producers build them (events signed by real keys, notes signed
by real log and witness keys), so that a mutation of one is a mutation of something valid.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import (
    BASIS_POINTS,
    CONDITIONS,
    MAX_LIST_ITEMS,
    MAX_TITLE_CHARS,
    STANDARD_PURPOSES,
    Event,
    SignedEvent,
    sign_event,
    work_id_of,
)
from provenance_ledger.core.note import NoteSigner
from provenance_ledger.core.timefmt import MAX_TIME, format_time

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
LONG_FACTOR = 50
"""How many times more examples each test runs under ``HYPOTHESIS_PROFILE=long``."""
if PROFILE not in ("ci", "long"):
    raise ValueError(f"HYPOTHESIS_PROFILE must be ci or long, not {PROFILE!r}")

F = TypeVar("F", bound=Callable[..., Any])


def fuzz(examples: int) -> Callable[[F], F]:
    """Settings for one fuzz test: ``examples`` in CI, ``LONG_FACTOR`` times more in the long
    run; no per-example deadline (signing and the CLI take their time)."""
    count = examples * (LONG_FACTOR if PROFILE == "long" else 1)
    return settings(max_examples=count, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])


def key(name: str) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(b"fuzz key " + name.encode()).digest())


KEYS = [key(f"k{i}") for i in range(4)]
LOG = NoteSigner("fuzz.example/log", key("log"))
WITNESSES = [NoteSigner(f"fuzz.example/w{i}", key(f"witness {i}"), cosigner=True)
             for i in range(3)]

# -- text and scalars --------------------------------------------------------------------------

REFUSED_IN_TEXT = ("".join(map(chr, range(0x20))) + "".join(map(chr, range(0x7f, 0xa0)))
                   + "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""The characters events.md section 6 refuses in text (surrogates are not generated)."""

text_chars = st.characters(codec="utf-8", exclude_characters=REFUSED_IN_TEXT)


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(text_chars, min_size=1, max_size=max_size)


times = st.integers(0, MAX_TIME)
hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
works = hex64.map(work_id_of)
actor_keys = st.sampled_from(KEYS)
public_keys = actor_keys.map(lambda k: k.public.text)
custom_purposes = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?:[a-z0-9][a-z0-9_.-]{0,8}",
                                fullmatch=True)
purposes = st.lists(st.one_of(st.sampled_from(STANDARD_PURPOSES), custom_purposes),
                    min_size=1, max_size=4, unique=True)


@st.composite
def payees(draw: st.DrawFn) -> list[dict[str, Any]]:
    keys = draw(st.lists(public_keys, min_size=1, max_size=len(KEYS), unique=True))
    cuts = sorted(draw(st.lists(st.integers(0, BASIS_POINTS), min_size=len(keys) - 1,
                                max_size=len(keys) - 1)))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, BASIS_POINTS], strict=True)]
    return [{"key": k, "share_bps": s} for k, s in zip(keys, shares, strict=True)]


def _optional(draw: st.DrawFn, body: dict[str, Any], name: str,
              strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        body[name] = draw(strategy)


@st.composite
def bodies(draw: st.DrawFn, type_: str) -> dict[str, Any]:
    """A valid body of ``type_`` (specs/events.md section 6), optional members at random."""
    body: dict[str, Any]
    if type_ == "work.register":
        body = {"size": draw(st.integers(0, 2**53 - 1)),
                "media_type": draw(st.sampled_from(["image/png", "text/plain",
                                                    "application/vnd.example+json"]))}
        _optional(draw, body, "title", texts(MAX_TITLE_CHARS))
        _optional(draw, body, "similarity", texts(64))
        _optional(draw, body, "payees", payees())
    elif type_ == "work.transfer":
        body = {"to": draw(public_keys)}
        _optional(draw, body, "payees", payees())
    elif type_ == "consent.grant":
        body = {"grantee": draw(st.one_of(st.just("*"), public_keys)),
                "purposes": draw(purposes)}
        _optional(draw, body, "until", times.map(format_time))
        _optional(draw, body, "conditions", st.lists(st.sampled_from(CONDITIONS), min_size=1,
                                                     max_size=2, unique=True))
    elif type_ == "consent.revoke":
        body = {"grant": draw(hex64)}
    elif type_ == "licence.offer":
        body = {"licensee": draw(public_keys), "purposes": draw(purposes)}
        _optional(draw, body, "fee", st.fixed_dictionaries({
            "amount": st.integers(0, 2**53 - 1),
            "currency": st.from_regex(r"[A-Z]{3}", fullmatch=True)}))
        _optional(draw, body, "royalty_bps", st.integers(0, BASIS_POINTS))
        _optional(draw, body, "territories", st.lists(st.from_regex(r"[A-Z]{2}", fullmatch=True),
                                                      min_size=1, max_size=MAX_LIST_ITEMS,
                                                      unique=True))
        for name in ("from", "until", "offer_expires"):
            _optional(draw, body, name, times.map(format_time))
        _optional(draw, body, "terms_uri", st.from_regex(r"(https?://|urn:)[!-~]{1,60}",
                                                         fullmatch=True))
    elif type_ == "dataset.disclose":
        body = {"name": draw(texts(MAX_TITLE_CHARS)), "version": draw(texts(64)),
                "purposes": draw(purposes), "root": draw(hex64),
                "count": draw(st.integers(0, 2**53 - 1))}
        _optional(draw, body, "model", texts(MAX_TITLE_CHARS))
        _optional(draw, body, "compliance", hex64.map(lambda h: "sha256:" + h))
    elif type_ == "licence.accept":
        body = {"offer": draw(hex64)}
    else:
        body = {"licence": draw(hex64)}
        _optional(draw, body, "reason", texts(200))
    return body


@st.composite
def events(draw: st.DrawFn) -> tuple[Event, PrivateKey]:
    """A valid unsigned event and its actor's key."""
    type_ = draw(st.sampled_from(["work.register", "work.transfer", "consent.grant",
                                  "consent.revoke", "licence.offer", "licence.accept",
                                  "licence.terminate", "dataset.disclose"]))
    actor = draw(actor_keys)
    prev = None if type_ == "work.register" else draw(hex64)
    return Event(type_, draw(works), prev, actor.public.text, draw(times),
                 draw(bodies(type_))), actor


signed_events: st.SearchStrategy[SignedEvent] = events().map(lambda e: sign_event(*e))

# -- JSON values and mutations -----------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60),
                         st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a member or item of a JSON value (the value itself excluded)."""
    out: list[tuple[Any, ...]] = []
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for k, v in items:
        out.append((*prefix, k))
        out.extend(paths(v, (*prefix, k)))
    return out


def get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def json_mutation(draw: st.DrawFn, value: Any) -> tuple[Any, str]:
    """A changed deep copy of a JSON object and what was done: a member or item replaced by
    another value, deleted, or added; or one character of a string changed."""
    import copy

    out = copy.deepcopy(value)
    where = draw(st.sampled_from(paths(out)))
    parent, last = get(out, where[:-1]), where[-1]
    old = parent[last]
    kind = draw(st.sampled_from(["replace", "delete", "add", "char"]))
    if kind == "char" and isinstance(old, str) and old:
        i = draw(st.integers(0, len(old) - 1))
        new_char = draw(st.characters(codec="utf-8"))
        parent[last] = old[:i] + new_char + old[i + 1:]
    elif kind == "delete":
        del parent[last]
    elif kind == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=10))] = draw(json_values)
    else:
        kind = "replace"
        parent[last] = draw(json_values)
    return out, f"{kind} at {where!r}"


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one span replaced, deleted or inserted; never equal to ``data``."""
    i = draw(st.integers(0, len(data)))
    j = draw(st.integers(i, min(len(data), i + 8)))
    new = draw(st.binary(max_size=8))
    out = data[:i] + new + data[j:]
    if out == data:
        out = data[:i] + bytes([(data[i] ^ 1) if i < len(data) else 0]) + data[i + 1:]
    return out


@st.composite
def text_mutation(draw: st.DrawFn, text: str) -> str:
    """``text`` with one span replaced, deleted or inserted; never equal to ``text``."""
    i = draw(st.integers(0, len(text)))
    j = draw(st.integers(i, min(len(text), i + 4)))
    new = draw(st.text(st.characters(codec="utf-8"), max_size=4))
    out = text[:i] + new + text[j:]
    if out == text:
        out = text[:i] + ("A" if text[i:i + 1] != "A" else "B") + text[i + 1:]
    return out
