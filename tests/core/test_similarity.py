"""ISCC content codes (specs/events.md section 6.1): the text form, the distance, and the
codes iscc-core itself makes (the ISO 24138 reference implementation)."""

from __future__ import annotations

import re

import iscc_core
import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core.similarity import (
    CHUNK_WIDTHS,
    CODE_BITS,
    CODE_PATTERN,
    ContentCode,
    Unit,
    chunk_probes,
    hamming,
    image_code,
    split,
    text_code,
)

bits64 = st.integers(min_value=0, max_value=(1 << CODE_BITS) - 1)


@given(st.sampled_from(list(Unit)), bits64)
def test_text_form_round_trips_and_is_the_reference_form(unit: Unit, bits: int) -> None:
    code = ContentCode(unit, bits)
    text = code.to_text()
    assert ContentCode.from_text(text) == code
    assert re.fullmatch(CODE_PATTERN[1:-1], text)
    assert iscc_core.iscc_decode(text)[4] == bits.to_bytes(8, "big")


@given(bits64, bits64)
def test_distance_is_the_reference_hamming_distance(a: int, b: int) -> None:
    x, y = ContentCode(Unit.IMAGE, a), ContentCode(Unit.IMAGE, b)
    assert x.distance(y) == iscc_core.iscc_distance(x.to_text(), y.to_text())
    assert x.distance(y) == hamming(a, b) == bin(a ^ b).count("1")


def test_an_image_is_never_compared_with_a_text() -> None:
    assert ContentCode(Unit.IMAGE, 5).distance(ContentCode(Unit.TEXT, 5)) is None


@given(bits64)
def test_chunks_put_back_together_give_the_code(bits: int) -> None:
    chunks = split(bits)
    value = 0
    for width, chunk in zip(CHUNK_WIDTHS, chunks, strict=True):
        assert 0 <= chunk < 1 << width
        value = value << width | chunk
    assert value == bits and sum(CHUNK_WIDTHS) == CODE_BITS


@given(bits64, st.sets(st.integers(0, 63), max_size=16), st.integers(0, 16))
def test_a_code_within_the_distance_shares_a_probed_chunk(bits: int, flips: set[int],
                                                          distance: int) -> None:
    """Pigeonhole: a code at most ``distance`` bits away has one of its chunks among the
    probes, so the index finds it."""
    other = bits
    for f in flips:
        other ^= 1 << f
    probes = chunk_probes(bits, distance)
    found = any(c in p for c, p in zip(split(other), probes, strict=True))
    if len(flips) <= distance:
        assert found


@pytest.mark.parametrize("text", [
    "ISCC:EEA4GQZQTY6J5DTH" + "A",  # not canonical length
    "ISCC:KACYPXW445FTYNJ3CYSXHAFJMA2HUWULUNRFE3BLHRSCXYH2M5AEGQY",  # an ISCC-CODE, not a unit
    "pdq:f8f8f0cee0f4a84f06370a22038f63f0",  # another scheme
    "ISCC:EQA2KSJCMXJOPKRR",  # a mixed unit: not compared
    "ISCC:not base32!",
    "",
])
def test_other_texts_are_not_codes(text: str) -> None:
    assert ContentCode.from_text(text) is None


def test_codes_are_the_reference_implementations() -> None:
    pixels = [(x * 7 + y * 3) % 256 for y in range(32) for x in range(32)]
    assert image_code(pixels).to_text() == iscc_core.gen_image_code_v0(pixels)["iscc"]
    text = "Ein Text, der in der Sprache geschrieben ist. " * 8
    code = text_code(text)
    assert code is not None and code.to_text() == iscc_core.gen_text_code_v0(text)["iscc"]
    assert text_code(" \n\t ") is None


@given(st.text(max_size=70) | st.text(alphabet="ISC:ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=",
                                      max_size=70).map(lambda t: "ISCC:" + t))
def test_any_text_is_a_code_or_none_never_an_error(text: str) -> None:
    """The member is any text a signer chose: it is parsed or passed over, never raised on."""
    code = ContentCode.from_text(text)
    assert code is None or code.to_text() == text
    # the node's OpenAPI document describes exactly these texts (POST /similar)
    assert (re.fullmatch(CODE_PATTERN[1:-1], text) is not None) == (code is not None)
