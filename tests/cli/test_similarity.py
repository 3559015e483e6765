"""``anchor`` records an ISCC content code and warns of similar works of other keys;
``status`` lists them as a possible dispute (specs/cli.md sections 3.1, 3.2 and 3.4). Real image
files made here with Pillow, the real CLI in a subprocess."""

from __future__ import annotations

import json
import random
from pathlib import Path

import iscc_core
import pytest
from PIL import Image, ImageDraw

from tests.cli.conftest import new_key, run, run_json


def picture(path: Path, seed: int, size: tuple[int, int] = (480, 360)) -> Path:
    """A picture of coloured shapes, different for every seed."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(10):
        x, y = rng.randrange(w), rng.randrange(h)
        box = (x, y, x + rng.randrange(40, w // 2), y + rng.randrange(40, h // 2))
        fill = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    img.save(path)
    return path


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, object]:
    """A home where ``owner`` registered an original picture; ``rival`` is another key."""
    root = tmp_path
    home = root / "home"
    owner, rival = new_key("owner", home), new_key("rival", home)
    original = picture(root / "original.png", 1)
    doc = run_json("anchor", original, "--key", "owner", "--json", home=home)
    return {"root": root, "home": home, "owner": owner, "rival": rival,
            "original": original, "work": doc["work"], "code": doc["similarity"]}


def _copy(src: Path, dst: Path, scale: float, quality: int) -> Path:
    with Image.open(src) as img:
        img.resize((int(img.width * scale), int(img.height * scale)),
                   Image.Resampling.LANCZOS).save(dst, "JPEG", quality=quality)
    return dst


def test_registration_carries_the_images_iscc_code(setup: dict[str, object]) -> None:
    code = str(setup["code"])
    assert iscc_core.iscc_validate(code, strict=True)
    assert iscc_core.iscc_decode(code)[:2] == (iscc_core.MT.CONTENT, iscc_core.ST_CC.IMAGE)
    status = run_json("status", setup["original"], "--json", home=Path(str(setup["home"])))
    assert status["content"]["similarity"] == code
    assert status["similar"] == []


@pytest.mark.parametrize("scale,quality", [(0.5, 40), (1.5, 85)])
def test_a_reencoded_copy_by_another_key_warns_and_anchors(
        setup: dict[str, object], scale: float, quality: int) -> None:
    home = Path(str(setup["home"]))
    copy = _copy(Path(str(setup["original"])),
                 Path(str(setup["root"])) / f"copy-{scale}-{quality}.jpg", scale, quality)
    result = run("anchor", copy, "--key", "rival", "--json", home=home)
    doc = json.loads(result.out)
    assert doc["status"] == "anchored"
    distance = iscc_core.iscc_distance(doc["similarity"], str(setup["code"]))
    assert distance <= 8
    [similar] = doc["similar"]
    assert (similar["work"], similar["distance"]) == (setup["work"], distance)
    assert similar["controller"] == similar["registrant"] == setup["owner"]
    warning = result.err.strip()
    assert warning.startswith(f"warning: {copy} is similar to work {setup['work']} of another "
                              f"key (controller {setup['owner']}): distance {distance} of 64 bits")
    # status of the copy shows the original beside it, as a possible dispute
    text = run("status", copy, home=home).out
    assert text.startswith("POSSIBLE DISPUTE: similar content is registered as other works "
                           "(ISCC distance <= 8 of 64 bits)\n"
                           f"  {setup['work']} on ")
    assert f"distance {distance}, controller {setup['owner']}" in text


def test_a_copy_by_the_same_key_does_not_warn(setup: dict[str, object]) -> None:
    home = Path(str(setup["home"]))
    copy = _copy(Path(str(setup["original"])), Path(str(setup["root"])) / "mine.jpg", 0.8, 70)
    result = run("anchor", copy, "--key", "owner", home=home)
    assert result.err == "" and result.out.startswith("anchored")


def test_an_unrelated_image_does_not_warn(setup: dict[str, object]) -> None:
    home = Path(str(setup["home"]))
    other = picture(Path(str(setup["root"])) / "other.png", 2)
    result = run("anchor", other, "--key", "rival", "--json", home=home)
    doc = json.loads(result.out)
    assert result.err == "" and "similar" not in doc and "similarity" in doc
    assert iscc_core.iscc_distance(doc["similarity"], str(setup["code"])) > 8


def test_text_files_get_a_text_code_and_other_files_none(tmp_path: Path) -> None:
    home = tmp_path / "home"
    text = tmp_path / "chapter.txt"
    words = "It was a bright cold day in April, and the clocks were striking thirteen. " * 30
    text.write_text(words, encoding="utf-8")
    doc = run_json("anchor", text, "--json", home=home)
    assert doc["similarity"] == iscc_core.gen_text_code_v0(words)["iscc"]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n but nothing a decoder can read")
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)))
    for path in (broken, data):
        result = run("anchor", path, "--json", home=home)
        assert result.err == ""
        doc = json.loads(result.out)
        assert doc["status"] == "anchored" and "similarity" not in doc
        status = run_json("status", path, "--json", home=home)
        assert "similarity" not in status["content"] and status["similar"] == []


def test_a_folder_of_copies_warns_for_each(setup: dict[str, object]) -> None:
    home = Path(str(setup["home"]))
    folder = Path(str(setup["root"])) / "scans"
    folder.mkdir()
    _copy(Path(str(setup["original"])), folder / "a.jpg", 0.3, 60)
    picture(folder / "b.png", 3)
    (folder / "notes.txt").write_text("notes on the scans, nothing more", encoding="utf-8")
    result = run("anchor", folder, "--key", "rival", "--json", home=home)
    files = {Path(f["file"]).name: f for f in json.loads(result.out)["files"]}
    assert [s["work"] for s in files["a.jpg"]["similar"]] == [setup["work"]]
    assert "similar" not in files["b.png"] and "similarity" in files["notes.txt"]
    [line] = result.err.strip().splitlines()
    assert line.startswith(f"warning: {folder / 'a.jpg'} is similar to work {setup['work']}")
