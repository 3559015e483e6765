"""``dataset disclose``, ``dataset prove``, ``dataset versions`` and ``verify`` of dataset proofs,
through the real CLI with real keys (specs/datasets.md, specs/cli.md section 2)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.core.disclosure import verify_dataset_proof
from provenance_ledger.core.note import Verifier
from provenance_ledger.errors import LedgerError

from .conftest import assert_one_error_line, log_key, run, run_json, stored_sizes

ISCC = "ISCC:KACYPXW445FTYNJ3"
OUTSIDE = "sha256:" + hashlib.sha256(b"a work nobody trained on").hexdigest()


def make_set(folder: Path, n: int, tag: str = "") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        f = folder / f"work-{i}{tag}.txt"
        f.write_text(f"creative work {i}{tag}\n", encoding="utf-8")
        files.append(f)
    return files


def sha_id(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def disclosed(tmp_path: Path) -> dict[str, Any]:
    """A developer's home with version v1 of dataset 'corpus' disclosed."""
    home = tmp_path / "home"
    files = make_set(tmp_path / "set", 4)
    manifest = tmp_path / "set" / "manifest.txt"
    extra = "sha256:" + hashlib.sha256(b"an id listed by hash").hexdigest().upper()
    manifest.write_text(
        "# the training set\n"
        + "".join(f"{f.name}\n" for f in files[:3])
        + f"\n{extra}\n{ISCC.lower()}\n"
        + json.dumps({"path": files[3].name, "title": "ignored metadata"}) + "\n"
        + json.dumps({"id": sha_id(files[0])}) + "\n",  # a duplicate: counted once
        encoding="utf-8")
    out = run_json("dataset", "disclose", manifest, "--name", "corpus", "--version", "v1",
                   "--model", "harbour-1", "--purpose", "ai_generative_training", "--json",
                   home=home)
    return {"home": home, "files": files, "manifest": manifest, "event": out,
            "extra": extra.lower(), "tmp": tmp_path}


def prove(d: dict[str, Any], item: str | Path, out: Path, *more: str) -> Any:
    return run_json("dataset", "prove", d["manifest"], item, "--name", "corpus",
                    "--out", out, "--json", *more, home=d["home"])


def verify(d: dict[str, Any], proof: Path, code: int = 0) -> Any:
    r = run("verify", proof, "--log-key", log_key(d["home"]), "--json", home=d["home"],
            ok_codes=(code,))
    return json.loads(r.out) if code == 0 else assert_one_error_line(r)


def test_disclose_logs_root_and_count_only(disclosed: dict[str, Any]) -> None:
    ev = disclosed["event"]
    assert ev["status"] == "disclosed" and ev["count"] == 6 and ev["previous"] is None
    assert ev["purposes"] == ["ai_generative_training"] and ev["model"] == "harbour-1"
    leaf = json.loads(Path(ev["receipt"]).read_text())["event"]
    assert leaf["type"] == "dataset.disclose"
    assert set(leaf["body"]) == {"name", "version", "model", "purposes", "root", "count"}
    text = json.dumps(leaf)
    for f in disclosed["files"]:
        assert sha_id(f).removeprefix("sha256:") not in text and f.name not in text


def test_membership_and_non_membership_proofs_verify(disclosed: dict[str, Any]) -> None:
    tmp = disclosed["tmp"]
    inside = prove(disclosed, disclosed["files"][1], tmp / "in.json")
    assert inside["answer"] == "in"
    for item in (disclosed["extra"], ISCC, disclosed["files"][3]):
        assert prove(disclosed, item, tmp / "x.json")["answer"] == "in"
    assert prove(disclosed, OUTSIDE, tmp / "out.json")["answer"] == "not-in"
    yes, no = verify(disclosed, tmp / "in.json"), verify(disclosed, tmp / "out.json")
    assert yes["in_dataset"] is True and no["in_dataset"] is False
    assert yes["item"] == sha_id(disclosed["files"][1])
    assert (yes["name"], yes["version"], yes["count"]) == ("corpus", "v1", 6)
    assert yes["key"] == disclosed["event"]["key"] and yes["event"] == disclosed["event"]["event"]
    words = run("verify", tmp / "out.json", "--log-key", log_key(disclosed["home"]),
                home=disclosed["home"]).out
    assert words.startswith(f"OK: {OUTSIDE} is not in dataset corpus version v1 disclosed by "
                            f"{disclosed['event']['key']} at log ")
    # --file checks that the proof is about that file.
    run("verify", tmp / "in.json", "--log-key", log_key(disclosed["home"]), "--file",
        disclosed["files"][1], home=disclosed["home"])
    r = run("verify", tmp / "in.json", "--log-key", log_key(disclosed["home"]), "--file",
            disclosed["files"][2], home=disclosed["home"], ok_codes=(1,))
    assert "is not the item of this proof" in assert_one_error_line(r)
    # The proof shows nothing of the other items.
    body = (tmp / "in.json").read_text()
    for f in disclosed["files"][2:]:
        assert sha_id(f).removeprefix("sha256:") not in body


def test_a_rerun_appends_nothing_and_other_items_are_refused(disclosed: dict[str, Any]) -> None:
    home, manifest = disclosed["home"], disclosed["manifest"]
    before = stored_sizes(home)
    again = run_json("dataset", "disclose", manifest, "--name", "corpus", "--version", "v1",
                     "--json", home=home)
    assert again["status"] == "exists" and again["event"] == disclosed["event"]["event"]
    assert stored_sizes(home) == before
    (kept,) = (home / "datasets").iterdir()
    level = kept.read_bytes()
    with manifest.open("a") as f:
        f.write(OUTSIDE + "\n")
    r = run("dataset", "disclose", manifest, "--name", "corpus", "--version", "v1",
            home=home, ok_codes=(2,))
    assert "already disclosed, with other items" in assert_one_error_line(r)
    assert stored_sizes(home) == before and kept.read_bytes() == level


def test_versions_chain_and_proofs_per_version(disclosed: dict[str, Any]) -> None:
    home, tmp = disclosed["home"], disclosed["tmp"]
    v1 = disclosed["event"]["event"]
    manifest2 = tmp / "set" / "manifest-v2.txt"
    manifest2.write_text(disclosed["manifest"].read_text() + OUTSIDE + "\n")
    wrong = run("dataset", "disclose", manifest2, "--name", "corpus", "--version", "v2",
                "--previous", "ab" * 32, home=home, ok_codes=(2,))
    assert assert_one_error_line(wrong).startswith("error: ")
    v2 = run_json("dataset", "disclose", manifest2, "--name", "corpus", "--version", "v2",
                  "--previous", v1[:12], "--json", home=home)
    assert v2["previous"] == v1 and v2["count"] == 7
    series = json.loads(Path(v2["receipt"]).read_text())["event"]["work"]
    assert "dataset:     'corpus', versions v1, v2" in run("status", series, home=home).out
    listed = run_json("dataset", "versions", "corpus", "--by", v2["key"], "--json", home=home)
    assert [(v["version"], v["previous"]) for v in listed["versions"]] == [
        ("v1", None), ("v2", v1)]
    # OUTSIDE is in v2 but not in v1: a creator asks against each version.
    run("dataset", "prove", manifest2, OUTSIDE, "--name", "corpus", "--out", tmp / "v2.json",
        home=home)
    run("dataset", "prove", disclosed["manifest"], OUTSIDE, "--name", "corpus", "--version",
        "v1", "--out", tmp / "v1.json", home=home)
    assert verify(disclosed, tmp / "v2.json")["in_dataset"] is True
    old = verify(disclosed, tmp / "v1.json")
    assert (old["in_dataset"], old["version"]) == (False, "v1")
    # A proof against another version's root: v1's path with v2's disclosure does not verify.
    forged = json.loads((tmp / "v1.json").read_text())
    forged["disclosure"] = json.loads((tmp / "v2.json").read_text())["disclosure"]
    (tmp / "forged.json").write_text(json.dumps(forged))
    assert "does not lead to the disclosed root" in verify(disclosed, tmp / "forged.json", 1)
    # The manifest of v1 is not v2's: proving against v2 with it is refused.
    r = run("dataset", "prove", disclosed["manifest"], OUTSIDE, "--name", "corpus",
            home=home, ok_codes=(2,))
    assert "is not the manifest of 'corpus' version 'v2'" in assert_one_error_line(r)


def _edits(proof: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def flip(b64: str, i: int = 0) -> str:
        raw = bytearray(base64.b64decode(b64))
        raw[i % len(raw)] ^= 1
        return base64.b64encode(bytes(raw)).decode()

    out = []
    for i, _ in enumerate(proof["siblings"]):
        out.append((f"sibling {i}", {**proof, "siblings": [
            flip(s) if j == i else s for j, s in enumerate(proof["siblings"])]}))
    out.append(("bitmap", {**proof, "bitmap": flip(proof["bitmap"], 0)}))
    out.append(("salt", {**proof, "salt": flip(proof["salt"], 5)}))
    out.append(("item", {**proof, "item": OUTSIDE}))
    out.append(("answer", {k: v for k, v in proof.items() if k != "salt"} | {"answer": "not-in"}))
    d = proof["disclosure"]
    out.append(("leaf", {**proof, "disclosure": {**d, "leaf": flip(d["leaf"], 200)}}))
    out.append(("decoded", {**proof, "disclosure": {**d, "event": {**d["event"], "body": {
        **d["event"]["body"], "count": 1}}}}))
    return out


def test_any_tampering_is_detected(disclosed: dict[str, Any]) -> None:
    tmp, home = disclosed["tmp"], disclosed["home"]
    prove(disclosed, disclosed["files"][0], tmp / "p.json")
    proof = json.loads((tmp / "p.json").read_text())
    trusted = [Verifier.from_vkey(log_key(home))]
    verify_dataset_proof(proof, trusted)
    for what, edited in _edits(proof):
        with pytest.raises(LedgerError):
            verify_dataset_proof(edited, trusted)
            pytest.fail(f"an edit of the {what} verified")
    raw = (tmp / "p.json").read_bytes()
    for i in range(0, len(raw), max(1, len(raw) // 40)):  # bit flips all over the file
        flipped = bytearray(raw)
        flipped[i] ^= 0x01
        try:
            data = json.loads(bytes(flipped))
        except ValueError:
            continue
        if data == proof:
            continue
        with pytest.raises(LedgerError):
            verify_dataset_proof(data, trusted)
    # Through the CLI: a swapped item and a wrong salt, exit 1 with one line.
    for name, edited in _edits(proof)[-6:-2]:
        (tmp / "bad.json").write_text(json.dumps(edited))
        assert "does not verify" in verify(disclosed, tmp / "bad.json", 1), name


@pytest.mark.parametrize("args, message", [
    (["--purpose", "training"], "--purpose: unknown purpose 'training'"),
    (["--name", ""], "--name must be 1 to 256 characters"),
    (["--version", "v" * 65], "--version must be 1 to 64 characters"),
    (["--previous", "ab" * 32], "--previous: dataset 'fresh' has no version yet"),
    (["--compliance-receipt", "missing.json"], "cannot read compliance receipt"),
])
def test_bad_disclose_options_are_one_line_errors(tmp_path: Path, args: list[str],
                                                  message: str) -> None:
    home = tmp_path / "home"
    manifest = tmp_path / "m.txt"
    manifest.write_text(OUTSIDE + "\n")
    base = {"--name": "fresh", "--version": "v1"}
    for k in ("--name", "--version"):
        if k in args:
            base.pop(k)
    argv = [a for kv in base.items() for a in kv]
    r = run("dataset", "disclose", manifest, *argv, *args, home=home, ok_codes=(2,))
    assert message in assert_one_error_line(r)
    assert stored_sizes(home)[0] == 0 if (home / "ledger.db").exists() else True


@pytest.mark.parametrize("line, message", [
    ("no-such-file.png", "line 2: 'no-such-file.png' is not a file"),
    ('{"id": "sha256:12"}', "line 2: 'sha256:12' is not a sha256: content id"),
    ('{"id": "x", "iscc": "y"}', 'exactly one of "id", "iscc", "path"'),
    ('{"id": ', "line 2: "),
    ("ISCC:SHORT", "line 2: 'ISCC:SHORT' is not a file"),
])
def test_bad_manifest_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    manifest = tmp_path / "m.txt"
    manifest.write_text(f"{OUTSIDE}\n{line}\n")
    r = run("dataset", "disclose", manifest, "--name", "n", "--version", "v",
            home=tmp_path / "home", ok_codes=(2,))
    assert message in assert_one_error_line(r)


def test_bad_prove_input_is_a_one_line_error(disclosed: dict[str, Any]) -> None:
    home, manifest = disclosed["home"], disclosed["manifest"]
    cases = [
        (["not-a-file-or-id"], "'not-a-file-or-id' is not a file, a sha256: content id or an "
                               "ISCC code"),
        ([OUTSIDE, "--version", "v9"], "--version: dataset 'corpus' has no version 'v9'"),
    ]
    for args, message in cases:
        r = run("dataset", "prove", manifest, *args, "--name", "corpus", home=home,
                ok_codes=(2,))
        assert message in assert_one_error_line(r)
    r = run("dataset", "prove", manifest, OUTSIDE, "--name", "other", home=home, ok_codes=(2,))
    assert "no dataset 'other' disclosed by" in assert_one_error_line(r)


def test_a_damaged_kept_level_does_not_change_the_proof(disclosed: dict[str, Any]) -> None:
    """``disclose`` keeps the tree's upper nodes so that ``prove`` need not hash every item;
    a damaged copy is noticed by the root check and the whole tree is hashed instead."""
    tmp = disclosed["tmp"]
    prove(disclosed, disclosed["files"][2], tmp / "good.json")
    (kept,) = (disclosed["home"] / "datasets").iterdir()
    assert kept.stat().st_mode & 0o777 == 0o600
    data = bytearray(kept.read_bytes())
    first = data.index(1, 0, len(data))  # the first non-empty node's flag
    data[first + 1] ^= 0xFF
    kept.write_bytes(bytes(data))
    prove(disclosed, disclosed["files"][2], tmp / "again.json")
    assert (tmp / "again.json").read_text() == (tmp / "good.json").read_text()
    assert verify(disclosed, tmp / "again.json")["in_dataset"] is True


def test_the_compliance_receipt_digest_is_logged_and_verified(tmp_path: Path) -> None:
    home = tmp_path / "home"
    manifest = tmp_path / "m.txt"
    manifest.write_text(OUTSIDE + "\n")
    receipt = tmp_path / "compliance.json"
    receipt.write_bytes(b'{"a compliance receipt": true}\n')
    out = run_json("dataset", "disclose", manifest, "--name", "n", "--version", "v",
                   "--compliance-receipt", receipt, "--json", home=home)
    digest = "sha256:" + hashlib.sha256(receipt.read_bytes()).hexdigest()
    assert out["compliance"] == digest
    run("dataset", "prove", manifest, OUTSIDE, "--name", "n", "--out", tmp_path / "p.json",
        home=home)
    checked = json.loads(run("verify", tmp_path / "p.json", "--log-key", log_key(home),
                             "--json", home=home).out)
    assert (checked["compliance"], checked["in_dataset"], checked["count"]) == (digest, True, 1)
    r = run("verify", tmp_path / "p.json", "--log-key", log_key(home), "--max-age", "1h",
            home=home, ok_codes=(1,))
    assert "cannot meet --max-age" in assert_one_error_line(r)
