"""``verify`` of a royalty receipt says its amounts as ``royalties`` does: in major units with
the currency, by the currency's ISO 4217 exponent (``120.00 EUR``, ``173,457 JPY``,
``1.250 BHD``), while ``--json`` keeps integers in minor units (specs/royalties.md section 3.2,
specs/receipts.md section 15.1, specs/cli.md section 3.6). Through the real CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from provenance_ledger.ledger import Home

from .conftest import log_key, run, run_json

FIGURE_LINES = {
    "eur": "due 120.00 EUR, paid 0.00 EUR, acknowledged 0.00 EUR, disputed 0.00 EUR, "
           "outstanding 120.00 EUR",
    # 50,000 JPY fee + 10 % of 1,234,567 JPY (123,456.7, halves up), paid 200,000: over-paid,
    # said as such (statement version 2, specs/royalties.md section 3.2)
    "jpy": "due 173,457 JPY, paid 200,000 JPY, acknowledged 200,000 JPY, disputed 0 JPY, "
           "outstanding 0 JPY, overpaid 26,543 JPY",
    "bhd": "due 1.250 BHD, paid 0.000 BHD, acknowledged 0.000 BHD, disputed 0.000 BHD, "
           "outstanding 1.250 BHD",
    "free": "due 0 (no currency yet), paid 0 (no currency yet), acknowledged 0 (no currency "
            "yet), disputed 0 (no currency yet), outstanding 0 (no currency yet)",
}
"""Each licence's figures, in the words of ``royalties`` and ``verify``."""
MINOR = {"eur": (12000, 0, 12000, 0), "jpy": (173457, 200000, 0, 26543),
         "bhd": (1250, 0, 1250, 0), "free": (0, 0, 0, 0)}
"""Each licence's due, paid, outstanding and overpaid in ``--json``: minor units."""


@dataclasses.dataclass
class Priced:
    home: Path
    receipt: Path
    licences: dict[str, str]  # name -> licence id


def priced_licences(root: Path) -> Priced:
    """A creator licensing four works to a studio: for 120.00 EUR; for 50,000 JPY and 10 % of
    revenue, 1,234,567 JPY reported and 200,000 JPY paid and acknowledged; for 1.250 BHD (3
    decimals); for no fee. The studio's royalty receipt of them all."""
    home = root / "home"
    h = Home(home)  # the keys are made in process: the key commands are not tested here
    h.ensure()
    creator = h.keys.create("creator").public.text
    studio = h.keys.create("studio").public.text
    licences = {}
    for name, fee in (("eur", ("120.00", "EUR")), ("jpy", ("50000", "JPY")),
                      ("bhd", ("1.250", "BHD")), ("free", None)):
        work = root / f"{name}.txt"
        work.write_text(f"a page licensed {'for ' + ' '.join(fee) if fee else 'for nothing'}\n")
        run("anchor", work, "--key", "creator", home=home)
        terms = ["--fee", *fee] if fee else []
        if name == "jpy":
            terms += ["--royalty-bps", "1000"]
        licences[name] = run_json("licence", "offer", work, "--to", studio, "--purpose",
                                  "ai_training", *terms, "--key", "creator", "--json",
                                  home=home)["id"]
        run("licence", "accept", licences[name], "--key", "studio", home=home)
    run("usage", "report", licences["jpy"], "--period", "2026-Q1", "--units", "7", "--revenue",
        "1234567", "JPY", "--key", "studio", home=home)
    paid = run_json("payment", "record", licences["jpy"], "--to", creator, "--amount", "200000",
                    "JPY", "--key", "studio", "--json", home=home)["id"]
    run("payment", "ack", paid, "--key", "creator", home=home)
    receipt = root / "royalties.json"
    run("royalties", "--licensee", studio, "--receipt", receipt, home=home)
    return Priced(home, receipt, licences)


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory) -> Priced:
    return priced_licences(tmp_path_factory.mktemp("royalty-words"))


def test_verify_says_each_licence_in_major_units_as_royalties_does_json_in_minor(
        priced: Priced) -> None:
    out = run("verify", priced.receipt, "--log-key", log_key(priced.home), home=priced.home).out
    assert out.startswith("OK: ") and "minor units" not in out
    lines = out.splitlines()
    for name, lid in priced.licences.items():
        assert f"  licence {lid}: {FIGURE_LINES[name]}" in lines, (name, out)
    # ``royalties`` prints the same figures, word for word, under each licence
    studio = json.loads(priced.receipt.read_text())["query"]["licensee"]
    statement = run("royalties", "--licensee", studio, home=priced.home).out.splitlines()
    for name, lid in priced.licences.items():
        at = statement.index(f"licence {lid}")
        assert statement[at + 4] == f"  {FIGURE_LINES[name]}", (name, statement)
    assert "  usage:     1 report, 7 units, revenue 1,234,567 JPY" in statement
    # --json keeps its integers in minor units, and the currency code to read them by
    doc = run_json("verify", priced.receipt, "--log-key", log_key(priced.home), "--json",
                   home=priced.home)
    by_id = {x["licence"]: x for x in doc["statement"]["licences"]}
    for name, lid in priced.licences.items():
        x = by_id[lid]
        assert (x["due"], x["paid"], x["outstanding"], x["overpaid"]) == MINOR[name], name
    assert (doc["format"], doc["statement_version"]) == ("provenance-ledger/royalty-receipt/v3", 2)
    assert ("  statement version 2 (royalty receipt v3): outstanding and overpaid per payee, "
            "never netted") in lines
    assert by_id[priced.licences["jpy"]]["currency"] == "JPY"
    assert by_id[priced.licences["free"]]["currency"] is None
