"""The ISCC audio and video codes of a file (specs/events.md section 6.1), from what ``ffmpeg``
extracts: the Chromaprint fingerprint of the first audio stream (its ``chromaprint`` muxer)
and the MPEG-7 frame signatures of the first video stream at 5 frames a second (its
``signature`` filter). ``iscc-core`` turns them into codes (core/similarity.py).

The optional extra ``provenance-ledger[media]`` brings a pinned static ``ffmpeg`` build that
has both (the ``imageio-ffmpeg`` wheel); without it, an ``ffmpeg`` on ``PATH`` that has them
(Debian's ``ffmpeg`` package does) is used. With neither, or when ``ffmpeg`` cannot decode the
file, there is no code: the file is anchored by its SHA-256 alone, as before, and a notice
(:func:`take_notices`, one per media kind a process) says how to get codes for that kind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

from ..core.similarity import FRAME_SIGNATURE_LENGTH, ContentCode, audio_code, video_code

VIDEO_FPS = 5  # frames a second fed to the signature filter, as ISCC's reference SDK does
_PROBE_TIMEOUT = 30.0  # seconds for `ffmpeg -muxers` / `-filters`
CODE_TIMEOUT = 1800.0
"""Seconds one file may take to code (a minute of 720p video takes about 10 s here, a feature
film about 20 minutes): a file made to stall the decoder then gets no code, as one without such
a stream, and the command goes on with its exact identity."""
INSTALL_HINT = ("pip install 'provenance-ledger[media]', or put an ffmpeg built with "
                "Chromaprint and the signature filter on PATH (Debian: apt-get install ffmpeg)")


class Kind(Enum):
    """The media kinds that have a code here, each with what ``ffmpeg`` needs for it."""

    AUDIO = "audio"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class Ffmpeg:
    """An ``ffmpeg`` executable and the kinds it can code."""

    exe: str
    kinds: frozenset[Kind]


def kind_of(media_type: str) -> Kind | None:
    """``audio/*`` and ``video/*``; None for any other media type."""
    top = media_type.split("/", 1)[0]
    return Kind(top) if top in ("audio", "video") else None


def media_code(path: Path, kind: Kind, ffmpeg: Ffmpeg | None = None,
               notices: Notices | None = None) -> ContentCode | None:
    """The audio or video code of the file at ``path``; None when ``ffmpeg`` (``ffmpeg``, or
    the one :func:`find_ffmpeg` finds) cannot make it: missing, or without what ``kind``
    needs (a notice is left in ``notices``, by default :data:`NOTICES`), or the file has no
    such stream."""
    tool = ffmpeg if ffmpeg is not None else find_ffmpeg()
    if tool is None or kind not in tool.kinds:
        (notices if notices is not None else NOTICES).add(kind, tool)
        return None
    try:
        if kind is Kind.AUDIO:
            return audio_code(_fingerprint(tool.exe, path))
        return video_code(_frame_signatures(tool.exe, path))
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _fingerprint(exe: str, path: Path) -> list[int]:
    """Chromaprint's raw fingerprint of the first audio stream, the whole of it: the signed
    32-bit integers that ``fpcalc -raw -signed -length 0`` prints, in native byte order."""
    out = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
         "-map", "0:a:0", "-f", "chromaprint", "-fp_format", "raw", "-"],
        capture_output=True, check=True, timeout=CODE_TIMEOUT).stdout
    if len(out) % 4:
        raise ValueError("a raw Chromaprint fingerprint is whole 32-bit integers")
    values = array("i")
    values.frombytes(out)
    return values.tolist()


def _frame_signatures(exe: str, path: Path) -> list[tuple[int, ...]]:
    """The MPEG-7 frame signatures of the first video stream at ``VIDEO_FPS``."""
    with tempfile.TemporaryDirectory(prefix="provenance-mp7-") as tmp:
        sig = Path(tmp, "signature.bin")
        escaped = sig.as_posix().replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
        subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
            [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
             "-map", "0:v:0", "-vf",
             f"fps=fps={VIDEO_FPS},signature=format=binary:filename='{escaped}'",
             "-f", "null", "-"],
            capture_output=True, check=True, timeout=CODE_TIMEOUT)
        return read_mp7_signature(sig.read_bytes())


class _Bits:
    """Big-endian bit reader over ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def skip(self, n: int) -> None:
        self.pos += n

    def take(self, n: int) -> int:
        end = self.pos + n
        if end > len(self.data) * 8:
            raise ValueError("the MPEG-7 signature ends early")
        first, last = self.pos >> 3, (end + 7) >> 3
        value = int.from_bytes(self.data[first:last], "big") >> (last * 8 - end)
        self.pos = end
        return value & ((1 << n) - 1)


def read_mp7_signature(data: bytes) -> list[tuple[int, ...]]:
    """The frame signatures in ``ffmpeg``'s binary MPEG-7 video signature (ISO/IEC 15938-3,
    as its ``signature`` filter writes it): each frame's 380 ternary elements, packed five to
    a byte (most significant first). Everything else (times, confidences, the segment
    signatures) is skipped."""
    bits = _Bits(data)
    bits.skip(129)
    frames = bits.take(32)
    bits.skip(16 + 1 + 32 + 32)  # media time unit, flag, start and end times
    segments = bits.take(32)
    bits.skip(segments * (4 * 32 + 1 + 5 * 243) + 1)
    out: list[tuple[int, ...]] = []
    for _ in range(frames):
        bits.skip(1 + 32 + 8 + 5 * 8)  # flag, media time, confidence, words
        vector: list[int] = []
        for _ in range(FRAME_SIGNATURE_LENGTH // 5):
            vector.extend(_TERNARY[bits.take(8)])
        out.append(tuple(vector))
    return out


_TERNARY = tuple(tuple((b // 3 ** (4 - i)) % 3 for i in range(5)) for b in range(256))
"""Each byte's five base-3 digits, most significant first (243 and above do not occur)."""


# -- finding ffmpeg -------------------------------------------------------------------------


def find_ffmpeg() -> Ffmpeg | None:
    """The ``ffmpeg`` of the ``media`` extra (``imageio-ffmpeg``) when installed, else the one
    on ``PATH``; None when there is neither. Looked up once a process."""
    return _found(os.environ.get("PATH", ""))


@cache
def _found(search_path: str) -> Ffmpeg | None:
    exe = _bundled() or shutil.which("ffmpeg", path=search_path)
    return probe(exe) if exe else None


def _bundled() -> str | None:
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # the wheel has no binary for this platform
        return None


@cache
def probe(exe: str) -> Ffmpeg | None:
    """What ``exe`` can code: audio with its ``chromaprint`` muxer, video with its
    ``signature`` filter; None when it does not run."""
    try:
        muxers = _listing(exe, "-muxers")
        filters = _listing(exe, "-filters")
    except (OSError, subprocess.SubprocessError):
        return None
    kinds = set()
    if "chromaprint" in muxers:
        kinds.add(Kind.AUDIO)
    if "signature" in filters:
        kinds.add(Kind.VIDEO)
    return Ffmpeg(exe, frozenset(kinds))


def _listing(exe: str, option: str) -> set[str]:
    """The names in ``ffmpeg -muxers`` or ``-filters``: each line's second word."""
    out = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        [exe, "-hide_banner", option], capture_output=True, check=True, text=True,
        timeout=_PROBE_TIMEOUT).stdout
    return {words[1] for words in (line.split() for line in out.splitlines())
            if len(words) >= 2}


# -- notices --------------------------------------------------------------------------------

_NEEDS = {Kind.AUDIO: "chromaprint muxer", Kind.VIDEO: "signature filter"}


class Notices:
    """How to get codes for a media kind that got none, said once per kind (thread-safe:
    a folder's files are coded by several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._noticed: set[Kind] = set()
        self._pending: list[str] = []

    def add(self, kind: Kind, tool: Ffmpeg | None) -> None:
        with self._lock:
            if kind in self._noticed:
                return
            self._noticed.add(kind)
            why = ("no ffmpeg was found" if tool is None else
                   f"{tool.exe} lacks its {_NEEDS[kind]}")
            self._pending.append(f"note: {kind.value} files get no similarity code ({why}), "
                                 f"only their exact SHA-256; for codes: {INSTALL_HINT}")

    def extend(self, notices: Sequence[str]) -> None:
        """Notices another process took from its own :data:`NOTICES` (a worker coding a
        folder's files), each said once here too."""
        with self._lock:
            self._pending.extend(n for n in notices if n not in self._pending)

    def take(self) -> tuple[str, ...]:
        """The notices added since the last call."""
        with self._lock:
            out = tuple(self._pending)
            self._pending.clear()
            return out


NOTICES = Notices()
"""This process's notices, which ``anchor`` prints on stderr when it ends."""


def take_notices() -> tuple[str, ...]:
    """The notices left in :data:`NOTICES` since the last call, each kind's once a process."""
    return NOTICES.take()
