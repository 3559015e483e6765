"""``provenance works`` and ``provenance offers`` through ``--node URL`` (specs/cli.md sections
3.10 and 3.11, specs/node.md section 2.1): a real ``provenance node serve`` on 127.0.0.1 and
the real CLI. Everything is written through the node; then each listing through the node is
compared with the same listing read locally from the node's own data directory (given the
same keys): the text, --json and --csv outputs are the same, byte for byte.

The ledger: key ``default`` (A) anchors a folder of 230 pages (more than two of the node's
pages of 100) and a page titled like a spreadsheet formula, and transfers two pages to key
``studio`` (B), which gives one back and anchors a page of its own; A offers B two licences
and withdraws one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Result, assert_one_error_line, run
from tests.inproc import given as setup
from tests.inproc import given_json, given_key
from tests.node.network_helpers import Node, Processes, make_network

PAGES = 230


@dataclass
class Listed:
    home: Path  # the user's data directory: keys, receipts, the node's pinned key
    node: Node
    a: str
    b: str
    pages: list[str]
    titled: str
    given: str
    offer: str
    withdrawn: str

    def remote(self, *args: str, ok: tuple[int, ...] = (0,)) -> Result:
        return run(*args, "--node", self.node.url, home=self.home, ok_codes=ok)

    def local(self, *args: str, ok: tuple[int, ...] = (0,)) -> Result:
        """The same command on the node's own data directory (with the user's keys)."""
        return run(*args, "--home", self.node.home, home=self.home, ok_codes=ok)


def _json(result: Result) -> object:
    return json.loads(result.out)


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listed]:
    root = tmp_path_factory.mktemp("listing-node")
    processes = Processes()
    try:
        (node,) = make_network(root / "net", ("ledger",), processes)
        node.start()
        home = root / "home"
        url = ("--node", node.url)
        folder = root / "pages"
        folder.mkdir()
        for n in range(PAGES):
            (folder / f"page-{n:04d}.png").write_bytes(f"page {n} on a node".encode())
        anchored = json.loads(run("anchor", folder, *url, "--json", home=home).out)
        assert anchored["summary"] == {"anchored": PAGES}
        by_name = {Path(f["file"]).name: f["work"] for f in anchored["files"]}
        pages = [by_name[f"page-{n:04d}.png"] for n in range(PAGES)]
        (root / "cover.png").write_bytes(b"the cover, on a node")
        # the rest of the listing's works, transfers and offers: set up in process
        # (tests/inproc.py), through the same node; the listings run as the real CLI
        titled = given_json("anchor", root / "cover.png", "--title", "=SUM(A1)", *url,
                            "--json", home=home)["work"]
        a = setup("key", "show", "default", "--public", home=home).strip()
        b = given_key("studio", home)
        given, returned = pages[5], pages[150]
        setup("transfer", given, "--to", b, *url, home=home)
        setup("transfer", returned, "--to", b, *url, home=home)
        setup("transfer", returned, "--to", a, "--key", "studio", *url, home=home)
        (root / "b.png").write_bytes(b"studio's own page, on a node")
        setup("anchor", root / "b.png", "--key", "studio", *url, home=home)
        # a key that registered a page and was then declared compromised from before it: its
        # registration does not count (specs/rules.md R22), read from its verified key record
        given_key("gone", home)
        (root / "gone.png").write_bytes(b"a page signed by a stolen key, on a node")
        setup("anchor", root / "gone.png", "--key", "gone", *url, home=home)
        setup("key", "compromised", "gone", "--since", "2020-01-01", "--yes", *url, home=home)
        offer = given_json("licence", "offer", titled, "--to", b, "--purpose",
                           "ai_inference", "--fee", "12.00", "eur", "--territory", "fr",
                           *url, "--json", home=home)["id"]
        withdrawn = given_json("licence", "offer", pages[0], "--to", b, "--purpose",
                               "ai_training", "--expires", "2099-01-01", *url, "--json",
                               home=home)["id"]
        setup("licence", "terminate", withdrawn, *url, home=home)
        # The node's data directory gets the user's keys, to list the same things locally.
        shutil.copytree(home / "keys", node.home / "keys")
        yield Listed(home, node, a, b, pages, titled, given, offer, withdrawn)
    finally:
        processes.close()


@pytest.mark.parametrize("args", [
    (),
    ("--json",),
    ("--csv",),
    ("--key", "studio", "--json"),
    ("--key", "studio"),
    ("--controller", "KEY_B", "--csv"),
    ("--limit", "120", "--json"),
    ("--after", "PAGE_100", "--limit", "3"),
    ("--key", "gone"),
    ("--key", "gone", "--csv"),
], ids=["text", "json", "csv", "key-json", "key-text", "controller-csv", "limit", "after",
        "void-text", "void-csv"])
def test_works_through_the_node_print_what_a_local_listing_prints(
        listed: Listed, args: tuple[str, ...]) -> None:
    names = {"KEY_B": listed.b, "PAGE_100": listed.pages[100]}
    argv = ("works", *(names.get(a, a) for a in args))
    remote, local = listed.remote(*argv), listed.local(*argv)
    assert remote == local
    assert remote.out


def test_works_through_the_node_mark_a_registration_that_does_not_count(
        listed: Listed) -> None:
    """specs/cli.md section 3.10: through --node as locally, from the key's record that the
    node proves."""
    (line,) = listed.remote("works", "--key", "gone").out.splitlines()
    assert line.endswith("  [registration does not count: key compromised since "
                         "2020-01-01T00:00:00Z]")
    (doc,) = _json(listed.remote("works", "--key", "gone", "--json"))  # type: ignore[misc]
    assert doc["registration_counts"] is False
    assert all(w["registration_counts"] for w in _json(  # type: ignore[attr-defined]
        listed.remote("works", "--json")))


def test_works_through_the_node_list_every_work_in_order(listed: Listed) -> None:
    doc = _json(listed.remote("works", "--json"))
    assert isinstance(doc, list)
    assert [w["work"] for w in doc] == [*listed.pages, listed.titled]
    given = next(w for w in doc if w["work"] == listed.given)
    assert (given["registrant"], given["controller"]) == (listed.a, listed.b)
    # Pages join up across the node's pages of 100, with the next page named on stderr.
    first = listed.remote("works", "--json", "--limit", "150")
    page1 = [w["work"] for w in json.loads(first.out)]
    assert page1 == listed.pages[:150]
    assert first.err == f"more works: the next page is --after {page1[-1]}\n"
    rest = listed.remote("works", "--json", "--after", page1[-1][:24])
    assert [w["work"] for w in json.loads(rest.out)] == [*listed.pages[150:], listed.titled]
    assert rest.err == ""
    csv_out = listed.remote("works", "--csv", "--after", listed.pages[-1]).out
    assert csv_out.splitlines()[1].split(",")[1] == "'=SUM(A1)"  # defused, as locally


@pytest.mark.parametrize("args", [
    ("--key", "studio"),
    ("--key", "studio", "--json"),
    ("--key", "studio", "--all", "--json"),
    ("--all",),
    ("--json",),
], ids=["to-accept", "to-accept-json", "all-json", "made-all", "made-json"])
def test_offers_through_the_node_print_what_a_local_listing_prints(
        listed: Listed, args: tuple[str, ...]) -> None:
    remote, local = listed.remote("offers", *args), listed.local("offers", *args)
    assert remote == local


def test_offers_through_the_node(listed: Listed) -> None:
    doc = _json(listed.remote("offers", "--key", "studio", "--all", "--json"))
    assert isinstance(doc, dict)
    assert {o["id"]: o["status"] for o in doc["to_accept"]} == {
        listed.offer: "open offer", listed.withdrawn: "offer withdrawn"}
    offer = doc["to_accept"][0]
    assert offer["terms"] == {"fee": {"amount": 1200, "currency": "EUR"},
                              "territories": ["FR"]}
    text = listed.remote("offers", "--key", "studio").out
    assert (f"    to accept: provenance licence accept {listed.offer[:12]} --key studio"
            in text.splitlines())
    assert listed.withdrawn[:12] not in text


def test_listing_endpoints(listed: Listed) -> None:
    url = listed.node.url
    page = httpx.get(f"{url}/works", params={"key": listed.a, "limit": 2}, timeout=30).json()
    assert [w["work"] for w in page["works"]] == listed.pages[:2]
    assert page["next"] == listed.pages[1]
    last = httpx.get(f"{url}/works", params={"key": listed.a, "after": listed.pages[-1]},
                     timeout=30).json()
    assert (last["works"][0]["work"], last["next"]) == (listed.titled, None)
    offers = httpx.get(f"{url}/offers", params={"key": listed.b, "role": "to_accept",
                                               "all": "true", "limit": 1}, timeout=30).json()
    assert [o["id"] for o in offers["offers"]] == [listed.offer]
    assert offers["next"] == offers["offers"][0]["index"]
    for params, status in (({"key": listed.a, "limit": 101}, 400),
                           ({"key": "ed25519:xyz"}, 400),
                           ({}, 400),
                           ({"key": listed.b, "after": listed.pages[0]}, 404)):
        r = httpx.get(f"{url}/works", params=params, timeout=30)
        assert r.status_code == status, (params, r.text)
        assert list(r.json()) == ["error"]
    r = httpx.get(f"{url}/offers", params={"key": listed.a, "role": "theirs"}, timeout=30)
    assert r.status_code == 400


def test_a_node_that_cannot_be_reached_is_one_line(listed: Listed) -> None:
    for command in ("works", "offers"):
        refused = run(command, "--node", "http://127.0.0.1:9", home=listed.home,
                      ok_codes=(2,))
        line = assert_one_error_line(refused)
        assert line.startswith("error: node http://127.0.0.1:9: GET http://127.0.0.1:9/keys:")
