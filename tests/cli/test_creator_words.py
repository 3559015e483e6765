"""A creator's walkthrough, the words it found missing, each run through the real
``provenance`` script with a real home: a folder's works named by their files and found by
``works --search`` (specs/cli.md sections 2.1 and 3.10), a consent's or licence's receipt that
says what it grants (sections 3.6 and 3.12), a refused write that leaves a fresh home as it
was (section 1, signing key), a backdated licence said on stderr (section 2), and refusals
in the command's words, not the log's (section 1, errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance_ledger.cli.errwords import user_words
from provenance_ledger.errors import LedgerError, MalformedError, NotFoundError, RuleError

from .conftest import (
    assert_one_error_line,
    log_key,
    new_key,
    public_key,
    run,
    run_json,
    stored_sizes,
)


def _file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_folders_works_are_titled_by_their_paths_and_found_by_search(tmp_path: Path) -> None:
    home = tmp_path / "home"
    comic = tmp_path / "comic"
    _file(comic / "ch1" / "page-012.png", "page twelve")
    _file(comic / "cover.txt", "the cover")
    long = "\u7b2c2\u8a71/" + "/".join(c * 90 for c in "abc") + ".txt"  # 285 characters
    _file(comic / long, "a long path")
    run("anchor", comic, home=home)
    listed = run_json("works", "--json", home=home)
    assert sorted(w["title"] for w in listed) == sorted(
        ["ch1/page-012.png", "cover.txt", "\u2026" + long[-255:]])
    assert all(len(w["title"]) <= 256 for w in listed)
    # The name of a file finds its work, any case; the text line shows the title.
    found = run("works", "--search", "PAGE-012", home=home).out.splitlines()
    assert len(found) == 1 and found[0].endswith("controller you  'ch1/page-012.png'")
    page = next(w for w in listed if w["title"] == "ch1/page-012.png")
    assert run_json("works", "--search", "page-012", "--json", home=home) == [page]
    assert page["title"] in run("status", page["work"], home=home).out
    none = run("works", "--search", "page-999", home=home)
    assert none.out == ("no works: key 'default' registered or controls none whose title "
                        "holds 'page-999' on this ledger\n")
    r = run("works", "--search", " ", home=home, ok_codes=(2,))
    assert assert_one_error_line(r) == (
        "error: --search: give the text to look for in the works' titles")


def test_a_folder_anchored_from_inside_it_is_titled_below_it(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    folder = tmp_path / "art"
    _file(folder / "sub" / "a.txt", "a")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(tmp_path)})
    if env.get("PYTHONPATH"):  # run from another folder: the same modules as the others
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve())
                                            for p in env["PYTHONPATH"].split(os.pathsep))
    subprocess.run([str(Path(sys.executable).parent / "provenance"), "anchor", "."],
                   cwd=folder, env=env, check=True, capture_output=True, timeout=60)
    assert [w["title"] for w in run_json("works", "--json", home=home)] == ["sub/a.txt"]


def test_a_consent_or_licence_receipt_says_what_it_grants(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = _file(tmp_path / "page.txt", "a page")
    run("anchor", work, home=home)
    studio = new_key("studio", home)
    grant = run_json("consent", "grant", work, "--purpose", "ai_training", "--anyone",
                     "--until", "2099-01-01", "--condition", "attribution", "--json",
                     home=home)
    offer = run_json("licence", "offer", work, "--to", "studio", "--purpose", "ai_inference",
                     "--fee", "1200.50", "EUR", "--royalty-bps", "1250", "--territory", "jp",
                     "--until", "2099-01-01", "--expires", "2098-01-01", "--json", home=home)
    status = run("status", work, home=home).out
    consent_words = "ai_training to anyone until 2099-01-01T00:00:00Z"
    licence_words = f"ai_inference to {studio}: fee 1,200.50 EUR, royalty 12.50%, territories JP"
    assert f"{grant['id'][:12]} {consent_words}" in status
    assert f"{offer['id'][:12]} {licence_words}" in status.replace(" (your key 'studio')", "")
    vkey = log_key(home)
    shown = run("receipt", "show", grant["receipt"], home=home).out
    assert (f"    grants:     consent: {consent_words}; conditions: attribution\n") in shown
    verified = run("verify", grant["receipt"], "--log-key", vkey, home=home).out
    assert f"  grants: consent: {consent_words}; conditions: attribution\n" in verified
    shown = run("receipt", "show", offer["receipt"], home=home).out
    said = (f"a licence (in force once the licensee accepts it): {licence_words}; until "
            "2099-01-01T00:00:00Z; the offer lapses unless accepted before "
            "2098-01-01T00:00:00Z")
    assert f"    offers:     {said}\n" in shown
    assert f"  offers: {said}\n" in run("verify", offer["receipt"], "--log-key", vkey,
                                        home=home).out
    as_json = run_json("verify", offer["receipt"], "--log-key", vkey, "--json", home=home)
    assert as_json["says"] == {"verb": "offers", "words": said}
    events = run_json("receipt", "show", grant["receipt"], "--json", home=home)["events"]
    assert events[0]["says"]["verb"] == "grants"
    # A registration's receipt grants nothing: no such line.
    kept = next((home / "receipts").glob("*work.register*"))
    assert "says" not in run_json("receipt", "show", kept, "--json", home=home)["events"][0]


def test_a_refused_write_leaves_a_fresh_home_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = _file(tmp_path / "page.txt", "never anchored")
    r = run("consent", "grant", work, "--purpose", "ai_training", "--anyone", home=home,
            ok_codes=(2,))
    assert assert_one_error_line(r).startswith("error: work sha256:")
    assert not home.exists()  # neither the key 'default' nor the home was made
    # A home with a ledger and no key 'default': the refusal makes no key either.
    owner = tmp_path / "owner"
    new_key("studio", owner)
    run("anchor", work, "--key", "studio", home=owner)
    before = stored_sizes(owner)
    r = run("consent", "grant", work, "--purpose", "ai_training", "--anyone", home=owner,
            ok_codes=(2,))
    assert assert_one_error_line(r) == (
        f"error: consent grant must be signed by the work's controller "
        f"{public_key('studio', owner)}; that is your key 'studio': add --key studio")
    assert sorted(p.name for p in (owner / "keys").iterdir()) == ["studio.key", "studio.pub"]
    assert stored_sizes(owner) == before


def test_a_backdated_licence_is_taken_and_said(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = _file(tmp_path / "page.txt", "a page")
    run("anchor", work, home=home)
    new_key("studio", home)
    r = run("licence", "offer", work, "--to", "studio", "--purpose", "ai_inference",
            "--from", "2020-01-01", "--json", home=home)
    assert json.loads(r.out)["status"] == "logged"
    (line,) = r.err.splitlines()
    assert line.startswith("note: --from 2020-01-01T00:00:00Z is in the past (the offer is "
                           "made at ")
    assert line.endswith("): once accepted, the licence covers the time from then on, as a "
                         "backdated licence")
    future = run("licence", "offer", work, "--to", "studio", "--purpose", "ai_training",
                 "--from", "2099-01-01", home=home)
    assert future.err == ""


def test_refusals_say_the_command_and_the_option(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = _file(tmp_path / "page.txt", "a page")
    run("anchor", work, home=home)
    new_key("studio", home)
    r = run("transfer", work, "--to", "studio", "--key", "studio", home=home, ok_codes=(2,))
    line = assert_one_error_line(r)
    assert line.startswith("error: transfer must be signed by the work's controller ed25519:")
    assert "work.transfer" not in line
    offer = run_json("licence", "offer", work, "--to", "studio", "--purpose", "ai_inference",
                     "--json", home=home)
    before = stored_sizes(home)
    r = run("licence", "terminate", offer["id"], "--reason", "x" * 1100, home=home,
            ok_codes=(2,))
    assert assert_one_error_line(r) == "error: --reason must be 1 to 1024 characters"
    r = run("licence", "terminate", offer["id"], "--reason", "a\tb", home=home, ok_codes=(2,))
    assert assert_one_error_line(r).startswith("error: --reason contains a character that is "
                                               "not text")
    assert stored_sizes(home) == before
    # What the log keeps is the log's words: the receipt still names the event type.
    shown = run_json("receipt", "show", offer["receipt"], "--json", home=home)
    assert shown["events"][0]["type"] == "licence.offer"


@pytest.mark.parametrize(("error", "shown"), [
    (RuleError("consent.grant must be signed by the work's controller K"),
     "consent grant must be signed by the work's controller K"),
    (RuleError("usage.report of licence L must be signed by its licensee K"),
     "usage report of licence L must be signed by its licensee K"),
    (MalformedError("body.reason must be 1 to 1024 characters"),
     "--reason must be 1 to 1024 characters"),
    # A file's member, a file name and an error of another kind keep the log's words.
    (MalformedError("request r.json: body.to must be a key"),
     "request r.json: body.to must be a key"),
    (MalformedError("cannot write h/receipts/ab-consent.grant-cd.json"),
     "cannot write h/receipts/ab-consent.grant-cd.json"),
    (NotFoundError("no consent.grant here"), "no consent.grant here"),
])
def test_the_error_boundary_says_commands_and_options_only_for_refusals(
        error: Exception, shown: str) -> None:
    assert isinstance(error, LedgerError)
    assert user_words(error) == shown
