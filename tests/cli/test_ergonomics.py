"""Edges a new user meets first: ``--version``, ``--home`` before or after any command, error
messages in the option's words (ISO 4217 currencies, ISO 3166-1 countries), the key name of
the controller a refused event needed, and ``may`` saying which granted purpose covers the
one asked (specs/cli.md section 1)."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.cli.conftest import (
    assert_one_error_line,
    new_key,
    public_key,
    run,
    run_json,
    stored_sizes,
)


def test_version(tmp_path: Path) -> None:
    result = run("--version", home=tmp_path / "home")
    assert result.out == f"provenance-ledger {version('provenance-ledger')}\n"
    assert not (tmp_path / "home").exists()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ergonomics") / "page.png"
    path.write_bytes(b"a page for the edges")
    return path


@pytest.mark.parametrize("where", ["before", "after"])
def test_home_before_or_after_every_command(where: str, page: Path, tmp_path: Path) -> None:
    """PROVENANCE_HOME names one directory, --home another: --home wins in either place, and
    the environment's is never touched; `node` commands, which take the node's directory,
    take it in either place too."""
    unused, home, node = tmp_path / "unused", tmp_path / f"home-{where}", tmp_path / "node"

    def cli(*args: str | Path, at: Path = home) -> str:
        placed = ("--home", at, *args) if where == "before" else (*args, "--home", at)
        return run(*placed, home=unused).out

    work = json.loads(cli("anchor", page, "--json"))["work"]
    assert work in cli("status", page)
    assert cli("works", "--json").count(work) == 1
    a = json.loads(cli("key", "show", "default", "--json"))["public_key"]
    assert cli("may", a, "ai_training", page).startswith("allowed")
    assert cli("log", "key").startswith("provenance-ledger.local/")
    assert json.loads(cli("receipt", page))["event"]["work"] == work
    assert f"created in {node}" in cli("node", "init", "--origin", "n.example/a", at=node)
    assert cli("node", "keys", at=node).startswith("log     n.example/a+")
    assert (home / "ledger.db").is_file()
    assert not unused.exists()


def test_home_after_wins_over_home_before(page: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    run("--home", first, "anchor", page, "--home", second, home=tmp_path / "unused")
    assert (second / "ledger.db").is_file()
    assert not first.exists()


def test_a_node_command_without_any_home(tmp_path: Path) -> None:
    result = run("node", "keys", home=tmp_path / "env-home", ok_codes=(2,))
    assert "--home DIR (before or after the command)" in assert_one_error_line(result)


@pytest.fixture(scope="module")
def ledger(page: Path) -> tuple[Path, str, str]:
    home = page.parent / "home"
    run("anchor", page, home=home)
    run("consent", "grant", page, "--purpose", "ai_training", "--anyone", home=home)
    return home, public_key("default", home), new_key("studio", home)


@pytest.mark.parametrize(("args", "message"), [
    (("--fee", "100", "euro"),
     "--fee: currency 'euro' is not an ISO 4217 code (did you mean EUR?)"),
    (("--fee", "100", "ABC"), "--fee: currency 'ABC' is not an ISO 4217 code (e.g. EUR, JPY)"),
    (("--fee", "-5", "EUR"), "--fee: '-5' is not an amount"),
    (("--fee", "12.345", "EUR"), "--fee: 12.345 EUR is a fraction of EUR's smallest unit"),
    (("--fee", "0.5", "JPY"), "--fee: 0.5 JPY is a fraction of JPY's smallest unit"),
    (("--territory", "XX"),
     "--territory: 'XX' is not an ISO 3166-1 two-letter country code (e.g. JP, FR, US)"),
    (("--territory", "Japan"), "(did you mean JP?)"),
    (("--royalty-bps", "20000"),
     "--royalty-bps: '20000' is not a whole number of basis points (0 to 10000"),
    (("--terms-uri", "ftp://x"), "--terms-uri: 'ftp://x' is not an https://, http:// or urn:"),
])
def test_licence_terms_errors_name_the_option(
    ledger: tuple[Path, str, str], page: Path, args: tuple[str, ...], message: str
) -> None:
    home, _, b = ledger
    sizes = stored_sizes(home)
    result = run("licence", "offer", page, "--to", b, "--purpose", "ai_inference", *args,
                 home=home, ok_codes=(2,))
    error = assert_one_error_line(result)
    assert message in error
    assert "body." not in error  # never the event's internal field names
    assert stored_sizes(home) == sizes


def test_codes_are_taken_in_any_case(ledger: tuple[Path, str, str], page: Path) -> None:
    home, _, b = ledger
    offer = run_json("licence", "offer", page, "--to", b, "--purpose", "ai_inference",
                     "--fee", "1.00", "eur", "--territory", "fr", "--territory", "FR",
                     "--json", home=home)["id"]
    terms = next(x["terms"] for x in run_json("status", page, "--json", home=home)["licences"]
                 if x["id"] == offer)
    assert terms == {"fee": {"amount": 100, "currency": "EUR"}, "territories": ["FR"]}


def test_may_says_the_granted_purpose_covers_the_one_asked(
    ledger: tuple[Path, str, str], page: Path
) -> None:
    home, _, b = ledger
    out = run("may", b, "ai_generative_training", page, home=home).out
    assert out.startswith(
        "allowed: consent granted to anyone for ai_training, which covers "
        "ai_generative_training\n")
    same = run_json("may", b, "ai_training", page, "--json", home=home)
    assert same["reason"] == "consent granted to anyone for ai_training"


def test_a_refusal_names_the_key_that_must_sign(
    ledger: tuple[Path, str, str], page: Path, tmp_path: Path
) -> None:
    home, a, b = ledger
    other = tmp_path / "other.png"
    other.write_bytes(b"a page given to the studio")
    run("anchor", other, home=home)
    run("transfer", other, "--to", b, home=home)
    refused = run("consent", "grant", other, "--purpose", "ai_training", "--anyone",
                  home=home, ok_codes=(2,))
    message = assert_one_error_line(refused)
    assert f"must be signed by the work's controller {b}" in message
    assert message.endswith("that is your key 'studio': add --key studio")
    run("transfer", other, "--to", a, "--key", "studio", home=home)
    back = run("consent", "grant", other, "--purpose", "ai_training", "--anyone", "--key",
               "studio", home=home, ok_codes=(2,))
    assert assert_one_error_line(back).endswith("that is your key 'default': drop --key")
    stranger = "ed25519:" + "5a" * 32
    run("transfer", other, "--to", stranger, home=home)
    gone = run("consent", "grant", other, "--purpose", "ai_training", "--anyone", home=home,
               ok_codes=(2,))
    assert assert_one_error_line(gone).endswith(
        "that is none of your keys (provenance key list)")
