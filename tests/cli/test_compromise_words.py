"""What the CLI says about a key declared compromised (specs/rules.md section 9, R22;
specs/cli.md sections 2.1, 3.4, 3.7 and 3.10): a registration it signed does not count, and
every command that meets one says so instead of answering as if it counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.inproc import given

from .conftest import public_key, run


@pytest.fixture
def voided(tmp_path: Path) -> tuple[Path, Path]:
    """A home whose key 'default' registered page.png and was then declared compromised
    since before that (so the registration does not count); 'studio' is another key."""
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_text("Chapter 1, page 12\n")
    given("anchor", page, "--title", "Chapter 1", home=home)
    given("key", "new", "studio", home=home)
    given("key", "compromised", "default", "--since", "2020-01-01", "--yes", home=home)
    return home, page


def test_anchor_of_a_void_registration_says_it_does_not_count(
        voided: tuple[Path, Path]) -> None:
    home, page = voided
    for extra in ((), ("--key", "studio")):
        r = run("anchor", page, *extra, home=home, ok_codes=(2,))
        assert r.out == "" and r.err.count("\n") == 1, r.err
        assert "but its registration does not count: it was signed by your key 'default'" \
            in r.err
        assert "declared compromised since 2020-01-01T00:00:00Z" in r.err
        assert "already registered" not in r.err and "nothing appended" not in r.err


def test_anchor_with_a_compromised_key_is_refused(voided: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    home, _ = voided
    other = tmp_path / "other.png"
    other.write_text("another page\n")
    given("key", "compromised", "studio", "--since", "2020-01-01", "--yes", home=home)
    for target in (other, tmp_path / "folder"):
        if target.name == "folder":
            target.mkdir()
            (target / "a.txt").write_text("a\n")
        r = run("anchor", target, "--key", "studio", home=home, ok_codes=(2,))
        assert r.out == "" and r.err.count("\n") == 1, r.err
        assert r.err.startswith("error: your key 'studio' (ed25519:")
        assert "declared compromised since 2020-01-01T00:00:00Z: a registration it signs " \
               "now would not count" in r.err
    assert "no works" in run("works", "--key", "studio", home=home).out


def test_key_list_and_show_mark_compromised_and_rotated_keys(
        voided: tuple[Path, Path]) -> None:
    home, _ = voided
    given("key", "new", "studio-2026", home=home)
    given("key", "rotate", "studio", "--to", "studio-2026", home=home)
    new = public_key("studio-2026", home)
    listed = {line.split()[0]: line for line in run("key", "list", home=home).out.splitlines()}
    assert listed["default"].endswith(
        "(declared compromised since 2020-01-01T00:00:00Z: what it signs from then does not "
        "count)")
    assert listed["studio"].endswith(f"(rotated to your key 'studio-2026' {new})")
    assert "(" not in listed["studio-2026"]
    shown = run("key", "show", "default", home=home).out
    assert "declared compromised since 2020-01-01T00:00:00Z" in shown
    doc = json.loads(run("key", "show", "studio", "--json", home=home).out)
    assert (doc["rotated_to"], doc["compromised_since"]) == (new, None)


def test_key_list_of_a_home_without_a_ledger_makes_none(tmp_path: Path) -> None:
    home = tmp_path / "home"
    given("key", "new", "studio", home=home)
    assert "(" not in run("key", "list", home=home).out
    assert not (home / "ledger.db").exists()


def test_status_after_a_rotation_names_the_payee_and_identity_of_the_holder(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_text("a page\n")
    given("key", "new", "mika", home=home)
    given("anchor", page, "--key", "mika", home=home)
    given("key", "new", "mika-2026", home=home)
    given("key", "rotate", "mika", "--to", "mika-2026", home=home)
    new = public_key("mika-2026", home)
    lines = run("status", page, home=home).out.splitlines()
    assert f"payee:       {new} (your key 'mika-2026', rotated from 'mika') 100.00%" in lines
    assert "identity:    your key 'mika-2026': not attested by anyone" in lines


def test_status_of_a_void_registration_shows_its_history_disputed(
        voided: tuple[Path, Path]) -> None:
    home, page = voided
    r = run("status", page, home=home, ok_codes=(1,))
    assert r.err == ""
    lines = r.out.splitlines()
    assert any(line.startswith("NOT REGISTERED: its registration does not count: it was signed "
                               "by your key 'default'") and "since 2020-01-01T00:00:00Z" in line
               for line in lines), r.out
    assert any(line.startswith("  what you can do: ") for line in lines)
    history = lines[lines.index("history:") + 1:]
    assert len(history) == 1 and "work.register" in history[0]
    assert history[0].endswith("[DISPUTED: does not count]")
    doc = json.loads(run("status", page, "--json", home=home, ok_codes=(1,)).out)
    assert doc["registration_counts"] is False
    assert doc["compromised_since"] == "2020-01-01T00:00:00Z"
    assert doc["disputed_events"] == [doc["registration"]] == [doc["history"][0]["id"]]


def test_works_marks_a_work_whose_registration_does_not_count(
        voided: tuple[Path, Path], tmp_path: Path) -> None:
    home, _ = voided
    fine = tmp_path / "fine.png"
    fine.write_text("a page of studio's\n")
    given("anchor", fine, "--key", "studio", home=home)
    (line,) = run("works", home=home).out.splitlines()
    assert "controller you  'Chapter 1'" in line
    assert line.endswith("  [registration does not count: key compromised since "
                         "2020-01-01T00:00:00Z]")
    (other,) = run("works", "--key", "studio", home=home).out.splitlines()
    assert "does not count" not in other
    # --json and --csv say it too, in a field of their own
    (doc,) = json.loads(run("works", "--json", home=home).out)
    assert doc["registration_counts"] is False
    (doc,) = json.loads(run("works", "--key", "studio", "--json", home=home).out)
    assert doc["registration_counts"] is True
    header, row = run("works", "--csv", home=home).out.splitlines()
    assert header.endswith(",controller,registration_counts") and row.endswith(",false")


def test_anchor_dir_refuses_a_file_whose_registration_does_not_count(
        voided: tuple[Path, Path], tmp_path: Path) -> None:
    """specs/cli.md section 3.2: content registered by a key declared compromised at that
    time is ``refused`` with why, not ``exists`` nor ``conflict`` (no key can register it
    again here); the folder's other files are anchored."""
    home, page = voided
    folder = tmp_path / "chapter"
    folder.mkdir()
    (folder / "page.png").write_bytes(page.read_bytes())
    (folder / "cover.png").write_text("the cover\n")
    r = run("anchor", folder, "--key", "studio", "--json", home=home, ok_codes=(1,))
    rows = {Path(f["file"]).name: f for f in json.loads(r.out)["files"]}
    assert rows["cover.png"]["status"] == "anchored"
    void = rows["page.png"]
    assert void["status"] == "refused" and "receipt" not in void
    assert "but its registration does not count: it was signed by your key 'default'" \
        in void["error"]
    assert "declared compromised since 2020-01-01T00:00:00Z" in void["error"]
    text = run("anchor", folder, "--key", "studio", home=home, ok_codes=(1,))
    counts = dict(line.rsplit(None, 1) for line in text.out.splitlines()[2:8])
    assert {k.strip(): v for k, v in counts.items()}["owned by another key"] == "0"
    assert {k.strip(): v for k, v in counts.items()}["refused"] == "1"
    (line,) = [x for x in text.err.splitlines() if "page.png" in x]
    assert line.startswith("  refused: ") and "registration does not count" in line


def test_key_compromised_says_what_stops_counting_and_needs_yes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pages = []
    for i in range(7):
        page = tmp_path / f"p{i}.png"
        page.write_text(f"page {i}\n")
        pages.append(page)
    given("anchor", pages[0], "--title", "First", home=home)
    for page in pages[1:]:
        given("anchor", page, home=home)
    key = public_key("default", home)
    r = run("key", "compromised", "default", "--since", "2020-01-01", home=home, ok_codes=(2,))
    lines = r.err.splitlines()
    assert lines[0] == (
        f"key compromised: what your key 'default' ({key}) signed from 2020-01-01T00:00:00Z "
        "on stops counting: events of 7 work(s) of this ledger, 7 of them registered by it "
        "then (those registrations do not count: the work is lost to this ledger, its "
        "content cannot be registered again):")
    assert lines[1].endswith(" 'First' (its registration)") and len(lines) == 1 + 5 + 1 + 1
    assert lines[6] == "  ... and 2 more"
    assert lines[7] == ("error: add --yes to declare it compromised all the same (no terminal "
                        "to confirm on): nothing was signed")
    assert r.out == ""
    j = run("key", "compromised", "default", "--since", "2020-01-01", "--json", home=home,
            ok_codes=(2,))
    assert j.err.splitlines()[-1] == "error: --json needs --yes: there is no prompt to " \
                                     "confirm on"
    assert "compromised" not in run("key", "list", home=home).out  # nothing was signed
    done = run("key", "compromised", "default", "--since", "2020-01-01", "--yes", home=home)
    assert done.out.startswith("declared compromised: ")
    assert "events of 7 work(s)" in done.err


def test_key_compromised_of_a_key_that_signed_nothing_since_asks_nothing(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = tmp_path / "p.png"
    page.write_text("a page\n")
    given("anchor", page, home=home)
    given("key", "new", "spare", home=home)
    r = run("key", "compromised", "spare", "--since", "2020-01-01", home=home)
    assert r.out.startswith("declared compromised: ") and "stops counting" not in r.err


def test_a_compromised_key_may_not_rotate_itself_nor_name_its_recovery(
        voided: tuple[Path, Path]) -> None:
    """specs/rules.md section 9: a rotation a key declared compromised signs itself does not
    count, nor does a recovery setting it names after its compromise; the CLI refuses both
    before signing (the log would admit them, and the user would believe the key moved)."""
    home, _ = voided
    before = run("log", "checkpoint", home=home).out.splitlines()[1]  # the tree size
    given("key", "new", "default-2026", home=home)
    for argv, what in ((("key", "rotate", "default", "--to", "default-2026"), "a rotation"),
                       (("key", "recovery", "default", "--keys", "studio"),
                        "a recovery setting")):
        r = run(*argv, home=home, ok_codes=(2,))
        assert r.out == "" and r.err.count("\n") == 1, r.err
        assert r.err.startswith("error: your key 'default' (ed25519:")
        assert (f"declared compromised since 2020-01-01T00:00:00Z: {what} it signs now would "
                "not count") in r.err
        assert "--key RECOVERY_KEY" in r.err
    assert run("log", "checkpoint", home=home).out.splitlines()[1] == before
