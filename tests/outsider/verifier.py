"""An independent verifier of provenance-ledger decision receipts and state receipts v2.

Written from specs/ only (receipts.md 3, 11, 12; map.md 1-5; checkpoints.md 1-4, 6;
merkle.md 1-4; events.md 2-9; rules.md 1-3, 5, 7, 9), without reading the reference implementation.
Standard library plus `cryptography` (Ed25519, which applies the acceptance rule of
events.md section 3.1 through OpenSSL).

Subset: events `work.register`, `work.transfer`, `consent.grant`, `consent.revoke`,
`licence.offer`, `licence.accept`, `licence.terminate`, and in key records (events.md 6.13,
rules.md 7 and 9) `identity.attest`, `identity.revoke` and `key.*` signed by the key itself.
Anything else (datasets, payments, key events by recovery keys or an association) is refused
as `Unsupported`, never accepted unchecked. Every `decision.reason` is derived from the
templates of rules.md 5.2 (and the earlier words receipts.md 12.1 step 3 accepts) and compared
byte for byte; the citation forms and their separator are those of receipts.md 12.1.

Every deviation or choice made where the specs are silent is in FINDINGS.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Invalid(Exception):
    """The receipt does not verify (malformed or false)."""


class Unsupported(Invalid):
    """The receipt uses a part of the specs this verifier does not implement."""


# ---------------------------------------------------------------- constants (specs' limits)

MAX_CURRENT_RECEIPT_BYTES = 67108864  # receipts.md 8
MAX_CURRENT_WORKS = 10000
MAX_STATE_EVENTS = 10000
MAX_CURRENT_EVENTS = 100000
MAX_PROOF_HASHES = 64
MAX_PROOF_BYTES = 16777216  # map.md 6
MAX_PROOF_KEYS = 100000
MAX_LEAF_BYTES = 16384  # events.md 9
MAX_LIST_ITEMS = 64
MAX_SAFE_INTEGER = 2**53 - 1
MAX_NOTE_BYTES = 65536  # checkpoints.md 6
MAX_NOTE_SIGNATURES = 100
MAX_KEY_NAME_BYTES = 255
MAX_TREE_SIZE = 2**63 - 1
MAX_TIME = 253402300799

DECISION_FORMAT = "provenance-ledger/decision-receipt/v1"
STATE_V2_FORMAT = "provenance-ledger/state-receipt/v2"
DECISION_SCOPE = (
    "proves the answer of the rules to this question, computed from all of the work's events "
    "in the log up to the checkpoint's tree size (or from its absence there): no later event of "
    "the work exists up to that size; it proves nothing about events after that size"
)
STATE_V2_SCOPE = (
    "proves, for each work listed, either that the work was not registered on this log as of "
    "the checkpoint's tree size, or that these events, from its registration on, are all of its "
    "events in the log up to that tree size: no later event of the work exists up to that size; "
    "it proves nothing about events after that size"
)
EVENT_PREFIX = b"provenance-ledger/event/v1\n"  # events.md 7
KEY_RECORD_PREFIX = b"provenance-ledger/key-record/v1\n"  # events.md 6.13
KEY_RECORD_MARK = b"key!"
EMPTY = bytes(32)  # map.md 3

SUPPORTED_TYPES = {
    "work.register", "work.transfer", "consent.grant", "consent.revoke",
    "licence.offer", "licence.accept", "licence.terminate",
}
ALL_TYPES = SUPPORTED_TYPES | {
    "dataset.disclose", "usage.report", "payment.record", "payment.ack", "payment.dispute",
    "identity.attest", "identity.revoke", "key.rotate", "key.recovery", "key.compromised",
}
STANDARD_PURPOSES = {
    "ai_training", "ai_generative_training", "ai_inference", "data_mining", "ai_generation",
}
CUSTOM_PURPOSE = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[a-z0-9][a-z0-9_.-]*")
HEX64 = re.compile(r"[0-9a-f]{64}")
WORK_ID = re.compile(r"sha256:[0-9a-f]{64}")
ACTOR_KEY = re.compile(r"ed25519:[0-9a-f]{64}")
MEDIA_TYPE = re.compile(
    r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}"
)
TERMS_URI = re.compile(r"(https?://|urn:)[!-~]+")


# ---------------------------------------------------------------- JSON (receipts.md 2)

def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise Invalid(f"duplicate member {k!r}")
        out[k] = v
    return out


def _no_float(text: str) -> Any:
    raise Invalid(f"non-integer number {text}")


def _no_constant(text: str) -> Any:
    raise Invalid(f"not JSON: {text}")


def load_json(data: bytes) -> Any:
    """Parse JSON rejecting duplicate member names at any depth (receipts.md section 2)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid("not UTF-8") from e
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicates, parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as e:
        raise Invalid(f"not JSON: {e}") from e


def _members(
    obj: Any, what: str, required: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise Invalid(f"{what} is not an object")
    keys = set(obj)
    missing = required - keys
    if missing:
        raise Invalid(f"{what} lacks {sorted(missing)}")
    extra = keys - required - optional
    if extra:
        raise Invalid(f"{what} has unknown members {sorted(extra)}")
    return obj


def _str(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise Invalid(f"{what} is not a string")
    return v


def _int(v: Any, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise Invalid(f"{what} is not an integer")
    return v


# ---------------------------------------------------------------- canonical JSON (events.md 2)

def _canon_str(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20:
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            raise Invalid("unpaired surrogate")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(v: Any, depth: int = 0) -> str:
    """RFC 8785 for the subset of events.md 2.1, written out rule by rule (events.md 2.2)."""
    if depth > 16:
        raise Invalid("nested too deep")
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        if abs(v) > MAX_SAFE_INTEGER:
            raise Invalid("integer out of range")
        return str(v)
    if isinstance(v, str):
        return _canon_str(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical(x, depth + 1) for x in v) + "]"
    if isinstance(v, dict):
        for k in v:
            if not isinstance(k, str) or any(ord(c) > 0x7F for c in k):
                raise Invalid("non-ASCII object key")
        return "{" + ",".join(
            _canon_str(k) + ":" + canonical(v[k], depth + 1) for k in sorted(v)
        ) + "}"
    raise Invalid(f"value of type {type(v).__name__} is not in the JSON subset")


# ---------------------------------------------------------------- base64, time (events.md 2.3-2.4)

def b64(text: Any, length: int | None = None, what: str = "base64") -> bytes:
    if not isinstance(text, str):
        raise Invalid(f"{what} is not a string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise Invalid(f"{what}: bad base64") from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise Invalid(f"{what}: base64 not canonical")
    if length is not None and len(raw) != length:
        raise Invalid(f"{what}: {len(raw)} bytes, expected {length}")
    return raw


TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def parse_time(s: Any, what: str = "time") -> int:
    if not isinstance(s, str) or len(s) != 20 or not TIME_RE.fullmatch(s):
        raise Invalid(f"{what}: not a time")
    try:
        dt = datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as e:
        raise Invalid(f"{what}: not a valid date") from e
    t = int((dt - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    if not 0 <= t <= MAX_TIME:
        raise Invalid(f"{what}: out of range")
    return t


def fmt_time(t: int) -> str:
    dt = datetime.fromtimestamp(t, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- Ed25519 (events.md 3.1)

def ed25519_ok(pub: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def key_bytes(key: str) -> bytes:
    if not ACTOR_KEY.fullmatch(key):
        raise Invalid(f"bad actor key {key!r}")
    return bytes.fromhex(key[8:])


def key_record_id(key: str) -> str:
    """events.md 6.13."""
    digest = hashlib.sha512(KEY_RECORD_PREFIX + key.encode("ascii")).digest()[:28]
    return "sha256:" + (digest + KEY_RECORD_MARK).hex()


def is_key_record(work: str) -> bool:
    return bytes.fromhex(work[7:])[-4:] == KEY_RECORD_MARK


# ---------------------------------------------------------------- notes and vkeys (checkpoints.md)

_WHITESPACE = set(range(0x09, 0x0E)) | {0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F,
                                        0x205F, 0x3000} | set(range(0x2000, 0x200B))
_INVISIBLE = {0xAD, 0x180E, 0xFEFF} | set(range(0x200B, 0x2010)) | set(range(0x2060, 0x2065))


def _is_text_char(o: int) -> bool:
    """events.md 6, "text"."""
    return not (
        o <= 0x1F or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF or o in (0x2028, 0x2029)
        or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069
    )


def check_key_name(name: str) -> None:
    """checkpoints.md 1, key names."""
    n = len(name.encode("utf-8"))
    if not 1 <= n <= MAX_KEY_NAME_BYTES:
        raise Invalid("key name length")
    for ch in name:
        o = ord(ch)
        if ch == "+" or o in _WHITESPACE or o in _INVISIBLE or not _is_text_char(o):
            raise Invalid(f"key name has forbidden character U+{o:04X}")


@dataclass(frozen=True)
class VKey:
    name: str
    key_id: bytes
    type: int
    public: bytes
    text: str


def compute_key_id(name: str, typ: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([typ]) + public).digest()[:4]


def parse_vkey(text: str) -> VKey:
    """checkpoints.md 3."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise Invalid("vkey: not name+id+key")
    name, hid, k64 = parts
    check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hid):
        raise Invalid("vkey: key id not 8 lowercase hex")
    raw = b64(k64, 33, "vkey")
    typ, pub = raw[0], raw[1:]
    if typ not in (0x01, 0x04):
        raise Invalid("vkey: unsupported type")
    if compute_key_id(name, typ, pub) != bytes.fromhex(hid):
        raise Invalid("vkey: key id does not match")
    return VKey(name, bytes.fromhex(hid), typ, pub, text)


@dataclass(frozen=True)
class SigLine:
    name: str
    key_id: bytes
    sig: bytes


@dataclass(frozen=True)
class Note:
    text: str
    sigs: list[SigLine]


def parse_note(note: str) -> Note:
    """checkpoints.md 1."""
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise Invalid("note too large")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise Invalid("note has no empty line")
    text, block = note[: cut + 1], note[cut + 2:]
    for ch in text:
        o = ord(ch)
        if (o <= 0x1F and ch != "\n") or o == 0x7F:
            raise Invalid("note text has a control character")
    if not block.endswith("\n"):
        raise Invalid("signature block does not end with a newline")
    lines = block[:-1].split("\n")
    if not lines or len(lines) > MAX_NOTE_SIGNATURES:
        raise Invalid("bad number of signature lines")
    sigs = []
    for line in lines:
        if not line.startswith("\u2014 "):
            raise Invalid("signature line does not start with an em dash")
        rest = line[2:].split(" ")
        if len(rest) != 2:
            raise Invalid("signature line is not '— name base64'")
        name, s64 = rest
        check_key_name(name)
        raw = b64(s64, None, "signature")
        if len(raw) < 5:
            raise Invalid("signature too short")
        sigs.append(SigLine(name, raw[:4], raw[4:]))
    return Note(text, sigs)


def verify_note(note: Note, keys: list[VKey]) -> None:
    """checkpoints.md 1, verifying (type 0x01 keys only)."""
    verified = False
    msg = note.text.encode("utf-8")
    for line in note.sigs:
        for k in keys:
            if k.name == line.name and k.key_id == line.key_id:
                if len(line.sig) != 64 or not ed25519_ok(k.public, line.sig, msg):
                    raise Invalid("checkpoint: a signature by the log key does not verify")
                verified = True
    if not verified:
        raise Invalid("checkpoint: no signature by a trusted log key")


def cosignatures(
    note: Note, witnesses: list[tuple[str, VKey]], log_keys: list[VKey]
) -> dict[str, int]:
    """receipts.md 3 step 2 and checkpoints.md 4: {local name: newest valid timestamp}."""
    out: dict[str, int] = {}
    seen_pub: set[bytes] = {k.public for k in log_keys}
    counted_pub: set[bytes] = set()
    for local, w in witnesses:
        if w.public in seen_pub and w.public not in counted_pub:
            continue  # a witness holding the log's key counts for nothing
        if w.public in counted_pub:
            continue  # a key counts once, first in policy order
        counted_pub.add(w.public)
        for line in note.sigs:
            if line.name != w.name or line.key_id != w.key_id or len(line.sig) != 72:
                continue
            ts = int.from_bytes(line.sig[:8], "big")
            if ts > MAX_TIME:
                continue
            msg = b"cosignature/v1\ntime " + str(ts).encode() + b"\n" + note.text.encode("utf-8")
            if ed25519_ok(w.public, line.sig[8:], msg):
                out[local] = max(out.get(local, 0), ts)
    return out


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    block_prev: int | None
    block_time: int | None
    map_root: bytes | None


def _tree_size(s: str) -> int:
    if not re.fullmatch(r"0|[1-9][0-9]*", s):
        raise Invalid("checkpoint: bad tree size")
    n = int(s)
    if n > MAX_TREE_SIZE:
        raise Invalid("checkpoint: tree size too large")
    return n


def parse_checkpoint(text: str) -> Checkpoint:
    """checkpoints.md 2, 2.1; map.md 8."""
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise Invalid("checkpoint: fewer than three lines")
    if len(lines) > 5:
        raise Invalid("checkpoint: more than two extension lines")
    origin = lines[0]
    check_key_name(origin)
    size = _tree_size(lines[1])
    root = b64(lines[2], 32, "checkpoint root")
    prev = btime = None
    mroot = None
    if len(lines) >= 4:
        m = re.fullmatch(r"provenance-ledger/block prev=(none|0|[1-9][0-9]*) time=(\S+)", lines[3])
        if not m:
            raise Invalid("checkpoint: first extension line is not a block line")
        if m.group(1) != "none":
            prev = _tree_size(m.group(1))
            if prev >= size:
                raise Invalid("checkpoint: block prev not smaller than the size")
        btime = parse_time(m.group(2), "block time")
    if len(lines) == 5:
        if not lines[4].startswith("provenance-ledger/map root="):
            raise Invalid("checkpoint: second extension line is not a map line")
        mroot = b64(lines[4][len("provenance-ledger/map root="):], 32, "map root")
    return Checkpoint(origin, size, root, prev, btime, mroot)


# ---------------------------------------------------------------- RFC 9162 (merkle.md 1-2)

def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def verify_inclusion(m: int, n: int, lh: bytes, proof: list[bytes], root: bytes) -> bool:
    if not 0 <= m < n or len(lh) != 32 or len(root) != 32 or any(len(p) != 32 for p in proof):
        return False
    fn, sn, r = m, n - 1, lh
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# ---------------------------------------------------------------- verifiable map (map.md 1-5)

def _bit(key: bytes, i: int) -> int:
    return (key[i // 8] >> (7 - i % 8)) & 1


def _prefix_eq(a: bytes, b: bytes, t: int) -> bool:
    return all(_bit(a, i) == _bit(b, i) for i in range(t))


def map_leaf(key: bytes, value: bytes) -> bytes:
    return hashlib.sha256(b"\x02" + key + value).digest()


def map_node(d: int, left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x03" + bytes([d]) + left + right).digest()


@dataclass(frozen=True)
class MapValue:
    head: bytes
    count: int
    index: int


def _value(raw: bytes) -> MapValue:
    v = MapValue(raw[:32], int.from_bytes(raw[32:40], "big"), int.from_bytes(raw[40:48], "big"))
    if not (1 <= v.count <= v.index + 1 and v.index <= 2**63 - 2):
        raise Invalid("map proof: invalid value")
    return v


def verify_map_proof(root: bytes, keys: list[bytes], proof: bytes) -> dict[bytes, MapValue | None]:
    """map.md 5. Returns each key's value, or None for absent."""
    if len(proof) > MAX_PROOF_BYTES:
        raise Invalid("map proof too large")
    if not keys or len(set(keys)) != len(keys) or any(len(k) != 32 for k in keys):
        raise Invalid("map proof: bad key list")
    if len(proof) < 4:
        raise Invalid("map proof: truncated header")
    count = int.from_bytes(proof[:4], "big")
    if count != len(keys) or count > MAX_PROOF_KEYS:
        raise Invalid("map proof: count does not match the keys")
    keys = sorted(keys)
    pos = 4
    results: dict[bytes, MapValue | None] = {}
    term: dict[bytes, tuple[int, bytes, bool]] = {}  # key -> (t, terminal hash, is leaf)
    for k in keys:
        if pos + 3 > len(proof):
            raise Invalid("map proof: truncated result")
        kind = proof[pos]
        t = int.from_bytes(proof[pos + 1:pos + 3], "big")
        pos += 3
        if kind not in (1, 2, 3) or t > 256:
            raise Invalid("map proof: bad result kind or depth")
        if kind == 1:
            if pos + 48 > len(proof):
                raise Invalid("map proof: truncated value")
            v = _value(proof[pos:pos + 48])
            term[k] = (t, map_leaf(k, proof[pos:pos + 48]), True)
            results[k] = v
            pos += 48
        elif kind == 2:
            if pos + 80 > len(proof):
                raise Invalid("map proof: truncated other leaf")
            other, raw = proof[pos:pos + 32], proof[pos + 32:pos + 80]
            _value(raw)
            if other == k or not _prefix_eq(other, k, t):
                raise Invalid("map proof: other leaf does not share the key's prefix")
            term[k] = (t, map_leaf(other, raw), True)
            results[k] = None
            pos += 80
        else:
            term[k] = (t, EMPTY, False)
            results[k] = None

    # Step 3: shape, counting siblings.
    def shape(ks: list[bytes], d: int) -> int:
        ended = [k for k in ks if term[k][0] == d]
        if ended:
            if len(ended) != len(ks) or len({term[k][1] for k in ks}) != 1:
                raise Invalid("map proof: keys end at one depth with different terminals")
            return 0
        if d >= 256:
            raise Invalid("map proof: no terminal by depth 256")
        left = [k for k in ks if _bit(k, d) == 0]
        right = [k for k in ks if _bit(k, d) == 1]
        s = 0
        for part in (left, right):
            s += shape(part, d + 1) if part else 1
        return s

    s = shape(keys, 0)
    nbm = (s + 7) // 8
    if pos + nbm > len(proof):
        raise Invalid("map proof: truncated bitmap")
    bitmap = proof[pos:pos + nbm]
    pos += nbm
    if s % 8 and bitmap[-1] & ((1 << (8 - s % 8)) - 1):
        raise Invalid("map proof: bitmap padding bits are not zero")
    ones = sum(bin(b).count("1") for b in bitmap)
    if len(proof) - pos != 32 * ones:
        raise Invalid("map proof: hash list length does not match the bitmap")
    hashes = [proof[pos + 32 * i:pos + 32 * (i + 1)] for i in range(ones)]
    state = {"sib": 0, "hash": 0}

    # Step 5: hash up. Returns (hash, kind) with kind "empty", "leaf" or "node"/"sibling".
    def hash_up(ks: list[bytes], d: int) -> tuple[bytes, str]:
        t, h, is_leaf = term[ks[0]]
        if t == d:
            return h, ("leaf" if is_leaf else "empty")
        left = [k for k in ks if _bit(k, d) == 0]
        right = [k for k in ks if _bit(k, d) == 1]
        kids: list[tuple[bytes, str]] = []
        for part in (left, right):
            if part:
                kids.append(hash_up(part, d + 1))
            else:
                i = state["sib"]
                state["sib"] += 1
                if (bitmap[i // 8] >> (7 - i % 8)) & 1:
                    kids.append((hashes[state["hash"]], "sibling"))
                    state["hash"] += 1
                else:
                    kids.append((EMPTY, "empty"))
        kinds = [k for _, k in kids]
        if kinds.count("empty") == 2 or (kinds.count("empty") == 1 and "leaf" in kinds):
            raise Invalid("map proof: an inner node the map never has")
        return map_node(d, kids[0][0], kids[1][0]), "node"

    got, _ = hash_up(keys, 0)
    if got != root:
        raise Invalid("map proof: root does not match the checkpoint's map root")
    return results


# ---------------------------------------------------------------- events (events.md 5-8)

def _text(v: Any, n: int, what: str, pattern: re.Pattern[str] | None = None) -> str:
    s = _str(v, what)
    if not 1 <= len(s) <= n or not all(_is_text_char(ord(c)) for c in s):
        raise Invalid(f"{what}: not string({n})")
    if pattern is not None and not pattern.fullmatch(s):
        raise Invalid(f"{what}: does not match its pattern")
    return s


def _uint(v: Any, m: int, what: str) -> int:
    i = _int(v, what)
    if not 0 <= i <= m:
        raise Invalid(f"{what}: out of range")
    return i


def _list(v: Any, what: str, item: Any) -> list[Any]:
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_LIST_ITEMS:
        raise Invalid(f"{what}: not a list of 1 to 64 items")
    for x in v:
        item(x)
    if len({canonical(x) for x in v}) != len(v):
        raise Invalid(f"{what}: repeated item")
    return v


def _purpose(v: Any) -> None:
    s = _str(v, "purpose")
    if not 1 <= len(s) <= 64 or not (s in STANDARD_PURPOSES or CUSTOM_PURPOSE.fullmatch(s)):
        raise Invalid(f"bad purpose {s!r}")


def _key(v: Any, what: str = "key") -> str:
    s = _str(v, what)
    key_bytes(s)
    return s


def _event_id(v: Any, what: str) -> str:
    s = _str(v, what)
    if not HEX64.fullmatch(s):
        raise Invalid(f"{what}: not an event id")
    return s


def _payees(v: Any) -> None:
    def item(x: Any) -> None:
        _members(x, "payee", {"key", "share_bps"})
        _key(x["key"])
        _uint(x["share_bps"], 10000, "share_bps")
    _list(v, "payees", item)
    if len({x["key"] for x in v}) != len(v) or sum(x["share_bps"] for x in v) != 10000:
        raise Invalid("payees: repeated key or shares not summing to 10000")


def check_body(typ: str, body: Any) -> None:
    """events.md 6 for the supported types."""
    if typ == "work.register":
        _members(body, "body", {"size", "media_type"}, {"title", "similarity", "payees"})
        _uint(body["size"], MAX_SAFE_INTEGER, "size")
        _text(body["media_type"], 127, "media_type", MEDIA_TYPE)
        if "title" in body:
            _text(body["title"], 256, "title")
        if "similarity" in body:
            _text(body["similarity"], 256, "similarity")
        if "payees" in body:
            _payees(body["payees"])
    elif typ == "work.transfer":
        _members(body, "body", {"to"}, {"payees"})
        _key(body["to"], "to")
        if "payees" in body:
            _payees(body["payees"])
    elif typ == "consent.grant":
        _members(body, "body", {"grantee", "purposes"}, {"until", "conditions"})
        if body["grantee"] != "*":
            _key(body["grantee"], "grantee")
        _list(body["purposes"], "purposes", _purpose)
        if "until" in body:
            parse_time(body["until"], "until")
        if "conditions" in body:
            def cond(x: Any) -> None:
                if x not in ("attribution", "payment-required"):
                    raise Invalid("bad condition")
            _list(body["conditions"], "conditions", cond)
    elif typ == "consent.revoke":
        _members(body, "body", {"grant"})
        _event_id(body["grant"], "grant")
    elif typ == "licence.offer":
        _members(body, "body", {"licensee", "purposes"},
                 {"fee", "royalty_bps", "territories", "from", "until", "terms_uri",
                  "offer_expires"})
        _key(body["licensee"], "licensee")
        _list(body["purposes"], "purposes", _purpose)
        if "fee" in body:
            _members(body["fee"], "fee", {"amount", "currency"})
            _uint(body["fee"]["amount"], MAX_SAFE_INTEGER, "amount")
            _text(body["fee"]["currency"], 3, "currency", re.compile(r"[A-Z]{3}"))
        if "royalty_bps" in body:
            _uint(body["royalty_bps"], 10000, "royalty_bps")
        if "territories" in body:
            _list(body["territories"], "territories",
                  lambda x: _text(x, 2, "territory", re.compile(r"[A-Z]{2}")))
        for t in ("from", "until", "offer_expires"):
            if t in body:
                parse_time(body[t], t)
        if "terms_uri" in body:
            _text(body["terms_uri"], 2048, "terms_uri", TERMS_URI)
    elif typ == "licence.accept":
        _members(body, "body", {"offer"})
        _event_id(body["offer"], "offer")
    elif typ == "licence.terminate":
        _members(body, "body", {"licence"}, {"reason"})
        _event_id(body["licence"], "licence")
        if "reason" in body:
            _text(body["reason"], 1024, "reason")
    elif typ == "identity.attest":
        _members(body, "body", {"key", "name"}, {"url", "registry_id", "member", "from", "until"})
        _key(body["key"])
        _text(body["name"], 256, "name")
        if "url" in body:
            _text(body["url"], 2048, "url", TERMS_URI)
        if "registry_id" in body:
            _text(body["registry_id"], 256, "registry_id")
        if "member" in body:
            _text(body["member"], 64, "member")
        for t in ("from", "until"):
            if t in body:
                parse_time(body[t], t)
    elif typ == "identity.revoke":
        _members(body, "body", {"key", "attestation"}, {"reason"})
        _key(body["key"])
        _event_id(body["attestation"], "attestation")
        if "reason" in body:
            _text(body["reason"], 1024, "reason")
    elif typ in ("key.rotate", "key.compromised"):
        if typ == "key.rotate":
            _members(body, "body", {"key", "to", "to_sig"}, {"cosigs"})
            _key(body["to"], "to")
            b64(body["to_sig"], 64, "to_sig")
        else:
            _members(body, "body", {"key", "since"}, {"cosigs"})
            parse_time(body["since"], "since")
        _key(body["key"])
        if "cosigs" in body:
            def cosig(x: Any) -> None:
                _members(x, "cosig", {"key", "sig"})
                _key(x["key"])
                b64(x["sig"], 64, "cosig sig")
            _list(body["cosigs"], "cosigs", cosig)
    elif typ == "key.recovery":
        _members(body, "body", {"key"}, {"keys", "threshold", "association"})
        _key(body["key"])
        if "keys" in body:
            _list(body["keys"], "keys", _key)
            if "threshold" not in body:
                raise Invalid("keys without threshold")
            _uint(body["threshold"], 64, "threshold")
        elif "threshold" in body:
            raise Invalid("threshold without keys")
        if "association" in body:
            _key(body["association"], "association")
        if "keys" not in body and "association" not in body:
            raise Invalid("key.recovery names neither keys nor an association")
    else:
        raise Unsupported(f"event type {typ} is not implemented by this verifier")


@dataclass(frozen=True)
class Event:
    id: str
    leaf: bytes
    env: dict[str, Any]
    sig: str

    @property
    def type(self) -> str:
        return str(self.env["type"])

    @property
    def at(self) -> int:
        return parse_time(self.env["at"])

    def decoded(self) -> dict[str, Any]:
        """receipts.md 2: the envelope plus `id` and `sig`."""
        return {"id": self.id, **self.env, "sig": self.sig}


def parse_leaf(leaf: bytes) -> Event:
    """events.md 7 steps 1-5."""
    if len(leaf) > MAX_LEAF_BYTES:
        raise Invalid("leaf too long")
    obj = load_json(leaf)
    if canonical(obj).encode("utf-8") != leaf:
        raise Invalid("leaf is not canonical JSON")
    _members(obj, "leaf", {"event", "sig"})
    sig = b64(obj["sig"], 64, "sig")
    env = _members(obj["event"], "envelope", {"v", "type", "work", "prev", "actor", "at", "body"})
    if _int(env["v"], "v") != 1:
        raise Invalid("envelope v is not 1")
    typ = _str(env["type"], "type")
    if typ not in ALL_TYPES:
        raise Invalid(f"unknown event type {typ}")
    if not WORK_ID.fullmatch(_str(env["work"], "work")):
        raise Invalid("bad work id")
    if env["prev"] is not None:
        _event_id(env["prev"], "prev")
    actor = key_bytes(_str(env["actor"], "actor"))
    parse_time(env["at"], "at")
    if not isinstance(env["body"], dict):
        raise Invalid("body is not an object")
    check_body(typ, env["body"])
    start = len(b'{"event":')
    end = leaf.rfind(b',"sig":')
    if not leaf.startswith(b'{"event":') or end < start:
        raise Invalid("leaf layout")
    if not ed25519_ok(actor, sig, EVENT_PREFIX + leaf[start:end]):
        raise Invalid("event signature does not verify")
    return Event(leaf_hash(leaf).hex(), leaf, env, obj["sig"])


# ---------------------------------------------------------------- rules (rules.md 1, 3, 5)

@dataclass(frozen=True)
class Grant:
    id: str
    grantee: str
    purposes: tuple[str, ...]
    at: int
    until: int | None
    conditions: tuple[str, ...]
    revoked_by: str | None = None
    revoked_at: int | None = None

    def in_force(self, t: int) -> bool:
        return self.at <= t and (self.until is None or t < self.until) and (
            self.revoked_at is None or t < self.revoked_at)


@dataclass(frozen=True)
class Licence:
    id: str
    licensee: str
    purposes: tuple[str, ...]
    offered_at: int
    terms: dict[str, Any]
    start: int | None
    until: int | None
    offer_expires: int | None
    accepted_by: str | None = None
    accepted_at: int | None = None
    terminated_by: str | None = None
    terminated_at: int | None = None

    def in_force(self, t: int) -> bool:
        return (self.accepted_at is not None and self.accepted_at <= t
                and (self.start is None or self.start <= t)
                and (self.until is None or t < self.until)
                and (self.terminated_at is None or t < self.terminated_at))

    def open_offer(self, t: int) -> bool:
        return (self.accepted_at is None and self.terminated_at is None
                and (self.offer_expires is None or t < self.offer_expires)
                and (self.until is None or t < self.until))

    def terminable(self, t: int) -> bool:
        return (self.terminated_at is None and (self.until is None or t < self.until)
                and (self.accepted_at is not None or self.open_offer(t)))


@dataclass(frozen=True)
class State:
    work: str
    registration: str
    registrant: str
    registered_at: int
    controllers: tuple[tuple[str, int], ...]
    head: str
    last_at: int
    events: int
    content: dict[str, Any]
    payees: tuple[tuple[str, int], ...]
    grants: tuple[Grant, ...] = ()
    licences: tuple[Licence, ...] = ()

    @property
    def controller(self) -> str:
        return self.controllers[-1][0]

    def controller_at(self, t: int) -> str | None:
        out = None
        for k, since in self.controllers:
            if since <= t:
                out = k
        return out

    def to_json(self) -> dict[str, Any]:
        """receipts.md 5.1."""
        payees = ([{"key": k, "share_bps": s} for k, s in self.payees]
                  or [{"key": self.controller, "share_bps": 10000}])
        opt = fmt_time

        def ot(t: int | None) -> str | None:
            return None if t is None else opt(t)
        return {
            "work": self.work, "registration": self.registration,
            "registrant": self.registrant, "registered_at": fmt_time(self.registered_at),
            "controller": self.controller, "payees": payees, "head": self.head,
            "events": self.events, "content": dict(self.content),
            "grants": [{
                "id": g.id, "grantee": g.grantee, "purposes": list(g.purposes),
                "granted_at": fmt_time(g.at), "until": ot(g.until),
                "conditions": list(g.conditions), "revoked_by": g.revoked_by,
                "revoked_at": ot(g.revoked_at)} for g in self.grants],
            "licences": [{
                "id": lc.id, "licensee": lc.licensee, "purposes": list(lc.purposes),
                "offered_at": fmt_time(lc.offered_at), "terms": dict(lc.terms),
                "from": ot(lc.start), "until": ot(lc.until),
                "offer_expires": ot(lc.offer_expires), "accepted_by": lc.accepted_by,
                "accepted_at": ot(lc.accepted_at), "terminated_by": lc.terminated_by,
                "terminated_at": ot(lc.terminated_at)} for lc in self.licences],
        }


KEY_STATEMENT_PREFIX = b"provenance-ledger/key-statement/v1\n"  # events.md 6.16


@dataclass(frozen=True)
class Rotation:
    id: str
    to: str
    at: int
    by: str


@dataclass(frozen=True)
class Attestation:
    id: str
    attester: str
    body: dict[str, Any]
    at: int
    revoked_by: str | None = None
    revoked_at: int | None = None


@dataclass(frozen=True)
class KeyState:
    """rules.md 7 and 9: the state of one key's record."""

    record: str
    key: str
    registration: str
    registrant: str
    registered_at: int
    head: str
    last_at: int
    events: int
    attestations: tuple[Attestation, ...] = ()
    recoveries: tuple[dict[str, Any], ...] = ()
    rotations: tuple[Rotation, ...] = ()
    compromised_since: int | None = None
    compromised_by: str | None = None

    def compromised_at(self, t: int) -> bool:
        return self.compromised_since is not None and self.compromised_since <= t

    def counting_rotation(self) -> Rotation | None:
        """rules.md 9: a rotation counts unless K was compromised when K signed what
        authorised it (only `by` = `key` is implemented)."""
        for r in self.rotations:
            if r.by != "key":
                raise Unsupported("rotations by recovery keys or an association")
            if not self.compromised_at(r.at):
                return r
        return None

    def to_json(self) -> dict[str, Any]:
        """receipts.md 5.1 plus rules.md 7's `identity` and rules.md 9's fields; where they
        go and how they are spelt is not in the specs (FINDINGS.md F15)."""
        def ot(t: int | None) -> str | None:
            return None if t is None else fmt_time(t)
        return {
            "work": self.record, "registration": self.registration,
            "registrant": self.registrant, "registered_at": fmt_time(self.registered_at),
            "controller": self.key, "payees": [{"key": self.key, "share_bps": 10000}],
            "head": self.head, "events": self.events, "content": {}, "grants": [],
            "licences": [],
            "identity": {
                "key": self.key,
                "attestations": [{
                    "id": a.id, "attester": a.attester, "name": a.body["name"],
                    "url": a.body.get("url"), "registry_id": a.body.get("registry_id"),
                    "member": a.body.get("member"), "attested_at": fmt_time(a.at),
                    "from": a.body.get("from"), "until": a.body.get("until"),
                    "revoked_by": a.revoked_by, "revoked_at": ot(a.revoked_at),
                } for a in self.attestations],
                "recoveries": list(self.recoveries),
                "rotations": [{"id": r.id, "to": r.to, "at": fmt_time(r.at), "by": r.by}
                              for r in self.rotations],
                "compromised_since": ot(self.compromised_since),
                "compromised_by": self.compromised_by,
            },
        }


def _key_statement(env: dict[str, Any]) -> bytes:
    body = {k: v for k, v in env["body"].items() if k not in ("to_sig", "cosigs")}
    return KEY_STATEMENT_PREFIX + canonical({**env, "body": body}).encode("utf-8")


def apply_key(ks: KeyState | None, ev: Event) -> KeyState:
    """rules.md 7 (R17, R18) and 9 (R19-R21), for keys that sign for themselves."""
    env, body, at = ev.env, ev.env["body"], ev.at
    if not (ev.type.startswith("identity.") or ev.type.startswith("key.")):
        raise Refused("rule error: R17, not an identity or key event under a key record id")
    if env["work"] != key_record_id(body["key"]):
        raise Refused("rule error: the work is not the key record id of body.key")
    if ks is None:
        if env["prev"] is not None:
            raise Refused("rule error: first event of a record with a prev")
        ks = KeyState(env["work"], body["key"], ev.id, env["actor"], at, ev.id, at, 0)
    else:
        if env["prev"] != ks.head:
            raise Refused("conflict: prev is not the record's head")
        if at < ks.last_at:
            raise Refused("rule error: time goes backwards")
    s = replace(ks, head=ev.id, last_at=at, events=ks.events + 1)
    key, actor = body["key"], env["actor"]
    if ev.type == "identity.attest":  # R17
        if actor == key:
            raise Refused("rule error: a key attesting itself")
        frm = parse_time(body["from"]) if "from" in body else None
        if "until" in body:
            until = parse_time(body["until"])
            if until <= at or (frm is not None and until <= frm):
                raise Refused("rule error: attestation ends too early")
        return replace(s, attestations=ks.attestations + (Attestation(ev.id, actor, body, at),))
    if ev.type == "identity.revoke":  # R18
        idx = [i for i, a in enumerate(ks.attestations) if a.id == body["attestation"]]
        if not idx or ks.attestations[idx[0]].attester != actor \
                or ks.attestations[idx[0]].revoked_by is not None:
            raise Refused("rule error: R18")
        atts = list(ks.attestations)
        atts[idx[0]] = replace(atts[idx[0]], revoked_by=ev.id, revoked_at=at)
        return replace(s, attestations=tuple(atts))
    if actor != key or "cosigs" in body:
        raise Unsupported("key events signed by recovery keys or an association")
    if ev.type == "key.rotate":  # R19
        if ks.counting_rotation() is not None or body["to"] == key:
            raise Refused("rule error: R19")
        if not ed25519_ok(key_bytes(body["to"]), b64(body["to_sig"], 64), _key_statement(env)):
            raise Refused("rule error: R19, to_sig does not verify")
        return replace(s, rotations=ks.rotations + (Rotation(ev.id, body["to"], at, "key"),))
    if ev.type == "key.recovery":  # R20
        if ks.counting_rotation() is not None:
            raise Refused("rule error: R20, the key was rotated")
        keys = body.get("keys", [])
        if keys and not 1 <= body["threshold"] <= len(keys):
            raise Refused("rule error: R20, threshold")
        if key in keys or body.get("association") == key:
            raise Refused("rule error: R20, the key among its own recovery keys")
        rec = {"id": ev.id, "keys": body.get("keys"), "threshold": body.get("threshold"),
               "association": body.get("association"), "at": fmt_time(at)}
        return replace(s, recoveries=ks.recoveries + (rec,))
    # key.compromised, R21
    since = parse_time(body["since"])
    if since > at:
        raise Refused("rule error: R21, since after at")
    if ks.compromised_since is not None and since >= ks.compromised_since:
        raise Refused("rule error: R21, a later declaration only moves since earlier")
    r = ks.counting_rotation()
    if r is not None and r.at >= since:
        raise Refused("rule error: R21, only recovery keys may undo a rotation")
    return replace(s, compromised_since=since, compromised_by=ev.id)


class Keys:
    """The key records a receipt lists: `None` for a record proven absent."""

    def __init__(self, records: dict[str, KeyState | None] | None) -> None:
        self.records = records

    def record(self, key: str) -> KeyState | None:
        if self.records is None:
            return None
        rid = key_record_id(key)
        if rid not in self.records:
            raise Invalid(f"the key record of {key}, which the answer relies on, is missing")
        return self.records[rid]

    def holder(self, key: str, t: int) -> str:
        """rules.md 9, Holder: followed at most 64 times; a cycle stops at the key met
        again (FINDINGS.md F15: that key is taken as the holder)."""
        if self.records is None:
            return key
        seen = {key}
        for _ in range(64):
            ks = self.record(key)
            r = ks.counting_rotation() if ks else None
            if r is None or r.at > t:
                return key
            key = r.to
            if key in seen:
                return key
            seen.add(key)
        return key

    def reachable(self, key: str) -> set[str]:
        out, todo = {key}, [key]
        if self.records is None:
            return out
        while todo:
            ks = self.record(todo.pop())
            for r in ks.rotations if ks else ():
                if r.to not in out:
                    out.add(r.to)
                    todo.append(r.to)
        return out

    def compromised(self, key: str, t: int) -> bool:
        if self.records is None:
            return False
        ks = self.record(key)
        return ks is not None and ks.compromised_at(t)


class Refused(Invalid):
    """rules.md 3: apply refused an event (conflict or rule error)."""


def apply(state: State | None, ev: Event, keys: Keys | None = None) -> State:
    """rules.md 3, R1-R11 in the order given there; with key records, a role accepts any
    key reachable from it (rules.md 9, Roles)."""
    keys = keys or Keys(None)
    env, body, at = ev.env, ev.env["body"], ev.at
    if is_key_record(env["work"]):
        raise Unsupported("key record events are not implemented by this verifier")
    if ev.type == "work.register":  # R1
        if state is not None:
            raise Refused("conflict: already registered")
        if env["prev"] is not None:
            raise Refused("rule error: registration with a prev")
        content = {k: body[k] for k in ("size", "media_type", "title", "similarity") if k in body}
        payees = tuple((p["key"], p["share_bps"]) for p in body.get("payees", []))
        return State(env["work"], ev.id, env["actor"], at, ((env["actor"], at),), ev.id, at, 1,
                     content, payees)
    if state is None:  # R2
        raise Refused("rule error: not registered")
    if env["prev"] != state.head:  # R3
        raise Refused("conflict: prev is not the head")
    if at < state.last_at:  # R4
        raise Refused("rule error: time goes backwards")
    if ev.type != "licence.accept" and env["actor"] not in keys.reachable(state.controller):
        raise Refused("rule error: not signed by the controller")
    s = replace(state, head=ev.id, last_at=at, events=state.events + 1)
    if ev.type == "work.transfer":  # R6
        if body["to"] == state.controller:
            raise Refused("rule error: transfer to the controller")
        payees = tuple((p["key"], p["share_bps"]) for p in body.get("payees", []))
        return replace(s, controllers=state.controllers + ((body["to"], at),), payees=payees)
    if ev.type == "consent.grant":  # R7
        until = parse_time(body["until"]) if "until" in body else None
        if until is not None and until <= at:
            raise Refused("rule error: grant ends before it starts")
        g = Grant(ev.id, body["grantee"], tuple(body["purposes"]), at, until,
                  tuple(body.get("conditions", [])))
        return replace(s, grants=state.grants + (g,))
    if ev.type == "consent.revoke":  # R8
        idx = [i for i, g in enumerate(state.grants) if g.id == body["grant"]]
        if not idx:
            raise Refused("rule error: no such grant")
        g = state.grants[idx[0]]
        if not g.in_force(at):
            raise Refused("rule error: grant not in force")
        grants = list(state.grants)
        grants[idx[0]] = replace(g, revoked_by=ev.id, revoked_at=at)
        return replace(s, grants=tuple(grants))
    if ev.type == "licence.offer":  # R9
        frm = parse_time(body["from"]) if "from" in body else None
        until = parse_time(body["until"]) if "until" in body else None
        exp = parse_time(body["offer_expires"]) if "offer_expires" in body else None
        if until is not None and (until <= at or (frm is not None and until <= frm)):
            raise Refused("rule error: licence ends too early")
        if exp is not None and exp <= at:
            raise Refused("rule error: offer expires before it is made")
        terms = {k: body[k] for k in ("fee", "royalty_bps", "territories", "terms_uri")
                 if k in body}
        lc = Licence(ev.id, body["licensee"], tuple(body["purposes"]), at, terms, frm, until, exp)
        return replace(s, licences=state.licences + (lc,))
    if ev.type in ("licence.accept", "licence.terminate"):  # R10, R11
        ref = body["offer"] if ev.type == "licence.accept" else body["licence"]
        idx = [i for i, lc in enumerate(state.licences) if lc.id == ref]
        if not idx:
            raise Refused("rule error: no such licence")
        lc = state.licences[idx[0]]
        if ev.type == "licence.accept":
            if env["actor"] not in keys.reachable(lc.licensee):
                raise Refused("rule error: not the licensee")
            if not lc.open_offer(at):
                raise Refused("rule error: not an open offer")
            lc = replace(lc, accepted_by=ev.id, accepted_at=at)
        else:
            if not lc.terminable(at):
                raise Refused("rule error: licence not terminable")
            lc = replace(lc, terminated_by=ev.id, terminated_at=at)
        lics = list(state.licences)
        lics[idx[0]] = lc
        return replace(s, licences=tuple(lics))
    raise Unsupported(f"event type {ev.type} is not implemented by this verifier")


def covers(granted: str, purpose: str) -> bool:
    """events.md 4, COVERS."""
    return purpose == granted or (granted == "ai_training" and purpose == "ai_generative_training")


@dataclass
class Answer:
    allowed: bool
    events: list[str]
    conditions: list[str]
    citing: list[str] = field(default_factory=list)
    step: str = ""
    reason: str = ""

    def decision(self) -> dict[str, Any]:
        """The `decision` member a receipt carries (receipts.md 12.1 step 3)."""
        return {"allowed": self.allowed, "reason": self.reason, "events": self.events,
                "conditions": self.conditions}


def effective(events: list[Event], keys: Keys) -> State | None:
    """rules.md 9 R22: the replay, in log order, of the events whose signatures count. One
    whose signature does not count is skipped (a registration signed when its actor was
    compromised too, FINDINGS.md F21), and so is one the rules refuse on the state kept (it
    builds on a skipped one); the event after a skipped one is read as building on the state
    kept (FINDINGS.md F22). Before anything is skipped a refusal is the log's own: raised."""
    st: State | None = None
    skipped: str | None = None  # the id of the event before, when it was skipped
    any_skipped = False
    for ev in events:
        actor, at = ev.env["actor"], ev.at
        base = st
        if base is not None and skipped is not None and ev.env["prev"] == skipped:
            base = replace(base, head=skipped)
        if base is None:
            counts = not keys.compromised(actor, at)
        else:
            if ev.type == "licence.accept":
                role = next((lc.licensee for lc in base.licences
                             if lc.id == ev.env["body"]["offer"]), None)
            else:
                role = base.controller
            counts = not keys.compromised(actor, at) and (
                role is None or keys.holder(role, at) == actor)
        if counts:
            try:
                st, skipped = apply(base, ev, keys), None
                continue
            except Refused:
                if not any_skipped:
                    raise
        skipped, any_skipped = ev.id, True
    return st


def _for(purposes: tuple[str, ...], purpose: str) -> str:
    """rules.md 5.2, `<for>`: `<P>` when the purposes name it, else `<G>, which covers <P>`
    with `<G>` the first purpose (in the event's order) that covers `<P>`."""
    if purpose in purposes:
        return purpose
    first = next(p for p in purposes if covers(p, purpose))
    return f"{first}, which covers {purpose}"


# rules.md 5.2, the reasons of steps 1, 2, 5 and 6 (nothing cited).
REASON_NOT_REGISTERED = "the work is not registered on this ledger"
REASON_NOT_YET = "the work was not registered yet at that time"
REASON_CONTROLLER = "this key controls the work"


def _refusal_reason(purpose: str, t: int, rotated_away: str | None, made_to: list[str],
                    anything_cited: bool) -> str:
    """rules.md 5.2, the rows of step 6, read top to bottom (FINDINGS.md F19)."""
    if not anything_cited:
        return f"no consent or licence for {purpose}: not allowed by default"
    if rotated_away is not None:
        return (f"no consent or licence for {purpose} is in force for this key at "
                f"{fmt_time(t)}: this key was rotated away, and {rotated_away} holds its "
                "consents and licences at that time")
    lapsed = (f"no consent or licence for {purpose} is in force at {fmt_time(t)} (all were "
              "revoked, ended or not yet accepted")
    if made_to:
        return (f"{lapsed}, including those made to {' and '.join(made_to)}, whose consents "
                "and licences this key holds at that time)")
    return lapsed + ")"


def may(state: State | None, key: str, purpose: str, t: int, keys: Keys | None = None,
        earlier_citations: bool = False) -> Answer:
    """rules.md 5 steps 1-6 (with holders, rules.md 9); reasons as rules.md 5.2, citations as
    receipts.md 12.1. `earlier_citations`: step 6 as it was before it cited what names a key
    rotated to `key` (receipts.md 12.1 step 3, "Earlier citations")."""
    keys = keys or Keys(None)
    if state is None:
        return Answer(False, [], [], [], "not registered", REASON_NOT_REGISTERED)
    if t < state.registered_at:
        return Answer(False, [], [], [], "before registration", REASON_NOT_YET)
    for g in state.grants:
        if (g.grantee == "*" or keys.holder(g.grantee, t) == key) \
                and any(covers(p, purpose) for p in g.purposes) and g.in_force(t):
            cite = f"consent grant {g.id}"
            if g.revoked_at is not None:
                cite += (f", revoked by {g.revoked_by} at {fmt_time(g.revoked_at)}, "
                         "after the time asked")
            elif g.until is not None:
                cite += f", which ends at {fmt_time(g.until)}"
            who = "anyone" if g.grantee == "*" else "this key"
            reason = f"consent granted to {who} for {_for(g.purposes, purpose)}"
            return Answer(True, [g.id], list(g.conditions), [cite], "grant", reason)
    for lc in state.licences:
        if keys.holder(lc.licensee, t) == key and any(covers(p, purpose) for p in lc.purposes) \
                and lc.in_force(t):
            cite = f"licence {lc.id} accepted in {lc.accepted_by}"
            if lc.terminated_at is not None:
                cite += (f", terminated by {lc.terminated_by} at "
                         f"{fmt_time(lc.terminated_at)}, after the time asked")
            elif lc.until is not None:
                cite += f", which ends at {fmt_time(lc.until)}"
            reason = f"licence in force for {_for(lc.purposes, purpose)}"
            return Answer(True, [lc.id, str(lc.accepted_by)], [], [cite], "licence", reason)
    ctl = state.controller_at(t)
    if ctl is not None and keys.holder(ctl, t) == key:
        cite = f"controller event {state.head} (the work's head: this key controls it)"
        later = [(k, s) for k, s in state.controllers if s > t]
        if later:
            k2, s2 = later[0]
            cite = (f"controller event {state.head} (the work's head; this key controlled the "
                    f"work at the time asked, and control passed to {k2} at {fmt_time(s2)})")
        return Answer(True, [state.head], [], [cite], "controller", REASON_CONTROLLER)
    # Step 6. `key` is rotated away when it is not its own holder at t (rules.md 9); its
    # holder is read only when something cited names it (a role: its record is then listed,
    # receipts.md 12.2).
    ids: list[str] = []
    cites: list[str] = []
    named_in_force = False  # something cited names `key` itself and stands at t (5.2 row 1)
    made_to: list[str] = []  # keys other than `key` and `*` named by what is cited (row 2)

    def cited(named: str) -> bool:
        if named in ("*", key):
            return True
        return not earlier_citations and keys.holder(named, t) == key

    for g in state.grants:
        if cited(g.grantee) and any(covers(p, purpose) for p in g.purposes):
            ids.append(g.id)
            c = f"consent grant {g.id}"
            if g.revoked_at is not None:
                c += f", revoked by {g.revoked_by} at {fmt_time(g.revoked_at)}"
            elif g.until is not None:
                c += f", which ends at {fmt_time(g.until)}"
            else:
                c += f", in force from {fmt_time(g.at)}"
            cites.append(c)
            if g.grantee == key and (g.in_force(t) or earlier_citations):
                named_in_force = True
            if g.grantee not in ("*", key) and g.grantee not in made_to:
                made_to.append(g.grantee)
    for lc in state.licences:
        if cited(lc.licensee) and any(covers(p, purpose) for p in lc.purposes):
            ids.append(lc.id)
            if lc.terminated_at is not None:
                # Also an offer withdrawn before acceptance: it is neither "open" nor
                # "lapsed", the two an offer "never accepted" may be (FINDINGS.md F20).
                cites.append(f"licence {lc.id}, terminated by {lc.terminated_by} at "
                             f"{fmt_time(lc.terminated_at)}")
            elif lc.accepted_by is None:
                cites.append(f"licence offer {lc.id}, not accepted")
            else:
                cites.append(f"licence {lc.id}, not in force at that time")
            if lc.licensee == key and (lc.in_force(t) or lc.open_offer(t) or earlier_citations):
                named_in_force = True
            if lc.licensee != key and lc.licensee not in made_to:
                made_to.append(lc.licensee)
    holder = keys.holder(key, t) if named_in_force else key
    rotated_away = holder if holder != key else None
    reason = _refusal_reason(purpose, t, rotated_away, made_to, bool(ids))
    return Answer(False, ids, [], cites, "refused", reason)


def earlier_words(reason: str) -> str:
    """receipts.md 12.1 step 3, "Earlier words": the reason provenance-ledger 0.1.0 wrote for
    the answer whose reason (in the words of rules.md 5.2) is `reason`."""
    m = re.fullmatch(r"(consent granted to this key|consent granted to anyone|licence in force)"
                     r" for ([^ ,]+), which covers ([^ ,]+)(.*)", reason, re.DOTALL)
    if m:
        return f"{m[1]} for {m[3]}{m[4]}"
    m = re.fullmatch(r"(no consent or licence for [^ ]+ is in force) for this key "
                     r"(at [0-9TZ:-]{20}): this key was rotated away, and [^ ]+ holds its "
                     r"consents and licences at that time", reason)
    if m:
        return f"{m[1]} {m[2]} (all were revoked, ended or not yet accepted)"
    return reason


def accepted_decisions(
    state: State | None, key: str, purpose: str, t: int, keys: Keys, ans: Answer
) -> list[dict[str, Any]]:
    """receipts.md 12.1 step 3: the `decision` values that verify, the answer of step 2 first,
    then the same in the earlier words, then step 6's earlier citations in either words."""
    answers = [ans]
    if not ans.allowed:
        answers.append(may(state, key, purpose, t, keys, earlier_citations=True))
    out: list[dict[str, Any]] = []
    for a in answers:
        for reason in (a.reason, earlier_words(a.reason)):
            d = {**a.decision(), "reason": reason}
            if d not in out:
                out.append(d)
    return out


# ---------------------------------------------------------------- receipts (receipts.md 11-12)

@dataclass
class Result:
    origin: str
    tree_size: int
    block_time: int | None
    map_root: bytes
    cosigners: dict[str, int]
    works: dict[str, State | KeyState | None]
    order: list[str]
    events: dict[str, list[Event]] = field(default_factory=dict)
    keys: Keys = field(default_factory=lambda: Keys(None))


def verify_state_receipt_v2(
    r: Any, log_keys: list[VKey], witnesses: list[tuple[str, VKey]] | None = None,
) -> Result:
    """receipts.md 11.2 steps (1)-(8), without evidence, quorum, file and max-age."""
    witnesses = witnesses or []
    _members(r, "state receipt", {"format", "log_key", "checkpoint", "map_proof", "works"},
             {"scope"})
    if r["format"] != STATE_V2_FORMAT:
        raise Invalid("state receipt: wrong format")
    if "scope" in r and r["scope"] != STATE_V2_SCOPE:
        raise Invalid("state receipt: scope is not the sentence of receipts.md 11")
    # (1) one checkpoint: receipts.md 3 steps 1-3
    note = parse_note(_str(r["checkpoint"], "checkpoint"))
    cp = parse_checkpoint(note.text)
    keys = [k for k in log_keys if k.type == 0x01 and k.name == cp.origin]
    if not keys:
        raise Invalid("no trusted log key for the checkpoint's origin")
    verify_note(note, keys)
    cos = cosignatures(note, witnesses, log_keys)
    if not any(_str(r["log_key"], "log_key") == k.text for k in keys):
        raise Invalid("log_key is not a trusted log key")
    # (2) a map line
    if cp.map_root is None:
        raise Invalid("checkpoint has no map line")
    # works, structure
    works = r["works"]
    if not isinstance(works, list) or not 1 <= len(works) <= MAX_CURRENT_WORKS:
        raise Invalid("works: not a list of 1 to 10000")
    ids: list[str] = []
    total = 0
    for w in works:
        _members(w, "works item", {"work", "events"}, {"state"})
        if not WORK_ID.fullmatch(_str(w["work"], "work")):
            raise Invalid("works item: bad work id")
        if not isinstance(w["events"], list) or len(w["events"]) > MAX_STATE_EVENTS:
            raise Invalid("works item: bad events")
        total += len(w["events"])
        ids.append(w["work"])
    if len(set(ids)) != len(ids):
        raise Invalid("works: a work listed twice")
    if total > MAX_CURRENT_EVENTS:
        raise Invalid("too many events")
    # (3) the map proof
    proof = b64(r["map_proof"], None, "map_proof")
    values = verify_map_proof(cp.map_root, [bytes.fromhex(i[7:]) for i in ids], proof)
    parsed_by_work: dict[str, list[tuple[int, Event]]] = {}
    for w in works:
        value = values[bytes.fromhex(w["work"][7:])]
        evs = w["events"]
        if value is None:  # (4)
            if evs:
                raise Invalid(f"{w['work']}: proven absent but lists events")
            if w.get("state") is not None:
                raise Invalid(f"{w['work']}: absent work with a non-null state")
            continue
        if not evs:
            raise Invalid(f"{w['work']}: present in the map but no events listed")
        # (5) each event
        prev_index = -1
        parsed: list[tuple[int, Event]] = []
        for item in evs:
            _members(item, "event item", {"leaf_index", "leaf", "inclusion_proof"}, {"event"})
            idx = _int(item["leaf_index"], "leaf_index")
            if idx <= prev_index:
                raise Invalid("events not in increasing leaf_index order")
            prev_index = idx
            ev = parse_leaf(b64(item["leaf"], None, "leaf"))
            if ev.env["work"] != w["work"]:
                raise Invalid("an event of another work")
            if not 0 <= idx < cp.size:
                raise Invalid("leaf_index outside the tree")
            ip = item["inclusion_proof"]
            if not isinstance(ip, list) or len(ip) > MAX_PROOF_HASHES:
                raise Invalid("bad inclusion proof")
            hashes = [b64(h, 32, "proof hash") for h in ip]
            if not verify_inclusion(idx, cp.size, bytes.fromhex(ev.id), hashes, cp.root):
                raise Invalid(f"inclusion proof of entry {idx} does not verify")
            parsed.append((idx, ev))
        # (7) complete
        last_idx, last = parsed[-1]
        if value.head.hex() != last.id or value.index != last_idx or value.count != len(parsed):
            raise Invalid(f"{w['work']}: the map value does not match the events")
        parsed_by_work[w["work"]] = parsed
    # (6) replay: key records first (rules.md 7), then works with the records listed
    # (receipts.md 12.1 step 1, rules.md 9).
    records: dict[str, KeyState | None] = {i: None for i in ids if is_key_record(i)}
    for i in records:
        ks: KeyState | None = None
        for _, ev in parsed_by_work.get(i, []):
            ks = apply_key(ks, ev)
        records[i] = ks
    kstore = Keys(records if records else None)
    states: dict[str, State | KeyState | None] = {}
    for w in works:
        if is_key_record(w["work"]):
            st: State | KeyState | None = records[w["work"]]
        else:
            st = None
            for _, ev in parsed_by_work.get(w["work"], []):
                st = apply(st, ev, kstore)
        # (8) informative members
        for item, (_, ev) in zip(w["events"], parsed_by_work.get(w["work"], []), strict=True):
            if "event" in item and item["event"] != ev.decoded():
                raise Invalid("an event member differs from its leaf")
        if st is not None and w.get("state") is not None and w["state"] != st.to_json():
            raise Invalid(f"{w['work']}: state member differs from the replayed state")
        states[w["work"]] = st
    res = Result(cp.origin, cp.size, cp.block_time, cp.map_root, cos, states, ids)
    res.events = {k: [ev for _, ev in v] for k, v in parsed_by_work.items()}
    res.keys = kstore
    return res


@dataclass
class Verdict:
    result: Result
    work: str
    key: str
    purpose: str
    at: str
    registered: bool
    answer: Answer
    keys_proven: bool
    statement: str


def _relied_keys(st: State) -> set[str]:
    """receipts.md 12.2: the role keys of the state (reachability is added by the caller)."""
    keys = {k for k, _ in st.controllers}
    keys |= {g.grantee for g in st.grants if g.grantee != "*"}
    keys |= {lc.licensee for lc in st.licences}
    return keys


def verify_decision_receipt(
    data: bytes, log_keys: list[VKey], witnesses: list[tuple[str, VKey]] | None = None,
    quorum: tuple[int, list[str]] | None = None,
) -> Verdict:
    """receipts.md 12.1; `quorum` (k, names): at least k of the named witnesses must have a
    valid cosignature (receipts.md 4, one group of witnesses; none when not given)."""
    if len(data) > MAX_CURRENT_RECEIPT_BYTES:
        raise Invalid("receipt too large")
    r = load_json(data)
    _members(r, "decision receipt", {"format", "question", "state_receipt"}, {"scope", "decision"})
    if r["format"] != DECISION_FORMAT:
        raise Invalid("wrong format")
    if "scope" in r and r["scope"] != DECISION_SCOPE:
        raise Invalid("scope is not the sentence of receipts.md 12")
    q = _members(r["question"], "question", {"key", "purpose", "at"})
    key = _key(q["key"], "question key")
    _purpose(q["purpose"])
    t = parse_time(q["at"], "question at")
    res = verify_state_receipt_v2(r["state_receipt"], log_keys, witnesses)
    if quorum is not None and sum(n in res.cosigners for n in quorum[1]) < quorum[0]:
        raise Invalid("witness quorum not met")
    work = res.order[0]
    records = res.order[1:]
    if is_key_record(work):
        raise Unsupported("a key record as the work asked about")
    for rec in records:
        if not is_key_record(rec):
            raise Invalid("state receipt lists a work that is not a key record after the first")
    full = res.works[work]
    assert not isinstance(full, KeyState)
    keys_proven = False
    st = full
    if full is not None and records:
        # receipts.md 12.2: every key reachable from a role key, through the records listed;
        # Keys.record raises on a missing one.
        for k in sorted(_relied_keys(full)):
            res.keys.reachable(k)
        keys_proven = True
        st = effective(res.events[work], res.keys)
    ans = may(st, key, q["purpose"], t, res.keys)
    dec = r.get("decision")
    if dec is not None:
        # receipts.md 12.1 step 3: equal as a JSON value, its reason byte for byte (in the
        # words of rules.md 5.2, or in the earlier words and citations step 3 still accepts).
        _members(dec, "decision", {"allowed", "reason", "events", "conditions"})
        accepted = accepted_decisions(st, key, q["purpose"], t, res.keys, ans)
        if not isinstance(dec["allowed"], bool) or dec not in accepted:
            raise Invalid("decision member differs from the re-derived answer")
    # The words (receipts.md 12.1).
    n, origin = res.tree_size, res.origin
    if res.cosigners:
        by_time: dict[int, list[str]] = {}
        for name, ts in res.cosigners.items():
            by_time.setdefault(ts, []).append(name)
        if len(by_time) == 1:
            ((ts, names),) = by_time.items()
            # FINDINGS.md F4: "witnesses" in the template; one witness reads "witness".
            noun = "witness" if len(names) == 1 else "witnesses"
            who = f"cosigned at {fmt_time(ts)} by {noun} {', '.join(sorted(names))}"
        else:
            who = "cosigned " + " and ".join(
                f"at {fmt_time(ts)} by witness{'es' if len(nm) > 1 else ''} "
                f"{', '.join(sorted(nm))}"
                for ts, nm in sorted(by_time.items()))
    else:
        bt = fmt_time(res.block_time) if res.block_time is not None else "?"
        who = f"signed by the log at {bt}, no witness cosignature counted"
    head = f"as of checkpoint {n} of {origin} (tree size {n}, {who})"
    if full is None:  # absent from the map (one whose registration does not count is in it)
        stmt = (f"{head}, work {work} was not registered on log {origin} as of tree size {n}: "
                f"key {key} may not use it for purpose {q['purpose']} at {q['at']}")
    else:
        verb = "may use" if ans.allowed else "may not use"
        stmt = f"{head}, key {key} {verb} work {work} for purpose {q['purpose']} at {q['at']}"
        if not ans.allowed:
            stmt += f": {ans.reason}"
        if ans.citing:
            # receipts.md 12.1: joined with "; " (FINDINGS.md F7a, since written there).
            stmt += f", citing {'; '.join(ans.citing)}"
        stmt += f"; no later event of {work} exists up to {n}"
        if not keys_proven:
            stmt += ("; this receipt holds no key records, so a rotation or compromise of the "
                     "controller's key is not ruled out")
    return Verdict(res, work, key, q["purpose"], q["at"], full is not None, ans, keys_proven,
                   stmt)


def verify_state_receipt_v2_bytes(
    data: bytes, log_keys: list[VKey], witnesses: list[tuple[str, VKey]] | None = None,
) -> Result:
    """receipts.md 11.2, for a state receipt v2 file (`provenance receipt WORK... --state`)."""
    if len(data) > MAX_CURRENT_RECEIPT_BYTES:
        raise Invalid("receipt too large")
    return verify_state_receipt_v2(load_json(data), log_keys, witnesses)


def main(argv: list[str]) -> int:
    """python -m tests.outsider.verifier FILE --log-key VKEY [--witness NAME VKEY]..."""
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--log-key", action="append", required=True)
    p.add_argument("--witness", nargs=2, action="append", default=[])
    a = p.parse_args(argv)
    try:
        logs = [parse_vkey(k) for k in a.log_key]
        wit = [(n, parse_vkey(k)) for n, k in a.witness]
        with open(a.file, "rb") as f:
            v = verify_decision_receipt(f.read(), logs, wit)
    except Invalid as e:
        print(json.dumps({"valid": False, "error": str(e)}))
        return 1
    print(json.dumps({
        "valid": True, "work": v.work, "registered": v.registered, "allowed": v.answer.allowed,
        "reason": v.answer.reason, "events": v.answer.events,
        "conditions": v.answer.conditions, "citing": v.answer.citing,
        "keys_proven": v.keys_proven, "tree_size": v.result.tree_size,
        "cosigners": v.result.cosigners, "statement": v.statement,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
