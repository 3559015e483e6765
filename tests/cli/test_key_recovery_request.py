"""Recovery keys held in different homes rotate a lost key (specs/cli.md section 3.7.1,
specs/rules.md section 9): the owner writes a recovery request with
``key rotate KEY --to NEW --recovery-request FILE``, each recovery key holder signs it in
their own home with ``key cosign FILE --key NAME`` (the request's signer last), and anyone
submits it with ``key submit FILE``. Too few, tampered or foreign signatures are one line and
exit 2. Real CLI, real SQLite ledger, real signatures; each home has only its own key."""

from __future__ import annotations

import json
from pathlib import Path

from provenance_ledger.ledger import Home

from .conftest import assert_one_error_line, run


def _home(path: Path, *names: str) -> list[str]:
    """A home holding the named keys only (made in process: the CLI is tested below)."""
    h = Home(path)
    h.ensure()
    return [h.keys.create(n).public.text for n in names]


def test_recovery_keys_in_three_homes_rotate_a_lost_key(tmp_path: Path) -> None:
    owner = tmp_path / "owner"
    old, new = _home(owner, "old", "new")
    (r1,), (r2,), (r3,) = (_home(tmp_path / f"friend{i}", f"r{i}") for i in (1, 2, 3))
    (stranger,) = _home(tmp_path / "stranger", "r9")
    page = tmp_path / "page-031.png"
    page.write_bytes(b"a page whose key is lost")
    run("anchor", page, "--key", "old", home=owner)
    run("key", "recovery", "old", "--keys", f"{r1},{r2},{r3}", "--threshold", "2", home=owner)
    # the laptop holding 'old' is lost: the owner writes the rotation for the friends to sign
    request = tmp_path / "rotate-old.json"
    run("key", "rotate", old, "--to", "new", "--recovery-request", request, "--signer", r1,
        home=owner)

    def cosign(home: str, name: str, codes: tuple[int, ...] = (0,),
               path: Path = request) -> str:
        return run("key", "cosign", path, "--key", name, home=tmp_path / home,
                   ok_codes=codes).err

    # the signer signs last; before a second recovery key has cosigned it cannot
    early = assert_one_error_line(run("key", "cosign", request, "--key", "r1",
                                      home=tmp_path / "friend1", ok_codes=(2,)))
    assert "needs 1 more cosignature(s) of the recovery keys before its signer" in early
    incomplete = assert_one_error_line(run("key", "submit", request, home=owner,
                                           ok_codes=(2,)))
    assert "the request is not complete: it needs 1 more cosignature(s)" in incomplete
    assert "not one of the recovery keys" in cosign("stranger", "r9", (2,))
    # a request changed after the new key signed (another successor) is refused by every holder
    forged = tmp_path / "forged.json"
    doc = json.loads(request.read_text())
    doc["event"]["body"]["to"] = stranger
    forged.write_text(json.dumps(doc))
    assert "the new key's signature (to_sig) does not verify" in cosign("friend2", "r2", (2,),
                                                                         forged)
    cosign("friend2", "r2")
    cosign("friend1", "r1")
    # anyone submits the complete request: no key of theirs is needed
    out = run("key", "submit", request, "--json", home=owner).out
    assert json.loads(out)["type"] == "key.rotate"
    allowed = run("may", new, "ai_training", page, home=owner).out
    assert allowed.startswith("allowed: this key controls the work")
    again = run("key", "submit", request, home=owner).out  # a repeat (specs/cli.md 2.4)
    assert again.startswith(f"already rotated: this request is logged as "
                            f"{json.loads(out)['id']}\n")
