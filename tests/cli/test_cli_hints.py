"""Hints and repeats a user meets on the command line: ``may`` and ``status`` on a developer's
own home say where others' works are (specs/cli.md sections 3.4 and 3.5); ``--home`` between a
group and its command (section 1); ``node init``, ``node peer add`` and ``key new`` run again
(section 2.4); and ``status --json`` has exactly the members section 3.4 lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_error_line, public_key, run, run_json
from tests.inproc import given, given_json, given_key
from tests.node.network_helpers import Node, Processes, make_network

SPEC = Path(__file__).resolve().parents[2] / "specs" / "cli.md"
HINT = ("this home's log holds only the works anchored here: the works of others are on the "
        "ledger they anchored them on; ask it with --node URL")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hints")
    (root / "theirs.png").write_bytes(b"a page someone anchored on their node")
    (root / "mine.png").write_bytes(b"a page anchored on this home")
    return root


# -- 1. may and status on a developer's own home --------------------------------------------


def test_may_on_an_empty_home_says_where_others_works_are(files: Path, tmp_path: Path) -> None:
    home = tmp_path / "dev"
    given_key("lab", home)
    result = run("may", "lab", "ai_training", files / "theirs.png", home=home, ok_codes=(1,))
    assert result.out.splitlines() == [
        "not allowed: the work is not registered on this ledger", f"  {HINT}"]
    doc = json.loads(run("may", "lab", "ai_training", files / "theirs.png", "--json",
                         home=home, ok_codes=(1,)).out)
    assert doc["reason"] == "the work is not registered on this ledger"
    assert HINT not in json.dumps(doc)  # --json is as it was: no prose added


def test_may_on_a_home_with_works_says_it_for_a_work_it_lacks_only(
        files: Path, tmp_path: Path) -> None:
    home = tmp_path / "creator"
    given("anchor", files / "mine.png", home=home)
    me = given("key", "show", "default", "--public", home=home).strip()
    assert HINT in run("may", me, "ai_training", files / "theirs.png", home=home,
                       ok_codes=(1,)).out
    held = run("may", me, "ai_training", files / "mine.png", home=home).out
    assert held == "allowed: this key controls the work\n" + held.split("\n", 1)[1]
    assert HINT not in held


def test_status_on_a_home_says_where_others_works_are(files: Path, tmp_path: Path) -> None:
    home = tmp_path / "dev"
    given_key("lab", home)
    for args in ((), ("--json",)):
        line = assert_one_error_line(run("status", files / "theirs.png", *args, home=home,
                                         ok_codes=(2,)))
        assert line.startswith("error: no work sha256:")
        assert line.endswith(f" on this ledger ({HINT})")


def test_a_write_about_a_work_not_anchored_says_to_anchor_it(files: Path, tmp_path: Path
                                                             ) -> None:
    """``consent grant``, ``licence offer`` and ``transfer`` of a file this home never anchored
    are refused by the rules (rules.md R1) in one line that says how to anchor it, or where
    it is (specs/cli.md section 1, errors); nothing is written."""
    home = tmp_path / "creator"
    given("anchor", files / "mine.png", home=home)
    lab = given_key("lab", home)
    before = given("log", "checkpoint", home=home)
    for args in (("consent", "grant", files / "theirs.png", "--purpose", "ai_training",
                  "--to", lab),
                 ("licence", "offer", files / "theirs.png", "--purpose", "ai_training",
                  "--to", lab, "--fee", "100", "EUR"),
                 ("transfer", files / "theirs.png", "--to", lab)):
        line = assert_one_error_line(run(*args, home=home, ok_codes=(2,)))
        assert re.fullmatch(r"error: work sha256:[0-9a-f]{64} is not registered on this "
                            r"ledger: anchor it first \(provenance anchor FILE\), or, if it "
                            r"was anchored on a node, give that node's --node URL", line), line
    assert run("log", "checkpoint", home=home).out == before


def test_a_node_home_gets_no_hint(files: Path, tmp_path: Path) -> None:
    """A node's data directory answers for its log and the logs it mirrors: no hint."""
    node = tmp_path / "node"
    given("node", "init", "--home", node, "--origin", "hints.example/a", home=tmp_path / "u")
    key = given_key("lab", tmp_path / "dev")
    result = run("may", key, "ai_training", files / "theirs.png", "--home", node,
                 home=tmp_path / "u", ok_codes=(1,))
    assert result.out == "not allowed: the work is not registered on this ledger\n"
    line = assert_one_error_line(run("status", files / "theirs.png", "--home", node,
                                     home=tmp_path / "u", ok_codes=(2,)))
    assert line.endswith(" on this ledger")


# -- 2. --home between a group and its command -----------------------------------------------


@pytest.mark.parametrize("command", [
    ("log", "key"), ("key", "list"), ("log", "checkpoint"), ("licence", "accept", "abcd"),
    ("dataset", "versions", "crawl"), ("consent", "revoke", "abcd"), ("receipt", "MINE"),
], ids=["log-key", "key-list", "log-checkpoint", "licence-accept", "dataset-versions",
        "consent-revoke", "receipt"])
def test_home_between_a_group_and_its_command(files: Path, tmp_path: Path,
                                              command: tuple[str, ...]) -> None:
    """``provenance GROUP --home DIR COMMAND`` uses DIR, as ``--home`` before or after does;
    PROVENANCE_HOME's directory is never touched."""
    home, unused = tmp_path / "home", tmp_path / "unused"
    given("anchor", files / "mine.png", home=home)
    args = [str(files / "mine.png") if a == "MINE" else a for a in command]
    before = run("--home", home, *args, home=unused, ok_codes=(0, 2))
    between = run(args[0], "--home", home, *args[1:], home=unused, ok_codes=(0, 2))
    after = run(*args, "--home", home, home=unused, ok_codes=(0, 2))
    assert "unknown option" not in between.err
    assert between == before == after
    assert not unused.exists()


def test_home_between_and_the_order_of_several(files: Path, tmp_path: Path) -> None:
    """Given in several places, the last one is used."""
    first, second, third = (tmp_path / n for n in ("first", "second", "third"))
    for h in (first, second, third):
        given("anchor", files / "mine.png", home=h)
    keys = {h: given("log", "key", home=h) for h in (first, second, third)}
    unused = tmp_path / "unused"
    assert run("--home", first, "log", "--home", second, "key", home=unused).out == keys[second]
    assert run("log", "--home", second, "key", "--home", third, home=unused).out == keys[third]


def test_node_commands_take_their_home_between_too(tmp_path: Path) -> None:
    node, unused = tmp_path / "node", tmp_path / "unused"
    created = run("node", "--home", node, "init", "--origin", "between.example/a",
                  home=unused).out
    assert created.startswith(f"node between.example/a created in {node}")
    assert run("node", "--home", node, "keys", "--only", "log", home=unused).out.startswith(
        "between.example/a+")
    assert run("node", "peer", "--home", node, "list", "--json", home=unused).out == "[]\n"
    assert run("node", "--home", node, "peer", "list", "--json", home=unused).out == "[]\n"
    assert run("node", "witness", "--home", node, "list", home=unused).code == 0
    assert not unused.exists()


# -- 3. node init, node peer add and key new run again ---------------------------------------


def test_node_init_again(tmp_path: Path) -> None:
    node, user = tmp_path / "node", tmp_path / "u"
    args = ("node", "init", "--home", node, "--origin", "again.example/a", "--listen",
            "127.0.0.1:8390")
    first = run_json(*args, "--json", home=user)
    assert first["status"] == "created"
    toml = (node / "node.toml").read_bytes()
    again = run(*args, home=user)
    lines = again.out.splitlines()
    assert lines[0] == f"already initialised: node again.example/a in {node}, serving on " \
                       "127.0.0.1:8390"
    assert f"  log key:     {first['log']}" in lines
    assert again.err == "nothing changed\n"
    assert run_json(*args, "--json", home=user) == {**first, "status": "exists"}
    # the options not given are not compared: node config may have changed them since
    run("node", "config", "--home", node, "--mirror-interval", "5", home=user)
    toml = (node / "node.toml").read_bytes()
    assert run("node", "init", "--home", node, "--origin", "again.example/a",
               home=user).out.startswith("already initialised: ")
    origin = assert_one_error_line(run("node", "init", "--home", node, "--origin",
                                       "again.example/b", home=user, ok_codes=(2,)))
    assert origin == (f"error: --origin: {node} is the node again.example/a already, not "
                      "'again.example/b': a node's origin never changes (make the node "
                      "'again.example/b' in another folder)")
    other = assert_one_error_line(run(*args[:-1], "0.0.0.0:9000", "--mirror-interval", "5",
                                      "--freshness-interval", "1h", home=user, ok_codes=(2,)))
    assert other == (f"error: {node} is the node again.example/a already, made with other "
                     "settings: --listen: the node serves on 127.0.0.1:8390, not 0.0.0.0:9000 "
                     f"(change it with provenance node config --home {node} --listen "
                     "0.0.0.0:9000); --freshness-interval: the node's is 300 s, not 3600 "
                     f"(change it with provenance node config --home {node} "
                     "--freshness-interval 3600)")
    assert (node / "node.toml").read_bytes() == toml


def test_node_peer_add_again(tmp_path: Path) -> None:
    user = tmp_path / "u"
    a, b = tmp_path / "a", tmp_path / "b"
    given("node", "init", "--home", a, "--origin", "peers.example/a", home=user)
    given("node", "init", "--home", b, "--origin", "peers.example/b", home=user)
    vkey = given("node", "keys", "--home", b, "--only", "log", home=user).strip()
    witness = given("node", "keys", "--home", b, "--only", "witness", home=user).strip()
    add = ("node", "peer", "add", "--home", a, "--origin", "peers.example/b", "--url",
           "http://127.0.0.1:8391", "--vkey", vkey)
    assert run(*add, home=user).out == "peer peers.example/b added\n"
    toml = (a / "node.toml").read_bytes()
    again = run(*add, home=user)
    assert again.out == "already a peer: peers.example/b at http://127.0.0.1:8391\n"
    assert again.err == "nothing changed\n"
    url = assert_one_error_line(run(*add[:-3], "http://127.0.0.1:8392", "--vkey", vkey,
                                    home=user, ok_codes=(2,)))
    assert url == ("error: peer peers.example/b is configured already, with --url "
                   "'http://127.0.0.1:8391' (not 'http://127.0.0.1:8392'): to change it, run "
                   f"provenance node peer remove peers.example/b --home {a}, then this command "
                   "again")
    key = assert_one_error_line(run(*add, "--witness-vkey", witness, home=user, ok_codes=(2,)))
    assert f"with --witness-vkey none (not '{witness}'): to change it" in key
    assert (a / "node.toml").read_bytes() == toml
    assert len(run_json("node", "peer", "list", "--home", a, "--json", home=user)) == 1


def test_key_new_for_a_name_that_has_a_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = given_key("studio", home)
    line = assert_one_error_line(run("key", "new", "studio", home=home, ok_codes=(2,)))
    assert line == (f"error: key 'studio' exists already ({home / 'keys' / 'studio.key'}): key "
                    "new makes a new random key, never the same one again, and never replaces "
                    "a key file; see this one with provenance key show studio")
    assert public_key("studio", home) == key


def test_the_spec_quotes_these_lines() -> None:
    spec = " ".join(SPEC.read_text(encoding="utf-8").split())
    assert f"` {HINT}`" in spec  # "`  this home's ...`", its two spaces folded
    assert "`already a peer: O at U`" in spec
    assert "see this one with provenance key show NAME`" in spec


# -- 4. status --json has exactly the members of specs/cli.md section 3.4 ---------------------


def _members(*present: str) -> set[str]:
    """The members of the table of section 3.4 present for these kinds of work."""
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("### 3.4 `status WORK`"):text.index("### 3.5 ")]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+?) \|", section, flags=re.MULTILINE)
    assert len(rows) > 20
    return {name for name, where in rows if where in ("always", *present)}


def test_status_json_has_the_members_of_the_spec(files: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    given("anchor", files / "mine.png", home=home)
    work = run_json("status", files / "mine.png", "--json", home=home)
    assert set(work) == _members("a work")
    given_key("association", home)
    record = given_json("identity", "attest", "default", "--name", "Ann", "--key",
                        "association", "--json", home=home)["work"]
    assert set(run_json("status", record, "--json", home=home)) == _members("a key record")
    data = files / "dataset"
    data.mkdir(exist_ok=True)
    (data / "1.txt").write_bytes(b"one")
    receipt = given_json("dataset", "disclose", data, "--name", "crawl", "--version", "v1",
                         "--json", home=home)["receipt"]
    series = json.loads(Path(receipt).read_text(encoding="utf-8"))["event"]["work"]
    assert set(run_json("status", series, "--json", home=home)) == _members()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    processes = Processes()
    try:
        (one,) = make_network(tmp_path_factory.mktemp("hints-node") / "net", ("ledger",),
                              processes)
        one.start()
        yield one
    finally:
        processes.close()


def test_through_a_node(files: Path, node: Node, tmp_path: Path) -> None:
    """Through --node: status --json has the node's members too, and neither may nor status
    adds the hint (the node answers for its log and the logs it mirrors)."""
    home = tmp_path / "home"
    url = ("--node", node.url)
    run("anchor", files / "mine.png", *url, home=home)
    doc = run_json("status", files / "mine.png", *url, "--json", home=home)
    assert set(doc) == _members("a work", "--node")
    me = public_key("default", home)
    assert run("may", me, "ai_training", files / "theirs.png", *url, home=home,
               ok_codes=(1,)).out == "not allowed: the work is not registered on this ledger\n"
    line = assert_one_error_line(run("status", files / "theirs.png", *url, home=home,
                                     ok_codes=(2,)))
    assert HINT not in line
