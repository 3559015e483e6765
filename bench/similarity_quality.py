"""Precision and recall of the ISCC image code at each Hamming distance (README.md, section
Similarity; bench/README.md).

Originals: every image file that ships with scikit-image (``skimage.data``), the first faces of
its bundled LFW subset (enlarged), and generated pictures (shapes and gradients from a seeded
random generator). Each original is transformed as a copier would: JPEG re-encodes (quality
30-90), resizes (25-200 %), crops (up to 10 %), a small overlay, greyscale. Every variant is
written to a file and coded through the same path as ``anchor`` (ledger/content_code.py).

A variant within the distance of its original is a true positive; a variant within the
distance of any other original is a false positive. Prints, for each candidate distance, the
recall per transformation and the overall precision, recall and false positive rate.

    pip install -e '.[bench]'
    python bench/similarity_quality.py [--generated 200] [--faces 100]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

from provenance_ledger.core.similarity import DEFAULT_DISTANCE, ContentCode
from provenance_ledger.ledger.content_code import content_code

DISTANCES = (4, 6, 8, 10, 12, 14)
IMAGE_SUFFIXES = (".png", ".jpg", ".gif", ".tif")


def originals(generated: int, faces: int, seed: int) -> list[tuple[str, Image.Image]]:
    import numpy as np
    import skimage.data

    out: list[tuple[str, Image.Image]] = []
    folder = Path(skimage.data.data_dir)
    for p in sorted(folder.iterdir()):
        if p.suffix in IMAGE_SUFFIXES:
            try:
                with Image.open(p) as img:
                    out.append((f"skimage:{p.name}", img.convert("RGB")))
            except OSError:
                print(f"skipped {p.name}: Pillow cannot read it")
    lfw = np.load(folder / "lfw_subset.npy")
    for i in range(min(faces, len(lfw))):
        face = Image.fromarray((lfw[i] * 255).astype("uint8"), "L").resize((100, 100))
        out.append((f"lfw:{i}", face.convert("RGB")))
    rng = random.Random(seed)
    for i in range(generated):
        out.append((f"generated:{i}", _generated(rng)))
    return out


def _generated(rng: random.Random) -> Image.Image:
    """A picture of random rectangles, ellipses and lines over a two-colour gradient."""
    w, h = rng.randrange(200, 640), rng.randrange(200, 640)
    a = [rng.randrange(256) for _ in range(3)]
    b = [rng.randrange(256) for _ in range(3)]
    img = Image.linear_gradient("L").resize((w, h)).rotate(rng.choice((0, 90, 180, 270)))
    img = Image.merge("RGB", [img.point(lambda v, c=c: a[c] + (b[c] - a[c]) * v // 255)
                              for c in range(3)])
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randrange(4, 12)):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(20, w // 2 + 21), y0 + rng.randrange(20, h // 2 + 21)
        fill = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.choice(("rect", "ellipse", "line"))
        if shape == "rect":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.line((x0, y0, x1, y1), fill=fill, width=rng.randrange(2, 12))
    return img


def _jpeg(quality: int) -> Callable[[Image.Image], tuple[Image.Image, str]]:
    return lambda img: (img, f"jpeg:{quality}")


def _resize(pct: int) -> Callable[[Image.Image], tuple[Image.Image, str]]:
    def f(img: Image.Image) -> tuple[Image.Image, str]:
        size = (max(8, img.width * pct // 100), max(8, img.height * pct // 100))
        return img.resize(size, Image.Resampling.LANCZOS), "png"
    return f


def _crop(pct: int) -> Callable[[Image.Image], tuple[Image.Image, str]]:
    def f(img: Image.Image) -> tuple[Image.Image, str]:
        dx, dy = img.width * pct // 200, img.height * pct // 200  # half from each side
        return img.crop((dx, dy, img.width - dx, img.height - dy)), "png"
    return f


def _overlay(img: Image.Image) -> tuple[Image.Image, str]:
    """A watermark-like box and a line of text over about 3 % of the picture."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    draw.rectangle((w * 3 // 4, h * 7 // 8, w - 1, h - 1), fill=(255, 255, 255))
    draw.text((w * 3 // 4 + 4, h * 7 // 8 + 2), "(c) copy", fill=(0, 0, 0))
    return out, "png"


def _grey(img: Image.Image) -> tuple[Image.Image, str]:
    return img.convert("L"), "png"


TRANSFORMS: dict[str, Callable[[Image.Image], tuple[Image.Image, str]]] = {
    "jpeg q30": _jpeg(30), "jpeg q60": _jpeg(60), "jpeg q90": _jpeg(90),
    "resize 25%": _resize(25), "resize 50%": _resize(50), "resize 200%": _resize(200),
    "crop 5%": _crop(5), "crop 10%": _crop(10),
    "overlay": _overlay, "greyscale": _grey,
}


def _code(img: Image.Image, fmt: str, folder: Path, name: str) -> ContentCode:
    if fmt.startswith("jpeg:"):
        path = folder / f"{name}.jpg"
        img.convert("RGB").save(path, "JPEG", quality=int(fmt[5:]))
        media = "image/jpeg"
    else:
        path = folder / f"{name}.png"
        img.save(path, "PNG")
        media = "image/png"
    code = content_code(path, media)
    path.unlink()
    if code is None:
        raise SystemExit(f"no code for {name}")
    return code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generated", type=int, default=200, help="generated pictures")
    ap.add_argument("--faces", type=int, default=100, help="LFW faces used as originals")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    pictures = originals(args.generated, args.faces, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        codes = [_code(img, "png", folder, f"o{i}") for i, (_, img) in enumerate(pictures)]
        variants: list[tuple[int, str, ContentCode]] = []
        for i, (_, img) in enumerate(pictures):
            for t, fn in TRANSFORMS.items():
                out, fmt = fn(img)
                variants.append((i, t, _code(out, fmt, folder, f"v{i}")))
    bits = [c.bits for c in codes]
    own = [(i, t, (v.bits ^ bits[i]).bit_count()) for i, t, v in variants]
    # the nearest other original of each variant (false positives below that distance)
    nearest_other = [min((v.bits ^ b).bit_count() for j, b in enumerate(bits) if j != i)
                     for i, _, v in variants]
    negatives = len(variants) * (len(bits) - 1)
    print(f"{len(pictures)} originals ({sum(1 for n, _ in pictures if n.startswith('skimage'))}"
          f" scikit-image files, {args.faces} faces, {args.generated} generated), "
          f"{len(variants)} variants, {negatives} unrelated pairs")
    header = "| transformation | " + " | ".join(f"D<={d}" for d in DISTANCES) + " |"
    print(header)
    print("|" + "---|" * (len(DISTANCES) + 1))
    for t in TRANSFORMS:
        row = [d for _, tt, d in own if tt == t]
        cells = [f"{sum(1 for x in row if x <= d) / len(row):.3f}" for d in DISTANCES]
        print(f"| recall, {t} | " + " | ".join(cells) + " |")
    for label, fn in (("recall, all", _recall), ("precision", _precision),
                      ("false positive rate", _fpr)):
        cells = [fn(d, own, variants, bits) for d in DISTANCES]
        print(f"| {label} | " + " | ".join(cells) + " |")
    worst = sorted(nearest_other)[:5]
    print(f"nearest unrelated pairs (bits): {worst}; default distance {DEFAULT_DISTANCE}")
    del negatives


def _recall(d: int, own: list[tuple[int, str, int]], variants: object, bits: object) -> str:
    return f"{sum(1 for _, _, x in own if x <= d) / len(own):.3f}"


def _false(d: int, variants: list[tuple[int, str, ContentCode]], bits: list[int]) -> int:
    return sum(1 for i, _, v in variants for j, b in enumerate(bits)
               if j != i and (v.bits ^ b).bit_count() <= d)


def _precision(d: int, own: list[tuple[int, str, int]],
               variants: list[tuple[int, str, ContentCode]], bits: list[int]) -> str:
    tp = sum(1 for _, _, x in own if x <= d)
    fp = _false(d, variants, bits)
    return f"{tp / (tp + fp):.3f}" if tp + fp else "-"


def _fpr(d: int, own: object, variants: list[tuple[int, str, ContentCode]],
         bits: list[int]) -> str:
    return f"{_false(d, variants, bits) / (len(variants) * (len(bits) - 1)):.2e}"


if __name__ == "__main__":
    main()
