"""Key files: the creator's signing keys and the log's key (specs/storage.md section 4).

A key is a PKCS#8 PEM file, mode 0600, encrypted with the passphrase when one is given
(``PROVENANCE_PASSPHRASE`` or a prompt, decided by the CLI). Private keys are never printed
or logged; only the public half has a text form.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from ..core.crypto import PrivateKey
from ..errors import LedgerError, MalformedError, NotFoundError, quoted
from .files import PRIVATE_FILE, remove_stale_temps, write_atomic

KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_KEY_FILE_BYTES = 16 * 1024


def check_key_name(name: str) -> str:
    if not KEY_NAME.fullmatch(name):
        raise MalformedError(
            f"key name {quoted(name, 72)} must be 1-64 ASCII letters (A-Z, a-z), digits, '.', "
            "'_' or '-', starting with a letter or digit")
    return name


def write_private_key(path: Path, key: PrivateKey, passphrase: str | None) -> None:
    """Create ``path`` with mode 0600 (never overwriting) and write the key as PEM."""
    enc = BestAvailableEncryption(passphrase.encode()) if passphrase else NoEncryption()
    pem = key.inner.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, enc)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    remove_stale_temps(path.parent)  # a key half-written by a killed run
    if path.exists():
        raise LedgerError(f"key file {path} already exists")
    # Written whole to a private temporary file, then linked into place: a crash never
    # leaves a half-written key, and an existing key is never replaced.
    write_atomic(path, pem, mode=PRIVATE_FILE, exclusive=True)


ENCRYPTED_PEM_HEADER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def is_encrypted_pem(data: bytes) -> bool:
    return data.lstrip().startswith(ENCRYPTED_PEM_HEADER)


def read_private_key(path: Path, passphrase: str | None) -> PrivateKey:
    try:
        data = path.read_bytes()[: MAX_KEY_FILE_BYTES + 1]
    except FileNotFoundError as e:
        raise NotFoundError(f"no key file {path}") from e
    if len(data) > MAX_KEY_FILE_BYTES:
        raise MalformedError(f"key file {path} is larger than {MAX_KEY_FILE_BYTES} bytes")
    encrypted = is_encrypted_pem(data)
    if encrypted and not passphrase:
        raise LedgerError(f"key {path.name} is encrypted: set PROVENANCE_PASSPHRASE")
    try:
        key = load_pem_private_key(data, passphrase.encode() if encrypted and passphrase else None)
    except (ValueError, TypeError) as e:
        reason = "wrong passphrase or damaged key file" if encrypted else "not a PEM private key"
        raise LedgerError(f"cannot read key {path.name}: {reason}") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise MalformedError(f"key file {path} does not hold an Ed25519 key")
    return PrivateKey(key)


class KeyStore:
    """Named signing keys in one folder: ``<name>.key`` (private, 0600)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        return self.folder / f"{check_key_name(name)}.key"

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def create(self, name: str, passphrase: str | None = None) -> PrivateKey:
        """Make a key; ``<name>.pub`` beside it holds the public key, readable without the
        passphrase."""
        key = PrivateKey.generate()
        path = self.path(name)
        write_private_key(path, key, passphrase)
        write_atomic(path.with_suffix(".pub"), (key.public.text + "\n").encode("ascii"),
                     mode=None)
        return key

    def load(self, name: str, passphrase: str | None = None) -> PrivateKey:
        path = self.path(name)
        remove_stale_temps(self.folder)
        if not path.exists():
            raise NotFoundError(
                f"no key named {name!r} (create it with: provenance key new {name})")
        return read_private_key(path, passphrase)

    def encrypted(self, name: str) -> bool:
        path = self.path(name)
        return path.exists() and is_encrypted_pem(path.read_bytes()[:64])

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.key"))
