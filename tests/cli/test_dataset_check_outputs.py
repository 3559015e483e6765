"""What ``dataset check`` (specs/cli.md section 3.14) and ``receipt show`` of its compliance
receipt (section 3.12) tell a developer, in every output form.

One home: a creator's work ``paid.png`` with a consent to the developer under the condition
``payment-required``. The tests: the condition is seen in the text, the CSV and ``receipt
show``; the CSV never hands a spreadsheet a formula for a crawled name; one file whose name is
not UTF-8 is skipped, not the whole check refused; the JSON's note and ``receipt show`` say
``unregistered`` as the summary does; an ISCC code of another kind (the README's disclosure
manifest has one) is skipped with its reason, while ISCC text that is no code stays bad input.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ..inproc import given, given_json, given_key
from .conftest import run

PURPOSE = "ai_training"
OTHER_KIND_ISCC = "ISCC:KACYPXW445FTYNJ3"  # an ISCC-CODE (the README's), no content unit
UNREGISTERED = "sha256:" + "0" * 64


def _image(n: int) -> bytes:
    body = b"".join(hashlib.sha256(f"outputs {n}/{i}".encode()).digest() for i in range(96))
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("outputs")
    home = root / "home"
    files = root / "files"
    files.mkdir()
    (files / "paid.png").write_bytes(_image(1))
    given("anchor", files / "paid.png", home=home)
    dev = given_key("dev", home=home)
    given("consent", "grant", files / "paid.png", "--purpose", PURPOSE, "--to", dev,
          "--condition", "payment-required", home=home)
    (files / "licensed.png").write_bytes(_image(2))
    given("anchor", files / "licensed.png", home=home)
    offer = given_json("licence", "offer", files / "licensed.png", "--to", dev, "--purpose",
                       PURPOSE, "--fee", "100", "eur", "--territory", "jp", "--json",
                       home=home)["id"]
    given("licence", "accept", offer, "--key", "dev", home=home)
    return {"home": home, "root": root, "files": files}


def _check(world: dict[str, Any], path: Path, *more: str, ok: tuple[int, ...] = (0,)
           ) -> tuple[int, str, str]:
    return run("dataset", "check", path, "--purpose", PURPOSE, "--as", "dev", *more,
               home=world["home"], ok_codes=ok)


def _manifest(world: dict[str, Any], name: str, text: str) -> Path:
    path: Path = world["files"] / name
    path.write_text(text)
    return path


def _line(out: str, name: str) -> str:
    return next(x for x in out.splitlines() if f" {name}: " in x)


# -- 1. conditions ----------------------------------------------------------------------------


def test_the_text_line_of_an_allowed_item_names_its_condition(world: dict[str, Any]) -> None:
    out = _check(world, _manifest(world, "paid.txt", "paid.png\n"))[1]
    line = _line(out, "paid.png")
    assert line.lstrip().startswith("allowed ")
    assert line.endswith(" [condition: payment-required]")


def test_the_csv_has_a_conditions_column(world: dict[str, Any]) -> None:
    out = _check(world, _manifest(world, "paid.txt", "paid.png\n"), "--csv")[1]
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == ("item,outcome,work,controller,reason,citing,conditions,"
                                   "match,distance,terms")
    assert [(r["item"], r["outcome"], r["conditions"]) for r in rows] == [
        ("paid.png", "allowed", "payment-required")]


def test_an_item_allowed_by_a_licence_says_its_terms_as_may_does(
        world: dict[str, Any]) -> None:
    """specs/cli.md section 3.14: a licence limited to Japan at a fee is not a plain yes."""
    manifest = _manifest(world, "licensed.txt", "licensed.png\npaid.png\n")
    line = _line(_check(world, manifest)[1], "licensed.png")
    assert line.lstrip().startswith("allowed ")
    assert line.endswith(" [licence terms: fee 100.00 EUR, territories JP]")
    assert "licence terms" not in _line(_check(world, manifest)[1], "paid.png")
    rows = {r["item"]: r for r in csv.DictReader(io.StringIO(_check(world, manifest,
                                                                     "--csv")[1]))}
    assert rows["licensed.png"]["terms"] == "fee 100.00 EUR, territories JP"
    assert rows["paid.png"]["terms"] == ""
    items = {i["item"]: i for i in json.loads(_check(world, manifest, "--json")[1])["items"]}
    assert items["licensed.png"]["terms"] == {"fee": {"amount": 10000, "currency": "EUR"},
                                              "territories": ["JP"]}
    assert items["paid.png"]["terms"] is None
    may = json.loads(run("may", "dev", PURPOSE, world["files"] / "licensed.png", "--json",
                         home=world["home"]).out)
    assert may["terms"] == items["licensed.png"]["terms"]


def test_receipt_show_names_the_condition(world: dict[str, Any]) -> None:
    receipt = world["root"] / "paid-receipt.json"
    _check(world, _manifest(world, "paid.txt", "paid.png\n"), "--receipt", receipt)
    out = run("receipt", "show", receipt, home=world["home"]).out
    assert _line(out, "paid.png").endswith(": allowed [condition: payment-required]")


# -- 2. CSV injection -----------------------------------------------------------------------


def test_csv_item_names_are_never_spreadsheet_formulas(world: dict[str, Any]) -> None:
    crawl = world["root"] / "crawl"
    crawl.mkdir()
    for name in ('=HYPERLINK("x").png', "+1.png", "-2.png", "@3.png", "plain.png"):
        (crawl / name).write_bytes(_image(1))
    out = _check(world, crawl, "--csv")[1]
    items = sorted(r["item"] for r in csv.DictReader(io.StringIO(out)))
    assert items == sorted(["'=HYPERLINK(\"x\").png", "'+1.png", "'-2.png", "'@3.png",
                            "plain.png"])


# -- 3. a file name that is not UTF-8 -----------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_skipped_and_the_rest_checked(
        world: dict[str, Any]) -> None:
    odd = world["root"] / "odd"
    odd.mkdir()
    (odd / "paid.png").write_bytes(_image(1))
    with open(os.path.join(os.fsencode(odd), b"caf\xe9.png"), "wb") as f:
        f.write(b"x")
    receipt = world["root"] / "odd-receipt.json"
    out = _check(world, odd, "--receipt", receipt)[1]
    assert _line(out, "paid.png").lstrip().startswith("allowed ")
    skipped = _line(out, "caf\ufffd.png")
    assert skipped.lstrip().startswith("skipped ")
    assert skipped.endswith(": its name is not UTF-8 text, so no report or receipt can name "
                            "it (rename it)")
    doc = json.loads(_check(world, odd, "--json")[1])
    assert doc["summary"]["allowed"] == 1 and doc["summary"]["skipped"] == 1
    kept = json.loads(receipt.read_text())
    assert [i["name"] for i in kept["items"]] == ["paid.png"]  # the receipt covers the rest


# -- 4. unregistered, in one word ---------------------------------------------------------------


def test_the_json_note_is_there_only_with_unregistered_items(world: dict[str, Any]) -> None:
    none = json.loads(_check(world, _manifest(world, "paid.txt", "paid.png\n"), "--json")[1])
    assert none["summary"]["unregistered"] == 0 and none["note"] is None
    some = json.loads(_check(world, _manifest(world, "some.txt", f"{UNREGISTERED}\n"),
                             "--json")[1])
    assert some["summary"]["unregistered"] == 1 and "default deny" in some["note"]


def test_receipt_show_calls_an_unregistered_item_unregistered(world: dict[str, Any]) -> None:
    receipt = world["root"] / "unregistered-receipt.json"
    _check(world, _manifest(world, "two.txt", f"paid.png\n{UNREGISTERED}\n"),
           "--receipt", receipt)
    out = run("receipt", "show", receipt, home=world["home"]).out
    assert "(1 allowed, 0 not allowed, 1 unregistered, as the receipt states it)" in out
    line = _line(out, UNREGISTERED)
    assert line.endswith(": unregistered (the work is not registered on this ledger)")
    assert "not allowed" not in line


# -- 5. the disclosed manifest ----------------------------------------------------------------


def test_the_readme_disclosure_manifest_is_checked(world: dict[str, Any]) -> None:
    manifest = _manifest(world, "train.txt", 'paid.png\n{"path": "paid.png", "source": "crawl"}'
                         f"\n{OTHER_KIND_ISCC}\n")
    receipt = world["root"] / "train-receipt.json"
    out = _check(world, manifest, "--receipt", receipt)[1]
    line = _line(out, OTHER_KIND_ISCC)
    assert line.lstrip().startswith("skipped ")
    assert line.endswith(f"{OTHER_KIND_ISCC}: it is not an ISCC content code the ledger "
                         "compares (ISCC: and 16 base32 characters, a 64-bit image, text, "
                         "audio or video unit) but an ISCC code of another kind: not checked")
    doc = json.loads(_check(world, manifest, "--json")[1])
    assert [(i["item"], i["outcome"]) for i in doc["items"]] == [
        ("paid.png", "allowed"), ("paid.png", "allowed"), (OTHER_KIND_ISCC, "skipped")]
    assert [i["name"] for i in json.loads(receipt.read_text())["items"]] == [
        "paid.png", "paid.png"]


def test_iscc_text_that_is_no_code_is_still_bad_input(world: dict[str, Any]) -> None:
    _, _, err = _check(world, _manifest(world, "bad.txt", "paid.png\nISCC:AB\n"), ok=(2,))
    assert err.startswith("error: ") and "bad.txt line 2: 'ISCC:AB' is not an ISCC content " \
        "code" in err


def test_disclose_counts_items_and_says_duplicate_lines_it_folded(tmp_path: Path) -> None:
    """``dataset disclose`` says "1 item", not "1 items", and says on stderr how many lines
    named an item already listed (each item is committed once: specs/cli.md 3.16)."""
    home = tmp_path / "home"
    one = "sha256:" + "ab" * 32
    manifest = tmp_path / "one.txt"
    manifest.write_text(f"{one}\n{one}\n{one.upper()}\n", encoding="utf-8")
    r = run("dataset", "disclose", manifest, "--name", "tiny", "--version", "v1", home=home)
    assert r.out.splitlines()[0] == "disclosed tiny version v1: 1 item"
    assert r.err.strip().splitlines()[-1] == (
        f"note: 2 duplicate lines of {manifest} folded into the item already listed: each "
        "item is committed once (1 item)")
    versions = run("dataset", "versions", "tiny", home=home).out
    assert "  v1: 1 item, " in versions
