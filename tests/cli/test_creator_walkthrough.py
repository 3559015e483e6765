"""A creator's first steps with the CLI, as README.md and ``provenance --help`` lead them: the
faults a walkthrough found, each run through the real ``provenance`` script (specs/cli.md)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from provenance_ledger.errors import quoted

from .conftest import (
    assert_one_error_line,
    log_key,
    new_key,
    public_key,
    run,
    run_json,
    stored_sizes,
)

PAGE = "ページ 001.png"  # a Japanese file name with a space, as a manga page is often named


def _page(tmp_path: Path, name: str = PAGE, text: str = "chapter 1, page 1 (a scan)\n") -> Path:
    folder = tmp_path / "第1巻 vol 1"
    folder.mkdir(exist_ok=True)
    page = folder / name
    page.write_text(text, encoding="utf-8")
    return page


def test_first_run_says_where_the_new_key_is_and_to_back_it_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = _page(tmp_path)
    r = run("anchor", page, home=home)
    key_file = home / "keys" / "default.key"
    assert r.err == (f"note: created your signing key 'default' ({key_file}, mode 0600): keep a "
                     "copy where only you can reach it: whoever holds this file signs as you, "
                     "and without it you cannot (provenance key recovery names who may replace "
                     "it)\n")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in r.out + r.err
    # Said once: the next write finds the key.
    assert run("anchor", _page(tmp_path, "ページ 002.png", "page 2\n"), home=home).err == ""
    # key new says where the private key is, never what it is.
    r = run("key", "new", "publisher", home=home)
    lines = r.out.splitlines()
    assert lines[0].startswith("publisher: ed25519:")
    assert lines[1].startswith(f"  private key: {home / 'keys' / 'publisher.key'} (mode 0600): "
                               "keep a copy")
    assert "PRIVATE KEY" not in r.out + r.err


def test_a_key_name_in_japanese_is_refused_saying_which_letters(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run("key", "new", "スタジオ", home=home, ok_codes=(2,))
    assert assert_one_error_line(r) == (
        "error: key name 'スタジオ' must be 1-64 ASCII letters (A-Z, a-z), digits, '.', '_' or "
        "'-', starting with a letter or digit")


def test_an_unknown_purpose_names_the_option(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = _page(tmp_path)
    run("anchor", page, home=home)
    new_key("publisher", home)
    before = stored_sizes(home)
    for command in (["consent", "grant", page, "--to", "publisher"],
                    ["licence", "offer", page, "--to", "publisher"]):
        r = run(*command, "--purpose", "ai_trainin", home=home, ok_codes=(2,))
        assert assert_one_error_line(r).startswith(
            "error: --purpose: unknown purpose 'ai_trainin': use one of ai_training, ")
    # A custom purpose with capitals: the error says custom names are lowercase.
    r = run("consent", "grant", page, "--to", "publisher", "--purpose", "Example.org:Style",
            home=home, ok_codes=(2,))
    assert assert_one_error_line(r).endswith(
        "or a namespaced <domain>:<name> in lowercase ASCII (such as example.org:dubbing)")
    assert stored_sizes(home) == before


def test_times_that_would_never_be_in_force_name_their_option(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = _page(tmp_path)
    run("anchor", page, home=home)
    new_key("publisher", home)
    before = stored_sizes(home)
    cases = {
        ("consent", "grant", "--until", "2020-01-01"):
            "error: --until: 2020-01-01T00:00:00Z is not after now (",
        ("licence", "offer", "--until", "2020-01-01"):
            "error: --until: 2020-01-01T00:00:00Z is not after now (",
        ("licence", "offer", "--from", "2099-01-01", "--until", "2098-12-31"):
            "error: --until: 2098-12-31T00:00:00Z is not after --from (2099-01-01T00:00:00Z): "
            "the licence would end before it starts",
        ("licence", "offer", "--expires", "2020-01-01"):
            "error: --expires: 2020-01-01T00:00:00Z is not after now (",
    }
    for (group, verb, *options), start in cases.items():
        r = run(group, verb, page, "--to", "publisher", "--purpose", "ai_training", *options,
                home=home, ok_codes=(2,))
        line = assert_one_error_line(r)
        assert line.startswith(start), line
    assert stored_sizes(home) == before
    # A time in the future is fine.
    run("consent", "grant", page, "--to", "publisher", "--purpose", "ai_training",
        "--until", "2099-01-01", home=home)


def test_works_of_a_rotated_key_are_listed_under_its_new_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = _page(tmp_path)
    work = run_json("anchor", page, "--json", home=home)["work"]
    old = public_key("default", home)
    new = new_key("laptop-2027", home)
    run("key", "rotate", "default", "--to", "laptop-2027", home=home)
    assert "(the controller's key was rotated to it)" in run("status", page, home=home).out
    # The new key holds the work: it is listed as its own, in text, JSON and CSV.
    r = run("works", "--key", "laptop-2027", home=home)
    assert r.out.startswith(work[:23]) and f"controller you (rotated from {old})" in r.out
    listed = run_json("works", "--key", "laptop-2027", "--json", home=home)
    assert [(w["work"], w["registrant"], w["controller"]) for w in listed] == [(work, old, old)]
    assert [w["work"] for w in run_json("works", "--controller", new, "--json", home=home)] \
        == [work]
    assert work in run("works", "--key", "laptop-2027", "--csv", home=home).out
    # The old key registered it: still listed, saying who holds it now.
    r = run("works", home=home)
    assert f"controller {new} (your key was rotated to it)" in r.out
    # Pages go on across the rotated works.
    second = run_json("anchor", _page(tmp_path, "ページ 002.png", "page 2\n"), "--json",
                      "--key", "laptop-2027", home=home)["work"]
    r = run("works", "--key", "laptop-2027", "--limit", "1", home=home)
    assert r.err == f"more works: the next page is --after {work}\n"
    page2 = run_json("works", "--key", "laptop-2027", "--after", work, "--json", home=home)
    assert [w["work"] for w in page2] == [second]


def test_anchoring_content_registered_by_another_of_your_keys_names_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = _page(tmp_path)
    new_key("studio", home)
    run("anchor", page, "--key", "studio", home=home)
    r = run("anchor", page, home=home, ok_codes=(2,))
    line = assert_one_error_line(r)
    assert line.endswith("; that is your key 'studio': add --key studio"), line
    r = run("anchor", page, "--key", "studio", home=home)
    assert r.out.startswith("already registered: ")


def test_a_title_given_for_a_work_registered_before_is_said_not_recorded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = _page(tmp_path)
    run("anchor", page, "--title", "第1話 1ページ", home=home)
    r = run("anchor", page, "--title", "Chapter 1, page 1", home=home)
    assert r.out.startswith("already registered: ")
    assert r.err == ("note: --title 'Chapter 1, page 1' was not recorded: the work was "
                     "registered before, and its registration keeps its title '第1話 1ページ'\n")
    r = run("anchor", page, "--title", "Chapter 1, page 1", "--json", home=home)
    assert json.loads(r.out)["status"] == "exists" and r.err.startswith("note: --title ")
    assert run("anchor", page, home=home).err == ""  # no --title: nothing to say


def test_verify_of_an_event_receipt_says_what_it_does_not_prove(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = _page(tmp_path)
    run("anchor", page, home=home)
    new_key("publisher", home)
    grant = run_json("consent", "grant", page, "--to", "publisher", "--purpose", "ai_training",
                     "--json", home=home)
    run("consent", "revoke", grant["id"], home=home)
    r = run("verify", grant["receipt"], "--log-key", log_key(home), home=home)
    assert r.out.startswith(f"OK: consent.grant {grant['id']}\n")
    assert r.out.splitlines()[-1] == (
        "  note: this proves that this event is in the log at this checkpoint, not that "
        "nothing later changed it (a grant revoked, a work transferred, a key rotated): a state "
        "receipt (provenance receipt WORK --state) proves that")
    # A key's event names the key, not a "work" (its record id).
    new_key("next", home)
    rotated = run_json("key", "rotate", "default", "--to", "next", "--json", home=home)
    r = run("verify", rotated["receipt"], "--log-key", log_key(home), home=home)
    lines = r.out.splitlines()
    assert lines[1] == (f"  key:    {public_key('default', home)} (its key record "
                        f"{rotated['work']})")
    assert lines[2] == f"  to:     {public_key('next', home)}"
    assert not any(x.startswith("  work:") for x in lines)


def test_a_folder_given_as_work_is_called_a_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = _page(tmp_path)
    run("anchor", page.parent, home=home)
    for command in (["receipt", page.parent], ["status", page.parent]):
        r = run(*command, home=home, ok_codes=(2,))
        assert assert_one_error_line(r) == (
            f"error: {quoted(str(page.parent))} is a folder: name one of its files, a work id "
            "(sha256:<64 hex>) or a hex prefix of one")


def test_payees_given_for_works_registered_before_are_said_not_recorded(tmp_path: Path) -> None:
    """A creator who anchors again to set a royalty split learns that it was not recorded
    (a registration never changes: specs/cli.md section 2.2), for a file and for a folder."""
    home = tmp_path / "home"
    page = _page(tmp_path)
    new_key("writer", home)
    run("anchor", page, home=home)
    again = run("anchor", page, "--payee", "writer=40", "--payee", "default=60", home=home)
    assert again.err == ("note: --payee was not recorded: the work was registered before, and "
                         "its payees stay as registered (only a transfer names new ones)\n")
    kept = run_json("status", page, "--json", home=home)["payees"]
    assert kept == [{"key": public_key("default", home), "share_bps": 10000}]  # as registered
    _page(tmp_path, "ページ 002.png", "chapter 1, page 2\n")
    folder = run("anchor", page.parent, "--payee", "writer=40%", "--payee", "default=60",
                 home=home)
    assert folder.err.splitlines()[-1] == (
        "note: --payee was not recorded for the 1 files registered before: their payees stay "
        "as registered (only a transfer names new ones)")
    second = run_json("status", page.parent / "ページ 002.png", "--json", home=home)
    assert sorted(p["share_bps"] for p in second["payees"]) == [4000, 6000]


def test_anchoring_with_a_key_rotated_away_warns_and_names_the_new_key(tmp_path: Path) -> None:
    """After `key rotate default --to next`, anchoring with 'default' still registers (control
    passes to 'next'), but says on stderr that it was signed by a key given up and which key
    to sign with (specs/cli.md section 2.1); with 'next', nothing is said."""
    home = tmp_path / "home"
    page = _page(tmp_path)
    run("anchor", page, home=home)
    new_key("next", home)
    run("key", "rotate", "default", "--to", "next", home=home)
    second = _page(tmp_path, "ページ 002.png", "chapter 1, page 2\n")
    r = run("anchor", second, home=home)
    (line,) = r.err.splitlines()
    assert line.startswith(f"warning: your key 'default' was rotated to {public_key('next', home)}"
                           " at ")
    assert line.endswith(": what it registered now is that key's to control, but signed by a "
                         "key you gave up; sign with --key next")
    assert run_json("status", second, "--json", home=home)["holder"] == public_key("next", home)
    third = _page(tmp_path, "ページ 003.png", "chapter 1, page 3\n")
    assert run("anchor", third, "--key", "next", home=home).err == ""
    _page(tmp_path, "ページ 004.png", "chapter 1, page 4\n")
    # The new page, with 'default' again (page 3, registered by 'next', is another key's: 1).
    folder = run("anchor", page.parent, home=home, ok_codes=(1,))
    assert [x for x in folder.err.splitlines() if x.startswith("warning: your key")] == [line]
