"""The access lines of specs/node.md section 2 ("Logs"), read from the spec and compared with
what a real node on 127.0.0.1 writes for a hot inclusion proof, a route's answer and an
error: the members, their order and the time's form an operator's log parser relies on."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from provenance_ledger.node.logs import JsonLinesFormatter

from ..conftest import KeyFactory, Signer
from .conftest import HOST, ORIGIN, free_port, init_node, register, running

SPEC = Path(__file__).resolve().parents[2] / "specs" / "node.md"


def spec_paragraph() -> str:
    text = " ".join(SPEC.read_text(encoding="utf-8").split())
    start = text.index("**Logs.**")
    return text[start:text.index("Submissions are sequenced", start)]


def test_access_lines_are_the_specs(tmp_path: Path, sign: Signer, keys: KeyFactory,
                                    caplog: pytest.LogCaptureFixture) -> None:
    spec = spec_paragraph()
    m = re.search(r"one object a record, with `time` \(UTC, `([^`]+)`\), `level` .*?, `logger`, "
                  r"`msg`", spec)
    assert m is not None
    time_form = re.escape(m.group(1))
    for part, digits in (("YYYY", 4), ("MM", 2), ("DD", 2), ("HH", 2), ("SS", 2), ("mmm", 3)):
        time_form = time_form.replace(part, f"[0-9]{{{digits}}}", 1)
    time_form = time_form.replace("MM", "[0-9]{2}", 1)  # the minutes, after the month
    m = re.search(r'`"msg": "request"` with `(\w+)`, `(\w+)` .*?, `(\w+)` .*? and `(\w+)`', spec)
    assert m is not None
    members = ["time", "level", "logger", "msg", *m.groups()]
    assert members[4:] == ["method", "path", "status", "ms"]

    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    with running(home) as node, node.client() as client:
        ev = register(sign, keys("logged"), "logged work")
        assert client.post("/events", content=ev.leaf).status_code == 200
        with caplog.at_level(logging.INFO, logger="provenance_ledger.node"):
            assert client.get("/proof/inclusion?index=0").status_code == 200  # the hot path
            assert client.get("/proof/inclusion?index=0&size=9").status_code == 404
            assert client.get("/keys?secret=1").status_code == 200
    formatter = JsonLinesFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records
             if r.getMessage() == "request"]
    assert [(d["method"], d["path"], d["status"]) for d in lines] == [
        ("GET", "/proof/inclusion", 200), ("GET", "/proof/inclusion", 404),
        ("GET", "/keys", 200)]
    for d in lines:
        assert list(d) == members
        assert re.fullmatch(time_form, d["time"]), d["time"]
        assert d["level"] == "info" and d["logger"] == "provenance_ledger.node"
        assert isinstance(d["ms"], float) and round(d["ms"], 2) == d["ms"]
        assert "secret" not in json.dumps(d) and "index" not in json.dumps(d)


def test_a_long_path_does_not_make_a_long_log_line(tmp_path: Path, sign: Signer,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A client picks the path it asks for: its access line keeps the path's start and says
    how long it was, as an error line does (specs/node.md section 1, "Logs")."""
    home = tmp_path / "node"
    init_node(home, ORIGIN, f"{HOST}:{free_port()}")
    path = "/works/" + "a" * 6000 + "/state-receipt"
    with running(home) as node, node.client() as client:
        with caplog.at_level(logging.INFO, logger="provenance_ledger.node"):
            assert client.get(path).status_code in (400, 404)
    formatter = JsonLinesFormatter()
    (line,) = [formatter.format(r) for r in caplog.records if r.getMessage() == "request"]
    logged = json.loads(line)["path"]
    assert logged.startswith("/works/aaaa") and logged.endswith(" (6,021 characters)")
    assert len(logged) < 100 and len(line) < 300
