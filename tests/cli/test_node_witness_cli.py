"""``provenance node witness add|list|remove|policy`` through the real CLI (specs/cli.md
section 4.1): what it writes to ``node.toml``, and one-line refusals (exit 2) that leave the
file as it was."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from .conftest import assert_one_error_line, run, run_json


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two node homes made once for the module (never changed: each test gets a copy); (their
    folder, b's witness key)."""
    folder = tmp_path_factory.mktemp("witness-cli")
    a, b = folder / "node-a", folder / "node-b"
    cli_home = folder / "home"
    run("node", "init", "--home", a, "--origin", "a.example/log", home=cli_home)
    run("node", "init", "--home", b, "--origin", "b.example/log", home=cli_home)
    vkey = run("node", "keys", "--home", b, "--only", "witness", home=cli_home).out.strip()
    return folder, vkey


@pytest.fixture(scope="module")
def made_with_b(made: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory,
                ) -> tuple[Path, str]:
    """The same, once b is a's witness (``node witness add``, as the first test checks it);
    never changed either."""
    folder = tmp_path_factory.mktemp("witness-cli-b")
    shutil.copytree(made[0], folder, dirs_exist_ok=True)
    run("node", "witness", "add", "--home", folder / "node-a", "--name", "b", "--url",
        "http://127.0.0.1:8381", "--vkey", made[1], home=folder / "home")
    return folder, made[1]


def own_copy(made: tuple[Path, str], tmp_path: Path) -> tuple[Path, Path, str]:
    """This test's own copy of the homes: (a's home, the CLI's ledger home, b's witness
    key)."""
    shutil.copytree(made[0], tmp_path, dirs_exist_ok=True)
    return tmp_path / "node-a", tmp_path / "home", made[1]


@pytest.fixture
def homes(made: tuple[Path, str], tmp_path: Path) -> tuple[Path, Path, str]:
    """Two node homes; (a's home, the CLI's ledger home, b's witness key)."""
    return own_copy(made, tmp_path)


@pytest.fixture
def homes_with_b(made_with_b: tuple[Path, str], tmp_path: Path) -> tuple[Path, Path, str]:
    """:func:`homes` where a already has b as its witness (quorum 1 of 1)."""
    return own_copy(made_with_b, tmp_path)


def test_add_list_policy_remove(homes: tuple[Path, Path, str]) -> None:
    a, home, vkey = homes
    assert run_json("node", "witness", "list", "--home", a, "--json", home=home) == {
        "quorum": 0, "timeout": 5.0, "witnesses": []}
    out = run("node", "witness", "add", "--home", a, "--name", "b", "--url",
              "http://127.0.0.1:8381/", "--vkey", vkey, home=home).out
    assert out == "witness b added; a receipt waits for 1 of 1 witnesses\n"
    listed = run_json("node", "witness", "list", "--home", a, "--json", home=home)
    assert listed == {"quorum": 1, "timeout": 5.0, "witnesses": [
        {"name": "b", "url": "http://127.0.0.1:8381", "vkey": vkey}]}
    text = run("node", "witness", "list", "--home", a, home=home).out
    assert text.splitlines()[-1] == "quorum 1 of 1, timeout 5 s"
    run("node", "witness", "policy", "--home", a, "--quorum", "0", "--timeout", "2.5",
        home=home)
    toml = tomllib.loads((a / "node.toml").read_text())
    assert toml["witnessing"] == {"quorum": 0, "timeout": 2.5}
    assert toml["witnesses"] == [{"name": "b", "url": "http://127.0.0.1:8381", "vkey": vkey}]
    run("node", "witness", "policy", "--home", a, "--all", home=home)
    assert run_json("node", "witness", "list", "--home", a, "--json", home=home)["quorum"] == 1
    assert run("node", "witness", "remove", "--home", a, "b", home=home).out == \
        "witness b removed\n"
    assert run_json("node", "witness", "list", "--home", a, "--json", home=home)[
        "witnesses"] == []


@pytest.mark.parametrize(("args", "words"), [
    (["add", "--name", "c", "--url", "http://127.0.0.1:8382", "--vkey", "garbage"],
     "--vkey"),
    (["add", "--name", "c d", "--url", "http://127.0.0.1:8382", "--vkey", "{vkey}"],
     "--name"),
    (["add", "--name", "c", "--url", "ftp://127.0.0.1", "--vkey", "{vkey}"], "--url"),
    (["add", "--name", "b", "--url", "http://127.0.0.1:8382", "--vkey", "{vkey}"],
     "witness b is configured already, with --url 'http://127.0.0.1:8381' (not "
     "'http://127.0.0.1:8382'): to change it, run provenance node witness remove b"),
    (["remove", "nobody"], "no witness nobody"),
    (["policy", "--quorum", "2"], "--quorum 2 is more than the 1 witnesses listed"),
    (["policy", "--timeout", "0"], "--timeout"),
    (["policy"], "give --quorum N, --all or --timeout SECONDS"),
])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
        homes_with_b: tuple[Path, Path, str], args: list[str], words: str) -> None:
    a, home, vkey = homes_with_b
    assert [w["name"] for w in tomllib.loads((a / "node.toml").read_text())["witnesses"]] == [
        "b"]
    before = (a / "node.toml").read_bytes()
    argv = ["node", "witness", args[0], "--home", a, *(x.format(vkey=vkey) for x in args[1:])]
    message = assert_one_error_line(run(*argv, home=home, ok_codes=(2,)))
    assert words in message
    assert (a / "node.toml").read_bytes() == before


def test_a_log_key_is_not_a_witness_key(homes: tuple[Path, Path, str]) -> None:
    a, home, _ = homes
    log_vkey = run("node", "keys", "--home", a, "--only", "log", home=home).out.strip()
    message = assert_one_error_line(run(
        "node", "witness", "add", "--home", a, "--name", "x", "--url", "http://127.0.0.1:1",
        "--vkey", log_vkey, home=home, ok_codes=(2,)))
    assert "--vkey" in message and "cosignature/v1" in message


def test_a_quorum_set_cannot_be_left_above_the_witnesses(
        homes_with_b: tuple[Path, Path, str]) -> None:
    a, home, _ = homes_with_b
    run("node", "witness", "policy", "--home", a, "--quorum", "1", home=home)
    message = assert_one_error_line(run("node", "witness", "remove", "--home", a, "b",
                                        home=home, ok_codes=(2,)))
    assert "--quorum" in message


def test_a_witness_added_again_as_it_is_changes_nothing(
        homes_with_b: tuple[Path, Path, str]) -> None:
    """specs/cli.md section 2.4: the same witness again (its URL as typed, a trailing slash
    or not) is a repeat, exit 0; node.toml is untouched."""
    a, home, vkey = homes_with_b
    url = tomllib.loads((a / "node.toml").read_text())["witnesses"][0]["url"]
    before = (a / "node.toml").read_bytes()
    for typed in (url, url + "/"):
        out = run("node", "witness", "add", "--home", a, "--name", "b", "--url", typed,
                  "--vkey", vkey, home=home)
        assert out.out == f"already a witness: b at {url}\n"
        assert out.err == "nothing changed\n"
    assert (a / "node.toml").read_bytes() == before
