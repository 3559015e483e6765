"""C2SP signed notes, checkpoints and cosignatures.

- c2sp.org/signed-note: note text, an empty line, signature lines ``— <name> <base64>``;
  Ed25519 signatures (type 0x01) and verifier keys ``<name>+<hex key id>+<base64 key>``.
- c2sp.org/tlog-checkpoint: the note text ``<origin>\\n<size>\\n<base64 root>\\n``, plus the
  log's extension lines ``provenance-ledger/block prev=<size> time=<UTC time>`` and, once it
  keeps its map, ``provenance-ledger/map root=<base64>`` (specs/map.md section 8).
- c2sp.org/tlog-cosignature (cosignature/v1, type 0x04): a witness's timestamped signature
  over ``cosignature/v1\\ntime <seconds>\\n`` followed by the whole checkpoint text, its
  extension lines (and so the map root) included.

specs/checkpoints.md restates these formats. Parsing is strict and bounded; unknown signatures
are kept (so that notes can be passed on whole) but never count as verified.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import MalformedError, VerificationError, quoted
from .crypto import PrivateKey, PublicKey
from .encoding import MAX_KEY_NAME_BYTES, b64decode, b64encode, is_key_name
from .merkle import HASH_SIZE
from .timefmt import MAX_TIME, format_time, parse_time

SIG_TYPE_ED25519 = 0x01
"""Signature type of a plain Ed25519 note signature (c2sp.org/signed-note)."""
SIG_TYPE_COSIGNATURE_V1 = 0x04
"""Signature type of an Ed25519 cosignature/v1 (c2sp.org/tlog-cosignature)."""
SIGNATURE_LINE_PREFIX = "\u2014 "  # EM DASH, space
COSIGNATURE_V1_HEADER = "cosignature/v1\n"

MAX_NOTE_BYTES = 1 << 16
"""Largest signed note accepted, in bytes (text plus signatures)."""
MAX_NOTE_SIGNATURES = 100
"""Most signature lines accepted on one note (as Go's golang.org/x/mod/sumdb/note)."""
MAX_TREE_SIZE = 2**63 - 1


_KIND = {
    SIG_TYPE_ED25519: "a log key (type 0x01)",
    SIG_TYPE_COSIGNATURE_V1: "a witness cosignature/v1 key (type 0x04)",
}


def check_key_name(name: object, what: str = "key name") -> str:
    """A key name or origin (specs/checkpoints.md section 1): the one check, used for notes,
    verifier keys, checkpoints and a node's configuration alike."""
    if not isinstance(name, str) or not is_key_name(name):
        raise MalformedError(
            f"{what} {quoted(name)} must be 1 to {MAX_KEY_NAME_BYTES} bytes of text with "
            "no '+', no white space and no invisible characters")
    return name


def _check_key_name(name: str) -> None:
    check_key_name(name)


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[
        :4
    ]


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: ``— <name> base64(key id || signature bytes)``."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.key_id) != 4:
            raise ValueError("key id must be 4 bytes")

    @classmethod
    def from_line(cls, line: str) -> NoteSignature:
        if not line.startswith(SIGNATURE_LINE_PREFIX):
            raise MalformedError(f"signature line does not start with an em dash: {quoted(line)}")
        parts = line[len(SIGNATURE_LINE_PREFIX) :].split(" ")
        if len(parts) != 2:
            raise MalformedError(f"signature line is not '— <name> <base64>': {quoted(line)}")
        _check_key_name(parts[0])
        raw = b64decode(parts[1], "note signature")
        if len(raw) < 5:
            raise MalformedError("note signature is shorter than a key id and a signature")
        return cls(parts[0], raw[:4], raw[4:])

    def to_line(self) -> str:
        return f"{SIGNATURE_LINE_PREFIX}{self.name} {b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class SignedNote:
    """A note text and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.text.endswith("\n"):
            raise MalformedError("note text must end with a newline")
        if any((c < " " and c != "\n") or c == "\x7f" for c in self.text):
            raise MalformedError("note text contains control characters")

    @classmethod
    def from_text(cls, note: str) -> SignedNote:
        """Parse a signed note; the signatures follow the last empty line."""
        if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
            raise MalformedError(f"signed note is larger than {MAX_NOTE_BYTES} bytes")
        split = note.rfind("\n\n")
        if split < 0:
            raise MalformedError("signed note has no empty line before its signatures")
        text, sigs = note[: split + 1], note[split + 2 :]
        if not sigs.endswith("\n"):
            raise MalformedError("signed note does not end with a newline")
        lines = sigs[:-1].split("\n")
        if len(lines) > MAX_NOTE_SIGNATURES:
            raise MalformedError(f"signed note has more than {MAX_NOTE_SIGNATURES} signatures")
        return cls(text, tuple(NoteSignature.from_line(line) for line in lines))

    def to_text(self) -> str:
        return self.text + "\n" + "".join(s.to_line() for s in self.signatures)

    def with_signatures(self, extra: Iterable[NoteSignature]) -> SignedNote:
        """This note with ``extra`` signature lines added (exact duplicates dropped)."""
        sigs = list(self.signatures)
        for s in extra:
            if s not in sigs:
                sigs.append(s)
        return SignedNote(self.text, tuple(sigs))


@dataclass(frozen=True, slots=True)
class Verifier:
    """A verifier key: ``<name>+<8 hex key id>+base64(type || public key)``."""

    name: str
    sig_type: int
    public_key: PublicKey

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if self.sig_type not in (SIG_TYPE_ED25519, SIG_TYPE_COSIGNATURE_V1):
            raise MalformedError(f"unsupported signature type 0x{self.sig_type:02x}")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key.raw)

    @classmethod
    def from_vkey(cls, vkey: str, sig_type: int | None = None) -> Verifier:
        """Parse ``<name>+<hex id>+<base64>``; with ``sig_type``, require that type."""
        parts = vkey.split("+", 2)
        if len(parts) != 3 or len(parts[1]) != 8 or parts[1] != parts[1].lower():
            raise MalformedError(f"verifier key {quoted(vkey)} is not <name>+<hex id>+<base64>")
        name, hexid, b64 = parts
        try:
            want_id = bytes.fromhex(hexid)
        except ValueError as e:
            raise MalformedError(f"verifier key id {quoted(hexid)} is not hex") from e
        raw = b64decode(b64, "verifier key")
        if len(raw) != 33:
            raise MalformedError("verifier key is not one type byte and a 32-byte Ed25519 key")
        v = cls(name, raw[0], PublicKey(raw[1:]))
        if v.key_id != want_id:
            raise MalformedError(f"verifier key id {hexid} does not match its name and key")
        if sig_type is not None and v.sig_type != sig_type:
            raise MalformedError(f"verifier key {quoted(vkey)} is not {_KIND[sig_type]}")
        return v

    def to_vkey(self) -> str:
        raw = bytes([self.sig_type]) + self.public_key.raw
        return f"{self.name}+{self.key_id.hex()}+{b64encode(raw)}"

    def matches(self, sig: NoteSignature) -> bool:
        return sig.name == self.name and sig.key_id == self.key_id

    def verify(self, sig: NoteSignature, text: str) -> int | None:
        """Check one signature over ``text``. Returns the cosignature timestamp for type 0x04,
        ``None`` for type 0x01; raises :class:`VerificationError` when it does not verify."""
        if not self.matches(sig):
            raise VerificationError(f"signature is not by {self.name}")
        if self.sig_type == SIG_TYPE_ED25519:
            self._check(sig.signature, text.encode("utf-8"))
            return None
        if len(sig.signature) != 8 + 64:
            raise VerificationError("cosignature is not a timestamp and a 64-byte signature")
        (timestamp,) = struct.unpack(">Q", sig.signature[:8])
        self._check(sig.signature[8:], cosignature_message(timestamp, text))
        if timestamp > MAX_TIME:  # specs/checkpoints.md section 4: no time is shown beyond it
            raise VerificationError(f"cosignature by {self.name} states a time after "
                                    "9999-12-31T23:59:59Z")
        return int(timestamp)

    def _check(self, signature: bytes, message: bytes) -> None:
        if len(signature) != 64:
            raise VerificationError(f"signature by {self.name} is not 64 bytes")
        try:
            self.public_key.verify(signature, message)
        except VerificationError as e:
            kind = "cosignature" if self.sig_type == SIG_TYPE_COSIGNATURE_V1 else "note signature"
            raise VerificationError(f"{kind} by {self.name} does not verify") from e


def cosignature_message(timestamp: int, checkpoint_text: str) -> bytes:
    """The bytes a cosignature/v1 signs (c2sp.org/tlog-cosignature, "Signed message")."""
    return f"{COSIGNATURE_V1_HEADER}time {timestamp}\n{checkpoint_text}".encode()


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """Signs notes under a key name; ``cosigner`` selects cosignature/v1 (type 0x04)."""

    name: str
    key: PrivateKey
    cosigner: bool = False

    @property
    def verifier(self) -> Verifier:
        sig_type = SIG_TYPE_COSIGNATURE_V1 if self.cosigner else SIG_TYPE_ED25519
        return Verifier(self.name, sig_type, self.key.public)

    def sign(self, text: str, timestamp: int | None = None) -> NoteSignature:
        """Sign ``text``; a cosigner needs the ``timestamp`` (seconds since the epoch)."""
        kid = self.verifier.key_id
        if not self.cosigner:
            return NoteSignature(self.name, kid, self.key.sign(text.encode("utf-8")))
        if timestamp is None or timestamp < 0:
            raise ValueError("a cosignature needs a non-negative timestamp")
        sig = self.key.sign(cosignature_message(timestamp, text))
        return NoteSignature(self.name, kid, struct.pack(">Q", timestamp) + sig)


def verify_note(note: SignedNote, verifiers: Sequence[Verifier]) -> dict[str, int | None]:
    """Verify ``note`` against trusted keys; return ``{verifier name: timestamp}`` of those
    that signed it. Raises when a signature that names a trusted key is invalid, or when no
    trusted key signed it at all (c2sp.org/signed-note, "Verifying")."""
    verified: dict[str, int | None] = {}
    for sig in note.signatures:
        for v in verifiers:
            if v.matches(sig):
                verified[v.name] = v.verify(sig, note.text)
    if not verified:
        names = ", ".join(v.name for v in verifiers) or "(none)"
        raise VerificationError(f"no trusted key signed this note (trusted: {names})")
    return verified


BLOCK_LINE_PREFIX = "provenance-ledger/block "
"""Start of the one extension line this log signs in its checkpoints (specs/checkpoints.md
section 2.1)."""
_BLOCK_LINE = re.compile(
    r"provenance-ledger/block prev=(none|0|[1-9][0-9]{0,18}) "
    r"time=([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)")


@dataclass(frozen=True, slots=True)
class BlockLine:
    """The checkpoint extension line ``provenance-ledger/block prev=<P> time=<T>``: the size
    of the log's previous checkpoint (``None`` for its first) and the ledger clock when the
    block was committed. Signed with the checkpoint, it makes every checkpoint name the one
    before it, so a deleted history point, or an edited time, is evident
    (specs/checkpoints.md section 2.1)."""

    prev: int | None
    time: int

    def __post_init__(self) -> None:
        if self.prev is not None and not 0 <= self.prev <= MAX_TREE_SIZE:
            raise ValueError(f"previous checkpoint size {self.prev} out of range")
        format_time(self.time)  # 1970..9999, else ValueError

    def to_text(self) -> str:
        prev = "none" if self.prev is None else str(self.prev)
        return f"{BLOCK_LINE_PREFIX}prev={prev} time={format_time(self.time)}"

    @classmethod
    def from_text(cls, line: str) -> BlockLine:
        m = _BLOCK_LINE.fullmatch(line)
        if m is None:
            raise MalformedError(f"checkpoint extension line {quoted(line)} is not "
                                 "'provenance-ledger/block prev=<size|none> time=<UTC time>'")
        prev = None if m.group(1) == "none" else int(m.group(1))
        if prev is not None and prev > MAX_TREE_SIZE:
            raise MalformedError("previous checkpoint size is out of range")
        return cls(prev, parse_time(m.group(2), "checkpoint time"))


MAP_LINE_PREFIX = "provenance-ledger/map root="
"""Start of the checkpoint extension line that commits to the log's verifiable map at the
checkpoint's size (specs/map.md section 8)."""


def map_line(root: bytes) -> str:
    """The map line of a map root (specs/map.md section 8)."""
    return MAP_LINE_PREFIX + b64encode(root)


def parse_map_line(line: str) -> bytes:
    """The map root a map line names (specs/map.md section 8), or MalformedError."""
    if not line.startswith(MAP_LINE_PREFIX):
        raise MalformedError(f"checkpoint extension line {quoted(line)} is not "
                             "'provenance-ledger/map root=<base64>'")
    return b64decode(line[len(MAP_LINE_PREFIX):], "checkpoint map root", HASH_SIZE)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: origin, tree size, root hash, and the log's extension lines:
    its :class:`BlockLine` (specs/checkpoints.md section 2) and, once the log keeps its
    verifiable map, the map root at this size (specs/map.md section 8)."""

    origin: str
    size: int
    root: bytes
    block: BlockLine | None = None
    map_root: bytes | None = None

    def __post_init__(self) -> None:
        _check_key_name(self.origin)
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise ValueError(f"tree size {self.size} out of range")
        if len(self.root) != HASH_SIZE:
            raise ValueError("root hash must be 32 bytes")
        if self.block is not None and self.block.prev is not None and (
                self.block.prev >= self.size):
            raise ValueError(f"previous checkpoint size {self.block.prev} is not below the "
                             f"checkpoint's size {self.size}")
        if self.map_root is not None and (self.block is None or len(self.map_root) != HASH_SIZE):
            raise ValueError("a map root is 32 bytes, on a checkpoint with a block line")

    def to_text(self) -> str:
        text = f"{self.origin}\n{self.size}\n{b64encode(self.root)}\n"
        if self.block is not None:
            text += self.block.to_text() + "\n"
        if self.map_root is not None:
            text += map_line(self.map_root) + "\n"
        return text

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise MalformedError("checkpoint is not three newline-terminated lines")
        if len(lines) > 6:
            raise MalformedError("checkpoint has more than two extension lines; this log "
                                 "signs only its block line and its map line")
        origin, size_text, root_text = lines[:3]
        if not size_text.isdigit() or not size_text.isascii() or (
            size_text != "0" and size_text.startswith("0")
        ):
            raise MalformedError(f"checkpoint size {quoted(size_text, 42)} is not a decimal number")
        size = int(size_text)
        if size > MAX_TREE_SIZE:
            raise MalformedError("checkpoint size is out of range")
        _check_key_name(origin)
        root = b64decode(root_text, "checkpoint root", HASH_SIZE)
        block = BlockLine.from_text(lines[3]) if len(lines) >= 5 else None
        map_root = parse_map_line(lines[4]) if len(lines) == 6 else None
        if block is not None and block.prev is not None and block.prev >= size:
            raise MalformedError(f"checkpoint at size {size} names a previous checkpoint at "
                                 f"size {block.prev}, which is not below it")
        return cls(origin, size, root, block, map_root)

