"""An event id argument given something else is refused in the argument's own name, and a work
given where an event is asked for is told where its events' ids are (specs/cli.md section 1,
event id arguments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_error_line, run, run_json


def test_a_work_or_a_word_given_for_an_event_id_is_told_in_the_arguments_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.chdir(tmp_path)  # the file named as a user names it, beside them
    page = Path("page.png")
    page.write_bytes(b"a page given where its licence's id is asked for")
    work = run_json("anchor", page, "--json", home=home)["work"]
    told = f"'{page}' is a work: 'provenance status {page}' lists its events with their ids"
    cases = [
        (("usage", "report", page, "--period", "2026-10", "--units", "1", "--revenue", "1",
          "EUR"),
         f"LICENCE '{page}' is not an event id: give the licence's id (its offer's), 64 hex "
         f"digits or a unique prefix of at least 4; {told}"),
        (("consent", "revoke", "zz"),
         "GRANT 'zz' is not an event id: give the consent grant's id, 64 hex digits or a "
         "unique prefix of at least 4"),
        (("licence", "accept", work),
         f"OFFER '{work}' is not an event id: give the licence offer's id, 64 hex digits or a "
         f"unique prefix of at least 4; '{work}' is a work: 'provenance status {work}' lists "
         "its events with their ids"),
        (("payment", "ack", "abc"),
         "PAYMENT 'abc' is not an event id: give the payment's id (its payment record's), 64 "
         "hex digits or a unique prefix of at least 4"),
    ]
    for argv, expected in cases:
        result = run(*argv, home=home, ok_codes=(2,))
        assert assert_one_error_line(result) == f"error: {expected}", argv
    # a well-formed id the log does not hold keeps its own words
    missing = run("licence", "terminate", "abcd", home=home, ok_codes=(2,))
    assert assert_one_error_line(missing) == "error: no event 'abcd' in this log"


def test_a_time_in_neither_form_names_both(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_bytes(b"a page granted until a word")
    run("anchor", page, home=home)
    result = run("consent", "grant", page, "--purpose", "ai_training", "--anyone", "--until",
                 "tomorrow", home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == (
        "error: --until 'tomorrow' is neither a date (YYYY-MM-DD) nor a UTC time "
        "(YYYY-MM-DDTHH:MM:SSZ)")
    bad_day = run("consent", "grant", page, "--purpose", "ai_training", "--anyone", "--until",
                  "2027-02-30", home=home, ok_codes=(2,))
    assert assert_one_error_line(bad_day) == (
        "error: --until '2027-02-30' is not a date (YYYY-MM-DD)")
