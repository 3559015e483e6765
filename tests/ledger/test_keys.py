"""Tests for provenance_ledger.ledger.keys: key files on disk and what a key lets be seen.

Real files under tmp_path: permissions are read back with os.stat, encryption with the
bytes of the file, and every printable form of a key is searched for its private half.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from provenance_ledger.core.crypto import PrivateKey
from provenance_ledger.errors import LedgerError, MalformedError, NotFoundError
from provenance_ledger.ledger import Home, KeyStore
from provenance_ledger.ledger.keys import (
    MAX_KEY_FILE_BYTES,
    check_key_name,
    read_private_key,
    write_private_key,
)

from ..conftest import KeyFactory

PASSPHRASE = "correct horse battery staple"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def private_forms(key: PrivateKey) -> list[str]:
    """Every text form the private half could leak in."""
    seed = key.inner.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pem = key.inner.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    pem_body = "".join(pem.splitlines()[1:-1])
    return [seed.hex(), seed.hex().upper(), base64.b64encode(seed).decode(), pem_body,
            repr(seed)]


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys")


def test_key_file_is_created_0600(store: KeyStore) -> None:
    key = store.create("alice")
    path = store.path("alice")
    assert path.name == "alice.key"
    assert mode(path) == 0o600
    assert mode(store.folder) == 0o700
    assert b"ENCRYPTED" not in path.read_bytes()
    assert store.load("alice").public == key.public


def test_key_file_is_0600_whatever_the_umask(store: KeyStore) -> None:
    old = os.umask(0)
    try:
        store.create("wide-open-umask")
    finally:
        os.umask(old)
    assert mode(store.path("wide-open-umask")) == 0o600


def test_home_creates_its_log_key_0600(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    ledger = home.open_ledger()
    try:
        assert mode(home.log_key_path) == 0o600
        assert mode(home.path) == 0o700
        assert read_private_key(home.log_key_path, None).public == ledger.signer.key.public
    finally:
        ledger.close()


def test_encrypted_key(store: KeyStore) -> None:
    key = store.create("publisher", passphrase=PASSPHRASE)
    data = store.path("publisher").read_bytes()
    assert b"ENCRYPTED" in data
    assert not any(form.encode() in data for form in private_forms(key))
    assert mode(store.path("publisher")) == 0o600
    assert store.load("publisher", PASSPHRASE).public == key.public


@pytest.mark.parametrize("given", [None, ""])
def test_encrypted_key_without_passphrase(store: KeyStore, given: str | None) -> None:
    store.create("publisher", passphrase=PASSPHRASE)
    with pytest.raises(LedgerError, match="encrypted: set PROVENANCE_PASSPHRASE") as info:
        store.load("publisher", given)
    assert PASSPHRASE not in str(info.value)


def test_encrypted_key_with_wrong_passphrase(store: KeyStore) -> None:
    store.create("publisher", passphrase=PASSPHRASE)
    with pytest.raises(LedgerError, match="wrong passphrase") as info:
        store.load("publisher", "incorrect horse")
    assert "incorrect horse" not in str(info.value)
    assert PASSPHRASE not in str(info.value)


def test_unencrypted_key_ignores_a_passphrase(store: KeyStore) -> None:
    key = store.create("plain")
    assert store.load("plain", PASSPHRASE).public == key.public


def test_key_files_are_never_overwritten(store: KeyStore) -> None:
    store.create("alice")
    before = store.path("alice").read_bytes()
    with pytest.raises(LedgerError, match="already exists"):
        store.create("alice")
    assert store.path("alice").read_bytes() == before


def test_a_key_file_is_written_whole_and_leaves_no_temporary_file(store: KeyStore) -> None:
    store.create("alice")
    assert sorted(p.name for p in store.folder.iterdir()) == ["alice.key", "alice.pub"]


def test_a_key_half_written_by_a_killed_run_is_removed(store: KeyStore) -> None:
    store.create("alice")
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    half = store.folder / f".bob.key.{int(child.stdout)}.0a1b2c3d.tmp"  # its process is gone
    half.write_bytes(b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw")
    store.load("alice")
    assert not half.exists()


def test_missing_key(store: KeyStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no key named 'nobody'"):
        store.load("nobody")
    with pytest.raises(NotFoundError):
        read_private_key(tmp_path / "absent.key", None)


def test_damaged_key_files(store: KeyStore, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    with pytest.raises(LedgerError, match="not a PEM private key"):
        read_private_key(garbage, None)
    big = tmp_path / "big.key"
    big.write_bytes(b"A" * (MAX_KEY_FILE_BYTES + 1))
    with pytest.raises(MalformedError, match="larger than"):
        read_private_key(big, None)
    other = tmp_path / "ec.key"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(MalformedError, match="Ed25519"):
        read_private_key(other, None)


def test_write_then_read_round_trip(tmp_path: Path, keys: KeyFactory) -> None:
    key = keys("round trip")
    for passphrase in (None, PASSPHRASE):
        path = tmp_path / f"{passphrase is None}.key"
        write_private_key(path, key, passphrase)
        assert read_private_key(path, passphrase).public == key.public
        again = read_private_key(path, passphrase)
        assert again.sign(b"message") == key.sign(b"message")  # Ed25519 is deterministic


def test_names(store: KeyStore) -> None:
    assert store.names() == []
    for name in ("zeta", "alice", "default"):
        store.create(name)
    assert store.names() == ["alice", "default", "zeta"]
    assert store.exists("alice") and not store.exists("bob")


# -- private material never shows ---------------------------------------------------------


def test_repr_and_str_hide_the_private_key(keys: KeyFactory) -> None:
    key = keys("secret holder")
    key.sign(b"a signature first: the key then also holds libsodium's form of the secret")
    shown = [repr(key), str(key), f"{key}", f"{key!r}", format(key), repr([key]),
             repr({"key": key})]
    for text in shown:
        assert key.public.text in text
        for form in private_forms(key):
            assert form not in text


def test_private_key_has_no_dict_to_dump(keys: KeyFactory) -> None:
    key = keys("secret holder")
    assert not hasattr(key, "__dict__")
    # the key, its public half, and libsodium's form of the secret once it has signed
    assert set(type(key).__slots__) == {"_key", "_secret", "public"}


def test_loaded_key_repr_hides_the_private_key(store: KeyStore) -> None:
    key = store.create("alice", passphrase=PASSPHRASE)
    loaded = store.load("alice", PASSPHRASE)
    for form in private_forms(key):
        assert form not in repr(loaded)


# -- key names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "alice", "Alice.2026", "a_b-c", "0", "x" * 64])
def test_valid_key_names(store: KeyStore, name: str) -> None:
    assert check_key_name(name) == name
    store.create(name)
    assert store.path(name).parent == store.folder


@pytest.mark.parametrize(
    "name",
    ["", "../escape", "a/b", "a\\b", ".hidden", "-flag", "_x", "a b", "x" * 65, "name\n",
     "键", "alice.key\x00", "~", "*"],
)
def test_invalid_key_names(store: KeyStore, tmp_path: Path, name: str) -> None:
    with pytest.raises(MalformedError, match="key name"):
        check_key_name(name)
    with pytest.raises(MalformedError):
        store.create(name)
    with pytest.raises(MalformedError):
        store.load(name)
    assert not (tmp_path / "escape.key").exists()
    assert store.names() == []
