"""ISCC audio and video codes (specs/events.md section 6.1; ledger/media_code.py): known answers,
re-encodes within the default distance of their original and unrelated media beyond it, codes
of different unit types never compared, and what happens without a capable ``ffmpeg``. Sound
and video are made here (Python's ``wave``, YUV4MPEG2 frames, ``ffmpeg``'s test sources) and
re-encoded with the ``ffmpeg`` of the ``media`` extra."""

from __future__ import annotations

import hashlib
import math
import os
import random
import re
import sqlite3
import subprocess
import time
import wave
from array import array
from pathlib import Path

import iscc_core
import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, sign_event
from provenance_ledger.core.similarity import (
    DEFAULT_DISTANCE,
    ContentCode,
    Unit,
    audio_code,
    video_code,
)
from provenance_ledger.ledger import Home, Ledger
from provenance_ledger.ledger import media_code as module
from provenance_ledger.ledger.content_code import content_code
from provenance_ledger.ledger.media_code import (
    Ffmpeg,
    Kind,
    Notices,
    find_ffmpeg,
    media_code,
    probe,
    read_mp7_signature,
)
from provenance_ledger.ledger.similarity import SimilarityIndex
from provenance_ledger.store.similarity import index_path

KAT_AUDIO = "ISCC:EIASQBHKN4UAJ2TP"  # specs/events.md section 6.1, known answers
KAT_VIDEO = "ISCC:EMASECKEYUKFIGVW"
SPEC = Path(__file__).resolve().parents[2] / "specs" / "events.md"
KAT_NOTES = (262, 330, 392, 523, 440, 349)  # Hz, 0.2 s each, in turn
NOW = 1_790_000_000
OWNER = PrivateKey.from_seed(bytes([1]) * 32)


def ffmpeg_exe() -> str:
    """The ``ffmpeg`` the ``media`` extra brings (the test extra pulls it in)."""
    found = find_ffmpeg()
    assert found is not None and found.kinds == {Kind.AUDIO, Kind.VIDEO}, found
    return found.exe


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    *map(str, args)], check=True, capture_output=True)


def write_wav(path: Path, samples: array[int], rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def kat_wav(path: Path) -> Path:
    """The known-answer sound: 16-bit mono PCM at 11025 Hz, 6 s; sample n is
    round(12000 sin(2 pi f n / 11025)), f the note (n div 2205) mod 6 of ``KAT_NOTES``."""
    rate = 11025
    return write_wav(path, array("h", (
        round(12000 * math.sin(2 * math.pi * KAT_NOTES[(n // 2205) % 6] * n / rate))
        for n in range(6 * rate))), rate)


def melody(path: Path, seed: int, seconds: float = 5.0, rate: int = 22050) -> Path:
    """A tune of random notes (a tone and its octave) of random lengths, other for every
    seed, as 16-bit mono WAV."""
    rng = random.Random(seed)
    out = array("h")
    total = int(seconds * rate)
    while len(out) < total:
        f = 110 * 2 ** (rng.randrange(36) / 12)
        amp = rng.uniform(0.2, 0.5) * 32000
        start = len(out)
        step, step2 = 2 * math.pi * f / rate, 4 * math.pi * f / rate
        out.extend(int(amp * (math.sin(step * i) + 0.3 * math.sin(step2 * i)) / 1.3)
                   for i in range(start, min(total, start + int(rate * rng.choice((.15, .3))))))
    return write_wav(path, out, rate)


def kat_y4m(path: Path) -> Path:
    """The known-answer video: 128 x 96 YUV4MPEG2, 4:4:4, 25 frames a second, 50 frames;
    in frame t, luma 200 at (x, y) when ((x + 3t) div 16 + (y + t) div 12) is odd, else 40;
    chroma 128."""
    w, h = 128, 96
    chroma = bytes([128]) * (w * h)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C444\n".encode())
        for t in range(50):
            luma = bytes(200 if ((x + 3 * t) // 16 + (y + t) // 12) % 2 else 40
                         for y in range(h) for x in range(w))
            f.write(b"FRAME\n" + luma + chroma + chroma)
    return path


def lavfi_video(path: Path, source: str, seconds: int = 3) -> Path:
    """An H.264 video of one of ``ffmpeg``'s test sources at 320 x 240, 25 frames a second."""
    ffmpeg("-f", "lavfi", "-i", f"{source}=size=320x240:rate=25", "-t", str(seconds),
           "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", path)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Originals, their re-encodes and unrelated media, made once for the module."""
    d = tmp_path_factory.mktemp("media")
    files = {"tune": melody(d / "tune.wav", 1), "other tune": melody(d / "other.wav", 2)}
    ffmpeg("-i", files["tune"], "-ar", "44100", "-ac", "2", "-b:a", "64k", d / "tune.mp3")
    ffmpeg("-i", files["tune"], "-ar", "16000", "-c:a", "libvorbis", "-q:a", "1", d / "tune.ogg")
    files["tune.mp3"], files["tune.ogg"] = d / "tune.mp3", d / "tune.ogg"
    files["clip"] = lavfi_video(d / "clip.mp4", "testsrc2")
    files["other clip"] = lavfi_video(d / "other.mp4", "mandelbrot")
    ffmpeg("-i", files["clip"], "-vf", "scale=160:120", "-c:v", "mpeg4", "-b:v", "150k",
           d / "clip-small.avi")
    files["clip-small.avi"] = d / "clip-small.avi"
    return files


def _code(path: Path) -> ContentCode:
    kind = "video" if path.suffix in (".mp4", ".avi", ".y4m") else "audio"
    code = content_code(path, f"{kind}/x-test")
    assert code is not None, path
    return code


def test_known_answers(tmp_path: Path) -> None:
    audio = _code(kat_wav(tmp_path / "kat.wav"))
    video = _code(kat_y4m(tmp_path / "kat.y4m"))
    assert (audio.to_text(), video.to_text()) == (KAT_AUDIO, KAT_VIDEO)
    assert (audio.unit, video.unit) == (Unit.AUDIO, Unit.VIDEO)
    # the reference implementation's code types and text forms
    assert iscc_core.iscc_decode(KAT_AUDIO)[:2] == (iscc_core.MT.CONTENT, iscc_core.ST_CC.AUDIO)
    assert iscc_core.iscc_decode(KAT_VIDEO)[:2] == (iscc_core.MT.CONTENT, iscc_core.ST_CC.VIDEO)
    assert ContentCode.from_text(KAT_AUDIO) == audio
    known = SPEC.read_text(encoding="utf-8").split("Known answers", 1)[1].split("###", 1)[0]
    assert re.findall(r"`(ISCC:[A-Z2-7]+)`", known)[2:] == [KAT_AUDIO, KAT_VIDEO]


def test_audio_and_video_codes_are_the_reference_implementations() -> None:
    rng = random.Random(5)
    fingerprint = [rng.randrange(-(1 << 31), 1 << 31) for _ in range(60)]
    audio = audio_code(fingerprint)
    assert audio is not None
    assert audio.to_text() == iscc_core.gen_audio_code_v0(fingerprint, bits=64)["iscc"]
    frames = [tuple(rng.randrange(3) for _ in range(380)) for _ in range(12)]
    video = video_code(frames)
    assert video is not None
    assert video.to_text() == iscc_core.gen_video_code_v0(frames, bits=64)["iscc"]
    assert ContentCode.from_text(audio.to_text()) == audio
    assert ContentCode.from_text(video.to_text()) == video
    assert audio.distance(ContentCode(Unit.IMAGE, audio.bits)) is None
    with pytest.raises(ValueError, match="380 elements"):
        video_code([(0, 1, 2)])
    with pytest.raises(ValueError, match="signed 32-bit"):
        audio_code([1 << 31])


def test_codes_are_iscc_cores_from_the_extracted_features(media: dict[str, Path],
                                                           tmp_path: Path) -> None:
    """The audio code is iscc-core's of the Chromaprint fingerprint; the video code its of
    the frame signatures ``ffmpeg`` writes, as this module reads them."""
    raw = subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i",
                          media["tune"], "-f", "chromaprint", "-fp_format", "raw", "-"],
                         check=True, capture_output=True).stdout
    fingerprint = array("i", raw).tolist()
    assert _code(media["tune"]).to_text() == \
        iscc_core.gen_audio_code_v0(fingerprint, bits=64)["iscc"]
    sig = tmp_path / "sig.bin"
    ffmpeg("-i", media["clip"], "-vf", f"fps=fps=5,signature=format=binary:filename={sig}",
           "-f", "null", "-")
    frames = read_mp7_signature(sig.read_bytes())
    assert len(frames) == 15 and all(set(f) <= {0, 1, 2} for f in frames)
    assert _code(media["clip"]).to_text() == iscc_core.gen_video_code_v0(frames, bits=64)["iscc"]


@pytest.mark.parametrize("copy,original,unrelated", [
    ("tune.mp3", "tune", "other tune"),  # resampled to 44.1 kHz stereo, MP3 at 64 kbit/s
    ("tune.ogg", "tune", "other tune"),  # resampled to 16 kHz, Vorbis at its lowest quality
    ("clip-small.avi", "clip", "other clip"),  # half the size, MPEG-4 part 2 at 150 kbit/s
])
def test_a_reencode_is_within_the_distance_and_unrelated_media_are_not(
        media: dict[str, Path], copy: str, original: str, unrelated: str) -> None:
    a, b, c = _code(media[copy]), _code(media[original]), _code(media[unrelated])
    assert a != c
    distance, apart = a.distance(b), a.distance(c)
    assert distance is not None and distance <= DEFAULT_DISTANCE
    assert apart is not None and apart > 2 * DEFAULT_DISTANCE


def test_empty_or_undecodable_media_have_no_code(tmp_path: Path) -> None:
    silence = write_wav(tmp_path / "silence.wav", array("h", bytes(2 * 2000)), 8000)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not a sound " * 100)
    assert content_code(silence, "audio/x-wav") is None  # too short to fingerprint
    assert content_code(junk, "audio/mpeg") is None
    assert content_code(junk, "video/mp4") is None
    assert audio_code([]) is None and video_code([]) is None


def test_a_file_that_stalls_the_decoder_gets_no_code_once_the_time_is_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A FIFO nobody writes to blocks ffmpeg for ever, as a hostile file can: coding it ends
    at the time limit with no code, so a folder or dataset check goes on."""
    stall = tmp_path / "stall.mp3"
    os.mkfifo(stall)
    monkeypatch.setattr(module, "CODE_TIMEOUT", 1.0)
    started = time.monotonic()
    assert module.media_code(stall, Kind.AUDIO) is None
    assert module.media_code(stall, Kind.VIDEO) is None
    assert time.monotonic() - started < 30


def test_without_a_capable_ffmpeg_there_is_no_code_and_one_notice_per_kind(
        media: dict[str, Path], tmp_path: Path) -> None:
    notices = Notices()
    bare = Ffmpeg(ffmpeg_exe(), frozenset())  # an ffmpeg built without either feature
    for name, kind in (("tune", Kind.AUDIO), ("other tune", Kind.AUDIO), ("clip", Kind.VIDEO)):
        assert media_code(media[name], kind, bare, notices) is None
    audio, video = notices.take()
    assert audio.startswith(f"note: audio files get no similarity code ({bare.exe} lacks its "
                            "chromaprint muxer), only their exact SHA-256; for codes: pip "
                            "install 'provenance-ledger[media]'")
    assert video.startswith("note: video files get no similarity code (")
    assert "signature filter" in video
    assert media_code(media["clip"], Kind.VIDEO, bare, notices) is None
    assert notices.take() == ()  # said once
    # an ffmpeg found on PATH rather than the extra's: the same codes
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "ffmpeg").symlink_to(ffmpeg_exe())
    found = probe(str(tmp_path / "bin" / "ffmpeg"))
    assert found is not None and found.kinds == {Kind.AUDIO, Kind.VIDEO}
    assert media_code(media["tune"], Kind.AUDIO, found) == _code(media["tune"])
    assert probe(str(tmp_path / "bin" / "missing")) is None


def _register(n: int, code: ContentCode) -> bytes:
    work = "sha256:" + hashlib.sha256(f"work {n}".encode()).hexdigest()
    body = {"size": n + 1, "media_type": "audio/mpeg", "similarity": code.to_text()}
    return sign_event(Event("work.register", work, None, OWNER.public.text, NOW, body),
                      OWNER).leaf


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Home(tmp_path / "home").open_ledger(origin="example.org/log")


def test_the_index_compares_codes_of_one_unit_type_only(ledger: Ledger) -> None:
    """The same 64 bits as an image, a text, an audio and a video code: four works that are
    never each other's match."""
    bits = 0x0123_4567_89AB_CDEF
    ledger.append_block([_register(int(u), ContentCode(u, bits)) for u in Unit], NOW)
    with SimilarityIndex(ledger) as index:
        for unit in Unit:
            found = index.near(ContentCode(unit, bits ^ 0b111), DEFAULT_DISTANCE)
            assert [(s.index, s.distance) for s in found] == [(int(unit), 3)]
            assert ContentCode.from_text(found[0].code) == ContentCode(unit, bits)


def test_an_index_made_before_audio_and_video_codes_is_rebuilt(ledger: Ledger) -> None:
    """An index of schema 1 skipped audio and video codes: it is emptied and the log
    indexed again, so that those registrations are found."""
    code = ContentCode(Unit.AUDIO, 0xFEDC_BA98_7654_3210)
    ledger.append_block([_register(0, code)], NOW)
    with SimilarityIndex(ledger) as index:
        assert len(index.near(code, 0)) == 1
    path = index_path(ledger.store.path)  # type: ignore[attr-defined]
    with sqlite3.connect(path) as db:  # as schema 1 left it: indexed past the entry, no row
        db.execute("DELETE FROM codes")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    db.close()
    with SimilarityIndex(ledger) as index:
        assert [s.index for s in index.near(code, 0)] == [0]
