"""An option brought from another command for the same thing is answered with this command's
name for it (specs/cli.md section 1, usage errors): the key is ``--key`` where a command signs,
``--as`` where it asks about a key's use, ``--by`` where it lists what a key did."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_error_line, run


@pytest.mark.parametrize(("argv", "expected"), [
    (("dataset", "check", "images", "--purpose", "ai_training", "--key", "lab"),
     "error: unknown option '--key': did you mean --as (the user's key: ed25519:... or the "
     "name of one of your keys)? (see: provenance dataset check --help)"),
    (("consent", "grant", "page.png", "--purpose", "ai_training", "--as", "lab"),
     "error: unknown option '--as': did you mean --key (signing key (default: 'default'))? "
     "(see: provenance consent grant --help)"),
    (("dataset", "versions", "corpus", "--as", "lab"),
     "error: unknown option '--as': did you mean --key (signing key name (default: "
     "'default')) or --by (the developer's key: ed25519:... or one of your key names "
     "(default: your own key))? (see: provenance dataset versions --help)"),
    (("anchor", "page.png", "--signer", "lab"),
     "error: unknown option '--signer': did you mean --key (signing key name (default: "
     "'default'))? (see: provenance anchor --help)"),
])
def test_another_commands_name_for_the_key_option_is_told(
        argv: tuple[str, ...], expected: str, tmp_path: Path) -> None:
    result = run(*argv, home=tmp_path / "home", ok_codes=(2,))
    assert assert_one_error_line(result) == expected
    assert not (tmp_path / "home").exists()  # a refused command line writes nothing


def test_a_close_name_is_still_preferred_and_a_name_with_no_synonym_says_nothing_more(
        tmp_path: Path) -> None:
    close = run("anchor", "page.png", "--kee", "lab", home=tmp_path / "h", ok_codes=(2,))
    assert assert_one_error_line(close) == (
        "error: unknown option '--kee': did you mean --key? (see: provenance anchor --help)")
    none = run("may", "lab", "ai_training", "page.png", "--as", "lab", home=tmp_path / "h",
               ok_codes=(2,))
    assert assert_one_error_line(none) == (
        "error: unknown option '--as' (see: provenance may --help)")
