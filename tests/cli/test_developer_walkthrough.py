"""What an AI developer meets walking through README.md with a creator's home and their own,
locally and through a node: checking a crawl with re-encoded copies, keeping and re-checking
the compliance receipt, disclosing and proving the set (specs/cli.md sections 2, 3.6 and 3.14,
specs/receipts.md section 14.1). The real CLI in a subprocess; one real ``node serve`` on
127.0.0.1."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_dataset_similar import _copy
from tests.cli.test_similarity import picture
from tests.node.network_helpers import Processes, make_network

from .conftest import assert_one_error_line, log_key, new_key, run, run_json


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``owner`` registered two pictures and consented to ``lab`` training on the first;
    ``crawl`` holds a re-encoded copy of each, an exact copy of the first and a picture nobody
    registered; ``lab`` checked it with ``--similar 8 --receipt``."""
    root = tmp_path_factory.mktemp("devwalk")
    home = root / "home"
    new_key("owner", home)
    lab = new_key("lab", home)
    originals = root / "works"
    originals.mkdir()
    works = {}
    for name, seed in (("consented", 11), ("refused", 12)):
        doc = run_json("anchor", picture(originals / f"{name}.png", seed), "--key", "owner",
                       "--json", home=home)
        works[name] = doc["work"]
    run("consent", "grant", works["consented"], "--purpose", "ai_training", "--to", lab,
        "--key", "owner", home=home)
    crawl = root / "crawl"
    crawl.mkdir()
    _copy(originals / "consented.png", crawl / "consented-small.jpg", 0.5, 60)
    _copy(originals / "refused.png", crawl / "refused-big.jpg", 1.5, 80)
    (crawl / "consented.png").write_bytes((originals / "consented.png").read_bytes())
    picture(crawl / "nobody.png", 77)
    receipt = root / "crawl.compliance.json"
    checked = run("dataset", "check", crawl, "--purpose", "ai_training", "--as", "lab",
                  "--similar", "8", "--receipt", receipt, home=home, ok_codes=(1,))
    return {"root": root, "home": home, "crawl": crawl, "works": works, "receipt": receipt,
            "originals": originals, "checked": checked}


def test_verify_file_takes_a_similar_item_by_its_content_code(world: dict[str, Any]) -> None:
    """``verify RECEIPT --file FILE`` of a re-encoded copy the check matched by similarity:
    the copy's SHA-256 is no item's work (the receipt names the matched work), but its
    content code is the item's code, which is what the receipt claims of it (specs/receipts.md
    section 14.1). Before, the copy the developer checked "did not verify" (exit 1)."""
    home, receipt, crawl = world["home"], world["receipt"], world["crawl"]
    vkey = log_key(home)
    out = run("verify", receipt, "--log-key", vkey, "--file", crawl / "consented-small.jpg",
              home=home).out
    line = next(x for x in out.splitlines() if x.startswith("  file "))
    assert line == (f"  file {crawl / 'consented-small.jpg'}: item consented-small.jpg (its "
                    "content code is the item's: similar at distance "
                    f"{_distance(world, 'consented-small.jpg')} to "
                    f"{world['works']['consented']})")
    doc = run_json("verify", receipt, "--log-key", vkey, "--file", crawl / "refused-big.jpg",
                   "--json", home=home)
    assert doc["file_item"] == "refused-big.jpg"
    exact = run("verify", receipt, "--log-key", vkey, "--file", crawl / "consented.png",
                home=home).out
    assert f"  file {crawl / 'consented.png'}: item consented.png (its SHA-256 is the item's " \
           "work)" in exact
    assert run_json("verify", receipt, "--log-key", vkey, "--json",
                    home=home)["file_item"] is None
    # a picture that is no item, exactly or by its code, still does not verify
    stranger = picture(world["root"] / "stranger.png", 78)
    line = assert_one_error_line(run("verify", receipt, "--log-key", vkey, "--file", stranger,
                                     home=home, ok_codes=(1,)))
    assert line.startswith(f"error: compliance receipt does not verify: {stranger} is not an "
                           "item of this receipt: its hash is sha256:")
    assert " and its content code ISCC:" in line


def _distance(world: dict[str, Any], item: str) -> int:
    doc = run_json("verify", world["receipt"], "--log-key", log_key(world["home"]), "--json",
                   home=world["home"])
    (found,) = [i for i in doc["items"] if i["item"] == item]
    return int(found["similar"]["distance"])


def test_compliance_receipt_line_gives_the_command_that_checks_it(
        world: dict[str, Any]) -> None:
    """The check's last line is a command that runs as printed: the log key it trusted is
    spelled out (before: ``--log-key ...``, which a developer on a node had no command to
    fill in)."""
    last = world["checked"].out.splitlines()[-1]
    prefix = f"compliance receipt written to {world['receipt']} (check it with: "
    assert last.startswith(prefix) and last.endswith(")")
    argv = shlex.split(last[len(prefix):-1])
    assert argv[:3] == ["provenance", "verify", str(world["receipt"])]
    assert argv[3:] == ["--log-key", log_key(world["home"])]
    assert run(*argv[1:], home=world["home"]).out.startswith("OK: ")


def test_verify_without_a_log_key_says_where_one_comes_from(world: dict[str, Any]) -> None:
    line = assert_one_error_line(run("verify", world["receipt"], home=world["home"],
                                     ok_codes=(2,)))
    assert line.startswith("error: give exactly one of --log-key or --policy: ")
    assert "'provenance log key'" in line and "never from the receipt" in line
    both = assert_one_error_line(run(
        "verify", world["receipt"], "--log-key", log_key(world["home"]), "--policy",
        world["receipt"], home=world["home"], ok_codes=(2,)))
    assert both == "error: give exactly one of --log-key or --policy, not both"


def _disclose(world: dict[str, Any], version: str, *extra: str | Path,
              code: int = 0) -> Any:
    r = run("dataset", "disclose", world["crawl"], "--name", "crawl", "--version", version,
            "--key", "lab", *extra, home=world["home"], ok_codes=(code,))
    return r if code else json.loads(r.out) if "--json" in extra else r


def test_disclose_again_with_other_terms_is_refused_not_dropped(world: dict[str, Any]) -> None:
    """A re-run of ``disclose`` for a version already logged appends nothing; before, a
    ``--compliance-receipt`` (or ``--model``, ``--purpose``) it added was dropped in silence
    and the answer was "already disclosed", exit 0. Now it is refused, naming the option and
    the way to log it: a new version (specs/cli.md section 2)."""
    first = _disclose(world, "terms", "--model", "lab-1", "--json")
    assert first["status"] == "disclosed" and "compliance" not in first
    refused = assert_one_error_line(_disclose(
        world, "terms", "--model", "lab-1", "--compliance-receipt", world["receipt"], code=2))
    assert refused.startswith("error: --compliance-receipt: version 'terms' of dataset 'crawl' "
                              f"is already disclosed (event {first['event']}) with no "
                              "compliance receipt; a version is logged once: ")
    assert "(--version NEW)" in refused
    model = assert_one_error_line(_disclose(world, "terms", "--model", "lab-2", code=2))
    assert model.startswith("error: --model: ") and "with model 'lab-1'" in model
    purpose = assert_one_error_line(_disclose(world, "terms", "--purpose", "data_mining",
                                              code=2))
    assert purpose.startswith("error: --purpose: ") and "for ai_training" in purpose
    # the same terms again (or none given): logged once, exit 0
    again = _disclose(world, "terms", "--model", "lab-1", "--purpose", "ai_training", "--json")
    assert (again["status"], again["event"]) == ("exists", first["event"])
    assert _disclose(world, "terms", "--json")["status"] == "exists"
    # a new version carries the receipt's digest
    second = _disclose(world, "terms-2", "--compliance-receipt", world["receipt"], "--json")
    assert second["status"] == "disclosed" and second["compliance"].startswith("sha256:")


def test_disclose_help_shows_no_python_type(world: dict[str, Any]) -> None:
    out = run("dataset", "disclose", "--help", home=world["home"]).out
    assert "list[str]" not in out
    assert "--purpose" in out and "PURPOSE" in out


def test_prove_and_versions_name_the_key_that_disclosed(world: dict[str, Any]) -> None:
    """A developer who disclosed with ``--key lab`` and proves without it was told only that
    the default key disclosed no such dataset; now the error names the key that did."""
    _disclose(world, "keys")
    line = assert_one_error_line(run(
        "dataset", "prove", world["crawl"], world["crawl"] / "nobody.png", "--name", "crawl",
        home=world["home"], ok_codes=(2,)))
    assert line.startswith("error: no dataset 'crawl' disclosed by ed25519:")
    assert line.endswith("; your key 'lab' disclosed it: add --key lab")
    line = assert_one_error_line(run("dataset", "versions", "crawl", home=world["home"],
                                     ok_codes=(2,)))
    assert line.endswith("; your key 'lab' disclosed it: add --by lab")
    nothing = assert_one_error_line(run("dataset", "versions", "another", home=world["home"],
                                        ok_codes=(2,)))
    assert nothing.endswith("disclosed by " + run(
        "key", "show", "default", "--public", home=world["home"]).out.strip() + " on this ledger")


def test_dataset_proof_shows_its_compliance_receipt_and_the_file(
        world: dict[str, Any]) -> None:
    """A creator verifying a dataset proof sees the compliance receipt the disclosure names
    (before: only in ``--json``) and, with ``--file``, that the file is the item."""
    _disclose(world, "with-receipt", "--compliance-receipt", world["receipt"])
    proof = world["root"] / "in.json"
    item = world["crawl"] / "consented.png"
    run("dataset", "prove", world["crawl"], item, "--name", "crawl", "--version",
        "with-receipt", "--key", "lab", "--out", proof, home=world["home"])
    digest = run_json("verify", world["receipt"], "--log-key", log_key(world["home"]),
                      "--json", home=world["home"])["digest"]
    out = run("verify", proof, "--log-key", log_key(world["home"]), "--file", item,
              home=world["home"]).out.splitlines()
    assert f"  compliance receipt: {digest}" in out
    assert out[-1] == f"  file {item}: its SHA-256 is the item"
    doc = run_json("verify", proof, "--log-key", log_key(world["home"]), "--file", item,
                   "--json", home=world["home"])
    assert (doc["file_matches"], doc["compliance"]) == (True, digest)
    assert run_json("verify", proof, "--log-key", log_key(world["home"]), "--json",
                    home=world["home"])["file_matches"] is None
    versions = run("dataset", "versions", "crawl", "--by", "lab", home=world["home"]).out
    assert f"compliance receipt {digest}" in versions


@pytest.fixture(scope="module")
def node_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A creator's home and a developer's home, apart, both using one node."""
    root = tmp_path_factory.mktemp("devwalk-node")
    processes = Processes()
    try:
        (node,) = make_network(root / "net", ("a",), processes)
        node.start()
        creator, developer = root / "creator", root / "developer"
        new_key("default", creator)
        lab = new_key("lab", developer)
        work = run_json("anchor", picture(root / "page.png", 21), "--node", node.url, "--json",
                        home=creator)["work"]
        run("consent", "grant", work, "--purpose", "ai_training", "--to", lab, "--node",
            node.url, home=creator)
        crawl = root / "crawl"
        crawl.mkdir()
        _copy(root / "page.png", crawl / "page-small.jpg", 0.5, 60)
        yield {"root": root, "node": node, "developer": developer, "crawl": crawl}
    finally:
        processes.close()


def test_through_a_node_the_receipt_line_names_the_nodes_key(
        node_world: dict[str, Any]) -> None:
    """Through ``--node`` the key to check the receipt with is the node's, as pinned on first
    contact: the printed command verifies it offline, in a home that never met the node."""
    w = node_world
    receipt = w["root"] / "crawl.compliance.json"
    out = run("dataset", "check", w["crawl"], "--purpose", "ai_training", "--as", "lab",
              "--similar", "8", "--node", w["node"].url, "--receipt", receipt,
              home=w["developer"]).out
    last = out.splitlines()[-1]
    assert last.endswith(f"--log-key {w['node'].log_vkey})")
    verified = run("verify", receipt, "--log-key", w["node"].log_vkey, "--file",
                   w["crawl"] / "page-small.jpg", home=w["root"] / "verifier").out
    assert "  file " in verified and "item page-small.jpg (its content code is the item's" \
        in verified


def test_receipt_show_describes_the_developers_receipts(world: dict[str, Any]) -> None:
    """``receipt show`` of a compliance receipt, a dataset proof or a royalty receipt said
    only "is not a receipt (format provenance-ledger/receipt/v1, ...)", exit 2; the README
    offers it for reading a receipt in words. Now each is shown, nothing verified."""
    home, receipt = world["home"], world["receipt"]
    out = run("receipt", "show", receipt, home=home).out.splitlines()
    assert out[0].startswith(f"NOTHING WAS VERIFIED: this is what {receipt} claims.")
    assert out[1].startswith("question:    may ed25519:") and out[1].endswith(
        " use each item for ai_training at " + out[1].rsplit(" at ", 1)[1])
    assert out[2] == ("items:       4 (2 allowed, 1 not allowed, 1 unregistered, as the receipt "
                      "states it)")
    small = next(x for x in out if x.startswith("  item consented-small.jpg: "))
    assert small.startswith(f"  item consented-small.jpg: {world['works']['consented']}, "
                            "similar at distance ") and small.endswith(": allowed")
    nobody = next(x for x in out if x.startswith("  item nobody.png: "))
    assert nobody.endswith(": unregistered (the work is not registered on this ledger)")
    assert any(x.startswith("complete state receipt of work ") for x in out)
    doc = run_json("receipt", "show", receipt, "--json", home=home)
    assert doc["kind"] == "compliance-receipt" and doc["verified"] is False
    assert [i["name"] for i in doc["items"]] == ["consented-small.jpg", "consented.png",
                                                 "nobody.png", "refused-big.jpg"]
    assert doc["summary"] == {"items": 4, "allowed": 2, "not_allowed": 1, "unregistered": 1}

    _disclose(world, "shown", "--compliance-receipt", receipt)
    proof = world["root"] / "shown.json"
    run("dataset", "prove", world["crawl"], world["originals"] / "refused.png", "--name",
        "crawl", "--version", "shown", "--key", "lab", "--out", proof, home=home)
    shown = run("receipt", "show", proof, home=home).out.splitlines()
    assert shown[1] == (f"dataset:     {world['works']['refused']} is not in dataset crawl "
                        "version shown (4 items, root " + shown[1].split("root ", 1)[1])
    assert shown[2].startswith("compliance receipt: sha256:")
    assert any(x.startswith("  dataset.disclose ") for x in shown)
    doc = run_json("receipt", "show", proof, "--json", home=home)
    assert (doc["kind"], doc["dataset"]["answer"], doc["dataset"]["count"]) == (
        "dataset-proof", "not-in", 4)

    # a licence on the work lab may use already: the other tests' outcomes stay as they are
    licence = run_json("licence", "offer", world["works"]["consented"], "--to", "lab",
                       "--purpose", "ai_training", "--fee", "100", "EUR", "--key", "owner",
                       "--json", home=home)["id"]
    run("licence", "accept", licence, "--key", "lab", home=home)
    royalties = world["root"] / "royalties.json"
    run("royalties", "--licensee", "lab", "--receipt", royalties, home=home)
    out = run("receipt", "show", royalties, home=home).out.splitlines()
    assert out[1].startswith("query:       licensee ed25519:")
    assert run_json("receipt", "show", royalties, "--json", home=home)["kind"] == \
        "royalty-receipt"


def test_dataset_check_only_lists_the_outcomes_asked(world: dict[str, Any]) -> None:
    """A developer with thousands of items wants the refusals alone: ``--only not-allowed``
    lists those, while the summary, the exit code and the receipt still cover every item
    (specs/cli.md section 3.14). Before, the option did not exist (exit 2)."""
    home, crawl = world["home"], world["crawl"]
    args = ("dataset", "check", crawl, "--purpose", "ai_training", "--as", "lab", "--similar",
            "8")
    out = run(*args, "--only", "not-allowed", home=home, ok_codes=(1,)).out.splitlines()
    assert out[2] == "  listing only the items not allowed: 1 of 4 (the summary counts them all)"
    listed = out[4:out.index("summary:")]  # after the heading, the checkpoint, --only's line
    assert len(listed) == 1 and "refused-big.jpg: " in listed[0]
    assert "  allowed             2" in out and "  total               4" in out
    doc = json.loads(run(*args, "--only", "allowed", "--only", "UNREGISTERED", "--json",
                         home=home, ok_codes=(1,)).out)
    assert doc["only"] == ["allowed", "unregistered"]
    assert [i["item"] for i in doc["items"]] == ["consented-small.jpg", "consented.png",
                                                 "nobody.png"]
    assert doc["summary"]["not_allowed"] == 1
    rows = run(*args, "--only", "not allowed", "--csv", home=home, ok_codes=(1,)).out
    assert [r.split(",")[0] for r in rows.splitlines()] == ["item", "refused-big.jpg"]
    everything = json.loads(run(*args, "--json", home=home, ok_codes=(1,)).out)
    assert everything["only"] is None and len(everything["items"]) == 4
    line = assert_one_error_line(run(*args, "--only", "refused", home=home, ok_codes=(2,)))
    assert line == ("error: --only: 'refused' is not an outcome (allowed, not-allowed, "
                    "unregistered, skipped)")


def test_verify_names_the_dataset_a_disclosure_receipt_is_of(world: dict[str, Any]) -> None:
    """The receipt ``disclose`` keeps is of the series id, a hash nobody recognises; verify
    now also says which dataset and version it is (specs/cli.md section 3.6)."""
    doc = _disclose(world, "receipt-words", "--json")
    out = run("verify", doc["receipt"], "--log-key", log_key(world["home"]),
              home=world["home"]).out.splitlines()
    assert out[0] == f"OK: dataset.disclose {doc['event']}"
    assert out[2] == (f"  dataset: crawl version receipt-words ({doc['count']} items, root "
                      f"{doc['root']})")
    assert out[3].startswith("  actor:  ed25519:")


def test_check_in_an_empty_home_says_where_the_works_are(world: dict[str, Any],
                                                        tmp_path: Path) -> None:
    """A developer's own new home holds no one's works: every item is "unregistered", exit 0.
    The heading now says that this is this home's empty log and how to ask a shared one."""
    fresh = tmp_path / "fresh"
    new_key("lab", fresh)
    out = run("dataset", "check", world["crawl"], "--purpose", "ai_training", "--as", "lab",
              home=fresh).out.splitlines()
    assert out[1] == ("  as of the empty log of this home (nothing anchored here yet): the works "
                      "of others are on the ledger they anchored them on; ask it with --node "
                      "URL")
