"""A real browser for the verification page: Debian's Chromium driven by Playwright.

One browser for the whole session (starting it costs about a second); each test opens its own
page. The browser is ``/usr/bin/chromium`` (``.ci/run`` installs it) or ``PROVENANCE_CHROMIUM``;
when it is missing these tests fail, they do not skip. Screenshots go to
``PROVENANCE_TEST_ARTIFACTS`` (default: ``test-artifacts/`` in the repository, ignored by git).

``receipts`` makes receipts with the real CLI once per session: three files anchored in one
block (so a proof has hashes), cosigned by two witnesses with fixed keys.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.core.note import NoteSigner, SignedNote
from provenance_ledger.core.receipt import Receipt
from provenance_ledger.page import PAGE_DIR
from tests.cli.conftest import log_key, run, run_json

CHROMIUM = os.environ.get("PROVENANCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
"""Without the background-networking flags Chromium stalls on a machine with no network."""
REPO = Path(__file__).resolve().parents[2]
INDEX = PAGE_DIR / "index.html"
ASKER = "ed25519:" + "0" * 63 + "1"
"""The key the decision receipts ask about."""
COSIGNED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z, the witnesses' clock


def witness(name: str) -> NoteSigner:
    """A witness's cosigner, the same key for the same name in every run."""
    seed = hashlib.sha256(b"page test witness " + name.encode()).digest()
    return NoteSigner(f"witness.example/{name}", PrivateKey.from_seed(seed), cosigner=True)


PAGE_TIMEOUT_MS = 120_000
"""Most milliseconds a page action or expectation may take (then it fails)."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no browser at {CHROMIUM}: install Debian's chromium (.ci/run does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
    # A deadline, not a wait: Playwright's 30 s default was hit on a loaded 2-core host while
    # other test workers ran the CLI and nodes beside the browser.
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("PROVENANCE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "page"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclasses.dataclass
class ReceiptFolder:
    """A folder of receipts and policies to hand to the page and to ``provenance verify``."""

    root: Path

    def write(self, name: str, data: dict[str, Any] | bytes) -> Path:
        path = self.root / f"{name}.json"
        path.write_bytes(data if isinstance(data, bytes)
                         else json.dumps(data, indent=2).encode())
        return path


@dataclasses.dataclass
class Receipts(ReceiptFolder):
    """Receipts made by the CLI, and the policies and files to check them with."""

    home: Path
    work: Path
    other: Path
    receipt: dict[str, Any]
    log_key: str
    state: dict[str, Any]
    decisions: dict[str, dict[str, Any]]
    compliance: dict[str, Any]
    dataset: dict[str, dict[str, Any]]

    def cosigned(self, *signers: NoteSigner, damage_last: bool = False,
                 state: bool = False, at: int = COSIGNED_AT) -> dict[str, Any]:
        """The receipt (``state``: the state receipt) with its checkpoint cosigned by
        ``signers`` at time ``at``, and its tlog_proof, which embeds the checkpoint, to
        match."""
        if state:
            note = SignedNote.from_text(self.state["checkpoint"])
            sigs = [s.sign(note.text, at) for s in signers]
            return {**self.state, "checkpoint": note.with_signatures(sigs).to_text()}
        note = SignedNote.from_text(self.receipt["checkpoint"])
        sigs = [s.sign(note.text, at) for s in signers]
        if damage_last:
            last = sigs[-1]
            sigs[-1] = type(last)(last.name, last.key_id,
                                  last.signature[:-1] + bytes([last.signature[-1] ^ 1]))
        checkpoint = note.with_signatures(sigs).to_text()
        proof = dataclasses.replace(Receipt.from_json(self.receipt), checkpoint=checkpoint)
        return {**self.receipt, "checkpoint": checkpoint, "tlog_proof": proof.tlog_proof()}

    def policy(self, *lines: str) -> str:
        return "".join(line + "\n" for line in (f"log {self.log_key}", *lines))

    def two_of_two(self) -> str:
        return self.policy(f"witness w1 {witness('w1').verifier.to_vkey()}",
                           f"witness w2 {witness('w2').verifier.to_vkey()}",
                           "group both all w1 w2", "quorum both")


@pytest.fixture(scope="session")
def receipts(tmp_path_factory: pytest.TempPathFactory) -> Receipts:
    root = tmp_path_factory.mktemp("page-receipts")
    folder = root / "works"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text(f"a page of the book, part {name}\n")
    home = root / "home"
    out = run_json("anchor", folder, "--json", home=home)
    first = out["files"][0]
    receipt = json.loads(Path(first["receipt"]).read_text())
    assert len(receipt["inclusion_proof"]) == 2  # three leaves: the proof has hashes
    other = root / "not-the-work.txt"
    other.write_text("some other file\n")
    # The work's history for a state receipt v2: consents (one with an end, one revoked).
    work = folder / "a.txt"
    first = run_json("consent", "grant", work, "--purpose", "ai_training", "--anyone", "--json",
                     home=home)["id"]
    run_json("consent", "grant", work, "--purpose", "ai_inference", "--anyone", "--until",
             "2030-01-01T00:00:00Z", "--json", home=home)
    run("consent", "revoke", first, home=home)
    state_path = root / "state.json"
    run("receipt", work, other, "--state", "-o", state_path, home=home)
    state = json.loads(state_path.read_text())
    assert [len(w["events"]) for w in state["works"]] == [4, 0]
    # Decision receipts: training was consented to and revoked; inference is consented to.
    decisions = {}
    for purpose in ("ai_training", "ai_inference"):
        path = root / f"decision-{purpose}.json"
        run("may", ASKER, purpose, work, "--proof", path, home=home, ok_codes=(0, 1))
        decisions[purpose] = json.loads(path.read_text())
    # A compliance receipt of a dataset of three items: allowed, not allowed, unregistered.
    dataset = root / "dataset"
    dataset.mkdir()
    for path in (work, folder / "b.txt", other):
        (dataset / path.name).write_bytes(path.read_bytes())
    compliance = root / "compliance.json"
    run("dataset", "check", dataset, "--purpose", "ai_inference", "--as", ASKER, "--receipt",
        compliance, home=home, ok_codes=(1,))
    # A disclosed dataset of a.txt and b.txt; proofs that a.txt is in it and other is not.
    manifest = root / "manifest.txt"
    manifest.write_text(f"{work}\n{folder / 'b.txt'}\n")
    run("dataset", "disclose", manifest, "--name", "corpus", "--version", "v1", "--purpose",
        "ai_training", home=home)
    proofs = {}
    for answer, item in (("in", work), ("not-in", other)):
        path = root / f"dataset-{answer}.json"
        run("dataset", "prove", manifest, item, "--name", "corpus", "--out", path, home=home)
        proofs[answer] = json.loads(path.read_text())
    return Receipts(root, home, work, other, receipt, log_key(home), state, decisions,
                    json.loads(compliance.read_text()), proofs)


def as_sentence(line: str) -> str:
    """A line of ``provenance verify`` as the page says it standing alone: with a capital
    (verify's lines go on from "OK: " or "may: " in lower case)."""
    return line[:1].upper() + line[1:]


def royalty_lines(out: str, n: int) -> list[str]:
    """The first ``n`` lines of ``provenance verify``'s output on a royalty receipt as the
    page says them: the statement after "OK: " and the statement version stand alone as
    sentences (a capital), the licences' lines are list items (as verify writes them)."""
    lines = out.splitlines()[:n]
    assert lines and lines[0].startswith("OK: "), out
    return [as_sentence(lines[0][4:])] + [
        as_sentence(x[2:]) if x.startswith("  statement version ") else x.removeprefix("  ")
        for x in lines[1:]]


def leaf_of(receipt: dict[str, Any]) -> bytes:
    return base64.b64decode(receipt["leaf"])


def check_in_page(page: Page, receipt: Path, trust: str, file: Path | None = None
                  ) -> dict[str, str | None]:
    """Give the page a receipt, a trust text and optionally the file (through the same file
    inputs the drop zone feeds); return the verdict's state and failing check."""
    page.fill("#trust", trust)
    page.set_input_files("#work-input", [] if file is None else [file])
    page.set_input_files("#receipt-input", receipt)
    page.evaluate("window.PLPage.check()")  # queued after the inputs' reads: their verdict
    return page.evaluate("({state: document.getElementById('verdict').dataset.state,"
                         " check: document.getElementById('verdict').dataset.check || null})")
