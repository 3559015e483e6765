"""Mistakes in a command line's options, each one line naming the option as typed, through the
real console script (specs/cli.md section 1, usage errors and errors; 1.1, exit codes): an
option of one value given twice, an option of two values given one and then an option, a bad
``--file`` or ``--policy`` of ``verify``, an empty ``--reason``, a share over 100 %; a transfer
run again whose payees were given in another order; and a reader that closes the pipe.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.inproc import given, given_json, given_key

from .conftest import PROVENANCE, assert_one_error_line, run, stored_sizes, user_home

WORK = "sha256:" + "ab" * 32
KEY = "ed25519:" + "cd" * 32
OFFER = ("licence", "offer", WORK, "--to", KEY, "--purpose", "ai_training")


def see(command: str) -> str:
    return f" (see: provenance {command} --help)"


# -- an option of one value, given twice ---------------------------------------------------

TWICE = {
    "fee": ((*OFFER, "--fee", "100", "EUR", "--fee", "200", "USD"),
            "--fee given twice: give it once" + see("licence offer")),
    "until": ((*OFFER, "--until", "2030-01-01", "--until=2031-01-01"),
              "--until given twice: give it once" + see("licence offer")),
    "to": (("transfer", WORK, "--to", KEY, "--to", "buyer"),
           "--to given twice: give it once" + see("transfer")),
    "short and long": (("receipt", WORK, "-o", "a.json", "--output", "b.json"),
                       "-o and --output are one option, given twice: give it once"
                       + see("receipt get")),
    "home": (("--home", "h1", "--home", "h2", "works"),
             "--home given twice: give it once (see: provenance --help)"),
}


@pytest.mark.parametrize("case", list(TWICE))
def test_an_option_of_one_value_given_twice_is_refused(tmp_path: Path, case: str) -> None:
    args, line = TWICE[case]
    home = tmp_path / "home"
    result = run(*args, home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == "error: " + line
    assert not home.exists()  # nothing begun


def test_repeatable_options_and_flags_given_twice_are_taken(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_bytes(b"a page offered for two purposes")
    given("anchor", page, home=home)
    dev = given_key("dev", home)
    doc = json.loads(run("licence", "offer", page, "--to", dev, "--purpose", "ai_training",
                         "--purpose", "data_mining", "--territory", "DE", "--territory", "FR",
                         "--json", "--json", home=home).out)
    assert doc["status"] == "logged"
    body = json.loads(Path(doc["receipt"]).read_text())["event"]["body"]
    assert sorted(body["purposes"]) == ["ai_training", "data_mining"]


# -- an option of two values given one, then an option -------------------------------------

SHORT = {
    "fee then --until": ((*OFFER, "--fee", "100", "--until", "2028-01-01"),
                         "--fee takes 2 values (AMOUNT CURRENCY): '--until' is an option, "
                         "not a currency" + see("licence offer")),
    "fee without its amount": ((*OFFER, "--fee", "--until", "2028-01-01"),
                               "--fee takes 2 values (AMOUNT CURRENCY): '--until' is an "
                               "option, not an amount" + see("licence offer")),
    "fee=": ((*OFFER, "--fee=100", "--expires", "2028-01-01"),
             "--fee takes 2 values (AMOUNT CURRENCY): '--expires' is an option, not a "
             "currency" + see("licence offer")),
    "amount then --key": (("payment", "record", "9a41", "--to", "writer", "--amount", "0.014",
                           "--key", "studio"),
                          "--amount takes 2 values (AMOUNT CUR): '--key' is an option, not a "
                          "currency" + see("payment record")),
    "revenue then --units": (("usage", "report", "9a41", "--period", "2026-01",
                              "--revenue", "1200", "--units", "3"),
                             "--revenue takes 2 values (AMOUNT CUR): '--units' is an option, "
                             "not a currency" + see("usage report")),
}


@pytest.mark.parametrize("case", list(SHORT))
def test_an_option_of_two_values_does_not_take_an_option(tmp_path: Path, case: str) -> None:
    args, line = SHORT[case]
    home = tmp_path / "home"
    result = run(*args, home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == "error: " + line
    assert not home.exists()


def test_a_negative_amount_is_still_a_value_of_fee(tmp_path: Path) -> None:
    """``-5`` is a value (a negative number), refused by the option in its own words."""
    result = run(*OFFER, "--fee", "-5", "EUR", home=tmp_path / "home", ok_codes=(2,))
    assert assert_one_error_line(result).startswith("error: --fee: '-5' is not an amount")


# -- verify: --file and --policy are inputs of the verifier --------------------------------

@pytest.fixture(scope="module")
def receipt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(home, the receipt of an anchored page, the log key)."""
    root = tmp_path_factory.mktemp("verify-inputs")
    home = root / "home"
    page = root / "page.png"
    page.write_bytes(b"a page whose receipt is verified")
    given("anchor", page, home=home)
    path = root / "page.json"
    given("receipt", page, "-o", path, home=home)
    return home, path, given("log", "key", home=home).strip()


@pytest.mark.parametrize(("given_file", "said"), [
    ("folder", "--file: '{}' is a folder, not a regular file"),
    ("/dev/null", "--file: '/dev/null' is a character device, not a regular file"),
    ("nosuch.png", "--file: no such file '{}'"),
])
def test_a_bad_file_is_named_by_its_option_exit_2(receipt: tuple[Path, Path, str],
                                                  tmp_path: Path, given_file: str, said: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home, path, key = receipt
    monkeypatch.chdir(tmp_path)  # a short name: a long one is quoted by its start and length
    target = given_file
    if given_file == "folder":
        Path(target).mkdir()
    result = run("verify", path, "--log-key", key, "--file", target, home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == "error: " + said.format(target)


@pytest.mark.parametrize(("given_policy", "said"), [
    ("folder", "--policy: '{}' is a folder, not a file"),
    ("nosuch.policy", "--policy: no such file '{}'"),
])
def test_a_bad_policy_file_is_named_by_its_option_exit_2(
        receipt: tuple[Path, Path, str], tmp_path: Path, given_policy: str, said: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    home, path, _ = receipt
    monkeypatch.chdir(tmp_path)  # a short name: a long one is quoted by its start and length
    target = given_policy
    if given_policy == "folder":
        Path(target).mkdir()
    result = run("verify", path, "--policy", target, home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == "error: " + said.format(target)


def test_a_policy_through_a_pipe_is_read(receipt: tuple[Path, Path, str]) -> None:
    """``--policy <(...)``: a pipe is a policy file, not refused as a folder is."""
    home, path, key = receipt
    line = (f"{shlex.quote(str(PROVENANCE))} verify {shlex.quote(str(path))} --policy "
            f"<(printf 'log %s\\nquorum none\\n' {shlex.quote(key)})")
    proc = subprocess.run(["bash", "-c", line], env=_env(home), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, check=False)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout.startswith("OK: work.register ")


# -- licence terminate --reason "" ----------------------------------------------------------

def test_an_empty_reason_is_refused_as_a_long_one_is(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_bytes(b"a page licensed and then terminated")
    given("anchor", page, home=home)
    dev = given_key("dev", home)
    offer = given_json("licence", "offer", page, "--to", dev, "--purpose", "ai_training",
                       "--json", home=home)["id"]
    before = stored_sizes(home)
    for reason in ("", "x" * 2000):
        result = run("licence", "terminate", offer, "--reason", reason, home=home,
                     ok_codes=(2,))
        assert assert_one_error_line(result) == "error: --reason must be 1 to 1024 characters"
    assert stored_sizes(home) == before


# -- transfer run again ---------------------------------------------------------------------

def test_a_transfer_run_again_with_its_payees_in_another_order_is_made_already(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_bytes(b"a page sold to a buyer who shares it")
    given("anchor", page, home=home)
    buyer = given_key("buyer", home)
    first = given_json("transfer", page, "--to", "buyer", "--payee", "default=40",
                       "--payee", "buyer=60", "--json", home=home)["id"]
    before = stored_sizes(home)
    again = run("transfer", page, "--to", "buyer", "--payee", "buyer=60.00",
                "--payee", "default=40%", home=home)
    assert again.out.startswith(f"already transferred: the work is controlled by {buyer} "
                                f"(your key 'buyer') since {first}\n"), again.out
    assert again.err.strip() == "nothing appended"
    other = run("transfer", page, "--to", "buyer", home=home, ok_codes=(2,))
    assert assert_one_error_line(other) == (
        f"error: --to: the work is controlled by {buyer} (your key 'buyer') already (since "
        f"{first}, with other payees): a transfer to its controller changes nothing, not even "
        "its payees")
    assert stored_sizes(home) == before


def test_a_transfer_to_the_key_that_registered_the_work_says_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    page = tmp_path / "page.png"
    page.write_bytes(b"a page its buyer anchored herself")
    buyer = given_key("buyer", home)
    given("anchor", page, "--key", "buyer", home=home)
    result = run("transfer", page, "--to", "buyer", home=home, ok_codes=(2,))
    assert assert_one_error_line(result) == (
        f"error: --to: the work is controlled by {buyer} (your key 'buyer') already (since "
        "its registration): a transfer to its controller changes nothing, not even its payees")


# -- --payee over 100 % ---------------------------------------------------------------------

@pytest.mark.parametrize("share", ["150", "100.5", "33.333", "-5"])
def test_a_share_out_of_range_says_the_range(tmp_path: Path, share: str) -> None:
    page = tmp_path / "page.png"
    page.write_bytes(b"a page split badly")
    result = run("anchor", page, "--payee", f"default={share}", home=tmp_path / "home",
                 ok_codes=(2,))
    assert assert_one_error_line(result) == (
        f"error: --payee 'default={share}': a share is a percent from 0 to 100, with at most "
        "two decimals: give KEY=PERCENT, e.g. alice=60 or ed25519:...=33.33")


# -- a reader that closes the pipe ----------------------------------------------------------

def _env(home: Path) -> dict[str, str]:
    """The environment tests/cli/conftest.py ``run`` gives the CLI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user_home(home)), "NO_COLOR": "1"})
    return env


def _closed_reader(*args: str | Path, home: Path) -> tuple[int, str]:
    """Run ``provenance ARGS`` with its standard output a pipe nobody reads (closed before
    the command writes, as ``| head -1`` closes it after one line): (exit code, stderr)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([str(PROVENANCE), *map(str, args)], stdout=write,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env(home),
                              text=True, timeout=60, check=False)
    finally:
        os.close(write)
    return proc.returncode, proc.stderr


def test_a_closed_pipe_ends_the_command_with_its_own_exit_code(
        receipt: tuple[Path, Path, str]) -> None:
    home, path, key = receipt
    assert _closed_reader("verify", path, "--log-key", key, home=home) == (0, "")
    assert _closed_reader("status", path.with_suffix(".png"), home=home) == (0, "")
    code, err = _closed_reader("verify", path, "--log-key", key, "--file", path, home=home)
    assert code == 1 and err.startswith("error: receipt does not verify: "), err

