"""An illustrator's keys and identity, walked through as README.md and ``--help`` lead: the
faults a second walkthrough found, each run through the real ``provenance`` script
(specs/cli.md sections 1 and 2.1, specs/rules.md sections 5.1 and 9)."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import assert_one_error_line, new_key, public_key, run, run_json, stored_sizes


def _page(tmp_path: Path, name: str, text: str) -> Path:
    page = tmp_path / name
    page.write_text(text, encoding="utf-8")
    return page


def test_identity_attest_names_until_when_the_attestation_would_never_be_in_force(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    new_key("aki", home)
    new_key("guild", home)
    before = stored_sizes(home) if (home / "ledger.db").exists() else None
    r = run("identity", "attest", "aki", "--name", "Aki Tanaka", "--key", "guild",
            "--until", "2020-01-01", home=home, ok_codes=(2,))
    line = assert_one_error_line(r)
    assert line.startswith("error: --until: 2020-01-01T00:00:00Z is not after now (")
    assert line.endswith("): the attestation would never be in force")
    r = run("identity", "attest", "aki", "--name", "Aki Tanaka", "--key", "guild",
            "--from", "2099-02-01", "--until", "2099-01-01", home=home, ok_codes=(2,))
    assert assert_one_error_line(r) == (
        "error: --until: 2099-01-01T00:00:00Z is not after --from (2099-02-01T00:00:00Z): "
        "the attestation would end before it starts")
    r = run("identity", "attest", "aki", "--name", "Aki Tanaka", "--key", "guild",
            "--url", "ftp://example.org/aki", home=home, ok_codes=(2,))
    assert assert_one_error_line(r) == (
        "error: --url 'ftp://example.org/aki' is not in the expected form: an https://, "
        "http:// or urn: URI, without spaces")
    if before is not None:
        assert stored_sizes(home) == before  # nothing was appended
    # A time in the future is taken.
    out = run_json("identity", "attest", "aki", "--name", "Aki Tanaka", "--key", "guild",
                   "--until", "2099-01-01", "--json", home=home)
    assert out["type"] == "identity.attest" and out["status"] == "logged"


def test_key_recovery_names_the_option_that_holds_an_unknown_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    new_key("aki", home)
    new_key("rescue-1", home)
    r = run("key", "recovery", "aki", "--keys", "rescue-1,rescue-9", home=home, ok_codes=(2,))
    assert assert_one_error_line(r) == (
        "error: --keys: 'rescue-9' is neither a key (ed25519:<64 hex>) nor the name of one of "
        "your keys (provenance key list)")
    r = run("key", "recovery", "aki", "--association", "guild", home=home, ok_codes=(2,))
    assert assert_one_error_line(r).startswith("error: --association: 'guild' is neither")


def _lost_key_with_recovery(tmp_path: Path) -> tuple[Path, Path, str]:
    """A home whose key 'aki' (2 of 2 recovery keys named) registered a page, then lost its
    private key file; its ``.pub`` stays. Returns the home, the page and aki's public key."""
    home = tmp_path / "home"
    aki = new_key("aki", home)
    for name in ("rescue-1", "rescue-2", "aki-2027"):
        new_key(name, home)
    page = _page(tmp_path, "page-012.png", "chapter 1, page 12 (a scan)\n")
    run("anchor", page, "--key", "aki", home=home)
    run("key", "recovery", "aki", "--keys", "rescue-1,rescue-2", "--threshold", "2", home=home)
    (home / "keys" / "aki.key").rename(tmp_path / "aki.key.lost")
    return home, page, aki


def test_a_lost_key_is_recovered_by_its_name_while_its_pub_file_is_there(
        tmp_path: Path) -> None:
    home, page, aki = _lost_key_with_recovery(tmp_path)
    new = public_key("aki-2027", home)
    # Without --key, no key of that name can sign: one line saying what to do.
    r = run("key", "rotate", "aki", "--to", "aki-2027", home=home, ok_codes=(2,))
    assert "sign with --key" in assert_one_error_line(r)
    out = run_json("key", "rotate", "aki", "--to", "aki-2027", "--key", "rescue-1",
                   "--cosign", "rescue-2", "--json", home=home)
    assert out["type"] == "key.rotate" and out["status"] == "logged"
    assert run_json("status", page, "--json", home=home)["controller"] == aki
    r = run("works", "--key", "aki-2027", home=home)
    assert f"controller you (rotated from {aki})" in r.out
    # Run again, it names the rotation logged.
    r = run("key", "rotate", "aki", "--to", "aki-2027", "--key", "rescue-1", "--cosign",
            "rescue-2", home=home)
    assert r.out.startswith(f"already rotated: {aki} was rotated to {new} in ")


def test_a_recovery_with_too_few_recovery_keys_names_cosign(tmp_path: Path) -> None:
    home, _page_file, aki = _lost_key_with_recovery(tmp_path)
    before = stored_sizes(home)
    for subject in ("aki", aki):
        r = run("key", "rotate", subject, "--to", "aki-2027", "--key", "rescue-1", home=home,
                ok_codes=(2,))
        assert assert_one_error_line(r) == (
            f"error: --cosign: the rotation of {aki} needs 2 of the 2 recovery keys; 1 signed "
            "(--key and --cosign): add --cosign NAME for 1 more")
    r = run("key", "compromised", "aki", "--since", "2026-01-01", "--key", "rescue-2",
            home=home, ok_codes=(2,))
    assert assert_one_error_line(r).startswith(
        f"error: --cosign: the declaration of {aki} needs 2 of the 2 recovery keys; 1 signed")
    assert stored_sizes(home) == before


def test_anchoring_again_with_the_key_a_key_was_rotated_to_is_your_own_work(
        tmp_path: Path) -> None:
    """specs/rules.md 5.1: content registered by a key that was rotated to the signing key is
    the signing key's (``works`` lists it so), not another key's: ``exists``, exit 0."""
    home = tmp_path / "home"
    new_key("aki-2027", home)
    folder = tmp_path / "portfolio"
    folder.mkdir()
    pages = [_page(folder, f"page-{i:03d}.png", f"page {i}\n") for i in range(3)]
    run("anchor", folder, home=home)
    run("key", "rotate", "default", "--to", "aki-2027", home=home)
    before = stored_sizes(home)
    r = run("anchor", pages[0], "--key", "aki-2027", home=home)
    assert r.out.startswith("already registered: sha256:")
    assert "this key is its registrant or controller" in r.out
    out = run_json("anchor", folder, "--key", "aki-2027", "--json", home=home)
    assert out["summary"] == {"exists": 3}
    assert all(Path(f["receipt"]).is_file() for f in out["files"])
    assert stored_sizes(home) == before  # nothing appended
    # Another key of yours is told which key holds the work now, not the one rotated away.
    new_key("studio", home)
    r = run("anchor", pages[1], "--key", "studio", home=home, ok_codes=(2,))
    assert assert_one_error_line(r).endswith(
        "; it was rotated to your key 'aki-2027': add --key aki-2027")
    r = run("anchor", folder, "--key", "studio", "--json", home=home, ok_codes=(1,))
    assert json.loads(r.out)["summary"] == {"conflict": 3}


def test_the_first_anchor_with_payee_default_says_where_the_new_key_is(tmp_path: Path) -> None:
    """A home's first anchor names its payees, 'default' among them: the key that this makes is
    the one the backup note is about (specs/cli.md section 2.1), whatever made it first."""
    home = tmp_path / "home"
    new_key("writer", home)
    page = _page(tmp_path, "page-004.png", "chapter 2, page 4 (a scan)\n")
    r = run("anchor", page, "--payee", "default=60", "--payee", "writer=40", home=home)
    key_file = home / "keys" / "default.key"
    assert r.err.startswith(f"note: created your signing key 'default' ({key_file}, mode 0600)")
    folder = tmp_path / "vol-2"
    folder.mkdir()
    _page(folder, "page-005.png", "chapter 2, page 5 (a scan)\n")
    home2 = tmp_path / "home2"
    new_key("writer", home2)
    r = run("anchor", folder, "--payee", "default=60", "--payee", "writer=40", home=home2)
    assert f"note: created your signing key 'default' ({home2 / 'keys' / 'default.key'}" in r.err


def test_a_recovery_request_names_the_recovery_keys_still_to_cosign(tmp_path: Path) -> None:
    """Recovery keys held by friends in their own homes: the request says which of them may
    cosign next, so that the first recovery key (the signer, who signs last) is not asked
    first (specs/cli.md section 3.7.1)."""
    home = tmp_path / "home"
    friends = {}
    for name in ("friend-1", "friend-2", "friend-3"):
        friends[name] = new_key(name, tmp_path / name)
    new_key("aki-2027", home)
    run("anchor", _page(tmp_path, "page-012.png", "page 12\n"), home=home)
    run("key", "recovery", "default", "--keys", ",".join(friends.values()), "--threshold", "2",
        home=home)
    request = tmp_path / "rotation.json"
    r = run("key", "rotate", "default", "--to", "aki-2027", "--recovery-request", request,
            home=home)
    assert (f"  may cosign: {friends['friend-2']}, {friends['friend-3']} (any 1; then the "
            "signer)\n") in r.out
    r = run("key", "cosign", request, "--key", "friend-3", home=tmp_path / "friend-3")
    assert "  next: the signer signs" in r.out and "may cosign" not in r.out


def test_works_after_a_work_that_is_not_yours_names_after(tmp_path: Path) -> None:
    home = tmp_path / "home"
    new_key("studio", home)
    mine = _page(tmp_path, "page-001.png", "page 1\n")
    run("anchor", mine, home=home)
    for args in (("--key", "studio"), ("--key", "studio", "--json")):
        r = run("works", *args, "--after", mine, home=home, ok_codes=(2,))
        line = assert_one_error_line(r)
        assert line.startswith("error: --after: work sha256:") and line.endswith(
            ": it cannot be a cursor (give the last work of a page of this listing)")
        assert r.out == ""
