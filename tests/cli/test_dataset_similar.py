"""``dataset check --similar D`` and ISCC manifest lines: items matched to registered works by
their ISCC content code, and compliance receipts that record the match (specs/cli.md section
3.14, specs/receipts.md section 14). Real image files made here with Pillow, the real CLI in a
subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import iscc_core
import pytest
from PIL import Image

from provenance_ledger.ledger.content_code import content_code

from .conftest import assert_one_error_line, log_key, new_key, run, run_json
from .test_similarity import picture


def _copy(src: Path, dst: Path, scale: float, quality: int) -> Path:
    """A resized JPEG re-encoding of ``src``: another SHA-256, the same picture."""
    with Image.open(src) as img:
        img.convert("RGB").resize((int(img.width * scale), int(img.height * scale)),
                                  Image.Resampling.LANCZOS).save(dst, "JPEG", quality=quality)
    return dst


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``owner`` registered two pictures and consented to ``dev`` training on the first;
    the folder ``set`` holds re-encoded copies of both and an unrelated picture."""
    root = tmp_path_factory.mktemp("similar")
    home = root / "home"
    new_key("owner", home)
    dev = new_key("dev", home)
    originals = root / "originals"
    originals.mkdir()
    works, codes = {}, {}
    for name, seed in (("consented", 1), ("refused", 2)):
        doc = run_json("anchor", picture(originals / f"{name}.png", seed), "--key", "owner",
                       "--json", home=home)
        works[name], codes[name] = doc["work"], doc["similarity"]
    run("consent", "grant", works["consented"], "--purpose", "ai_training", "--to", dev,
        "--key", "owner", home=home)
    folder = root / "set"
    folder.mkdir()
    _copy(originals / "consented.png", folder / "consented.jpg", 0.5, 60)
    _copy(originals / "refused.png", folder / "refused.jpg", 1.5, 80)
    picture(folder / "unrelated.png", 99)
    copies = {}
    for name in ("consented", "refused"):  # the code anchor would record for the copy
        code = content_code(folder / f"{name}.jpg", "image/jpeg")
        assert code is not None
        copies[name] = code.to_text()
    return {"root": root, "home": home, "dev": dev, "folder": folder, "works": works,
            "codes": codes, "copies": copies}


def _distance(world: dict[str, Any], name: str) -> int:
    copy = world["copies"][name]
    return int(iscc_core.iscc_distance(copy, world["codes"][name]))


def check(world: dict[str, Any], *args: str | Path, code: int) -> dict[str, Any]:
    r = run("dataset", "check", *args, "--purpose", "ai_training", "--as", "dev", "--json",
            home=world["home"], ok_codes=(code,))
    doc: dict[str, Any] = json.loads(r.out)
    return doc


def test_without_similar_the_copies_are_unregistered(world: dict[str, Any]) -> None:
    doc = check(world, world["folder"], code=0)
    assert {i["item"]: i["outcome"] for i in doc["items"]} == dict.fromkeys(
        ("consented.jpg", "refused.jpg", "unrelated.png"), "unregistered")


def test_similar_copies_answer_for_the_works_they_copy(world: dict[str, Any]) -> None:
    doc = check(world, world["folder"], "--similar", "8", code=1)
    items = {i["item"]: i for i in doc["items"]}
    works = world["works"]
    good, bad, other = items["consented.jpg"], items["refused.jpg"], items["unrelated.png"]
    assert (good["outcome"], good["match"], good["work"], good["distance"]) == (
        "allowed", "similar", works["consented"], _distance(world, "consented"))
    assert good["citing"][0].startswith("consent grant ")
    assert (bad["outcome"], bad["match"], bad["work"], bad["distance"]) == (
        "not allowed", "similar", works["refused"], _distance(world, "refused"))
    assert (other["outcome"], other["match"], other["distance"]) == ("unregistered", None, None)
    assert doc["summary"]["allowed"] == 1 and doc["summary"]["not_allowed"] == 1
    # the table says similar, with the distance and the matched work
    text = run("dataset", "check", world["folder"], "--purpose", "ai_training", "--as", "dev",
               "--similar", "8", home=world["home"], ok_codes=(1,)).out
    line = next(x for x in text.splitlines() if "consented.jpg" in x)
    assert f"similar to {works['consented']} at distance {good['distance']}" in line
    # --csv carries the match kind and the distance
    csv_text = run("dataset", "check", world["folder"], "--purpose", "ai_training", "--as",
                   "dev", "--similar", "8", "--csv", home=world["home"], ok_codes=(1,)).out
    row = next(x for x in csv_text.splitlines() if x.startswith("consented.jpg,"))
    assert row.endswith(f",similar,{good['distance']},") and works["consented"] in row


def test_a_distance_below_the_copys_leaves_it_unregistered(world: dict[str, Any]) -> None:
    d = _distance(world, "consented")
    assert d > 0  # a re-encoded, resized copy: not the same code
    doc = check(world, _manifest(world, "one.txt", ["set/consented.jpg"]), "--similar",
                str(d - 1), code=0)
    assert doc["items"][0]["outcome"] == "unregistered"
    doc = check(world, _manifest(world, "one.txt", ["set/consented.jpg"]), "--similar", str(d),
                code=0)
    assert doc["items"][0]["outcome"] == "allowed"


def _manifest(world: dict[str, Any], name: str, lines: list[str]) -> Path:
    path = Path(world["root"]) / name
    path.write_text("".join(f"{x}\n" for x in lines))
    return path


def test_iscc_manifest_lines_match_at_the_default_distance(world: dict[str, Any]) -> None:
    copy = world["copies"]["consented"]
    far = iscc_core.gen_image_code_v0([0] * 512 + [255] * 512, bits=64)["iscc"]
    manifest = _manifest(world, "codes.txt", [copy, far])
    doc = check(world, manifest, code=0)
    near, none = doc["items"]
    assert (near["outcome"], near["match"], near["work"], near["code"]) == (
        "allowed", "similar", world["works"]["consented"], copy)
    assert (none["outcome"], none["work"], none["reason"]) == (
        "unregistered", None, "no registered work within the distance asked")
    # --similar sets the distance for ISCC lines too
    doc = check(world, manifest, "--similar", "0", code=0)
    assert [i["outcome"] for i in doc["items"]] == ["unregistered", "unregistered"]


@pytest.fixture(scope="module")
def receipt(world: dict[str, Any]) -> Path:
    copy = world["copies"]["refused"]
    manifest = _manifest(world, "mixed.txt", ["set/consented.jpg", "set/unrelated.png", copy])
    path = Path(world["root"]) / "similar.compliance.json"
    run("dataset", "check", manifest, "--purpose", "ai_training", "--as", "dev", "--similar",
        "8", "--receipt", path, home=world["home"], ok_codes=(1,))
    return path


def test_a_receipt_with_similar_items_verifies_offline(world: dict[str, Any],
                                                       receipt: Path) -> None:
    doc = json.loads(receipt.read_text())
    first, _, third = doc["items"]
    assert first["work"] == world["works"]["consented"]
    assert first["similar"] == {"code": world["copies"]["consented"],
                                "distance": _distance(world, "consented")}
    assert third["similar"]["distance"] == _distance(world, "refused")
    out = json.loads(run("verify", receipt, "--log-key", log_key(world["home"]), "--json",
                         home=world["home"]).out)
    assert out["summary"] == {"items": 3, "allowed": 1, "not_allowed": 1, "unregistered": 1}
    assert [i["outcome"] for i in out["items"]] == ["allowed", "unregistered", "not allowed"]
    assert out["items"][2]["similar"] == third["similar"]
    assert out["items"][2]["work"] == world["works"]["refused"]
    text = run("verify", receipt, "--log-key", log_key(world["home"]), home=world["home"]).out
    assert (f"  not allowed: {world['copies']['refused']} ({world['works']['refused']}, "
            f"similar at distance {third['similar']['distance']})") in text


def _swap_matched_works(doc: dict[str, Any]) -> None:
    """The two similar items name each other's work; the state receipt lists the works in
    the new first-named order, so only the distances can tell."""
    first, third = doc["items"][0], doc["items"][2]
    first["work"], third["work"] = third["work"], first["work"]
    doc["state_receipt"]["works"].reverse()
    doc.pop("summary")
    for item in doc["items"]:
        item.pop("decision")


TAMPERS = {
    "distance": lambda d: d["items"][0]["similar"].__setitem__(
        "distance", d["items"][0]["similar"]["distance"] + 1),
    "code": lambda d: d["items"][0]["similar"].__setitem__("code", d["items"][2]["similar"]
                                                           ["code"]),
    "matched-work": lambda d: _swap_matched_works(d),
}


@pytest.mark.parametrize("what", TAMPERS)
def test_tampering_with_a_similar_match_is_detected(world: dict[str, Any], receipt: Path,
                                                    what: str) -> None:
    doc = json.loads(receipt.read_text())
    TAMPERS[what](doc)
    bad = Path(world["root"]) / f"tampered-{what}.json"
    bad.write_text(json.dumps(doc))
    r = run("verify", bad, "--log-key", log_key(world["home"]), home=world["home"],
            ok_codes=(1,))
    line = assert_one_error_line(r)
    assert line.startswith("error: compliance receipt does not verify: "), line
    assert "bits from the matched work's registered code" in line, line


@pytest.mark.parametrize("value,words", [
    ("17", "--similar: '17' is not a whole number of the 64 bits that may differ (0 to 16"),
    ("-3", "--similar: '-3' is not a whole number of the 64 bits"),
    ("eight", "--similar: 'eight' is not a whole number of the 64 bits")])
def test_bad_similar_values_are_one_line_and_exit_2(world: dict[str, Any], value: str,
                                                    words: str) -> None:
    r = run("dataset", "check", world["folder"], "--purpose", "ai_training", "--as", "dev",
            "--similar", value, home=world["home"], ok_codes=(2,))
    assert words in assert_one_error_line(r)
