"""A work's own file given where its receipt goes (``verify``, ``receipt show``) is told to be
no receipt, by its name, with where the work's file goes; not Python's codec words. A bad
``--log-key`` names the option (specs/cli.md section 1, errors)."""

from __future__ import annotations

from pathlib import Path

from provenance_ledger.errors import quoted

from .conftest import assert_one_error_line, run

NOT_A_RECEIPT = ("receipt is not valid UTF-8 JSON: {name} is not a receipt (a receipt is the "
                 "JSON file a command wrote; a work's own file goes with --file)")


def test_a_picture_or_a_text_given_as_the_receipt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    picture = tmp_path / "cover.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    text = tmp_path / "page.txt"
    text.write_text("a page of the book\n")
    run("anchor", picture, home=home)
    log_key = run("log", "key", home=home).out.strip()
    for given in (picture, text):
        expected = NOT_A_RECEIPT.format(name=quoted(str(given)))  # as typed, bounded
        line = assert_one_error_line(run("verify", given, "--log-key", log_key, home=home,
                                         ok_codes=(1,)))
        assert line == f"error: receipt does not verify: {expected}"
        line = assert_one_error_line(run("receipt", "show", given, home=home, ok_codes=(2,)))
        assert line == f"error: {expected}"
    receipt = next((home / "receipts").glob("*.json"))
    line = assert_one_error_line(run("verify", receipt, "--log-key", "garbage", home=home,
                                     ok_codes=(2,)))
    assert line == "error: --log-key: verifier key 'garbage' is not <name>+<hex id>+<base64>"
