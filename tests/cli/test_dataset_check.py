"""``provenance dataset check`` through the real CLI (specs/cli.md section 3.14).

A folder of real files: works registered by a creator with a consent to the developer, a
consent to anyone that was revoked, a licence the developer accepted, a work with nothing, a
copy of the consented file, a file nobody registered, an empty file, and another creator's
work open to anyone. The check names each item's outcome, controller and citation; exit 1
while any registered item is not allowed; ``--receipt`` writes a compliance receipt that
``verify`` re-checks offline, and any tampering of it is refused. The home is built with the
library at a past ledger time, so that no test waits for time to pass.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.events import Event, SignedEvent, sign_event, work_id_of
from provenance_ledger.ledger import Home

from .conftest import assert_one_error_line, log_key, run

AGO = int(time.time()) - 600
CREATOR = PrivateKey.from_seed(bytes([21]) * 32)
OTHER = PrivateKey.from_seed(bytes([22]) * 32)
DEV = PrivateKey.from_seed(bytes([23]) * 32)
DEV_KEY = DEV.public.text


def _image(n: int) -> bytes:
    """Image-like bytes: a PNG signature and a pseudo-random body of a few kilobytes."""
    body = b"".join(hashlib.sha256(f"{n}/{i}".encode()).digest() for i in range(96))
    return b"\x89PNG\r\n\x1a\n" + body


def _ev(key: PrivateKey, type_: str, work: str, body: dict[str, Any],
        prev: str | None) -> SignedEvent:
    return sign_event(Event(type_, work, prev, key.public.text, AGO, body), key)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(home, folder) as the module docstring says."""
    root = tmp_path_factory.mktemp("dataset")
    folder = root / "images"
    folder.mkdir()
    names = {"a.png": 1, "b.png": 2, "c.png": 3, "d.png": 4, "e.png": 5, "g.png": 7}
    works = {}
    for name, n in names.items():
        (folder / name).write_bytes(_image(n))
        works[name] = work_id_of(hashlib.sha256(_image(n)).hexdigest())
    (folder / "sub").mkdir()
    (folder / "sub" / "a-copy.png").write_bytes(_image(1))
    (folder / "empty.png").write_bytes(b"")
    reg = {n: _ev(OTHER if n == "g.png" else CREATOR, "work.register", works[n],
                  {"size": len(_image(i)), "media_type": "image/png"}, None)
           for n, i in names.items() if n != "e.png"}
    grant_a = _ev(CREATOR, "consent.grant", works["a.png"],
                  {"grantee": DEV_KEY, "purposes": ["ai_training"]}, reg["a.png"].id)
    grant_b = _ev(CREATOR, "consent.grant", works["b.png"],
                  {"grantee": "*", "purposes": ["ai_training"]}, reg["b.png"].id)
    revoke_b = _ev(CREATOR, "consent.revoke", works["b.png"], {"grant": grant_b.id}, grant_b.id)
    offer_c = _ev(CREATOR, "licence.offer", works["c.png"],
                  {"licensee": DEV_KEY, "purposes": ["ai_training"]}, reg["c.png"].id)
    accept_c = _ev(DEV, "licence.accept", works["c.png"], {"offer": offer_c.id}, offer_c.id)
    grant_g = _ev(OTHER, "consent.grant", works["g.png"],
                  {"grantee": "*", "purposes": ["ai_training"]}, reg["g.png"].id)
    home = root / "home"
    ledger = Home(home).open_ledger()
    try:
        for block in (list(reg.values()), [grant_a, grant_b, offer_c, grant_g],
                      [revoke_b, accept_c]):
            for r in ledger.append_block([e.leaf for e in block], AGO):
                assert not isinstance(r, Exception), r
    finally:
        ledger.close()
    return home, folder


EXPECTED = {"a.png": "allowed", "b.png": "not allowed", "c.png": "allowed",
            "d.png": "not allowed", "e.png": "unregistered", "g.png": "allowed",
            "sub/a-copy.png": "allowed", "empty.png": "skipped"}


def check_json(home: Path, *args: str | Path, code: int = 1) -> Any:
    result = run("dataset", "check", *args, "--json", home=home, ok_codes=(code,))
    return json.loads(result.out)


def test_a_mixed_folder_names_each_outcome_with_its_citation(
        dataset: tuple[Path, Path]) -> None:
    home, folder = dataset
    doc = check_json(home, folder, "--purpose", "ai_training", "--as", DEV_KEY)
    items = {i["item"]: i for i in doc["items"]}
    assert {n: i["outcome"] for n, i in items.items()} == EXPECTED
    assert doc["summary"] == {"items": 8, "allowed": 4, "not_allowed": 2, "unregistered": 1,
                              "skipped": 1}
    assert items["a.png"]["citing"][0].startswith("consent grant ")
    assert items["c.png"]["citing"][0].startswith("licence ")
    assert "revoked by" in items["b.png"]["citing"][0]
    assert items["d.png"]["reason"].endswith("not allowed by default")
    assert items["a.png"]["controller"] == CREATOR.public.text
    assert items["g.png"]["controller"] == OTHER.public.text
    assert items["e.png"]["registered"] is False and items["e.png"]["controller"] is None
    assert "default deny" in doc["note"] and doc["tree_size"] == 11


def test_the_text_report_has_a_table_a_summary_and_the_default_deny_note(
        dataset: tuple[Path, Path]) -> None:
    home, folder = dataset
    r = run("dataset", "check", folder, "--purpose", "ai_training", "--as", DEV_KEY,
            home=home, ok_codes=(1,))
    lines = r.out.splitlines()
    rows = {line.split(": ", 1)[0].split()[-1]: line.split()[0] for line in lines
            if line.startswith("  ") and ".png:" in line}
    assert rows["c.png"] == "allowed" and rows["e.png"] == "unregistered"
    assert "  not allowed         2" in lines and "  total               8" in lines
    assert any(line.startswith("note: ") and "default deny" in line for line in lines)


def test_csv_has_one_row_per_item(dataset: tuple[Path, Path]) -> None:
    home, folder = dataset
    r = run("dataset", "check", folder, "--purpose", "ai_training", "--as", DEV_KEY, "--csv",
            home=home, ok_codes=(1,))
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert list(rows[0]) == ["item", "outcome", "work", "controller", "reason", "citing",
                             "conditions", "match", "distance", "terms"]
    assert {row["item"]: row["outcome"] for row in rows} == EXPECTED
    assert {row["item"]: row["match"] for row in rows if row["match"]} == {
        n: "exact" for n, o in EXPECTED.items() if o in ("allowed", "not allowed")}


def test_exit_0_when_every_registered_item_is_allowed(dataset: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    home, folder = dataset
    manifest = tmp_path / "ok.txt"
    manifest.write_text(f"# allowed ones and one nobody registered\n{folder}/a.png\n"
                        f"{folder}/c.png\n\n{folder}/e.png\n")
    doc = check_json(home, manifest, "--purpose", "ai_training", "--as", DEV_KEY, code=0)
    assert [i["outcome"] for i in doc["items"]] == ["allowed", "allowed", "unregistered"]


def test_text_and_json_lines_manifests_name_the_same_works(dataset: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    home, folder = dataset
    b_id = work_id_of(hashlib.sha256((folder / "b.png").read_bytes()).hexdigest())
    (tmp_path / "a.png").write_bytes((folder / "a.png").read_bytes())
    text = tmp_path / "list.txt"
    text.write_text(f"a.png\n{b_id.upper().replace('SHA256', 'sha256')}\n")
    lines = tmp_path / "list.jsonl"
    lines.write_text(json.dumps({"path": "a.png", "caption": "a page"}) + "\n"
                     + json.dumps({"sha256": b_id[7:], "name": "page b"}) + "\n"
                     + json.dumps({"work": b_id}) + "\n")
    one = check_json(home, text, "--purpose", "ai_training", "--as", DEV_KEY)
    two = check_json(home, lines, "--purpose", "ai_training", "--as", DEV_KEY)
    assert [i["work"] for i in one["items"]] == [i["work"] for i in two["items"]][:2]
    assert [i["item"] for i in two["items"]] == ["a.png", "page b", b_id]
    assert [i["outcome"] for i in two["items"]] == ["allowed", "not allowed", "not allowed"]


def test_a_creator_checks_a_published_manifest_for_their_own_works(
        dataset: tuple[Path, Path]) -> None:
    home, folder = dataset
    doc = check_json(home, folder, "--purpose", "ai_training", "--as", DEV_KEY,
                     "--controller", OTHER.public.text, code=0)
    assert [(i["item"], i["outcome"]) for i in doc["items"]] == [("g.png", "allowed")]
    mine = check_json(home, folder, "--purpose", "ai_training", "--as", DEV_KEY,
                      "--controller", CREATOR.public.text)
    assert {i["item"] for i in mine["items"]} == {"a.png", "b.png", "c.png", "d.png",
                                                  "sub/a-copy.png"}


# -- the compliance receipt --------------------------------------------------------------------


@pytest.fixture(scope="module")
def receipt(dataset: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    home, folder = dataset
    path = tmp_path_factory.mktemp("receipt") / "images.compliance.json"
    r = run("dataset", "check", folder, "--purpose", "ai_training", "--as", DEV_KEY,
            "--receipt", path, home=home, ok_codes=(1,))
    assert f"compliance receipt written to {path}" in r.out
    return path


def test_the_receipt_verifies_offline_and_re_derives_every_answer(
        dataset: tuple[Path, Path], receipt: Path) -> None:
    home, folder = dataset
    vkey = log_key(home)
    r = run("verify", receipt, "--log-key", vkey, "--max-age", "1h", home=home)
    assert r.out.startswith("OK: as of checkpoint 11 of ")
    assert "asked to use 7 items for purpose ai_training" in r.out
    assert "4 allowed, 2 not allowed, 1 not registered" in r.out
    assert "  not allowed: b.png (sha256:" in r.out and "revoked by" in r.out
    doc = json.loads(run("verify", receipt, "--log-key", vkey, "--json", home=home).out)
    assert doc["summary"] == {"items": 7, "allowed": 4, "not_allowed": 2, "unregistered": 1}
    assert [i["item"] for i in doc["not_allowed"]] == ["b.png", "d.png"]
    assert doc["digest"] == "sha256:" + hashlib.sha256(receipt.read_bytes()).hexdigest()
    run("verify", receipt, "--log-key", vkey, "--file", folder / "c.png", home=home)


def test_a_receipt_of_one_item_says_one_item(dataset: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    """receipts.md section 14.1: `1 item`, not `1 items`, in the statement people quote."""
    home, folder = dataset
    one = tmp_path / "one.txt"
    one.write_text(f"{folder / 'g.png'}\n")
    path = tmp_path / "one.compliance.json"
    run("dataset", "check", one, "--purpose", "ai_training", "--as", DEV_KEY, "--receipt",
        path, home=home, ok_codes=(0, 1))
    r = run("verify", path, "--log-key", log_key(home), home=home)
    assert "asked to use 1 item for purpose ai_training" in r.out


def _tampered(receipt: Path, tmp: Path, change: Any) -> Path:
    doc = json.loads(receipt.read_text())
    change(doc)
    out = tmp / "tampered.json"
    out.write_text(json.dumps(doc))
    return out


def _flip(doc: dict[str, Any], holder: Any, member: Any) -> None:
    raw = bytearray(base64.b64decode(holder[member]))
    raw[-1] ^= 0x80
    holder[member] = base64.b64encode(bytes(raw)).decode()


TAMPERS = {
    "decision": lambda d: d["items"][1]["decision"].__setitem__("allowed", True),
    "work-dropped": lambda d: (d["state_receipt"]["works"].pop(), d.pop("summary")),
    "item-dropped": lambda d: (d["items"].pop(1), d.pop("summary")),
    "map-proof": lambda d: _flip(d, d["state_receipt"], "map_proof"),
    "inclusion-proof": lambda d: _flip(d, d["state_receipt"]["works"][0]["events"][0]
                                       ["inclusion_proof"], 0),
    "leaf": lambda d: _flip(d, d["state_receipt"]["works"][2]["events"][-1], "leaf"),
    "purpose": lambda d: d["question"].__setitem__("purpose", "data_mining"),
}


@pytest.mark.parametrize("what", TAMPERS)
def test_a_tampered_receipt_does_not_verify(dataset: tuple[Path, Path], receipt: Path,
                                            tmp_path: Path, what: str) -> None:
    home, _ = dataset
    bad = _tampered(receipt, tmp_path, TAMPERS[what])
    r = run("verify", bad, "--log-key", log_key(home), home=home, ok_codes=(1,))
    line = assert_one_error_line(r)
    assert line.startswith(("error: compliance receipt does not verify: ",
                            "error: receipt does not verify: ")), line


def test_an_old_receipt_is_refused_by_max_age(dataset: tuple[Path, Path],
                                              receipt: Path) -> None:
    home, _ = dataset
    r = run("verify", receipt, "--log-key", log_key(home), "--max-age", "60s", home=home,
            ok_codes=(1,))
    assert "older than --max-age 1m" in assert_one_error_line(r)


# -- bad input -------------------------------------------------------------------------------


def _bad_cases(folder: Path, tmp: Path) -> dict[str, tuple[list[str | Path], str]]:
    (tmp / "iscc.txt").write_text("ISCC:KACYPXW445FTYNJ3CYSXHAFJMA2HUWULUNRFE3BLHRSCXYH2M5AEGQY\n")
    (tmp / "missing.txt").write_text(f"{folder}/a.png\nnot-there.png\n")
    (tmp / "binary.txt").write_bytes(b"\xff\xfe\x00garbage")
    (tmp / "two.jsonl").write_text(json.dumps({"path": "a.png", "sha256": "00" * 32}) + "\n")
    (tmp / "badid.txt").write_text("sha256:1234\n")
    (tmp / "blank.txt").write_text("# nothing\n\n")
    base = ["--purpose", "ai_training", "--as", DEV_KEY]
    return {
        "iscc": ([tmp / "iscc.txt", *base], "is not an ISCC content code the ledger compares"),
        "similar": ([folder, *base, "--similar", "17"], "--similar: '17' is not a whole number"),
        "similar-negative": ([folder, *base, "--similar", "-1"],
                             "--similar: '-1' is not a whole number of the 64 bits"),
        "json-and-csv": ([folder, *base, "--json", "--csv"], "--json or --csv"),
        "missing-file": ([tmp / "missing.txt", *base], "line 2: no such file"),
        "binary": ([tmp / "binary.txt", *base], "is not UTF-8 text"),
        "two-members": ([tmp / "two.jsonl", *base], "exactly one of path, work, sha256"),
        "bad-id": ([tmp / "badid.txt", *base], "is not a work id"),
        "empty-manifest": ([tmp / "blank.txt", *base], "lists no items"),
        "no-path": ([tmp / "nothing-here", *base], "no such folder or manifest"),
        "purpose": ([folder, "--purpose", "AI Training", "--as", DEV_KEY], "--purpose"),
        "key": ([folder, "--purpose", "ai_training", "--as", "ed25519:12"], "--as"),
        "key-name": ([folder, "--purpose", "ai_training", "--as", "nobody"], "nobody"),
    }


@pytest.mark.parametrize("case", ["iscc", "similar", "similar-negative", "json-and-csv",
                                  "missing-file", "binary",
                                  "two-members", "bad-id", "empty-manifest", "no-path",
                                  "purpose", "key", "key-name"])
def test_bad_input_is_one_line_and_exit_2(dataset: tuple[Path, Path], tmp_path: Path,
                                          case: str) -> None:
    home, folder = dataset
    args, words = _bad_cases(folder, tmp_path)[case]
    out = tmp_path / "never.json"
    r = run("dataset", "check", *args, "--receipt", out, home=home, ok_codes=(2,))
    assert words in assert_one_error_line(r)
    assert not out.exists()
