"""``provenance key passphrase NAME``: add, change or remove a key's passphrase, and the strong
KDF of every key file encrypted from now on (specs/cli.md sections 2 and 3.7, specs/storage.md
section 4).

Each unlock or encryption costs about 0.1 s (PBKDF2-HMAC-SHA256, 600,000 iterations), so each
test unlocks a key only a few times.
"""

from __future__ import annotations

import base64
import os
import pty
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.ledger.keys import encrypt_private_key, read_private_key
from tests.cli.conftest import (
    PROVENANCE,
    Result,
    assert_one_error_line,
    run,
    run_json,
    user_home,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "keys"
KAT_PASSPHRASE = "correct horse battery staple"
KAT_SEED = bytes(range(32))  # 00 01 ... 1f
KAT_PUBLIC = "ed25519:03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
KAT_SALT, KAT_IV = bytes(range(16)), bytes(range(16, 32))  # kat-600000.key
WEAK_SALT = bytes.fromhex("5b990253a27bb36ce42e84994c1c1107")  # weak-2048.key, as pyca chose
WEAK_IV = bytes.fromhex("e0abec37b3e07f60ecc27a6a4f845e7d")

OLD, NEW = "old passphrase of the studio", "new passphrase of the studio"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def key_file(home: Path, name: str) -> Path:
    return home / "keys" / f"{name}.key"


def der_of(pem: bytes) -> bytes:
    lines = pem.strip().splitlines()
    assert lines[0] == b"-----BEGIN ENCRYPTED PRIVATE KEY-----", lines[0]
    assert lines[-1] == b"-----END ENCRYPTED PRIVATE KEY-----", lines[-1]
    return base64.b64decode(b"".join(lines[1:-1]), validate=True)


def assert_strong(path: Path) -> None:
    """The file is PKCS#8 PBES2: PBKDF2-HMAC-SHA256, 600,000 iterations (02 03 09 27 c0), a
    16-byte salt, AES-256-CBC with a 16-byte IV, and the 48-byte PrivateKeyInfo padded to 64:
    the DER of specs/storage.md section 4, checked byte by byte but for salt, IV and data."""
    der = der_of(path.read_bytes())
    head = bytes.fromhex("3081a4" "3060" "06092a864886f70d01050d" "3053" "3032"
                         "06092a864886f70d01050c" "3025" "0410")
    middle = bytes.fromhex("02030927c0" "300c" "06082a864886f70d0209" "0500" "301d"
                           "060960864801650304012a" "0410")
    assert len(der) == 167
    assert der[:len(head)] == head
    assert der[len(head) + 16:len(head) + 16 + len(middle)] == middle
    assert der[len(head) + 32 + len(middle):][:2] == b"\x04\x40"
    assert path.stat().st_mode & 0o777 == 0o600


def anchor(home: Path, tmp_path: Path, text: str, key: str, passphrase: str | None,
           ok_codes: tuple[int, ...] = (0,)) -> Result:
    page = tmp_path / f"{text}.txt"
    page.write_text(f"{text}\n")
    env = {"PROVENANCE_PASSPHRASE": passphrase} if passphrase else {}
    return run("anchor", page, "--key", key, home=home, env=env, ok_codes=ok_codes)


def no_temporary_files(home: Path) -> bool:
    return not [p for p in (home / "keys").iterdir() if p.name.endswith(".tmp")]


def test_add_change_and_remove_a_passphrase_and_sign_after_each(
        home: Path, tmp_path: Path) -> None:
    anchor(home, tmp_path, "first", "default", None)  # makes 'default', unencrypted
    public = run_json("key", "show", "default", "--json", home=home)["public_key"]
    path = key_file(home, "default")
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")

    added = run("key", "passphrase", "default", home=home,
                env={"PROVENANCE_NEW_PASSPHRASE": OLD})
    assert added.out.splitlines()[0] == (
        "default: passphrase added (PBKDF2-HMAC-SHA256, 600,000 iterations)")
    assert added.out.splitlines()[1].startswith(f"  private key: {path} (mode 0600): copies")
    assert OLD not in added.out + added.err
    assert_strong(path)
    listed = run("key", "list", home=home).out
    assert listed == f"{'default':<20} {public} (encrypted)\n"
    anchor(home, tmp_path, "second", "default", OLD)
    refused = anchor(home, tmp_path, "third", "default", None, ok_codes=(2,))
    assert "key default.key is encrypted: set PROVENANCE_PASSPHRASE" in assert_one_error_line(
        refused)

    changed = run_json("key", "passphrase", "default", "--json", home=home,
                       env={"PROVENANCE_PASSPHRASE": OLD, "PROVENANCE_NEW_PASSPHRASE": NEW})
    assert changed == {"name": "default", "public_key": public, "encrypted": True,
                       "file": str(path), "kdf": "PBKDF2-HMAC-SHA256, 600,000 iterations",
                       "weak": False, "change": "changed"}
    assert_strong(path)
    anchor(home, tmp_path, "fourth", "default", NEW)
    wrong = anchor(home, tmp_path, "fifth", "default", OLD, ok_codes=(2,))
    assert "wrong passphrase" in assert_one_error_line(wrong)

    removed = run("key", "passphrase", "default", "--remove", home=home,
                  env={"PROVENANCE_PASSPHRASE": NEW})
    assert removed.out.startswith(
        "default: passphrase removed: the key file is not encrypted\n")
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert path.stat().st_mode & 0o777 == 0o600
    anchor(home, tmp_path, "sixth", "default", None)
    again = run("key", "passphrase", "default", "--remove", home=home)
    assert again.out == "default: not encrypted: nothing changed\n"
    assert run_json("key", "show", "default", "--json", home=home)["public_key"] == public
    assert len(run_json("works", "--key", "default", "--json", home=home)) == 4
    assert no_temporary_files(home)


def test_a_wrong_or_missing_passphrase_changes_nothing(home: Path) -> None:
    run("key", "new", "studio", "--encrypt", home=home, env={"PROVENANCE_PASSPHRASE": OLD})
    path = key_file(home, "studio")
    before, inode = path.read_bytes(), path.stat().st_ino
    cases = [
        ({"PROVENANCE_PASSPHRASE": "not it", "PROVENANCE_NEW_PASSPHRASE": NEW}, (),
         "error: cannot read key studio.key: wrong passphrase or damaged key file"),
        ({"PROVENANCE_NEW_PASSPHRASE": NEW}, (),
         "error: key studio is encrypted: set PROVENANCE_PASSPHRASE or use a tty"),
        ({"PROVENANCE_PASSPHRASE": OLD}, (),
         "error: a new passphrase is needed: set PROVENANCE_NEW_PASSPHRASE or use a tty "
         "(or --remove to keep the key unencrypted)"),
        ({"PROVENANCE_PASSPHRASE": OLD, "PROVENANCE_NEW_PASSPHRASE": NEW}, ("--remove",),
         "error: --remove takes no new passphrase: unset PROVENANCE_NEW_PASSPHRASE"),
    ]
    for env, extra, message in cases:
        result = run("key", "passphrase", "studio", *extra, home=home, env=env, ok_codes=(2,))
        assert assert_one_error_line(result) == message
        assert OLD not in result.err and NEW not in result.err
        assert path.read_bytes() == before and path.stat().st_ino == inode
    assert sorted(p.name for p in (home / "keys").iterdir()) == ["studio.key", "studio.pub"]
    missing = run("key", "passphrase", "nobody", home=home, ok_codes=(2,))
    assert "no key named 'nobody'" in assert_one_error_line(missing)


def test_the_new_file_is_mode_0600_whatever_the_umask(home: Path) -> None:
    run("key", "new", "studio", home=home)
    previous = os.umask(0)  # the CLI inherits it
    try:
        run("key", "passphrase", "studio", home=home, env={"PROVENANCE_NEW_PASSPHRASE": NEW})
    finally:
        os.umask(previous)
    assert_strong(key_file(home, "studio"))


def test_an_old_weak_key_file_loads_signs_and_is_strengthened(
        home: Path, tmp_path: Path) -> None:
    """A key file of an earlier version (pyca's BestAvailableEncryption: 2,048 iterations),
    without its .pub file, as such versions wrote it."""
    (home / "keys").mkdir(parents=True, mode=0o700)
    path = key_file(home, "old")
    shutil.copyfile(DATA / "weak-2048.key", path)
    path.chmod(0o600)
    env = {"PROVENANCE_PASSPHRASE": KAT_PASSPHRASE}
    shown = run_json("key", "show", "old", "--json", home=home, env=env)
    assert (shown["public_key"], shown["kdf"], shown["weak"]) == (
        KAT_PUBLIC, "PBKDF2-HMAC-SHA256, 2,048 iterations", True)
    assert run("key", "list", home=home, env=env).out == (
        f"{'old':<20} {KAT_PUBLIC} (encrypted, weakly: PBKDF2-HMAC-SHA256, 2,048 iterations; "
        "strengthen it with: provenance key passphrase old)\n")
    anchor(home, tmp_path, "signed with the old file", "old", KAT_PASSPHRASE)

    same = run("key", "passphrase", "old", home=home,
               env={**env, "PROVENANCE_NEW_PASSPHRASE": KAT_PASSPHRASE})
    assert same.out.splitlines()[0] == (
        "old: re-encrypted with the same passphrase (PBKDF2-HMAC-SHA256, 600,000 iterations)")
    assert_strong(path)
    assert path.with_suffix(".pub").read_text() == KAT_PUBLIC + "\n"  # written when missing
    assert run("key", "list", home=home).out == f"{'old':<20} {KAT_PUBLIC} (encrypted)\n"
    anchor(home, tmp_path, "signed with the strong file", "old", KAT_PASSPHRASE)
    assert len(run_json("works", "--key", "old", "--json", home=home)) == 2


def test_the_known_answer_key_file(home: Path) -> None:
    """specs/storage.md section 4: the seed 00..1f, the passphrase, salt 00..0f, IV 10..1f and
    600,000 iterations give tests/data/keys/kat-600000.key byte for byte; at 2,048 iterations
    with pyca's salt and IV, the encoder gives pyca's own file (weak-2048.key) byte for byte."""
    key = PrivateKey.from_seed(KAT_SEED)
    assert key.public.text == KAT_PUBLIC
    kat = (DATA / "kat-600000.key").read_bytes()
    assert encrypt_private_key(key, KAT_PASSPHRASE, salt=KAT_SALT, iv=KAT_IV) == kat
    storage = (DATA.parents[2] / "specs" / "storage.md").read_text(encoding="utf-8")
    assert f"```\n{kat.decode()}```\n" in storage  # the spec shows the very file
    weak = (DATA / "weak-2048.key").read_bytes()
    assert encrypt_private_key(key, KAT_PASSPHRASE, iterations=2048, salt=WEAK_SALT,
                               iv=WEAK_IV) == weak
    (home / "keys").mkdir(parents=True, mode=0o700)
    shutil.copyfile(DATA / "kat-600000.key", key_file(home, "kat"))
    shown = run_json("key", "show", "kat", "--json", home=home,
                     env={"PROVENANCE_PASSPHRASE": KAT_PASSPHRASE})
    assert (shown["public_key"], shown["kdf"], shown["weak"]) == (
        KAT_PUBLIC, "PBKDF2-HMAC-SHA256, 600,000 iterations", False)


def test_key_new_encrypt_writes_the_strong_format(home: Path) -> None:
    created = run_json("key", "new", "studio", "--encrypt", "--json", home=home,
                       env={"PROVENANCE_PASSPHRASE": OLD})
    assert (created["encrypted"], created["kdf"], created["weak"]) == (
        True, "PBKDF2-HMAC-SHA256, 600,000 iterations", False)
    assert_strong(key_file(home, "studio"))


def test_an_interrupted_run_leaves_the_old_file_or_the_new_one(home: Path) -> None:
    """Killed (SIGKILL) at points spread over a run: the key file is always whole, opening
    with the old passphrase or the new one; the next run removes what a killed one left."""
    run("key", "new", "studio", "--encrypt", home=home, env={"PROVENANCE_PASSPHRASE": OLD})
    path = key_file(home, "studio")
    public = read_private_key(path, OLD).public
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user_home(home)),
                "PROVENANCE_PASSPHRASE": OLD, "PROVENANCE_NEW_PASSPHRASE": NEW})
    argv = [str(PROVENANCE), "key", "passphrase", "studio"]
    start = time.monotonic()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True,
                   timeout=60)
    whole = time.monotonic() - start
    env.update({"PROVENANCE_PASSPHRASE": NEW, "PROVENANCE_NEW_PASSPHRASE": NEW})
    for fraction in (0.5, 0.7, 0.8, 0.9, 0.95):
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=whole * fraction)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        assert read_private_key(path, NEW).public == public
        assert path.stat().st_mode & 0o777 == 0o600
    run("key", "passphrase", "studio", home=home,
        env={"PROVENANCE_PASSPHRASE": NEW, "PROVENANCE_NEW_PASSPHRASE": OLD})
    assert read_private_key(path, OLD).public == public
    assert no_temporary_files(home)


# -- on a terminal: the new passphrase is asked for twice ----------------------------------


def converse(home: Path, args: list[str], answers: list[tuple[str, str]]) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal; answer each prompt (the text before it is asked
    for) in turn. Returns the exit code and everything it wrote."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update({"PROVENANCE_HOME": str(home), "HOME": str(user_home(home)), "NO_COLOR": "1"})
    proc = subprocess.Popen([str(PROVENANCE), *args], env=env, stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    seen = b""
    pending = list(answers)
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, f"no output within 60 s; so far: {seen!r}"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's other end is closed: the command ended
                break
            if not chunk:
                break
            seen += chunk
            if pending and seen.rstrip().endswith(pending[0][0].encode().rstrip()):
                os.write(master, pending.pop(0)[1].encode() + b"\n")
        assert not pending, f"prompts not seen: {pending}; output: {seen!r}"
        return proc.wait(timeout=60), seen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_on_a_terminal_the_new_passphrase_is_asked_twice(home: Path) -> None:
    run("key", "new", "studio", home=home)
    path = key_file(home, "studio")
    before = path.read_bytes()
    code, text = converse(home, ["key", "passphrase", "studio"], [
        ("new passphrase for the key:", NEW), ("the same again:", NEW + "!")])
    assert code == 2 and "error: the two new passphrases differ: nothing changed" in text
    assert NEW not in text
    assert path.read_bytes() == before
    code, text = converse(home, ["key", "passphrase", "studio"], [
        ("new passphrase for the key:", NEW), ("the same again:", NEW)])
    assert code == 0 and "studio: passphrase added" in text, text
    code, text = converse(home, ["key", "passphrase", "studio", "--remove"], [
        ("passphrase for the key:", NEW)])
    assert code == 0 and "studio: passphrase removed" in text, text
    assert NEW not in text


def test_key_new_encrypt_asks_twice_on_a_terminal(home: Path) -> None:
    """A typo in the passphrase of a new key would lock it away for good: two entries that
    differ make nothing (specs/cli.md section 3.7)."""
    code, text = converse(home, ["key", "new", "studio", "--encrypt"], [
        ("passphrase for the new key:", NEW), ("the same again:", NEW + "!")])
    assert code == 2 and "error: the two new passphrases differ: nothing changed" in text
    assert not key_file(home, "studio").exists()
    code, text = converse(home, ["key", "new", "studio", "--encrypt"], [
        ("passphrase for the new key:", NEW), ("the same again:", NEW)])
    assert code == 0 and "studio: ed25519:" in text and "(encrypted)" in text, text
    assert NEW not in text
    assert_strong(key_file(home, "studio"))


def test_signing_with_a_weakly_encrypted_key_says_how_to_strengthen_it(
        home: Path, tmp_path: Path) -> None:
    """A key file of an earlier version (2,048 iterations) still signs; the command says once
    on stderr that a leaked copy is easy to open, and how to strengthen it."""
    (home / "keys").mkdir(parents=True, mode=0o700)
    shutil.copyfile(DATA / "weak-2048.key", key_file(home, "old"))
    key_file(home, "old").chmod(0o600)
    page = tmp_path / "weak.png"
    page.write_bytes(b"signed with an old key file")
    result = run("anchor", page, "--key", "old", home=home,
                 env={"PROVENANCE_PASSPHRASE": KAT_PASSPHRASE})
    notes = [line for line in result.err.splitlines() if "encrypted weakly" in line]
    assert notes == ["note: key 'old' is encrypted weakly (PBKDF2-HMAC-SHA256, 2,048 "
                     "iterations): a copy that leaks is easy to open; strengthen it with: "
                     "provenance key passphrase old"]
    run("key", "passphrase", "old", home=home, env={"PROVENANCE_PASSPHRASE": KAT_PASSPHRASE,
                                                    "PROVENANCE_NEW_PASSPHRASE": KAT_PASSPHRASE})
    again = tmp_path / "strong.png"
    again.write_bytes(b"signed with the strengthened file")
    assert "encrypted weakly" not in run("anchor", again, "--key", "old", home=home,
                                         env={"PROVENANCE_PASSPHRASE": KAT_PASSPHRASE}).err
