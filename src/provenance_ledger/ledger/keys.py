"""Key files: the creator's signing keys and the log's key (specs/storage.md section 4).

A key is a PKCS#8 PEM file, mode 0600, encrypted with the passphrase when one is given
(``PROVENANCE_PASSPHRASE`` or a prompt, decided by the CLI): PBES2 with PBKDF2-HMAC-SHA256
(``KDF_ITERATIONS`` rounds) and AES-256-CBC, the structure pyca/cryptography and OpenSSL write
and read, with a count they cannot be told to use. Files of every PBES2 count load, and
:func:`key_protection` tells a weakly encrypted one (2,048 rounds, earlier versions) apart.
Private keys are never printed or logged; only the public half has a text form.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.ciphers.modes import CBC
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.padding import PKCS7
from cryptography.hazmat.primitives.serialization import (
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


# -- encrypted PKCS#8: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC (RFC 5958, RFC 8018) ----------

KDF_ITERATIONS = 600_000
"""PBKDF2-HMAC-SHA256 rounds of every key file encrypted from now on: OWASP's figure for
this PRF (2023). 0.1 to 0.2 s per unlock on a 2-core machine (specs/storage.md section 4)."""
SALT_BYTES = 16

_OID_PBES2 = bytes.fromhex("2a864886f70d01050d")  # 1.2.840.113549.1.5.13
_OID_PBKDF2 = bytes.fromhex("2a864886f70d01050c")  # 1.2.840.113549.1.5.12
_OID_SCRYPT = bytes.fromhex("2b06010401da47040b")  # 1.3.6.1.4.1.11591.4.11
_OID_AES256_CBC = bytes.fromhex("60864801650304012a")  # 2.16.840.1.101.3.4.1.42
_PRFS = {  # PBKDF2's PRF; hmacWithSHA1 when the parameters name none (RFC 8018 A.2)
    bytes.fromhex("2a864886f70d0207"): "PBKDF2-HMAC-SHA1",
    bytes.fromhex("2a864886f70d0208"): "PBKDF2-HMAC-SHA224",
    bytes.fromhex("2a864886f70d0209"): "PBKDF2-HMAC-SHA256",
    bytes.fromhex("2a864886f70d020a"): "PBKDF2-HMAC-SHA384",
    bytes.fromhex("2a864886f70d020b"): "PBKDF2-HMAC-SHA512",
}
_STRONG_PRFS = frozenset({"PBKDF2-HMAC-SHA256", "PBKDF2-HMAC-SHA512"})
_OID_HMAC_SHA256 = bytes.fromhex("2a864886f70d0209")
ENCRYPTED_PEM_HEADER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
ENCRYPTED_PEM_FOOTER = b"-----END ENCRYPTED PRIVATE KEY-----"


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _seq(*parts: bytes) -> bytes:
    return _der(0x30, b"".join(parts))


def _int(n: int) -> bytes:
    return _der(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))  # a leading 0 bit: positive


def encrypt_private_key(key: PrivateKey, passphrase: str, *, iterations: int = KDF_ITERATIONS,
                        salt: bytes | None = None, iv: bytes | None = None) -> bytes:
    """The key as PEM ``ENCRYPTED PRIVATE KEY``: its PKCS#8 PrivateKeyInfo encrypted with
    PBES2, PBKDF2-HMAC-SHA256 (``iterations``, a 16-byte random ``salt``) and AES-256-CBC (a
    random ``iv``), exactly the DER that pyca/cryptography's ``BestAvailableEncryption`` writes
    but for the count (specs/storage.md section 4; ``salt`` and ``iv`` are given by the
    known-answer test only). The result is decrypted again and checked before it is returned:
    a key file is never written that does not give back the key."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    iv = os.urandom(16) if iv is None else iv
    plain = key.inner.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    secret = PBKDF2HMAC(SHA256(), 32, salt, iterations).derive(passphrase.encode())
    padder = PKCS7(128).padder()
    encryptor = Cipher(AES(secret), CBC(iv)).encryptor()
    body = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    der = _seq(
        _seq(_der(0x06, _OID_PBES2), _seq(
            _seq(_der(0x06, _OID_PBKDF2), _seq(_der(0x04, salt), _int(iterations),
                                               _seq(_der(0x06, _OID_HMAC_SHA256), b"\x05\x00"))),
            _seq(_der(0x06, _OID_AES256_CBC), _der(0x04, iv)))),
        _der(0x04, body))
    text = base64.b64encode(der)
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    pem = b"\n".join([ENCRYPTED_PEM_HEADER, *lines, ENCRYPTED_PEM_FOOTER]) + b"\n"
    try:
        back = load_pem_private_key(pem, passphrase.encode())
    except ValueError:
        back = None
    if not isinstance(back, Ed25519PrivateKey) or PrivateKey(back).public != key.public:
        raise LedgerError("the encrypted key file does not give back the key: nothing written")
    return pem


def private_key_pem(key: PrivateKey, passphrase: str | None) -> bytes:
    """A key file's bytes: encrypted (:func:`encrypt_private_key`) when ``passphrase`` is
    non-empty, else plain PEM ``PRIVATE KEY``."""
    if passphrase:
        return encrypt_private_key(key, passphrase)
    return key.inner.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


class KeyProtection(NamedTuple):
    """How a key file is protected (specs/storage.md section 4). ``kdf`` and ``iterations``
    are None when not encrypted, or when the encryption is not PBES2 with PBKDF2 (``kdf``
    then names what it is, if known). ``weak``: encrypted otherwise than with PBKDF2-HMAC-
    SHA256 or -SHA512 and at least ``KDF_ITERATIONS`` rounds."""

    encrypted: bool
    kdf: str | None = None
    iterations: int | None = None
    weak: bool = False

    def describe(self) -> str | None:
        """``PBKDF2-HMAC-SHA256, 600,000 iterations``; None for a plain file."""
        if not self.encrypted:
            return None
        if self.iterations is None:
            return self.kdf or "unrecognised encryption"
        return f"{self.kdf}, {self.iterations:,} iterations"


def _tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, content, next position) of the DER element at ``pos``; ValueError or IndexError
    when it runs past the end."""
    tag, n = data[pos], data[pos + 1]
    pos += 2
    if n & 0x80:
        width = n & 0x7F
        if not 1 <= width <= 3:
            raise ValueError("DER length")
        n = int.from_bytes(data[pos:pos + width], "big")
        pos += width
    content = data[pos:pos + n]
    if len(content) != n:
        raise ValueError("DER length")
    return tag, content, pos + n


def _items(data: bytes) -> list[tuple[int, bytes]]:
    items, pos = [], 0
    while pos < len(data):
        tag, content, pos = _tlv(data, pos)
        items.append((tag, content))
    return items


def key_protection(data: bytes) -> KeyProtection:
    """How the key file ``data`` is protected; reads the PBES2 parameters without the
    passphrase."""
    if not is_encrypted_pem(data):
        return KeyProtection(encrypted=False)
    try:
        body = data.lstrip()[len(ENCRYPTED_PEM_HEADER):].split(ENCRYPTED_PEM_FOOTER, 1)[0]
        der = base64.b64decode(b"".join(body.split()), validate=True)
        ((_, info),) = _items(der)
        (_, algorithm), _ = _items(info)
        (_, scheme), (_, params) = _items(algorithm)
        if scheme != _OID_PBES2:
            return KeyProtection(True, "not PBES2", None, weak=True)
        (_, kdf), _ = _items(params)
        (_, kdf_oid), (_, kdf_params) = _items(kdf)
        if kdf_oid == _OID_SCRYPT:
            return KeyProtection(True, "scrypt", None, weak=True)
        if kdf_oid != _OID_PBKDF2:
            return KeyProtection(True, None, None, weak=True)
        fields = _items(kdf_params)
        if fields[1][0] != 0x02:
            raise ValueError("PBKDF2 iteration count")
        iterations = int.from_bytes(fields[1][1], "big", signed=True)
        prf = "PBKDF2-HMAC-SHA1"
        if fields[-1][0] == 0x30:
            prf = _PRFS.get(_items(fields[-1][1])[0][1], "PBKDF2")
    except (ValueError, IndexError, TypeError):
        return KeyProtection(True, None, None, weak=True)
    return KeyProtection(True, prf, iterations,
                         weak=prf not in _STRONG_PRFS or iterations < KDF_ITERATIONS)


def write_private_key(path: Path, key: PrivateKey, passphrase: str | None) -> None:
    """Create ``path`` with mode 0600 (never overwriting) and write the key as PEM."""
    pem = private_key_pem(key, passphrase)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    remove_stale_temps(path.parent)  # a key half-written by a killed run
    if path.exists():
        raise LedgerError(f"key file {path} already exists")
    # Written whole to a private temporary file, then linked into place: a crash never
    # leaves a half-written key, and an existing key is never replaced.
    write_atomic(path, pem, mode=PRIVATE_FILE, exclusive=True)


def replace_private_key(path: Path, key: PrivateKey, passphrase: str | None) -> None:
    """Replace the key file ``path`` with ``key``, encrypted with ``passphrase`` (or not):
    written whole to a temporary file beside it (mode 0600), fsynced, renamed over it, the
    folder fsynced. An interrupted run leaves the old file or the new one."""
    pem = private_key_pem(key, passphrase)
    remove_stale_temps(path.parent)
    write_atomic(path, pem, mode=PRIVATE_FILE)


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

    def create(self, name: str, passphrase: str | None = None,
               key: PrivateKey | None = None) -> PrivateKey:
        """Make a key (or keep ``key``, one made in memory); ``<name>.pub`` beside it holds
        the public key, readable without the passphrase."""
        key = key or PrivateKey.generate()
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

    def protection(self, name: str) -> KeyProtection:
        """How the key file is protected (False when there is none)."""
        path = self.path(name)
        try:
            return key_protection(path.read_bytes()[:MAX_KEY_FILE_BYTES])
        except FileNotFoundError:
            return KeyProtection(encrypted=False)

    def protect(self, name: str, key: PrivateKey, passphrase: str | None) -> None:
        """Replace the file of ``name`` with ``key`` (loaded from it) encrypted with
        ``passphrase`` and the current KDF, or not encrypted when it is None
        (:func:`replace_private_key`); write ``<name>.pub`` when it is missing."""
        path = self.path(name)
        replace_private_key(path, key, passphrase)
        pub = path.with_suffix(".pub")
        if not pub.exists():
            write_atomic(pub, (key.public.text + "\n").encode("ascii"), mode=None)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.key"))
