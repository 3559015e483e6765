"""The page's Ed25519 check applies the pinned acceptance rule (specs/events.md section 3.1):
the ed25519-speccheck cases and the hand-made edge cases of tests/core/test_ed25519_rule.py get
the same verdict in the browser (WebCrypto plus the page's pre-checks) as from the project's
verify function."""

from __future__ import annotations

from playwright.sync_api import Page

from provenance_ledger.core import ed25519
from tests.core.test_ed25519_rule import CASES, PINNED, hand_made

from .conftest import INDEX


def test_the_page_gives_every_edge_case_the_pinned_verdict(page: Page) -> None:
    cases = [(f"speccheck {i}", c["pub_key"], c["signature"], c["message"], PINNED[i])
             for i, c in enumerate(CASES)]
    cases += [(what, a.hex(), sig.hex(), msg.hex(), verdict)
              for what, a, sig, msg, verdict in hand_made()]
    for _what, a, sig, msg, verdict in cases:  # the Python side, the reference
        assert ed25519.verify(bytes.fromhex(a), bytes.fromhex(sig), bytes.fromhex(msg)) is verdict
    page.goto(INDEX.as_uri())
    got = page.evaluate("""async (cases) => {
      const { ed25519Verify, hexToBytes } = PLVerify.internals;
      const out = [];
      for (const [, a, sig, msg] of cases)
        out.push(await ed25519Verify(hexToBytes(a), hexToBytes(sig), hexToBytes(msg)));
      return out;
    }""", [list(c[:4]) for c in cases])
    assert {c[0]: g for c, g in zip(cases, got, strict=True)} == {c[0]: c[4] for c in cases}
