"""Usage, payments and ``royalties`` through ``--node URL`` (specs/royalties.md section 5): a
real ``provenance node serve`` on 127.0.0.1 and the real CLI. Every write goes through the
node; the statement read through it (one verified state receipt, ``POST /state-receipts``) is
the one read locally from the node's own data directory, and its royalty receipt verifies."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import log_key, new_key, public_key, run
from tests.node.network_helpers import Processes, make_network


def test_payments_and_royalties_through_a_node(tmp_path: Path) -> None:
    processes = Processes()
    try:
        (node,) = make_network(tmp_path / "net", ("ledger",), processes)
        node.start()
        home = tmp_path / "home"
        url = ("--node", node.url)
        page = tmp_path / "page.png"
        page.write_bytes(b"a page licensed through a node")
        run("anchor", page, *url, home=home)
        me, studio = public_key("default", home), new_key("studio", home)
        offer = json.loads(run("licence", "offer", page, "--to", studio, "--purpose",
                               "ai_training", "--fee", "50000", "JPY", "--royalty-bps", "1250",
                               *url, "--json", home=home).out)["id"]
        run("licence", "accept", offer, "--key", "studio", *url, home=home)
        report = ("usage", "report", offer, "--period", "2026-Q3", "--units", "10",
                  "--revenue", "845000", "JPY", "--key", "studio", *url, "--json")
        first = json.loads(run(*report, home=home).out)
        # run again (as after an answer that was lost): the node's copy is found, not doubled
        again = json.loads(run(*report, home=home).out)
        assert (first["status"], again["status"], again["id"]) == ("logged", "exists",
                                                                    first["id"])
        paid = json.loads(run("payment", "record", offer, "--to", me, "--amount", "60000",
                              "JPY", "--key", "studio", *url, "--json", home=home).out)["id"]
        run("payment", "dispute", paid, "--reason", "short by 10 yen", *url, home=home)
        receipt = tmp_path / "royalties.json"
        remote = json.loads(run("royalties", "--licensee", studio, *url, "--json",
                                "--receipt", receipt, home=home).out)
        local = json.loads(run("royalties", "--licensee", studio, "--home", node.home,
                               "--json", home=home).out)
        assert remote == local
        (lic,) = remote["licences"]
        # 50000 + royalty(845000, 1250) = 50000 + 105625; the disputed payment is not paid
        assert (lic["due"], lic["paid"], lic["disputed"], lic["outstanding"]) == (
            155625, 60000, 60000, 155625)
        assert run("verify", receipt, "--log-key", log_key(node.home),
                   home=home).out.startswith("OK: ")
    finally:
        processes.close()

