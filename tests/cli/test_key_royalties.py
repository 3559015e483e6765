"""Royalties after a key rotation, through the real CLI (specs/rules.md section 9, R22;
specs/royalties.md section 3.1; specs/receipts.md section 15.3): the creator's key (the
payee) and the studio's key (the licensee) are both rotated; the studio's new key reports
usage and pays, a payment to the creator's old key is refused with one line naming its
successor, the creator's new key acknowledges, ``status`` disputes nothing, and ``royalties``
names the successors. The royalty receipt lists the keys' records and ``verify`` re-derives
the statement offline; with the records taken out it does not verify."""

from __future__ import annotations

import json
from pathlib import Path

from provenance_ledger.ledger import Home

from .conftest import assert_one_error_line, log_key, run, run_json


def test_a_rotated_payee_and_licensee_keep_their_royalties(tmp_path: Path) -> None:
    home = tmp_path / "home"
    h = Home(home)
    h.ensure()  # the keys made in process: the CLI is tested where it matters below
    creator, creator2, studio, studio2 = (h.keys.create(n).public.text for n in
                                          ("creator", "creator2", "studio", "studio2"))
    page = tmp_path / "page-021.png"
    page.write_bytes(b"a page licensed before both keys were rotated")
    run("anchor", page, "--key", "creator", home=home)
    lid = run_json("licence", "offer", page, "--to", studio, "--purpose", "ai_training",
                   "--fee", "100.00", "EUR", "--royalty-bps", "1000", "--key", "creator",
                   "--json", home=home)["id"]
    run("licence", "accept", lid, "--key", "studio", home=home)
    run("key", "rotate", "creator", "--to", "creator2", home=home)
    run("key", "rotate", "studio", "--to", "studio2", home=home)
    run("usage", "report", lid, "--period", "2026", "--units", "5", "--revenue", "50.00",
        "EUR", "--key", "studio2", home=home)
    refused = assert_one_error_line(run(
        "payment", "record", lid, "--to", creator, "--amount", "105.00", "EUR", "--key",
        "studio2", home=home, ok_codes=(2,)))
    assert f"{creator} was rotated to {creator2}: pay that key" in refused
    pid = run_json("payment", "record", lid, "--to", creator2, "--amount", "105.00", "EUR",
                   "--key", "studio2", "--json", home=home)["id"]
    err = run("payment", "ack", pid, "--key", "creator", home=home, ok_codes=(2,)).err
    assert f"only the payee {creator2}" in err and "add --key creator2" in err
    run("payment", "ack", pid, "--key", "creator2", home=home)
    assert "DISPUTED" not in run("status", page, home=home).out
    receipt = tmp_path / "royalties.json"
    doc = run_json("royalties", "--payee", creator, "--receipt", receipt, "--json", home=home)
    (lic,) = doc["licences"]
    assert lic["licensee"] == studio2
    (line,) = lic["payees"]
    assert (line["payee"], line["due"], line["paid"], line["acknowledged"],
            line["outstanding"]) == (creator2, 10500, 10500, 10500, 0)
    kept = json.loads(receipt.read_text())
    # with the key records, statement version 2 (specs/receipts.md section 15.4)
    assert kept["format"] == "provenance-ledger/royalty-receipt/v3"
    assert kept["statement"] == doc
    vkey = log_key(home)
    out = run("verify", receipt, "--log-key", vkey, home=home).out
    assert out.startswith("OK: ") and "1 licence of " in out
    # passed off as v1 (a statement without key records): the successors' events do not count
    receipt.write_text(json.dumps({**kept, "format": "provenance-ledger/royalty-receipt/v1"}))
    err = run("verify", receipt, "--log-key", vkey, home=home, ok_codes=(1,)).err
    assert "royalty receipt does not verify" in err
