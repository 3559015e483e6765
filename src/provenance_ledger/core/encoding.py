"""Canonical JSON (RFC 8785 JCS) and strict base64, the one encoder for signed bytes.

specs/events.md section 2. Every value provenance-ledger signs or hashes is a JSON object built
only from objects with ASCII keys, arrays, strings, integers in [-(2^53-1), 2^53-1], booleans and
null. Floats are refused. For that subset RFC 8785 serialisation is exactly Python's ``json``
with sorted keys, no whitespace and no ASCII escaping (JCS sorts keys by UTF-16 code units, which
for ASCII keys is the code-point order ``sort_keys`` uses), which is several times faster than a
general JCS encoder on the append path. The test suite checks the equality against the
``rfc8785`` reference encoder.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..errors import MalformedError

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer JSON numbers carry exactly (RFC 8785 section 3.2.2.3, I-JSON)."""


_MAX_DEPTH = 16  # levels of nested arrays and objects


def _check(value: Any, depth: int = 0, numbers: bool = True) -> None:
    """Walk a value: only JSON types, ASCII keys, bounded depth; with ``numbers``, also no
    floats and no integers beyond 2^53-1."""
    if depth > _MAX_DEPTH:
        raise MalformedError(f"JSON nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float) and not numbers:
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise MalformedError(f"integer {value} is outside the exact JSON range (2^53-1)")
        return
    if isinstance(value, float):
        raise MalformedError("floating-point numbers are not allowed in signed data")
    if isinstance(value, list):
        for item in value:
            _check(item, depth + 1, numbers)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise MalformedError(f"object key {key!r} is not an ASCII string")
            _check(item, depth + 1, numbers)
        return
    raise TypeError(f"cannot encode {type(value).__name__} as canonical JSON")


_SCALARS = frozenset({str, int, bool, type(None)})


def freeze(value: Any) -> Any:
    """A read-only copy of a JSON value: objects become read-only mappings and arrays tuples,
    all the way down, so that a value several readers share (a cached state) cannot be
    changed by one of them. :func:`thaw` gives back plain JSON types."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict or isinstance(value, Mapping):
        return MappingProxyType({k: v if type(v) in _SCALARS else freeze(v)
                                 for k, v in value.items()})
    if kind is list or kind is tuple:
        return tuple([v if type(v) in _SCALARS else freeze(v) for v in value])
    return value


def is_plain(value: Any) -> bool:
    """Only dicts, lists and scalars, as parsed JSON is (nothing frozen inside)."""
    kind = type(value)
    if kind is dict:
        return all(type(v) in _SCALARS or is_plain(v) for v in value.values())
    if kind is list:
        return all(type(v) in _SCALARS or is_plain(v) for v in value)
    return kind in _SCALARS


def thaw(value: Any) -> Any:
    """A fresh, mutable copy of a (possibly frozen) JSON value: dicts and lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


CANONICAL_ENCODER = _CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""The encoder of :func:`canonical_json`, made once (``json.dumps`` with options makes one
per call); without :func:`canonical_json`'s checks, for values built of parts that passed
them."""


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value`` (restricted subset, see module)."""
    _check(value)
    return _CANONICAL.encode(value).encode("utf-8")


def parse_canonical_json(data: bytes, what: str, *, schema_checks_numbers: bool = False) -> Any:
    """Parse ``data`` and require that it is already in canonical form.

    Re-encoding and comparing rejects whitespace, key order, duplicate keys, number spellings
    such as ``1.0`` or ``1e0``, and needless escapes, so that one value has one byte form.
    """
    # Duplicate keys need no hook here: the dict keeps one of them, so the canonical encoding
    # compared below cannot equal ``data``.
    value = load_json(data, what, strict_numbers=not schema_checks_numbers, unique_keys=False)
    # Floats and out-of-range integers were refused while parsing, unless the caller's schema
    # types every number (events do, and then the error names the field). The full walk (ASCII keys,
    # depth) is needed only when the text has non-ASCII bytes or many containers, which keeps
    # the common case, a small ASCII event, fast on the append path.
    if not data.isascii() or data.count(b"{") + data.count(b"[") > _MAX_DEPTH:
        _check(value, numbers=not schema_checks_numbers)
    try:
        canon = _CANONICAL.encode(value).encode("utf-8")
    except UnicodeEncodeError as e:  # an escaped lone surrogate such as "\ud800"
        raise MalformedError(f"{what} contains a lone UTF-16 surrogate") from e
    if canon != data:
        raise MalformedError(f"{what} is not in canonical JSON form (RFC 8785)")
    return value


def _no_float(text: str) -> Any:
    raise MalformedError(f"floating-point number {text[:40]} is not allowed in signed data")


def _no_constant(text: str) -> Any:
    raise MalformedError(f"{text} is not a JSON number")


def _safe_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise MalformedError(f"integer {text[:40]} is outside the exact JSON range (2^53-1)")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all distinct: RFC 8259 leaves duplicates to the parser, and
    "last one wins" would let two readers see two values (specs/events.md section 2)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise MalformedError(f"duplicate JSON object key {dup[:40]!r}")
    return out


_DECODERS = {
    (strict, unique): json.JSONDecoder(
        parse_float=_no_float if strict else None, parse_int=_safe_int if strict else None,
        parse_constant=_no_constant, object_pairs_hook=_unique_keys if unique else None)
    for strict in (False, True) for unique in (False, True)
}
"""One decoder per kind, made once: ``json.loads`` with options builds a new one per call,
which the append path would pay for every event."""


def load_json(data: bytes | str, what: str, strict_numbers: bool = False,
              unique_keys: bool = True) -> Any:
    """Parse UTF-8 JSON; every failure, however deep the nesting, is a MalformedError.
    Duplicate object keys are refused. With ``strict_numbers``, floats and integers beyond
    2^53-1 are refused. This is the one JSON parser for anything another party wrote.
    ``unique_keys=False`` only for a caller that compares the result's canonical encoding
    with ``data`` (a duplicate key cannot survive that, and the hook costs the append path)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return _DECODERS[strict_numbers, unique_keys].decode(text)
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, or int too long
        raise MalformedError(f"{what} is not valid UTF-8 JSON: {e}") from e
    except RecursionError as e:
        raise MalformedError(f"{what} is nested too deeply") from e


_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What text may not hold (specs/events.md section 6, *text*): C0 controls, DEL, C1 controls,
surrogates, the line and paragraph separators, and the bidirectional embedding, override and
isolate controls (which reorder what a reader sees)."""

_NOT_IN_NAME = re.compile(
    "[+\x20\x85\xa0\xad\u1680\u180e\u2000-\u200f\u202f\u205f-\u2064\u3000\ufeff]")
"""What a key name may not hold besides what text may not (specs/checkpoints.md section 1):
'+', every White_Space character, and the invisible format characters (soft hyphen, zero-width
space, joiners and marks, word joiner, invisible operators, byte-order mark), so that two names
that look alike are the same bytes."""

MAX_KEY_NAME_BYTES = 255
"""Longest key name (and so origin), in bytes of UTF-8 (c2sp.org/signed-note)."""


def is_text(value: str) -> bool:
    """True when ``value`` holds none of the characters of ``_NOT_TEXT``. A fixed list, so
    that the validity of an event never depends on the Unicode version of the Python that
    reads it: unassigned and newly assigned code points are text."""
    return _NOT_TEXT.search(value) is None


def is_key_name(value: str) -> bool:
    """A signed-note key name: 1 to 255 bytes of UTF-8 text with no '+', no white space and
    no invisible characters (specs/checkpoints.md section 1); a fixed rule, as for text."""
    return (
        0 < len(value.encode("utf-8", "surrogatepass")) <= MAX_KEY_NAME_BYTES
        and is_text(value)
        and _NOT_IN_NAME.search(value) is None
    )


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 section 4), as C2SP formats use."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str, length: int | None = None) -> bytes:
    """Strict standard base64: no whitespace, correct padding; optional exact decoded length."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise MalformedError(f"{what} is not valid base64") from e
    if b64encode(raw) != text:
        raise MalformedError(f"{what} is not canonical base64")
    if length is not None and len(raw) != length:
        raise MalformedError(f"{what} decodes to {len(raw)} bytes, expected {length}")
    return raw
