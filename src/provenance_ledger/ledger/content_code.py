"""The ISCC content code of a file, for ``work.register``'s ``similarity`` member (specs/events.md
section 6.1).

Images are decoded with Pillow, as the formats that their media type names; text files
(``text/*``) are read as UTF-8; audio and video files (``audio/*``, ``video/*``) are coded with
``ffmpeg`` where there is one (ledger/media_code.py, the optional ``media`` extra). Anything
else, and any file that Pillow, ``ffmpeg`` or UTF-8 cannot decode, has no code: it is anchored
as before, never refused for it. Large images
are decoded at reduced size (JPEG's draft mode decodes at 1/2 to 1/8 scale; others are
box-reduced by a whole factor before resampling): the code is made from 32 x 32 pixels anyway.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.similarity import IMAGE_SIDE, ContentCode, image_code, text_code
from .media_code import kind_of, media_code

if TYPE_CHECKING:
    from PIL import Image

MAX_TEXT_BYTES = 16 << 20  # a larger text file gets no code (bytes)
DRAFT_SIDE = 256  # decode an image at no less than this many pixels a side, where it can
REDUCED_SIDE = 512  # pixels: a longer side is box-reduced by the whole factor it holds
MAX_IMAGE_PIXELS = 200_000_000  # a larger (or bomb) image gets no code
BORDER_TOLERANCE = 16  # grey levels: a border this close to its corner's colour is empty
HEAD_BYTES = 16
"""The first bytes of a file that Pillow reads to tell its format (``Image.open``): given
them, :func:`content_code` knows without opening the file that no format of its media type
accepts it (a ``.png`` that is no PNG), and answers None as Pillow would."""


def content_code(path: Path, media_type: str, head: bytes | None = None) -> ContentCode | None:
    """The code of the file at ``path``, or None (see the module docstring). ``head``: the
    file's first ``HEAD_BYTES`` bytes (all of a smaller file), when the caller has read them."""
    if media_type.startswith("image/"):
        if head is not None and not might_be_image(media_type, head):
            return None
        return _image(path, media_type)
    if media_type.startswith("text/"):
        return _text(path)
    kind = kind_of(media_type)
    if kind is not None:
        return media_code(path, kind)
    return None


def needs_decoding(media_type: str, head: bytes | None = None) -> bool:
    """Whether :func:`content_code` opens the file to answer (False: it answers None at
    once, by the media type, or by ``head`` for an image)."""
    if media_type.startswith("image/"):
        return head is None or might_be_image(media_type, head)
    return media_type.startswith("text/") or kind_of(media_type) is not None


def _text(path: Path) -> ContentCode | None:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_TEXT_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_TEXT_BYTES:
        return None
    try:
        return text_code(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None


@cache
def _formats(media_type: str) -> tuple[str, ...] | None:
    """The Pillow formats of a media type; None (every format) for one Pillow does not name.
    Trying only those is several times faster on a file that is no image at all."""
    from PIL import Image

    Image.init()
    found = tuple(sorted(f for f, m in Image.MIME.items() if m == media_type))
    return found or None


def might_be_image(media_type: str, head: bytes) -> bool:
    """False when Pillow would refuse a file that starts with ``head`` (its first
    ``HEAD_BYTES`` bytes) before decoding anything: ``Image.open`` asks each format of the
    media type whether it accepts those bytes, and opens the file only with one that does.
    True when a format may accept it, or when the media type names no format (then Pillow
    tries them all). Saves opening, reading and closing the file, and Pillow's own work
    (about 25 us a file)."""
    formats = _formats(media_type)
    if formats is None:
        return True
    from PIL import Image

    for name in formats:
        opener = Image.OPEN.get(name)
        if opener is None:
            return True
        accept = opener[1]
        if accept is None:
            return True
        try:
            if accept(head[:HEAD_BYTES]):  # true, or a warning text: Pillow goes on with it
                return True
        except Exception:  # noqa: BLE001 - Pillow's own handling decides, on the file
            return True
    return False


@cache
def _image_errors() -> tuple[type[BaseException], ...]:
    from PIL import Image

    return (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError, TypeError,
            KeyError, Image.DecompressionBombError)


def _image(path: Path, media_type: str) -> ContentCode | None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning, odd metadata
            with Image.open(path, formats=_formats(media_type)) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    return None
                return image_code(normalized_pixels(img))
    except _image_errors():
        return None


def normalized_pixels(img: Image.Image) -> list[int]:
    """ISO 24138's image normalisation (specs/events.md section 6.1): (1) EXIF orientation
    applied, (2) transparency laid on white, (3) grey, (4) empty borders cropped, (5) 32 x 32
    bicubic; the pixels row by row. Decoding at reduced size comes before (1), the whole-factor
    box reduction just after it."""
    from PIL import Image, ImageOps

    img.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))  # JPEG: decode at reduced scale; others ignore
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    img = ImageOps.exif_transpose(img)
    factor = max(img.size) // REDUCED_SIDE
    if factor >= 2:
        img = img.reduce(factor)  # a box filter, a whole factor: cheap, and enough for 32 x 32
    if img.mode in ("RGBA", "LA", "PA") or (img.mode in ("RGB", "L") and
                                            "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    img = img.convert("L")
    img = _trim_border(img)
    img = img.resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BICUBIC)
    return list(img.getdata())


def _trim_border(img: Image.Image) -> Image.Image:
    """Crop away a border of the top-left pixel's grey (within ``BORDER_TOLERANCE``, so that
    a lossy re-encoding trims alike); an image that is all border stays as it was."""
    from PIL import Image, ImageChops

    background = Image.new(img.mode, img.size, img.getpixel((0, 0)))
    diff = ImageChops.difference(img, background).point(
        lambda v: 255 if v > BORDER_TOLERANCE else 0)
    box = diff.getbbox()
    if box is None or box == (0, 0, *img.size):
        return img
    return img.crop(box)
