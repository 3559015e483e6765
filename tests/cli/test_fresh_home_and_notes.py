"""Three things a creator meets through the real ``provenance`` script: a write that names an
event (or a work prefix) in a fresh home fails with its one line and makes nothing
(specs/cli.md section 1, event id arguments); ``identity attest --from`` in the past is taken
and said on stderr (section 2); and ``anchor DIR --json`` gives each row the title its work is
registered with (section 3.2)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from provenance_ledger.core.crypto import PrivateKey

from .conftest import PROVENANCE, TIMEOUT, Result, assert_one_error_line, new_key, run

EVENT = "5f2c91" + "0" * 58  # a whole event id no log here holds


def _file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


WRITES = (  # each looks up an event id or a work prefix first
    ("consent", "revoke", "5f2c91"),
    ("licence", "accept", EVENT, "--key", "studio"),
    ("licence", "terminate", "5F2C", "--reason", "unpaid"),
    ("consent", "grant", "5f2c91", "--purpose", "ai_training", "--anyone"),
)


def _refusal(home: Path, args: tuple[str, ...]) -> str:
    return assert_one_error_line(run(*args, home=home, ok_codes=(2,)))


def test_a_write_naming_an_event_leaves_a_fresh_home_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    fresh = [_refusal(home, args) for args in WRITES]
    assert fresh == ["error: no event '5f2c91' in this log",
                     f"error: no event '{EVENT}' in this log",
                     "error: no event '5F2C' in this log",
                     "error: no work '5f2c91' on this ledger"]
    assert not home.exists()  # no data directory, ledger, log key or key 'default'
    # The same words as a home whose ledger does not hold them (an event id, a work prefix).
    owner = tmp_path / "owner"
    run("anchor", _file(tmp_path / "page.txt", "a page"), home=owner)
    assert [_refusal(owner, WRITES[0]), _refusal(owner, WRITES[3])] == [fresh[0], fresh[3]]


def test_a_fresh_home_by_home_is_not_made_either(tmp_path: Path) -> None:
    """No ``PROVENANCE_HOME``: ``~/.provenance`` is the home, and it is not made."""
    user = tmp_path / "user"
    user.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"HOME": str(user), "NO_COLOR": "1"})
    proc = subprocess.run([str(PROVENANCE), "licence", "accept", "5f2c91"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    r = Result(proc.returncode, proc.stdout, proc.stderr)
    assert r.code == 2
    assert assert_one_error_line(r) == "error: no event '5f2c91' in this log"
    assert list(user.iterdir()) == []


def test_a_backdated_attestation_is_taken_and_said(tmp_path: Path) -> None:
    home = tmp_path / "home"
    new_key("guild", home)
    member = PrivateKey.from_seed(bytes([7]) * 32).public.text
    r = run("identity", "attest", member, "--name", "Mika Sato", "--key", "guild",
            "--from", "2020-01-01", "--json", home=home)
    logged = json.loads(r.out)
    assert logged["status"] == "logged" and logged["type"] == "identity.attest"
    (line,) = r.err.splitlines()
    made = line.split("(the attestation is made at ", 1)[1].split(")", 1)[0]
    assert line == (f"note: --from 2020-01-01T00:00:00Z is in the past (the attestation is "
                    f"made at {made}): it is in force from {made} on, not before, as an "
                    "attestation is never backdated")
    # What the note says: not in force between --from and the time it was logged.
    shown = run("identity", "show", member, "--at", "2021-01-01", "--attester", "guild",
                home=home, ok_codes=(1,))
    assert "not attested by anyone" in shown.out
    future = run("identity", "attest", member, "--name", "Mika Sato", "--key", "guild",
                 "--from", "2099-01-01", home=home)
    assert future.err == ""


def test_anchor_dir_json_rows_say_each_works_title(tmp_path: Path) -> None:
    home = tmp_path / "home"
    comic = tmp_path / "comic"
    _file(comic / "ch1" / "page-012.png", "page twelve")
    _file(comic / "ch1" / "again.png", "page twelve")  # the same content: a duplicate
    _file(comic / "cover.txt", "the cover")  # anchored before, with its --title
    _file(comic / "theirs.txt", "another key's")
    run("anchor", comic / "cover.txt", "--title", "Cover, first print", home=home)
    new_key("studio", home)
    run("anchor", comic / "theirs.txt", "--key", "studio", "--title", "Theirs", home=home)

    def rows() -> dict[str, dict[str, object]]:
        r = run("anchor", comic, "--json", home=home, ok_codes=(1,))  # a conflict: exit 1
        return {Path(row["file"]).relative_to(comic).as_posix(): row
                for row in json.loads(r.out)["files"]}

    first = rows()
    assert {name: (row["status"], row.get("title")) for name, row in first.items()} == {
        "ch1/again.png": ("anchored", "ch1/again.png"),
        "ch1/page-012.png": ("duplicate", None),
        "cover.txt": ("exists", "Cover, first print"),
        "theirs.txt": ("conflict", "Theirs"),
    }
    assert list(first["ch1/again.png"])[:4] == ["file", "work", "status", "title"]
    # Run again: every work is registered, and each row's title is the one logged.
    again = rows()
    assert {name: row.get("title") for name, row in again.items()} == {
        name: row.get("title") for name, row in first.items()}
    assert again["ch1/again.png"]["status"] == "exists"


def test_a_listing_and_a_refused_disclosure_leave_a_fresh_home_untouched(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    listing = run("works", home=home)
    assert listing.out == "no works: key 'default' registered or controls none on this ledger\n"
    assert run("works", "--controller", "ed25519:" + "ab" * 32, "--json", home=home).out == "[]\n"
    bad = _file(tmp_path / "manifest.txt", "not a file, a content id or a code\n")
    refused = _refusal(home, ("dataset", "disclose", str(bad), "--name", "corpus",
                              "--version", "1"))
    assert refused.startswith(f"error: {bad} line 1: ")
    assert not home.exists()  # no data directory, no ledger, no key 'default'
    good = _file(tmp_path / "good.txt", "sha256:" + "ab" * 32 + "\n")
    made = run("dataset", "disclose", str(good), "--name", "corpus", "--version", "1",
               home=home)
    assert made.out.startswith("disclosed corpus version 1: 1 item\n")
    assert "note: created your signing key 'default'" in made.err
    assert (home / "keys" / "default.key").exists()
