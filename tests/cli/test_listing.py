"""``provenance works`` and ``provenance offers``: a key finds its own works and the licence
offers waiting for it, through the real CLI (specs/cli.md sections 3.10 and 3.11).

The module's ledger: key ``default`` (A) anchors a folder of 1,203 pages (more than two of the
store pages a listing reads at a time) and one titled page, and transfers two pages to key
``studio`` (B), one of which B transfers back; B anchors a page of its own. A offers B two
licences and withdraws one.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from provenance_ledger.ledger.listing import PAGE_ENTRIES
from tests.cli.conftest import assert_one_error_line, new_key, public_key, run, run_json

PAGES = 2 * PAGE_ENTRIES + 203


@dataclass
class Works:
    home: Path
    a: str
    b: str
    pages: list[str]  # A's folder works, in the order anchored
    titled: str  # A's titled work, anchored after the folder
    given: str  # transferred from A to B
    returned: str  # transferred from A to B and back
    own_b: str  # anchored by B
    offer: str  # open offer from A to B
    withdrawn: str  # offer from A to B, withdrawn


def _work(home: Path, *args: str | Path) -> str:
    return str(run_json(*args, "--json", home=home)["work"])


@pytest.fixture(scope="module")
def works(tmp_path_factory: pytest.TempPathFactory) -> Works:
    root = tmp_path_factory.mktemp("listing")
    home = root / "home"
    folder = root / "pages"
    folder.mkdir()
    for n in range(PAGES):
        (folder / f"page-{n:04d}.png").write_bytes(f"page {n}".encode())
    anchored = run_json("anchor", folder, "--json", home=home)
    assert anchored["summary"] == {"anchored": PAGES}
    by_name = {Path(f["file"]).name: f["work"] for f in anchored["files"]}
    pages = [by_name[f"page-{n:04d}.png"] for n in range(PAGES)]
    (root / "cover.png").write_bytes(b"the cover")
    titled = _work(home, "anchor", root / "cover.png", "--title", "=HYPERLINK(\"x\")")
    a = public_key("default", home)
    b = new_key("studio", home)
    given, returned = pages[3], pages[7]
    run("transfer", given, "--to", b, home=home)
    run("transfer", returned, "--to", b, home=home)
    run("transfer", returned, "--to", a, "--key", "studio", home=home)
    (root / "b.png").write_bytes(b"studio's own page")
    own_b = _work(home, "anchor", root / "b.png", "--key", "studio")
    offer = run_json("licence", "offer", titled, "--to", b, "--purpose", "ai_inference",
                     "--fee", "50000", "jpy", "--territory", "jp", "--json",
                     home=home)["id"]
    withdrawn = run_json("licence", "offer", pages[0], "--to", b, "--purpose", "ai_training",
                         "--json", home=home)["id"]
    run("licence", "terminate", withdrawn, home=home)
    return Works(home, a, b, pages, titled, given, returned, own_b, offer, withdrawn)


def _ids(doc: list[dict[str, str]]) -> list[str]:
    return [w["work"] for w in doc]


def test_a_key_lists_what_it_registered_and_controls_oldest_first(works: Works) -> None:
    doc = run_json("works", "--json", home=works.home)
    # Registered by A, in log order; the work A gave away is still A's registration, and the
    # one given and returned is listed once, at its registration.
    assert _ids(doc) == [*works.pages, works.titled]
    given = next(w for w in doc if w["work"] == works.given)
    assert (given["registrant"], given["controller"]) == (works.a, works.b)
    titled = doc[-1]
    assert titled["title"] == "=HYPERLINK(\"x\")"
    assert titled["media_type"] == "image/png"
    assert titled["size"] == len(b"the cover")
    assert titled["registered_at"].endswith("Z")


def test_another_key_by_name(works: Works) -> None:
    doc = run_json("works", "--key", "studio", "--json", home=works.home)
    # B holds the work given to it (since the transfer) and its own; not the one it returned.
    assert _ids(doc) == [works.given, works.own_b]
    assert {w["controller"] for w in doc} == {works.b}


def test_controller_lists_only_what_the_key_controls_now(works: Works) -> None:
    doc = run_json("works", "--controller", works.a, "--json", home=works.home)
    assert _ids(doc) == [w for w in [*works.pages, works.titled] if w != works.given]


def test_pages_join_up_to_the_whole_list(works: Works) -> None:
    whole = [*works.pages, works.titled]
    first = run("works", "--json", "--limit", str(PAGE_ENTRIES + 100), home=works.home)
    page1 = _ids(json.loads(first.out))
    assert page1 == whole[: PAGE_ENTRIES + 100]
    assert f"--after {page1[-1]}" in first.err  # where the next page starts
    rest = run("works", "--json", "--after", page1[-1][:20], home=works.home)
    assert _ids(json.loads(rest.out)) == whole[PAGE_ENTRIES + 100 :]
    assert rest.err == ""  # the last page: nothing more
    exact = run("works", "--json", "--after", whole[-3], "--limit", "2", home=works.home)
    assert _ids(json.loads(exact.out)) == whole[-2:]
    assert exact.err == ""  # a page that ends with the list says no more


def test_text_lines_name_the_controller(works: Works) -> None:
    out = run("works", "--limit", "8", home=works.home).out.splitlines()
    assert len(out) == 8
    assert out[0].startswith(works.pages[0][: len("sha256:") + 16] + "  ")
    # anchor DIR titles each work by its file's path below the folder (specs/cli.md 2.1)
    assert out[0].endswith("image/png  controller you  'page-0000.png'")
    assert f"controller {works.b}  '" in out[3]  # the work A gave to B


def test_csv_has_a_header_and_defuses_formulas(works: Works) -> None:
    out = run("works", "--csv", "--after", works.pages[-1], home=works.home).out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == ["work", "title", "media_type", "size", "registered_at", "registrant",
                         "controller", "registration_counts"]
    assert row["work"] == works.titled
    assert row["title"] == "'=HYPERLINK(\"x\")"  # a spreadsheet shows it, does not run it
    assert row["controller"] == works.a


def test_a_key_with_no_works(works: Works, tmp_path: Path) -> None:
    new_key("empty", works.home)
    assert run_json("works", "--key", "empty", "--json", home=works.home) == []
    out = run("works", "--key", "empty", home=works.home).out
    assert out == "no works: key 'empty' registered or controls none on this ledger\n"
    fresh = tmp_path / "fresh"  # no default key yet: nothing is created to answer
    assert run("works", home=fresh).out.startswith("no works: key 'default'")
    assert not (fresh / "keys").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--key", "nobody"), "no key named 'nobody'"),
    (("--key", "studio", "--controller", "ed25519:" + "ab" * 32), "not both"),
    (("--json", "--csv"), "give --json or --csv, not both"),
    (("--limit", "0"), "--limit"),
    (("--controller", "nobody"), "--controller: 'nobody' is neither a key (ed25519:<64 hex>)"),
    (("--controller", "ed25519:ab"), "--controller: key 'ed25519:ab' is not of the form"),
    (("--node", "http://127.0.0.1:9"), "node http://127.0.0.1:9: GET http://127.0.0.1:9/keys"),
    (("--after", "sha256:" + "00" * 32), "cannot be a cursor"),
])
def test_bad_works_arguments(works: Works, args: tuple[str, ...], message: str) -> None:
    result = run("works", *args, home=works.home, ok_codes=(2,))
    assert message in assert_one_error_line(result)


def test_offers_waiting_for_a_key(works: Works) -> None:
    out = run("offers", "--key", "studio", home=works.home).out
    lines = out.splitlines()
    assert lines[0] == f"open offers to you (key 'studio', {works.b}):"
    assert works.offer[:12] in out
    assert works.withdrawn[:12] not in out  # withdrawn: no longer waiting
    assert "purposes: ai_inference; fee 50,000 JPY, territories JP" in out
    assert "offer does not expire" in out
    assert f"    to accept: provenance licence accept {works.offer[:12]} --key studio" in lines
    assert lines[-1] == "open offers you made: none"


def test_offers_a_key_made(works: Works) -> None:
    doc = run_json("offers", "--json", home=works.home)
    assert doc["public_key"] == works.a
    assert doc["to_accept"] == []
    (made,) = doc["made"]
    assert (made["id"], made["status"], made["licensee"]) == (works.offer, "open offer",
                                                               works.b)
    assert made["terms"] == {"fee": {"amount": 50000, "currency": "JPY"},
                             "territories": ["JP"]}
    every = run_json("offers", "--all", "--json", home=works.home)["made"]
    assert {o["id"]: o["status"] for o in every} == {works.offer: "open offer",
                                                     works.withdrawn: "offer withdrawn"}


def test_an_accepted_offer_is_no_longer_waiting(works: Works, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (tmp_path / "p.png").write_bytes(b"a page to license")
    run("anchor", tmp_path / "p.png", home=home)
    b = new_key("b", home)
    offer = run_json("licence", "offer", tmp_path / "p.png", "--to", b, "--purpose",
                     "ai_training", "--json", home=home)["id"]
    assert [o["id"] for o in run_json("offers", "--key", "b", "--json",
                                      home=home)["to_accept"]] == [offer]
    text = run("offers", "--key", "b", home=home).out.splitlines()
    accept = next(line for line in text if line.startswith("    to accept: "))
    command = accept.split(": ", 1)[1].split()
    assert command[:4] == ["provenance", "licence", "accept", offer[:12]]
    run(*command[1:], home=home)  # the command it printed, as printed
    assert run_json("offers", "--key", "b", "--json", home=home)["to_accept"] == []
    (accepted,) = run_json("offers", "--key", "b", "--all", "--json", home=home)["to_accept"]
    assert accepted["status"] == "in force"
