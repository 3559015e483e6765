"""What an AI developer trips over when following README.md and ``--help``: each test runs the
real CLI in a subprocess against a throwaway home (specs/cli.md sections 3.5 and 3.14,
specs/datasets.md section 7)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.cli.test_may_disputed import Dispute
from tests.cli.test_may_disputed import dispute as dispute  # noqa: F401 - the fixture

from .conftest import assert_one_error_line, log_key, new_key, run, run_json


def _squatted(tmp_path: Path) -> tuple[Path, Path]:
    """A home where a key nobody attests registered a copy and granted it to anyone, the
    README's squatter; the asker trusts the 'guild' key. Returns (home, the copy)."""
    home = tmp_path / "home"
    for name in ("guild", "squatter", "user"):
        new_key(name, home)
    copy = tmp_path / "copy.png"
    copy.write_text("a page someone else drew\n", encoding="utf-8")
    run("anchor", copy, "--key", "squatter", home=home)
    run("consent", "grant", copy, "--purpose", "ai_training", "--anyone", "--key", "squatter",
        home=home)
    return home, copy


def test_may_require_attested_writes_no_receipt_that_says_yes(tmp_path: Path) -> None:
    """``may --require-attested --proof``: the answer is no (the granting key is attested by
    no one trusted), but a decision receipt counts no attestation and would keep a "may use"
    that ``verify`` confirms. Refused before anything is written, naming the way to a receipt
    that records the trust (a compliance receipt v2, specs/receipts.md section 14.3)."""
    home, copy = _squatted(tmp_path)
    proof = tmp_path / "decision.json"
    result = run("may", "user", "ai_training", copy, "--require-attested", "--attester", "guild",
                 "--proof", proof, home=home, ok_codes=(2,))
    line = assert_one_error_line(result)
    assert line.startswith("error: --proof with --require-attested: ")
    assert "dataset check MANIFEST --require-attested" in line
    assert not proof.exists()
    # the way the error names: a compliance receipt that verify re-checks with the same "no"
    manifest = tmp_path / "one.txt"
    manifest.write_text("copy.png\n", encoding="utf-8")
    receipt = tmp_path / "one.compliance.json"
    run("dataset", "check", manifest, "--purpose", "ai_training", "--as", "user",
        "--require-attested", "--attester", "guild", "--receipt", receipt, home=home,
        ok_codes=(1,))
    checked = run("verify", receipt, "--log-key", log_key(home), home=home).out
    assert ": 0 allowed, 1 not allowed, " in checked
    # without --require-attested the receipt is written and says what may said
    out = run("may", "user", "ai_training", copy, "--proof", proof, home=home).out
    assert out.startswith("allowed: ")
    assert "may use work" in run("verify", proof, "--log-key", log_key(home), home=home).out


def _folder(tmp_path: Path, n: int) -> Path:
    folder = tmp_path / "set"
    folder.mkdir()
    for i in range(n):
        (folder / f"img-{i:04}.png").write_text(f"training image {i}\n", encoding="utf-8")
    (folder / "empty.png").write_bytes(b"")  # nobody's work: left out, as dataset check does
    (folder / ".hidden.png").write_text("not an item\n", encoding="utf-8")
    return folder


def test_dataset_disclose_and_prove_take_the_folder_dataset_check_took(tmp_path: Path) -> None:
    """A developer who checked a folder (``dataset check FOLDER``) discloses that same folder:
    its files are the items, hashed as the check hashes them, so the root is the root of the
    manifest listing the same files, and ``dataset prove FOLDER ITEM`` proves against it."""
    home = tmp_path / "home"
    folder = _folder(tmp_path, 1000)
    out = run_json("dataset", "disclose", folder, "--name", "corpus", "--version", "v1",
                   "--json", home=home)
    assert out["status"] == "disclosed" and out["count"] == 1000
    manifest = tmp_path / "train.txt"
    manifest.write_text("".join(f"set/img-{i:04}.png\n" for i in range(1000)), encoding="utf-8")
    again = run_json("dataset", "disclose", manifest, "--name", "corpus", "--version", "v1",
                     "--json", home=home)
    assert again["status"] == "exists" and again["root"] == out["root"]
    proof = tmp_path / "in.json"
    said = run("dataset", "prove", folder, folder / "img-0007.png", "--name", "corpus",
               "--out", proof, home=home).out
    assert " is in dataset corpus version v1: proof written to " in said
    checked = run("verify", proof, "--log-key", log_key(home), home=home).out
    assert checked.startswith("OK: ") and " is in dataset corpus version v1 " in checked
    outside = tmp_path / "drawing.png"
    outside.write_text("a creator's drawing\n", encoding="utf-8")
    said = run("dataset", "prove", folder, outside, "--name", "corpus", "--out", proof,
               home=home).out
    assert " is not in dataset corpus version v1" in said


def test_dataset_disclose_refuses_an_empty_folder(tmp_path: Path) -> None:
    """A folder with nothing to disclose is bad input, not a version of 0 items logged for
    good; a missing path is named as dataset check names it."""
    home = tmp_path / "home"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "zero.png").write_bytes(b"")
    line = assert_one_error_line(run("dataset", "disclose", empty, "--name", "c", "--version",
                                     "1", home=home, ok_codes=(2,)))
    assert line.startswith(f"error: no files in folder {empty} ")
    line = assert_one_error_line(run("dataset", "disclose", tmp_path / "nothere", "--name", "c",
                                     "--version", "1", home=home, ok_codes=(2,)))
    assert line == f"error: no such folder or manifest: {tmp_path / 'nothere'}"
    assert not (home / "ledger.db").exists() or "dataset.disclose" not in run(
        "log", "checkpoint", home=home).out


def test_dataset_disclose_reads_the_jsonl_manifest_dataset_check_reads(tmp_path: Path) -> None:
    """A JSON Lines manifest written for ``dataset check`` (``work``, ``sha256``, ``path``,
    with a ``name`` and captions) discloses as it is: the same items as ``id`` lines."""
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_text("a page\n", encoding="utf-8")
    run("anchor", page, home=home)
    digest = hashlib.sha256(b"another page\n").hexdigest()
    work = "sha256:" + hashlib.sha256(page.read_bytes()).hexdigest()
    checked = tmp_path / "train.jsonl"
    checked.write_text(
        json.dumps({"work": work, "name": "page", "caption": "a scan"}) + "\n"
        + json.dumps({"sha256": digest.upper(), "name": "other"}) + "\n"
        + json.dumps({"path": "page.png"}) + "\n", encoding="utf-8")
    run("dataset", "check", checked, "--purpose", "ai_training", "--as", "default", home=home)
    out = run_json("dataset", "disclose", checked, "--name", "c", "--version", "1", "--json",
                   home=home)
    assert out["status"] == "disclosed" and out["count"] == 2  # the page twice is one item
    same = tmp_path / "same.txt"
    same.write_text(json.dumps({"id": work}) + "\n" + f"sha256:{digest}\n", encoding="utf-8")
    again = run_json("dataset", "disclose", same, "--name", "c", "--version", "1", "--json",
                     home=home)
    assert again["status"] == "exists" and again["root"] == out["root"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sha256": "zz"}\n', encoding="utf-8")
    line = assert_one_error_line(run("dataset", "disclose", bad, "--name", "c", "--version",
                                     "2", home=home, ok_codes=(2,)))
    assert line == f"error: {bad} line 1: sha256 'zz' is not 64 hex digits"


def test_dataset_group_help_names_disclosure(tmp_path: Path) -> None:
    """``provenance --help`` and ``dataset --help`` say the group also discloses and proves,
    not only checks."""
    home = tmp_path / "home"
    out = " ".join(run("dataset", "--help", home=home).out.split())
    assert "and disclose it: commit to its items on the log, prove whether a work is in it" in out


def test_dataset_disclose_draws_bars_on_a_terminal(tmp_path: Path) -> None:
    """``dataset disclose`` of 10^6 items takes minutes (README, Speed): on a terminal it
    draws a bar for hashing a folder's files and one for committing the items to the tree;
    with --json, or stderr piped, nothing but the output (specs/cli.md section 1.4)."""
    from tests.cli.test_progress import assert_bar, run_tty

    home = tmp_path / "home"
    folder = _folder(tmp_path, 300)
    r = run_tty("dataset", "disclose", folder, "--name", "corpus", "--version", "v1", home=home)
    assert r.code == 0, r
    assert_bar(r.err, "hashing", "301/301")  # the empty file is hashed, then left out
    assert_bar(r.err, "committing", "300/300")
    assert r.out.startswith("disclosed corpus version v1: 300 items\n") and "\x1b" not in r.out
    r = run_tty("dataset", "disclose", folder, "--name", "corpus", "--version", "v1", "--json",
                home=home)
    assert (r.code, r.err) == (0, "") and json.loads(r.out)["status"] == "exists"
    r = run("dataset", "disclose", folder, "--name", "corpus", "--version", "v1", home=home)
    assert r.err == "" and r.out.startswith("already disclosed: ")


def test_dataset_check_table_keeps_its_columns_with_similar_items(tmp_path: Path) -> None:
    """``dataset check --similar``: ``not allowed ~0`` is wider than the outcome column was, and
    pushed that row's work and controller out of line with the heading and the other rows."""
    from PIL import Image, ImageDraw

    home = tmp_path / "home"
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    img = Image.new("RGB", (480, 360), "navy")
    draw = ImageDraw.Draw(img)
    draw.ellipse((40, 40, 260, 260), fill="orange")
    draw.rectangle((220, 140, 460, 340), fill="teal")
    img.save(tmp_path / "photo.png")
    img.resize((240, 180)).save(crawl / "photo-small.jpg", quality=60)
    other = Image.new("RGB", (480, 360), "white")
    ImageDraw.Draw(other).line((0, 0, 480, 360), fill="red", width=20)
    other.save(tmp_path / "other.png")
    other.resize((200, 150)).save(crawl / "other-small.jpg")
    (crawl / "notes.txt").write_text("nobody's\n", encoding="utf-8")
    run("anchor", tmp_path / "photo.png", home=home)
    run("anchor", tmp_path / "other.png", home=home)
    new_key("lab", home)
    run("consent", "grant", tmp_path / "photo.png", "--purpose", "ai_training", "--to", "lab",
        home=home)
    out = run("dataset", "check", crawl, "--purpose", "ai_training", "--as", "lab", "--similar",
              "8", home=home, ok_codes=(1,)).out.splitlines()
    heading = next(line for line in out if line.startswith("  outcome "))
    rows = [line for line in out if "sha256:" in line and not line.startswith("dataset ")]
    assert sorted(r.split()[0] for r in rows) == ["allowed", "not", "unregistered"]
    assert any(r.startswith("  not allowed ~") for r in rows)
    column = heading.index("work")
    assert {r.index("sha256:") for r in rows} == {column}, out
    assert {r.index("ed25519:") for r in rows if "ed25519:" in r} == {heading.index("controller")}


def test_payee_shares_may_carry_a_percent_sign(tmp_path: Path) -> None:
    """``--payee KEY=PERCENT``: ``writer=40%`` is how people write a percentage; it was
    refused as not KEY=PERCENT (specs/cli.md section 2.2)."""
    home = tmp_path / "home"
    writer = new_key("writer", home)
    page = tmp_path / "page-004.png"
    page.write_text("Chapter 2, page 4 (a scan)\n", encoding="utf-8")
    run("anchor", page, "--payee", "default=60%", "--payee", "writer=40%", home=home)
    payees = run_json("status", page, "--json", home=home)["payees"]
    assert {p["key"]: p["share_bps"] for p in payees}[writer] == 4000
    line = assert_one_error_line(run("anchor", page, "--payee", "default=60%%", home=home,
                                     ok_codes=(2,)))
    assert line.startswith("error: --payee 'default=60%%': give KEY=PERCENT")


@pytest.mark.parametrize("where", ["node", "local"])
def test_may_proof_keeps_no_yes_for_a_disputed_work(dispute: Dispute, where: str) -> None:
    """A work registered on two logs by two keys is answered no (specs/cli.md section 3.5), but
    ``may --proof`` wrote a decision receipt of the log asked, which allows it: ``verify`` said
    "may use". The receipt is not written unless --accept-disputed makes the answer yes."""
    d = dispute
    on_a = ("--node", d.a.url) if where == "node" else ("--home", d.a.home)
    proof = d.home.parent / f"disputed-{where}.json"
    out = run("may", d.user, "ai_training", d.page, *on_a, "--proof", proof, home=d.home,
              ok_codes=(1,)).out.splitlines()
    assert out[0].startswith("not allowed: the work is disputed")
    assert out[-1] == (f"  no decision receipt written to {proof}: it would prove this log's "
                       "answer (allowed) without the dispute; add --accept-disputed to keep it")
    assert not proof.exists()
    doc = json.loads(run("may", d.user, "ai_training", d.page, *on_a, "--proof", proof,
                         "--json", home=d.home, ok_codes=(1,)).out)
    assert (doc["allowed"], doc["allowed_on_this_log"], doc["proof"]) == (False, True, None)
    assert not proof.exists()
    # the user who relies on this log's registration keeps the receipt of that answer
    out = run("may", d.user, "ai_training", d.page, *on_a, "--proof", proof,
              "--accept-disputed", home=d.home).out.splitlines()
    assert out[-1].startswith(f"  decision receipt written to {proof} ")
    checked = run("verify", proof, "--log-key", d.a.log_vkey, home=d.home).out
    assert checked.startswith("OK: ") and " may use work " in checked
    # where this log says no as well, the receipt of that no is written as before
    on_b = ("--node", d.b.url) if where == "node" else ("--home", d.b.home)
    refused = d.home.parent / f"refused-{where}.json"
    run("may", d.user, "ai_training", d.page, *on_b, "--proof", refused, home=d.home,
        ok_codes=(1,))
    assert " may not use work " in run("verify", refused, "--log-key", d.b.log_vkey,
                                       home=d.home).out
