"""Precision and recall of the ISCC audio and video codes at each Hamming distance (README.md,
section Similar content), as bench/similarity_quality.py measures the image code.

Originals are generated (no package ships a set of real recordings or clips): audio, tunes of
random notes with random timbres, chords, tempi and noise-burst percussion; video, ``ffmpeg``'s
moving test sources with random parameters (``mandelbrot``, ``life``, ``cellauto``, ``testsrc2``
with a random hue and a scrolling crop). Each original is transformed as a copier would, with
``ffmpeg``: audio re-encoded (MP3 at 128 and 32 kbit/s, AAC, Vorbis at its lowest quality),
resampled to 8 kHz, turned down, mixed with noise, its first second cut, played 5 % faster;
video re-encoded (H.264 at a high CRF, MPEG-4 part 2 at half size), scaled up, cut by a
second, greyscale, cropped by 10 %. Every file is coded through the same path as ``anchor``
(ledger/content_code.py) with the ``ffmpeg`` of the ``media`` extra.

A variant within the distance of its original is a true positive; within the distance of any
other original, a false positive.

    pip install -e '.[media]'
    python bench/similarity_media.py [--audio 80] [--video 40] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import tempfile
import time
import wave
from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from provenance_ledger.core.similarity import DEFAULT_DISTANCE, ContentCode
from provenance_ledger.ledger.content_code import content_code
from provenance_ledger.ledger.media_code import find_ffmpeg

DISTANCES = (4, 6, 8, 10, 12, 14)
RATE = 22050

AUDIO_TRANSFORMS: dict[str, list[str]] = {
    "mp3 128 kbit/s": ["-b:a", "128k", "{out}.mp3"],
    "mp3 32 kbit/s mono 22 kHz": ["-ac", "1", "-ar", "22050", "-b:a", "32k", "{out}.mp3"],
    "aac 64 kbit/s": ["-c:a", "aac", "-b:a", "64k", "{out}.m4a"],
    "vorbis q0 16 kHz": ["-ar", "16000", "-c:a", "libvorbis", "-q:a", "0", "{out}.ogg"],
    "resample 8 kHz": ["-ar", "8000", "{out}.wav"],
    "volume -12 dB": ["-af", "volume=-12dB", "{out}.wav"],
    "noise -30 dB": ["-f", "lavfi", "-i", "anoisesrc=a=0.03:c=pink:seed=5",
                     "-filter_complex", "amix=inputs=2:duration=first:normalize=0",
                     "{out}.wav"],
    "first 1 s cut": ["-ss", "1", "{out}.wav"],
    "tempo +5 %": ["-af", "atempo=1.05", "{out}.wav"],
}
VIDEO_TRANSFORMS: dict[str, list[str]] = {
    "h264 crf 40": ["-c:v", "libx264", "-crf", "40", "{out}.mp4"],
    "mpeg4 half size": ["-vf", "scale=iw/2:ih/2", "-c:v", "mpeg4", "-b:v", "200k",
                        "{out}.avi"],
    "scaled x2": ["-vf", "scale=iw*2:ih*2", "-c:v", "libx264", "{out}.mp4"],
    "first 1 s cut": ["-ss", "1", "-c:v", "libx264", "{out}.mp4"],
    "greyscale": ["-vf", "format=gray", "-c:v", "libx264", "{out}.mp4"],
    "crop 10 %": ["-vf", "crop=iw*0.9:ih*0.9", "-c:v", "libx264", "{out}.mp4"],
}


def ffmpeg(*args: str | Path) -> None:
    found = find_ffmpeg()
    if found is None:
        raise SystemExit("no ffmpeg: pip install -e '.[media]'")
    subprocess.run([found.exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    *map(str, args)], check=True, capture_output=True)


def tune(path: Path, rng: random.Random, seconds: float = 10.0) -> Path:
    """Random notes (a timbre of 1-4 harmonics), sometimes chords, over noise-burst beats."""
    total = int(seconds * RATE)
    harmonics = [rng.uniform(0.1, 1.0) for _ in range(rng.randrange(1, 5))]
    beat = int(RATE * 60 / rng.randrange(70, 160))
    samples = [0.0] * total
    pos = 0
    while pos < total:
        length = beat * rng.choice((1, 1, 2)) // rng.choice((1, 2))
        notes = [110 * 2 ** (rng.randrange(40) / 12) for _ in range(rng.choice((1, 1, 3)))]
        amp = rng.uniform(0.1, 0.3)
        for f in notes:
            for h, a in enumerate(harmonics, 1):
                step = 2 * math.pi * f * h / RATE
                for i in range(pos, min(total, pos + length)):
                    decay = 1 - (i - pos) / (length + 1)
                    samples[i] += amp * a * decay * math.sin(step * i)
        pos += length
    noise = random.Random(rng.random())
    for start in range(0, total, beat * 2):
        for i in range(start, min(total, start + RATE // 40)):
            samples[i] += noise.uniform(-0.3, 0.3)
    peak = max(1e-9, max(abs(s) for s in samples))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(array("h", (int(s / peak * 30000) for s in samples)).tobytes())
    return path


def clip(path: Path, rng: random.Random) -> Path:
    """Five seconds of one of ffmpeg's moving sources, with random parameters."""
    kind = rng.choice(("mandelbrot", "life", "cellauto", "testsrc2"))
    size = "320x240"
    if kind == "mandelbrot":
        src = (f"mandelbrot=size={size}:rate=25:start_x={rng.uniform(-1.5, 0.3):.4f}:"
               f"start_y={rng.uniform(-0.8, 0.8):.4f}:start_scale={rng.uniform(0.5, 3):.3f}")
        vf = "null"
    elif kind == "life":
        colour = f"{rng.randrange(1 << 24):06x}"
        src = (f"life=size={size}:rate=25:seed={rng.randrange(1 << 30)}:"
               f"ratio={rng.uniform(0.05, 0.5):.3f}:mold=10:life_color=#{colour}")
        vf = "null"
    elif kind == "cellauto":
        src = (f"cellauto=size={size}:rate=25:rule={rng.randrange(1, 255)}:"
               f"seed={rng.randrange(1 << 30)}:scroll=1")
        vf = "null"
    else:
        src = "testsrc2=size=640x480:rate=25"
        x, y = rng.randrange(0, 320), rng.randrange(0, 240)
        vf = f"crop=320:240:{x}+t*{rng.randrange(-30, 30)}:{y},hue=h={rng.randrange(360)}"
    ffmpeg("-f", "lavfi", "-i", src, "-t", "5", "-vf", vf, "-c:v", "libx264", "-crf", "18",
           "-pix_fmt", "yuv420p", path)
    return path


def _variant(original: Path, args: list[str], out: Path) -> Path:
    target = args[-1].format(out=out)
    ffmpeg("-i", original, *args[:-1], target)
    return Path(target)


def _code(path: Path, kind: str) -> ContentCode:
    code = content_code(path, f"{kind}/x-bench")
    if code is None:
        raise SystemExit(f"no code for {path}")
    return code


def measure(kind: str, count: int, seed: int,
            make: Callable[[Path, random.Random], Path],
            transforms: dict[str, list[str]]) -> None:
    rng = random.Random(seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        suffix = ".wav" if kind == "audio" else ".mp4"
        originals = [make(folder / f"o{i}{suffix}", random.Random(rng.random()))
                     for i in range(count)]

        def one(i: int) -> tuple[ContentCode, list[tuple[str, ContentCode]]]:
            variants = [(t, _code(_variant(originals[i], args, folder / f"v{i}-{n}"), kind))
                        for n, (t, args) in enumerate(transforms.items())]
            return _code(originals[i], kind), variants

        with ThreadPoolExecutor(2) as pool:  # ffmpeg runs in its own process
            done = list(pool.map(one, range(count)))
    codes = [c for c, _ in done]
    own = [(i, t, v.bits ^ codes[i].bits) for i, (_, vs) in enumerate(done) for t, v in vs]
    own_d = [(i, t, x.bit_count()) for i, t, x in own]
    variants = [(i, v) for i, (_, vs) in enumerate(done) for _, v in vs]
    pairs = len(variants) * (count - 1)
    print(f"\n{kind}: {count} originals, {len(variants)} variants, {pairs} unrelated pairs "
          f"({time.monotonic() - started:.0f} s)")
    print("| transformation | " + " | ".join(f"D<={d}" for d in DISTANCES) + " |")
    print("|" + "---|" * (len(DISTANCES) + 1))
    for t in transforms:
        row = [d for _, tt, d in own_d if tt == t]
        print(f"| recall, {t} | " + " | ".join(
            f"{sum(1 for x in row if x <= d) / len(row):.3f}" for d in DISTANCES) + " |")
    false = {d: sum(1 for i, v in variants for j, c in enumerate(codes)
                    if j != i and (v.bits ^ c.bits).bit_count() <= d) for d in DISTANCES}
    tp = {d: sum(1 for _, _, x in own_d if x <= d) for d in DISTANCES}
    print("| recall, all | " + " | ".join(f"{tp[d] / len(own_d):.3f}" for d in DISTANCES)
          + " |")
    print("| precision | " + " | ".join(
        f"{tp[d] / (tp[d] + false[d]):.3f}" if tp[d] + false[d] else "-" for d in DISTANCES)
          + " |")
    print("| false positive rate | " + " | ".join(f"{false[d] / pairs:.1e}" for d in DISTANCES)
          + " |")
    nearest = sorted(min((v.bits ^ c.bits).bit_count() for j, c in enumerate(codes) if j != i)
                     for i, v in variants)[:5]
    print(f"nearest unrelated pairs (bits): {nearest}; default distance {DEFAULT_DISTANCE}")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--audio", type=int, default=80, help="generated tunes")
    ap.add_argument("--video", type=int, default=40, help="generated clips")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.audio:
        measure("audio", args.audio, args.seed, tune, AUDIO_TRANSFORMS)
    if args.video:
        measure("video", args.video, args.seed, clip, VIDEO_TRANSFORMS)


if __name__ == "__main__":
    main()
