"""``provenance key rotate``, ``key recovery`` and ``key compromised`` as a user runs them
(specs/rules.md section 9): one rotation moves control of a work to the new key; recovery
keys named in advance rotate a lost key; a key declared compromised has its later events
shown as disputed by ``status``, and they no longer count for ``may``. Real CLI, real
SQLite ledger."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import new_key, run


def test_rotate_recover_and_declare_compromised(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old, new, r1, _, user = (new_key(n, home) for n in ("old", "new", "r1", "r2", "user"))
    page = tmp_path / "page-012.png"
    page.write_bytes(b"a page whose key is rotated")
    run("anchor", page, "--key", "old", home=home)
    run("key", "recovery", "old", "--keys", "r1,r2", "--threshold", "2", home=home)
    # one recovery key alone cannot rotate it; two can
    err = run("key", "rotate", old, "--to", "new", "--key", "r1", home=home,
              ok_codes=(2,)).err
    assert "needs 2 of the 2 recovery keys; 1 signed" in err
    run("key", "rotate", old, "--to", "new", "--key", "r1", "--cosign", "r2", home=home)
    out = run("may", new, "ai_training", page, home=home).out
    assert out.startswith("allowed: this key controls the work")
    # the new key grants; then it is stolen and declared compromised from before the grant
    granted = json.loads(run("consent", "grant", page, "--purpose", "ai_training", "--to",
                             user, "--key", "new", "--json", home=home).out)["id"]
    at = json.loads(run("status", page, "--json", home=home).out)["history"][-1]["at"]
    run("key", "compromised", "new", "--since", at, "--yes", home=home)
    status = run("status", page, home=home).out
    assert f"held by:     {new}" in status
    assert f"consent.grant      {granted[:12]} by {new[:24]}... [DISPUTED: does not count]" \
        in status
    refused = run("may", user, "ai_training", page, home=home, ok_codes=(1,)).out
    assert "1 later event(s) do not count" in refused
    assert r1 not in refused
