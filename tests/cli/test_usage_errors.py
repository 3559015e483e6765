"""Usage errors in our words: a command line that a command does not take is one ``error:``
line on stderr naming the argument or option as the user knows it, nothing on stdout, exit 2
(specs/cli.md section 1, usage errors and numbers), through the real console script.

Each case is a real command: a missing argument or option, an extra argument, an unknown
option, a mistyped command, an option without its value, a negative number given as an
argument. Nothing is begun: the data directory is never made.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_error_line, run

SPEC = Path(__file__).resolve().parents[2] / "specs" / "cli.md"

WORK = "sha256:" + "ab" * 32
KEY = "ed25519:" + "cd" * 32
TILES = ("--tiles", "http://127.0.0.1:9", "--log-key", "k")
NODE = ("node", "serve", "--home", "NODE_HOME")
WORK_TAKES = "file path, work id or unique id prefix"
PURPOSES = ("ai_training, ai_generative_training, ai_inference, data_mining, ai_generation, "
            "or <domain>:<name>")
ALL = ("anchor, transfer, status, may, works, offers, verify, export, import, royalties, "
       "receipt, consent, licence, key, identity, log, node, dataset, usage, payment")
INDEX = "is not a whole number (0 or more; an entry's index in the log)"
TREE = "is not a whole number (0 or more; a tree size)"


def see(command: str) -> str:
    return f" (see: {' '.join(('provenance', *command.split()))} --help)"


MISSING = {
    "may": (("may",), "missing KEY: the user's key: ed25519:... or one of your key names"
            + see("may")),
    "may-work": (("may", KEY, "ai_training"), f"missing WORK: {WORK_TAKES}" + see("may")),
    "anchor": (("anchor",), "missing PATH: file (or folder) to anchor" + see("anchor")),
    "consent-grant": (("consent", "grant"), f"missing WORK: {WORK_TAKES}"
                      + see("consent grant")),
    "consent-grant-purpose": (("consent", "grant", WORK, "--to", KEY),
                              f"missing --purpose: {PURPOSES}" + see("consent grant")),
    "log-proof": (("log", "proof", *TILES), "missing INDEX: the entry's index in the log"
                  + see("log proof")),
    "log-proof-tiles": (("log", "proof", "1", "--log-key", "k"),
                        "missing --tiles: the log's C2SP tiles URL (the folder holding "
                        "'checkpoint' and 'tile/')" + see("log proof")),
    "log-consistency": (("log", "consistency", "1"), "missing NEW: newer tree size"
                        + see("log consistency")),
    "dataset-check-as": (("dataset", "check", ".", "--purpose", "ai_training"),
                         "missing --as: the user's key: ed25519:... or the name of one of "
                         "your keys" + see("dataset check")),
    "verify": (("verify",), "missing RECEIPT: receipt JSON file" + see("verify")),
    "export-format": (("export", WORK), "missing --format: one of cawg, tdmrep, aipref, rsl"
                      + see("export")),
    "receipt-upgrade": (("receipt", "upgrade"), "missing FILE: kept receipts or state "
                        "receipts" + see("receipt upgrade")),
    "command": (("--home", "HOME"), f"missing command: use one of {ALL}" + see("")),
}

EXTRA = {
    "may": (("may", KEY, "ai_training", WORK, "d"),
            "unexpected argument 'd': provenance may takes KEY PURPOSE WORK" + see("may")),
    "may-two": (("may", KEY, "ai_training", WORK, "d", "e"),
                "unexpected arguments 'd', 'e': provenance may takes KEY PURPOSE WORK"
                + see("may")),
    "anchor": (("anchor", "page.png", "g"),
               "unexpected argument 'g': provenance anchor takes PATH" + see("anchor")),
    "consent-grant": (("consent", "grant", WORK, "x", "--purpose", "ai_training", "--anyone"),
                      "unexpected argument 'x': provenance consent grant takes WORK"
                      + see("consent grant")),
    "log-proof": (("log", "proof", "1", "2", *TILES),
                  "unexpected argument '2': provenance log proof takes INDEX"
                  + see("log proof")),
    "log-consistency": (("log", "consistency", "1", "2", "3"),
                        "unexpected argument '3': provenance log consistency takes OLD NEW"
                        + see("log consistency")),
    "node-serve": ((*NODE, "extra"), "unexpected argument 'extra': provenance node serve "
                   "takes no arguments" + see("node serve")),
    "dataset-check": (("dataset", "check", "a", "b", "--purpose", "ai_training", "--as", KEY),
                      "unexpected argument 'b': provenance dataset check takes PATH"
                      + see("dataset check")),
    "verify": (("verify", "r.json", "s.json"),
               "unexpected argument 's.json': provenance verify takes RECEIPT" + see("verify")),
    "works": (("works", "x"), "unexpected argument 'x': provenance works takes no arguments"
              + see("works")),
}

UNKNOWN_OPTION = {
    "may": (("may", "--bogus"), "unknown option '--bogus'" + see("may")),
    "anchor": (("anchor", "--titel", "x", "page.png"),
               "unknown option '--titel': did you mean --title?" + see("anchor")),
    "anchor-short": (("anchor", "page.png", "-x"), "unknown option '-x'" + see("anchor")),
    "consent-grant": (("consent", "grant", WORK, "--purpos", "ai_training"),
                      "unknown option '--purpos': did you mean --purpose?"
                      + see("consent grant")),
    "log-proof": (("log", "proof", "1", "--tile", "u", "--log-key", "k"),
                  "unknown option '--tile': did you mean --tiles?" + see("log proof")),
    "log-consistency": (("log", "consistency", "--json", "1", "2"),
                        "unknown option '--json'" + see("log consistency")),
    "node-serve": ((*NODE, "--listn", "127.0.0.1:0"),
                   "unknown option '--listn': did you mean --listen?" + see("node serve")),
    "dataset-check": (("dataset", "check", ".", "--similiar", "3"),
                      "unknown option '--similiar': did you mean --similar?"
                      + see("dataset check")),
    "verify": (("verify", "r.json", "--log-kye", "k"),
               "unknown option '--log-kye': did you mean --log-key?" + see("verify")),
    "app": (("--bogus",), "unknown option '--bogus'" + see("")),
}

UNKNOWN_COMMAND = {
    "may": (("mya", KEY, "ai_training", WORK), "unknown command 'mya': did you mean may?"
            + see("")),
    "verify": (("verfy", "r.json"), "unknown command 'verfy': did you mean verify?" + see("")),
    "consent-grant": (("consent", "grnt", WORK), "unknown command 'grnt': did you mean grant?"
                      + see("consent")),
    "log-proof": (("log", "prof", "1"), "unknown command 'prof': did you mean proof?"
                  + see("log")),
    "node-serve": (("node", "serv"), "unknown command 'serv': did you mean serve?"
                   + see("node")),
    "dataset-check": (("dataset", "chek", "."), "unknown command 'chek': did you mean check?"
                      + see("dataset")),
    "nothing-close": (("xyzzy",), f"unknown command 'xyzzy': use one of {ALL}" + see("")),
    "log-nothing-close": (("log", "xyzzy"), "unknown command 'xyzzy': use one of key, "
                          "checkpoint, consistency, audit, proof" + see("log")),
}

NO_VALUE = {
    "anchor": (("anchor", "page.png", "--title"),
               "--title needs a value: title recorded with the work" + see("anchor")),
    "consent-grant": (("consent", "grant", WORK, "--anyone", "--purpose"),
                      f"--purpose needs a value: {PURPOSES}" + see("consent grant")),
    "log-proof": (("log", "proof", "1", "--tiles", "u", "--log-key"),
                  "--log-key needs a value: the log's verifier key: the checkpoint must be "
                  "signed by it" + see("log proof")),
    "log-proof-short": (("log", "proof", "1", *TILES, "-o"),
                        "-o needs a value: write the receipt to this file instead of standard "
                        "output" + see("log proof")),
    "node-serve": (("node", "serve", "--home"),
                   "--home needs a value: the node's data directory" + see("node serve")),
    "dataset-check": (("dataset", "check", ".", "--purpose", "ai_training", "--as"),
                      "--as needs a value: the user's key: ed25519:... or the name of one of "
                      "your keys" + see("dataset check")),
    "verify": (("verify", "r.json", "--log-key"),
               "--log-key needs a value: trusted log verifier key (vkey)" + see("verify")),
    "fee": (("licence", "offer", WORK, "--to", KEY, "--purpose", "ai_training", "--fee", "1"),
            "--fee needs 2 values: fee and its ISO 4217 currency, written as people write "
            "amounts (at most the currency's decimals), e.g. --fee 50000 JPY or --fee 1200.50 "
            "EUR" + see("licence offer")),
    "flag-given-a-value": (("anchor", "--json=x", "page.png"),
                           "--json takes no value" + see("anchor")),
}

NEGATIVE = {
    "log-proof": (("log", "proof", "-1", *TILES), f"INDEX: '-1' {INDEX}"),
    "log-proof-alone": (("log", "proof", "-1"), f"INDEX: '-1' {INDEX}"),
    "log-proof-fraction": (("log", "proof", "-1.5", *TILES), f"INDEX: '-1.5' {INDEX}"),
    "log-consistency-old": (("log", "consistency", "-1", "3"), f"OLD: '-1' {TREE}"),
    "log-consistency-new": (("log", "consistency", "1", "-2"), f"NEW: '-2' {TREE}"),
}

CASES = {f"{kind}-{name}": case for kind, cases in [
    ("missing", MISSING), ("extra", EXTRA), ("unknown-option", UNKNOWN_OPTION),
    ("unknown-command", UNKNOWN_COMMAND), ("no-value", NO_VALUE), ("negative", NEGATIVE)]
    for name, case in cases.items()}

DOCUMENTED = ["missing-consent-grant", "missing-log-proof-tiles", "no-value-anchor",
              "extra-may", "unknown-option-anchor", "unknown-command-may",
              "negative-log-proof"]
"""The cases whose line specs/cli.md section 1 quotes, byte for byte."""


@pytest.mark.parametrize("case", list(CASES))
def test_a_usage_error_is_one_line_in_our_words(tmp_path: Path, case: str) -> None:
    args, line = CASES[case]
    home, node_home = tmp_path / "home", tmp_path / "node"
    given = {"HOME": str(home), "NODE_HOME": str(node_home)}
    result = run(*(given.get(a, a) for a in args), home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == f"error: {line}"
    assert "Usage:" not in result.err and "Traceback" not in result.err
    assert not home.exists() and not node_home.exists()  # nothing was begun


@pytest.mark.parametrize("case", DOCUMENTED)
def test_the_spec_quotes_these_lines(case: str) -> None:
    assert f"`{CASES[case][1]}`" in SPEC.read_text(encoding="utf-8")


@pytest.mark.parametrize("group", [(), ("log",), ("consent",)], ids=["app", "log", "consent"])
def test_a_group_alone_shows_its_help_once(tmp_path: Path, group: tuple[str, ...]) -> None:
    """``provenance`` or a group without a command: its help, once, on stdout; exit 2."""
    result = run(*group, home=tmp_path / "home", ok_codes=(2,))
    assert result.err == ""
    assert result.out.count(f"Usage: {' '.join(('provenance', *group))} ") == 1, result.out

