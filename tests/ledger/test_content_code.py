"""The content code ``anchor`` computes from a file (specs/events.md section 6.1): the known
answers of the spec, files that get no code, and large images decoded at reduced size."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from provenance_ledger.core.similarity import ContentCode, Unit
from provenance_ledger.ledger.content_code import content_code

SPEC = Path(__file__).resolve().parents[2] / "specs" / "events.md"
TEXT = "Chapter 1, page 12\nIt was a bright cold day in April.\n"


def _spec_codes() -> list[str]:
    section = SPEC.read_text(encoding="utf-8").split("Known answers", 1)[1].split("###", 1)[0]
    return re.findall(r"`(ISCC:[A-Z2-7]+)`", section)


def test_known_answers_of_the_spec(tmp_path: Path) -> None:
    img = Image.new("RGB", (64, 48))
    img.putdata([(4 * x, 5 * y, 255 if (x // 16 + y // 12) % 2 else 0)
                 for y in range(48) for x in range(64)])
    img.save(tmp_path / "kat.png")
    (tmp_path / "kat.txt").write_text(TEXT, encoding="utf-8")
    image = content_code(tmp_path / "kat.png", "image/png")
    text = content_code(tmp_path / "kat.txt", "text/plain")
    assert image is not None and text is not None
    assert _spec_codes()[:2] == [image.to_text(), text.to_text()]  # then audio, video


def test_files_without_a_code(tmp_path: Path) -> None:
    (tmp_path / "fake.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (tmp_path / "blank.txt").write_text(" \n\t\n", encoding="utf-8")
    (tmp_path / "song.mp3").write_bytes(b"ID3" + bytes(100))
    for name, media in (("fake.jpg", "image/jpeg"), ("latin1.txt", "text/plain"),
                        ("blank.txt", "text/plain"), ("song.mp3", "audio/mpeg")):
        assert content_code(tmp_path / name, media) is None, name


def test_a_large_jpeg_is_coded_like_its_small_copy(tmp_path: Path) -> None:
    """Decoded at reduced scale, a 4000 x 3000 photograph codes as its 500 x 375 copy does,
    within a few bits (the code is made from 32 x 32 pixels)."""
    small = Image.radial_gradient("L").resize((500, 375)).convert("RGB")
    small.paste((200, 30, 30), (50, 40, 250, 200))
    small.paste((20, 30, 220), (300, 200, 480, 360))
    small.save(tmp_path / "small.png")
    small.resize((4000, 3000), Image.Resampling.BICUBIC).save(tmp_path / "big.jpg", quality=90)
    a = content_code(tmp_path / "small.png", "image/png")
    b = content_code(tmp_path / "big.jpg", "image/jpeg")
    assert a is not None and b is not None and a.unit is b.unit is Unit.IMAGE
    distance = a.distance(b)
    assert distance is not None and distance <= 4
    assert isinstance(ContentCode.from_text(b.to_text()), ContentCode)
