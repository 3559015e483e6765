"""The page words a decision as the CLI does (specs/rules.md section 5.2): a grant for a
purpose that covers the one asked, a key rotated away, the successor of a key whose grant was
revoked and the key rotated away then, and a receipt in the earlier words of specs/receipts.md
section 12.1 step 3, which both accept; any other reason both refuse."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.cli.conftest import log_key, new_key, run

from .conftest import INDEX, ReceiptFolder, as_sentence
from .test_parity import compare


@dataclasses.dataclass
class Worded(ReceiptFolder):
    home: Path
    log_key: str
    made: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def worded(tmp_path_factory: pytest.TempPathFactory) -> Worded:
    root = tmp_path_factory.mktemp("page-words")
    home = root / "home"
    work = root / "e.txt"
    work.write_text("a page granted for ai_training\n")
    run("anchor", work, home=home)
    lab = new_key("lab", home)
    lab2 = new_key("lab2", home)
    run("consent", "grant", work, "--purpose", "ai_training", "--to", lab, home=home)
    revoked = json.loads(run("consent", "grant", work, "--purpose", "data_mining", "--to", lab,
                             "--json", home=home).out)["id"]
    made = {}
    for name, key, purpose in (("covered", lab, "ai_generative_training"),
                               ("rotated", lab, "ai_training"), ("successor", lab2, "data_mining"),
                               ("revoked", lab, "data_mining")):
        if name == "rotated":
            run("key", "rotate", "lab", "--to", "lab2", home=home)
        if name == "successor":
            run("consent", "revoke", revoked, home=home)
        path = root / f"{name}.json"
        run("may", key, purpose, work, "--proof", path, home=home, ok_codes=(0, 1))
        made[name] = json.loads(path.read_text())
    made["lab2"] = {"key": lab2}
    return Worded(root, home, log_key(home), made)


def reason(d: dict[str, Any], text: str, events: list[str] | None = None) -> dict[str, Any]:
    decision = {**d["decision"], "reason": text}
    return {**d, "decision": decision if events is None else {**decision, "events": events}}


def test_page_and_cli_word_decisions_alike(page: Page, worded: Worded) -> None:
    page.goto(INDEX.as_uri())
    covered, rotated = worded.made["covered"], worded.made["rotated"]
    successor, revoked = worded.made["successor"], worded.made["revoked"]
    at = rotated["decision"]["reason"].split(" at ")[1].split(": ")[0]
    revoked_at = revoked["decision"]["reason"].split(" at ")[1].split(" (")[0]
    lab2 = worded.made["lab2"]["key"]
    cases = [
        ("covered", covered, None),
        ("covered, earlier words",
         reason(covered, "consent granted to this key for ai_generative_training"), None),
        ("covered, another reason", reason(covered, "consent granted to this key for x"),
         "decoded"),
        ("rotated", rotated, None),
        ("rotated, earlier words",
         reason(rotated, f"no consent or licence for ai_training is in force at {at} (all were "
                         "revoked, ended or not yet accepted)"), None),
        ("rotated, another reason", reason(rotated, "no consent or licence for ai_training"),
         "decoded"),
        ("successor", successor, None),
        ("successor, earlier words",
         reason(successor, "no consent or licence for data_mining: not allowed by default", []),
         None),
        ("successor, earlier words, events kept",
         reason(successor, "no consent or licence for data_mining: not allowed by default"),
         "decoded"),
        ("revoked", revoked, None),
        ("revoked, earlier words",
         reason(revoked, f"no consent or licence for data_mining is in force for this key at "
                         f"{revoked_at}: this key was rotated away, and {lab2} holds its "
                         "consents and licences at that time"), None),
    ]
    assert "which covers ai_generative_training" in covered["decision"]["reason"]
    assert "this key was rotated away" in rotated["decision"]["reason"]
    assert "including those made to " in successor["decision"]["reason"]
    assert successor["decision"]["events"] == revoked["decision"]["events"] != []
    assert revoked["decision"]["reason"].endswith("(all were revoked, ended or not yet accepted)")
    for name, receipt, expected in cases:
        seen, _, line = compare(page, worded, name, receipt, worded.log_key, None,  # type: ignore[arg-type]
                                in_process=expected is not None)
        assert seen["check"] == expected, f"{name}: page {seen}, CLI: {line}"
        if expected is None:
            assert line.startswith("OK: "), name
            assert as_sentence(line.splitlines()[0][4:]) == page.inner_text("#decision"), name
