"""ISCC content codes (ISO 24138) in ``work.register``'s ``similarity`` member (specs/events.md
section 6.1), and the Hamming distance between two of them.

Covers: the text, image, audio and video content units of 64 bits, computed with
``iscc-core`` (the ISO 24138 reference implementation) from text, normalised pixels, a
Chromaprint fingerprint or MPEG-7 frame signatures; parsing the text form ``ISCC:<base32>``;
the distance between two codes of one unit type; the chunks that the similarity index keys on
(multi-index hashing). Leaves out reading and decoding files (the ledger layer does that:
ledger/content_code.py, ledger/media_code.py) and the mixed unit.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from itertools import combinations
from typing import Any

ISCC_PREFIX = "ISCC:"
CODE_BITS = 64  # the content units the ledger computes and indexes
IMAGE_SIDE = 32  # ISO 24138 image code: 32 x 32 grey pixels, row by row
CHUNK_WIDTHS = (22, 21, 21)
"""Multi-index hashing: the 64 bits in three chunks, most significant first. Two codes within
distance D agree within D // 3 bits on at least one chunk; with about 2^21 values a chunk, a
chunk value of 10^6 random codes names one code or none."""
DEFAULT_DISTANCE = 8
"""The largest distance (of 64 bits) at which ``anchor`` and ``status`` call two contents
similar; chosen from bench/similarity_quality.py (README.md, section Similarity)."""
MAX_DISTANCE = 16  # the largest distance the index answers for (bench/bench_similarity.py)

_MAINTYPE_CONTENT = 2  # ISO 24138 MainType CONTENT
_VERSION = 0
_LENGTH_64 = 1  # ISO 24138 length code of a 64-bit unit
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TEXT_CHARS = len("ISCC:") + 16  # base32 of 10 bytes: 16 characters, no padding
CODE_PATTERN = "^ISCC:E[AEIM]A[Q-Z2-7][A-Z2-7]{12}$"
"""Exactly the texts :meth:`ContentCode.from_text` takes: the header of a 64-bit text (``EAA``),
image (``EEA``), audio (``EIA``) or video (``EMA``) content unit, whose 16th bit (set) opens
the fourth character."""
FRAME_SIGNATURE_LENGTH = 380  # MPEG-7 frame signature: 380 ternary elements (0, 1, 2)


@cache
def _iscc() -> Any:
    """``iscc_core``, imported on first use: it loads pydantic and loguru (about 0.3 s of CPU),
    which the commands that compare no content need not pay."""
    import iscc_core  # type: ignore[import-untyped]

    return iscc_core


class Unit(IntEnum):
    """The content unit types compared: ISO 24138 SubType numbers of MainType CONTENT. Codes
    of two types are never compared (specs/events.md section 6.1)."""

    TEXT = 0
    IMAGE = 1
    AUDIO = 2
    VIDEO = 3


def _header(unit: Unit) -> bytes:
    """The ISO 24138 header of a 64-bit content unit: four 4-bit fields, MainType, SubType,
    version, length code."""
    return bytes([_MAINTYPE_CONTENT << 4 | int(unit), _VERSION << 4 | _LENGTH_64])


@dataclass(frozen=True, slots=True)
class ContentCode:
    """A 64-bit ISCC content unit: its type and its bits as an unsigned integer."""

    unit: Unit
    bits: int

    def __post_init__(self) -> None:
        if not 0 <= self.bits < 1 << CODE_BITS:
            raise ValueError(f"a content code has {CODE_BITS} bits")

    @classmethod
    def from_text(cls, text: str) -> ContentCode | None:
        """The code in ``ISCC:...`` text; None for any other text (another unit type, another
        length, a code of another scheme, or not ISCC at all): such a member is kept in the
        log as it is, and never compared. Parsed here rather than by ``iscc_core`` (which
        accepts more forms, and is slow to load): only the one canonical form is a code."""
        if len(text) != TEXT_CHARS or not text.startswith(ISCC_PREFIX):
            return None
        body = text[len(ISCC_PREFIX):]
        if body.strip(_BASE32) or body != body.upper():
            return None
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
        if len(raw) != 2 + CODE_BITS // 8:
            return None
        header = raw[:2]
        units = {_header(u): u for u in Unit}
        if header not in units:
            return None
        code = cls(units[header], int.from_bytes(raw[2:], "big"))
        return code if code.to_text() == text else None  # one text form per code

    def to_text(self) -> str:
        """The ISCC text form: ``ISCC:`` and the base32 (RFC 4648, no padding) of the 2-byte
        header and the 8-byte digest."""
        raw = _header(self.unit) + self.bits.to_bytes(CODE_BITS // 8, "big")
        return ISCC_PREFIX + base64.b32encode(raw).decode("ascii").rstrip("=")

    def distance(self, other: ContentCode) -> int | None:
        """Bits that differ; None when the unit types differ (an image is never compared
        with a text)."""
        if self.unit != other.unit:
            return None
        return hamming(self.bits, other.bits)

    def chunks(self) -> tuple[int, ...]:
        """The chunks of ``CHUNK_WIDTHS`` bits, most significant first."""
        return split(self.bits)


def hamming(a: int, b: int) -> int:
    """The number of bits in which ``a`` and ``b`` differ."""
    return (a ^ b).bit_count()


def split(bits: int) -> tuple[int, ...]:
    """The chunks (``CHUNK_WIDTHS``) of a 64-bit value, most significant first."""
    out = []
    shift = CODE_BITS
    for width in CHUNK_WIDTHS:
        shift -= width
        out.append((bits >> shift) & ((1 << width) - 1))
    return tuple(out)


def chunk_probes(bits: int, max_distance: int) -> tuple[tuple[int, ...], ...]:
    """For each chunk, every value within ``max_distance // len(CHUNK_WIDTHS)`` bits of the
    code's: a code within ``max_distance`` has its chunk among them for at least one chunk
    (pigeonhole), so looking these up finds every candidate."""
    radius = max_distance // len(CHUNK_WIDTHS)
    return tuple(tuple(value ^ m for m in _flip_masks(width, radius))
                 for width, value in zip(CHUNK_WIDTHS, split(bits), strict=True))


@cache
def _flip_masks(width: int, radius: int) -> tuple[int, ...]:
    """Every ``width``-bit mask with at most ``radius`` bits set, 0 first."""
    return tuple(sum(1 << f for f in flips)
                 for r in range(radius + 1) for flips in combinations(range(width), r))


def image_code(pixels: Sequence[int]) -> ContentCode:
    """The ISO 24138 image code of 32 x 32 normalised grey pixels (0-255, row by row)."""
    if len(pixels) != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(f"an image code needs {IMAGE_SIDE * IMAGE_SIDE} pixels")
    digest = _iscc().soft_hash_image_v0(list(pixels), bits=CODE_BITS)
    return ContentCode(Unit.IMAGE, int.from_bytes(digest[: CODE_BITS // 8], "big"))


def text_code(text: str) -> ContentCode | None:
    """The ISO 24138 text code of plain text; None when nothing is left of it once collapsed
    (only white space and punctuation: no content to compare)."""
    collapsed = _iscc().text_collapse(text)
    if not collapsed:
        return None
    digest = _iscc().soft_hash_text_v0(collapsed)
    return ContentCode(Unit.TEXT, int.from_bytes(digest[: CODE_BITS // 8], "big"))


def audio_code(fingerprint: Sequence[int]) -> ContentCode | None:
    """The ISO 24138 audio code of a Chromaprint fingerprint (its signed 32-bit integers, as
    ``fpcalc -raw -signed`` prints them); None for an empty one (a sound too short or too
    quiet to fingerprint: no content to compare, and every such code would be all zeros)."""
    if not fingerprint:
        return None
    if not all(-(1 << 31) <= v < 1 << 31 for v in fingerprint):
        raise ValueError("a Chromaprint fingerprint holds signed 32-bit integers")
    digest = _iscc().soft_hash_audio_v0(list(fingerprint), bits=CODE_BITS)
    return ContentCode(Unit.AUDIO, int.from_bytes(digest[: CODE_BITS // 8], "big"))


def video_code(frames: Sequence[Sequence[int]]) -> ContentCode | None:
    """The ISO 24138 video code of MPEG-7 frame signatures (each ``FRAME_SIGNATURE_LENGTH``
    elements of 0 to 2, in stream order); None when there is no frame."""
    if not frames:
        return None
    if any(len(f) != FRAME_SIGNATURE_LENGTH for f in frames):
        raise ValueError(f"a frame signature has {FRAME_SIGNATURE_LENGTH} elements")
    digest = _iscc().soft_hash_video_v0([tuple(f) for f in frames], bits=CODE_BITS)
    return ContentCode(Unit.VIDEO, int.from_bytes(digest[: CODE_BITS // 8], "big"))
