"""``provenance status`` of a key record id (specs/rules.md section 7): the key, who attests
it, its recovery setting, its rotations and whether it is declared compromised, then its
history; not the lines of a work (it has no content, registrant, payees, consents or
licences). Real CLI, real SQLite ledger."""

from __future__ import annotations

import json
from pathlib import Path

from provenance_ledger.core.identity import key_record_id

from .conftest import new_key, run


def test_a_key_records_status_says_what_a_key_record_holds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old, new, r1, r2, guild = (new_key(n, home) for n in ("old", "new", "r1", "r2", "guild"))
    record = key_record_id(old)
    run("identity", "attest", old, "--name", "Aki", "--key", "guild", home=home)
    run("key", "recovery", "old", "--keys", "r1,r2", "--threshold", "2", home=home)
    text = run("status", record, home=home).out
    lines = text.splitlines()
    assert lines[:4] == [
        f"key record:  {record}",
        f"key:         {old} (your key 'old')",
        f"attested:    as 'Aki' by {guild} (your key 'guild')",
        f"recovery:    2 of 2: {r1} (your key 'r1'), {r2} (your key 'r2')"]
    for work_line in ("content:", "registered:", "payee:", "consents in force", "licences"):
        assert work_line not in text, work_line
    assert lines[4] == "history:"
    assert [x.split()[2] for x in lines[5:]] == ["identity.attest", "key.recovery"]

    run("key", "rotate", "old", "--to", "new", "--key", "old", home=home)
    history = json.loads(run("status", record, "--json", home=home).out)["history"]
    at = history[-1]["at"]
    run("key", "compromised", "old", "--since", at, "--key", "r1", "--cosign", "r2", home=home)
    lines = run("status", record, home=home).out.splitlines()
    # declared compromised from the rotation's own time: the rotation counts for nothing
    assert (f"rotated to:  {new} (your key 'new') at {at} [does not count: signed while "
            "compromised]") in lines
    assert any(x.startswith(f"compromised: from {at}: ") for x in lines), lines


def test_a_recovery_setting_is_never_weakened_unnoticed(tmp_path: Path) -> None:
    """``key recovery`` refuses a recovery key named twice (a typo that would make the
    setting 1 of 1), and a new setting says on stderr which one it replaces (specs/cli.md
    section 2, key recovery)."""
    home = tmp_path / "home"
    keys = {n: new_key(n, home) for n in ("default", "r1", "r2", "r3")}
    first = json.loads(run("key", "recovery", "default", "--keys", "r1,r2,r3", "--threshold",
                           "2", "--json", home=home).out)["id"]
    twice = run("key", "recovery", "default", "--keys", "r1, r1", home=home, ok_codes=(2,))
    assert twice.err == ("error: --keys: 'r1' names a recovery key given already: name each "
                         "recovery key once\n")
    assert "recovery:    2 of 3" in run("status", key_record_id(keys["default"]),
                                        home=home).out
    weaker = run("key", "recovery", "default", "--keys", "r1", home=home)
    assert weaker.err == (f"note: it replaces the setting logged as {first[:12]}: 2 of 3 "
                          f"recovery keys ({keys['r1']}, {keys['r2']}, {keys['r3']})\n")
