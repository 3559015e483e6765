"""Tests for provenance_ledger.core.encoding: canonical JSON (RFC 8785) and strict base64.

The ``rfc8785`` package is the reference encoder; ours must produce the same bytes for every
value of the signed subset, and the parser must accept exactly those bytes.
"""

from __future__ import annotations

import base64
import string
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provenance_ledger.core.encoding import (
    MAX_SAFE_INTEGER,
    b64decode,
    b64encode,
    canonical_json,
    parse_canonical_json,
)
from provenance_ledger.errors import MalformedError

MAX_DEPTH = 16  # containers the encoder accepts around a value


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


ascii_keys = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=8)
# st.text leaves out only surrogates (which UTF-8 cannot carry): controls, U+2028/9, noncharacters
# and astral characters are all drawn.
strings = st.text(max_size=16)
safe_ints = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
scalars = st.none() | st.booleans() | safe_ints | strings
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ascii_keys, inner, max_size=5),
    max_leaves=25,
).filter(lambda v: _depth(v) <= MAX_DEPTH)

TRICKY_STRINGS = [
    "\x00\x01\x08\t\n\x0b\x0c\r\x1f",
    "\x7f\x80\x9f",
    '"\\/',
    "\u2028\u2029",
    "\ud7ff\ue000\ufeff\ufffe\uffff",
    "\U0001f600\U00010000\U0010ffff",
    "é日本",
]


@settings(max_examples=300, deadline=None)
@given(value=json_values)
@example(value=TRICKY_STRINGS)
@example(value={s.encode("unicode_escape").decode("ascii"): s for s in TRICKY_STRINGS})
@example(value={"b": 1, "a": [True, False, None], "": {}, "B": -MAX_SAFE_INTEGER})
@example(value=[MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, -1])
@example(value=_nested(MAX_DEPTH))
def test_canonical_json_matches_rfc8785(value: Any) -> None:
    encoded = canonical_json(value)
    assert encoded == rfc8785.dumps(value)
    parsed = parse_canonical_json(encoded, "value")
    assert parsed == value
    assert canonical_json(parsed) == encoded  # also tells True from 1


@settings(max_examples=200, deadline=None)
@given(value=json_values, data=st.data())
def test_any_changed_byte_is_refused_or_canonical(value: Any, data: st.DataObject) -> None:
    # One value has one byte form: a tampered encoding either fails to parse or is the
    # canonical form of some other value.
    encoded = bytearray(canonical_json(value))
    position = data.draw(st.integers(0, len(encoded) - 1), label="position")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != encoded[position]), label="byte")
    encoded[position] = byte
    try:
        parsed = parse_canonical_json(bytes(encoded), "tampered")
    except MalformedError:
        return
    assert canonical_json(parsed) == encoded


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"a": 1}', id="space-after-colon"),
        pytest.param(b'{"a":1, "b":2}', id="space-after-comma"),
        pytest.param(b' {"a":1}', id="leading-space"),
        pytest.param(b'{"a":1}\n', id="trailing-newline"),
        pytest.param(b"[\t1]", id="tab"),
        pytest.param(b'{"b":1,"a":2}', id="reordered-keys"),
        pytest.param(b'{"a":1,"a":1}', id="duplicate-keys-same-value"),
        pytest.param(b'{"a":1,"a":2}', id="duplicate-keys"),
        pytest.param(b"1.0", id="1.0"),
        pytest.param(b"1e0", id="1e0"),
        pytest.param(b"1E0", id="1E0"),
        pytest.param(b'{"a":[1.5]}', id="nested-float"),
        pytest.param(b"-0", id="minus-zero"),
        pytest.param(b"01", id="leading-zero"),
        pytest.param(b"NaN", id="nan"),
        pytest.param(b"-Infinity", id="infinity"),
        pytest.param(b"9007199254740992", id="above-max-safe-integer"),
        pytest.param(b"-9007199254740992", id="below-min-safe-integer"),
        pytest.param(b'"\\u0041"', id="needless-escape"),
        pytest.param(b'"\\/"', id="escaped-slash"),
        pytest.param(b'"\\u001F"', id="uppercase-hex-escape"),
        pytest.param(b'"\\u2028"', id="escaped-u2028"),
        pytest.param(b'"\xff"', id="invalid-utf8"),
        pytest.param(b'"\xc3"', id="truncated-utf8-sequence"),
        pytest.param(b'"\xed\xa0\x80"', id="utf8-encoded-surrogate"),
        pytest.param(b'"\xc0\xaf"', id="overlong-utf8"),
        pytest.param(b'\xef\xbb\xbf{"a":1}', id="utf8-bom"),
        pytest.param(b'{"\xc3\xa9":1}', id="non-ascii-key"),
        pytest.param(b'{"a":1', id="truncated-object"),
        pytest.param(b"[1,2", id="truncated-array"),
        pytest.param(b'"abc', id="truncated-string"),
        pytest.param(b"tru", id="truncated-literal"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[1][2]", id="two-values"),
        pytest.param(b"[" * (MAX_DEPTH + 1) + b"0" + b"]" * (MAX_DEPTH + 1), id="too-deep"),
    ],
)
def test_parse_refuses_non_canonical_or_malformed(data: bytes) -> None:
    with pytest.raises(MalformedError):
        parse_canonical_json(data, "input")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'"\\ud800"', id="escaped-lone-surrogate"),
        pytest.param(b'{"a":"\\udc00"}', id="escaped-lone-low-surrogate"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nesting-beyond-recursion-limit"),
        pytest.param(b"1" + b"0" * 4300, id="integer-beyond-int-str-digits"),
        # Code-point order (sort_keys) puts U+FFFF before U+10000; RFC 8785 sorts by UTF-16
        # code units, where U+10000 (D800 DC00) comes first.
        pytest.param('{"\uffff":1,"\U00010000":2}'.encode(), id="non-jcs-key-order"),
    ],
)
def test_parse_refuses_input_that_breaks_json_module(data: bytes) -> None:
    # These make the json module raise something other than JSONDecodeError (or accept what
    # RFC 8785 orders differently); the parser must still answer MalformedError.
    with pytest.raises(MalformedError):
        parse_canonical_json(data, "input")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.0, id="float"),
        pytest.param(0.0, id="zero-float"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param({"a": [1, 2.5]}, id="nested-float"),
        pytest.param(MAX_SAFE_INTEGER + 1, id="2**53"),
        pytest.param(-MAX_SAFE_INTEGER - 1, id="-2**53"),
        pytest.param(2**64, id="2**64"),
        pytest.param({"a": [10**30]}, id="nested-big-int"),
        pytest.param({"é": 1}, id="non-ascii-key"),
        pytest.param({"a": {"日本": 1}}, id="nested-non-ascii-key"),
        pytest.param({1: "a"}, id="int-key"),
        pytest.param(_nested(MAX_DEPTH + 1), id="too-deep"),
        pytest.param(_nested(10_000), id="far-too-deep"),
    ],
)
def test_canonical_json_refuses_values_outside_the_subset(value: Any) -> None:
    with pytest.raises(MalformedError):
        canonical_json(value)


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, {"a": object()}])
def test_canonical_json_refuses_non_json_types_as_caller_mistake(value: Any) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


def test_canonical_json_never_emits_invalid_utf8() -> None:
    # A lone surrogate cannot be encoded; a caller error (ValueError) or MalformedError will do.
    with pytest.raises((MalformedError, ValueError)):
        canonical_json({"a": "\ud800"})


# Strict base64.

BASE64_ALPHABET = string.ascii_letters + string.digits + "+/="


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=100))
def test_b64_round_trip(data: bytes) -> None:
    text = b64encode(data)
    assert text == base64.b64encode(data).decode("ascii")
    assert b64decode(text, "data") == data
    assert b64decode(text, "data", len(data)) == data


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=BASE64_ALPHABET + "\n -_é", max_size=12))
def test_b64decode_accepts_only_canonical_text(text: str) -> None:
    try:
        raw = b64decode(text, "text")
    except MalformedError:
        return
    assert b64encode(raw) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("abc$", id="non-alphabet"),
        pytest.param("-_8=", id="urlsafe-alphabet"),
        pytest.param("YWJj\u00e9", id="non-ascii"),
        pytest.param("YQ", id="missing-padding"),
        pytest.param("YQ=", id="short-padding"),
        pytest.param("YWI", id="missing-padding-2"),
        pytest.param("YQ===", id="excess-padding"),
        pytest.param("YQ==YQ==", id="padding-inside"),
        pytest.param("YR==", id="non-zero-trailing-bits"),
        pytest.param("YWJj\nZGVm", id="embedded-newline"),
        pytest.param("YWJjZGVm\n", id="trailing-newline"),
        pytest.param("YWJj ZGVm", id="embedded-space"),
        pytest.param(" YQ==", id="leading-space"),
        pytest.param("YWJjZ", id="wrong-length-text"),
    ],
)
def test_b64decode_refuses_malformed(text: str) -> None:
    with pytest.raises(MalformedError):
        b64decode(text, "text")


@pytest.mark.parametrize("length", [0, 31, 33])
def test_b64decode_refuses_wrong_decoded_length(length: int) -> None:
    text = b64encode(bytes(32))
    assert b64decode(text, "hash", 32) == bytes(32)
    with pytest.raises(MalformedError):
        b64decode(text, "hash", length)
