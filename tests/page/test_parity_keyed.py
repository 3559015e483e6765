"""The page and ``provenance verify`` give the same verdict on receipts of works whose events
include usage and payments, or whose controller's key was rotated, declared compromised or
attested; where the CLI's one line names the failing check, the page names the same one (the
second half of test_parity.py, in a file of its own so that pytest-xdist's loadscope can run
the two on different workers)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from provenance_ledger.core.identity import key_record_id
from provenance_ledger.ledger import Home
from tests.cli.conftest import log_key, run
from tests.inproc import given, given_json

from .conftest import ASKER, INDEX, ReceiptFolder, as_sentence, check_in_page, royalty_lines
from .test_parity import cli_check, compare

# --- usage and payments, key records (events.md 6.9-6.18, rules.md sections 6-9) -------------


@dataclasses.dataclass
class Keyed(ReceiptFolder):
    """Receipts the CLI made of works whose events include usage and payments, or whose
    controller's key was rotated, declared compromised or attested; for ``compare``."""

    home: Path
    log_key: str
    attester: str
    made: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Keyed:
    """One ledger, built once: a licence with a usage report, a payment and its
    acknowledgement, another payment and its dispute; a work whose controller key was rotated
    before it granted; a work whose grant was signed by a key then declared compromised; a work
    whose controller is attested. The events are written in process (tests/inproc.py, the
    CLI's own commands); the receipts compared are made by the real CLI."""
    root = tmp_path_factory.mktemp("page-keyed")
    home = root / "home"
    h = Home(home)  # the keys are made in process: the CLI's key commands are not tested here
    h.ensure()
    keys = {name: h.keys.create(name).public.text
            for name in ("studio", "old", "new", "guild", "member", "victim", "default",
                         "fickle")}
    files = {}
    for name, key in (("licensed", "default"), ("rotated", "old"), ("stolen", "victim"),
                      ("attested", "member"), ("revoked", "default")):
        files[name] = root / f"{name}.txt"
        files[name].write_text(f"a page that is {name}\n")
        given("anchor", files[name], "--key", key, home=home)
    made: dict[str, dict[str, Any]] = {}

    def proof(name: str, *args: str | Path, state: bool = False) -> None:
        path = root / f"{name}.json"
        if state:
            run("receipt", *args, "--state", "-o", path, home=home)
        else:
            run("may", *args, "--proof", path, home=home, ok_codes=(0, 1))
        made[name] = json.loads(path.read_text())

    offer = given_json("licence", "offer", files["licensed"], "--to", keys["studio"],
                       "--purpose", "ai_training", "--fee", "100000", "USD", "--json",
                       home=home)["id"]
    given("licence", "accept", offer, "--key", "studio", home=home)
    given("usage", "report", offer, "--period", "2026-Q1", "--units", "10", "--revenue",
          "100.00", "USD", "--key", "studio", home=home)
    pay = given_json("payment", "record", offer, "--to", keys["default"], "--amount",
                     "50.00", "USD", "--key", "studio", "--json", home=home)["id"]
    given("payment", "ack", pay, home=home)
    short = given_json("payment", "record", offer, "--to", keys["default"], "--amount",
                       "10.00", "USD", "--key", "studio", "--json", home=home)["id"]
    given("payment", "dispute", short, "--reason", "not received", home=home)
    proof("licence-state", files["licensed"], state=True)
    proof("licence-decision", keys["studio"], "ai_training", files["licensed"])
    royalties = root / "royalties.json"
    run("royalties", "--payee", keys["default"], "--period", "2026", "--receipt", royalties,
        home=home)
    made["royalties"] = json.loads(royalties.read_text())
    given("key", "rotate", "old", "--to", "new", home=home)
    given("consent", "grant", files["rotated"], "--purpose", "ai_inference", "--anyone",
          "--key", "new", home=home)
    proof("rotated-state", files["rotated"], key_record_id(keys["old"]),
          key_record_id(keys["new"]), state=True)
    proof("rotated-alone", files["rotated"], state=True)
    proof("rotated-decision", ASKER, "ai_inference", files["rotated"])
    given("consent", "grant", files["stolen"], "--purpose", "ai_training", "--anyone",
          "--key", "victim", home=home)
    at = given_json("status", files["stolen"], "--json", home=home)["history"][-1]["at"]
    given("key", "compromised", "victim", "--since", at, "--yes", home=home)
    proof("compromised-decision", ASKER, "ai_training", files["stolen"])
    given("identity", "attest", "member", "--name", "Mika Sato", "--member", "1042",
          "--key", "guild", home=home)
    given("consent", "grant", files["attested"], "--purpose", "ai_training", "--anyone",
          "--key", "member", home=home)
    proof("attested-decision", ASKER, "ai_training", files["attested"])
    # A licensee declares its own key compromised from before its acceptance, after the
    # controller revoked a consent to anyone: the acceptance alone stops counting (R22).
    grant = given_json("consent", "grant", files["revoked"], "--purpose", "ai_training",
                       "--anyone", "--json", home=home)["id"]
    offer = given_json("licence", "offer", files["revoked"], "--to", keys["fickle"],
                       "--purpose", "ai_inference", "--json", home=home)["id"]
    given("licence", "accept", offer, "--key", "fickle", home=home)
    given("consent", "revoke", grant, home=home)
    given("key", "compromised", "fickle", "--since", "2020-01-01", "--key", "fickle", "--yes",
          home=home)
    proof("revoked-decision", ASKER, "ai_training", files["revoked"])
    assert made["revoked-decision"]["decision"]["allowed"] is False
    return Keyed(root, home, log_key(home), keys["guild"], made)


def event_dropped(receipt: dict[str, Any], at: int) -> dict[str, Any]:
    w0, *rest = receipt["works"]
    events = w0["events"][:at] + w0["events"][at + 1:]
    return {**receipt, "works": [{**w0, "events": events, "state": None}, *rest]}


def records_left_out(d: dict[str, Any]) -> dict[str, Any]:
    """A decision receipt without the key records it carries (its map proof answers for them)."""
    sr = d["state_receipt"]
    return {**d, "state_receipt": {**sr, "works": sr["works"][:1]}}


def record_emptied(d: dict[str, Any], n: int) -> dict[str, Any]:
    """A decision receipt whose n-th work (a key record) lists none of its events."""
    sr = d["state_receipt"]
    works = list(sr["works"])
    works[n] = {**works[n], "events": [], "state": None}
    return {**d, "state_receipt": {**sr, "works": works}}


def attestation_renamed(d: dict[str, Any]) -> dict[str, Any]:
    sr = d["state_receipt"]
    w0, rec = sr["works"]
    ident = rec["state"]["identity"]
    att = {**ident["attestations"][0], "name": "Someone Else"}
    state = {**rec["state"], "identity": {**ident, "attestations": [att]}}
    return {**d, "state_receipt": {**sr, "works": [w0, {**rec, "state": state}]}}


def figure_edited(r: dict[str, Any]) -> dict[str, Any]:
    st = r["statement"]
    lic = {**st["licences"][0], "paid": st["licences"][0]["paid"] + 1}
    return {**r, "statement": {**st, "licences": [lic, *st["licences"][1:]]}}


def answer_flipped(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "decision": {**d["decision"], "allowed": not d["decision"]["allowed"]}}


KeyedCase = tuple[str, Callable[[Keyed], dict[str, Any]], str | None]

KEYED_CASES: list[KeyedCase] = [
    ("licence: state with usage, payment and ack", lambda k: k.made["licence-state"], None),
    ("licence: decision", lambda k: k.made["licence-decision"], None),
    ("licence: the payment left out, its ack kept",
     lambda k: event_dropped(k.made["licence-state"], 4), "rules"),
    ("licence: the usage report left out",
     lambda k: event_dropped(k.made["licence-state"], 3), "rules"),
    ("licence: decision's answer flipped",
     lambda k: answer_flipped(k.made["licence-decision"]), "decoded"),
    ("royalties: good", lambda k: k.made["royalties"], None),
    ("royalties: a figure edited", lambda k: figure_edited(k.made["royalties"]), "decoded"),
    ("royalties: the payment left out, its ack kept",
     lambda k: {**k.made["royalties"], "state_receipt": event_dropped(
         k.made["royalties"]["state_receipt"], 4)}, "rules"),
    ("rotated: state with both key records", lambda k: k.made["rotated-state"], None),
    ("rotated: state without the key records", lambda k: k.made["rotated-alone"], "rules"),
    ("rotated: key records taken out of the state",
     lambda k: {**k.made["rotated-state"], "works": k.made["rotated-state"]["works"][:1]},
     "map"),
    ("rotated: decision", lambda k: k.made["rotated-decision"], None),
    ("rotated: decision without the key records",
     lambda k: records_left_out(k.made["rotated-decision"]), "map"),
    ("rotated: the rotation left out of the key record",
     lambda k: record_emptied(k.made["rotated-decision"], 1), "history"),
    ("compromised: decision", lambda k: k.made["compromised-decision"], None),
    ("compromised: the declaration left out of the key record",
     lambda k: record_emptied(k.made["compromised-decision"], 1), "history"),
    ("compromised: the decoded answer says allowed",
     lambda k: answer_flipped(k.made["compromised-decision"]), "decoded"),
    ("attested: decision", lambda k: k.made["attested-decision"], None),
    ("licensee compromised: decision", lambda k: k.made["revoked-decision"], None),
    ("attested: the attested name edited",
     lambda k: attestation_renamed(k.made["attested-decision"]), "decoded"),
]

KEYED_IN_A_SUBPROCESS = {"compromised: decision", "rotated: decision", "royalties: good",
                         "licensee compromised: decision"}
"""Decision receipts whose sentences the page must say as the CLI does: the answer, and
whether the controller's key record is proven."""


def test_page_and_cli_agree_on_usage_payments_and_key_records(page: Page, keyed: Keyed
                                                              ) -> None:
    page.goto(INDEX.as_uri())
    trust = keyed.log_key
    for name, make, expected in KEYED_CASES:
        sub = name in KEYED_IN_A_SUBPROCESS
        seen, _, line = compare(page, keyed, name, make(keyed), trust, None,  # type: ignore[arg-type]
                                in_process=not sub)
        assert seen["check"] == expected, f"{name}: page {seen}, CLI: {line}"
        assert expected is None or cli_check(line) == expected, f"{name}: CLI: {line}"
        if name == "royalties: good":  # the statement in the words of verify, re-derived
            said = [page.inner_text("#royalties"), *page.inner_text("#royalty-licences")
                    .splitlines()]
            assert royalty_lines(line, len(said)) == said, name
        elif sub:
            assert line.startswith("OK: "), name
            assert as_sentence(line.splitlines()[0][4:]) == page.inner_text("#decision"), name
            proven = page.get_attribute("#keys-proven", "data-proven")
            assert proven == str("its record is in the receipt" in line).lower(), (name, line)
    # the key declared compromised: its grant does not count, and the page says so
    check_in_page(page, keyed.write("c", keyed.made["compromised-decision"]), trust)
    assert page.inner_text("#answer") == "Answer: not allowed."
    assert "do not count" in page.inner_text("#disputed")
    # a licensee's compromise does not take back the controller's revocation
    check_in_page(page, keyed.write("r", keyed.made["revoked-decision"]), trust)
    assert page.inner_text("#answer") == "Answer: not allowed."


def test_the_page_names_who_attests_the_controller(page: Page, keyed: Keyed,
                                                   artifacts: Path) -> None:
    """The attested name beside the key, by whom, and whose call trusting that attester is;
    in Japanese too, with the controller's key state."""
    page.goto(INDEX.as_uri())
    path = keyed.write("attested", keyed.made["attested-decision"])
    check_in_page(page, path, keyed.log_key)
    line = page.inner_text("#key-records")
    assert "“Mika Sato”, member 1042, by " + keyed.attester in line
    assert "your call" in line
    trusting = f"log {keyed.log_key}\nquorum none\nattester {keyed.attester} guild\n"
    check_in_page(page, path, trusting)
    assert page.get_attribute("#verdict", "data-state") == "valid"
    assert "Your policy trusts this attester." in page.inner_text("#key-records")
    for bad, why in ((f"attester {keyed.attester}\nattester {keyed.attester}",
                      f"policy line 4: attester {keyed.attester} is given twice"),
                     ("attester guild", "policy line 3: key 'guild' is not of the form "
                                        "ed25519:<64 hex>")):
        check_in_page(page, path, f"log {keyed.log_key}\nquorum none\n{bad}\n")
        assert page.get_attribute("#verdict", "data-state") == "bad-trust"
        assert why in page.inner_text("#verdict")
    other = "ed25519:" + "0" * 63 + "2"
    check_in_page(page, path, f"log {keyed.log_key}\nquorum none\nattester {other}\n")
    assert "does not name this attester" in page.inner_text("#key-records")
    page.screenshot(path=str(artifacts / "attested-decision-en.png"), full_page=True)
    page.click("#lang-ja")
    assert "「Mika Sato」" in page.inner_text("#key-records")
    assert page.inner_text("#keys-proven").startswith("管理者の鍵：その記録がこの受領証")
    page.screenshot(path=str(artifacts / "attested-decision-ja.png"), full_page=True)
