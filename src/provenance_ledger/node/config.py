"""A node's home directory and its configuration file (DESIGN.md "Nodes"; issue 4, part 1).

A node home is a ledger data directory (ledger/home.py) with three more files::

    node.toml     the configuration: origin, listen address, witness name, peers
    witness.key   the witness (cosigning) key, Ed25519, PKCS#8 PEM, mode 0600
    witness.db    the witness's own SQLite file (node/witness.py), made on first use

``node.toml`` is read with :mod:`tomllib` and written by the small writer below, which
emits only what this module reads::

    origin = "example.org/log"
    listen = "127.0.0.1:8380"
    witness_name = "example.org/log/witness"
    mirror_interval = 60                              # seconds between mirroring rounds; 0: off
    freshness_interval = 600                          # re-cosign after (s); 0: off; 300 if absent

    [[peers]]
    origin = "peer.example/log"
    url = "http://127.0.0.1:8381"
    vkey = "peer.example/log+1a2b3c4d+AQ..."          # the peer's log key (type 0x01)
    witness_vkey = "peer.example/log/witness+..."     # optional: its cosigning key (0x04)

    [witnessing]                                      # optional (specs/node.md section 9)
    quorum = 2                                        # default: every witness listed
    timeout = 5.0                                     # seconds a receipt waits, default 5

    [[witnesses]]                                     # asked at once after every block
    name = "b"
    url = "http://127.0.0.1:8381"
    vkey = "peer.example/log/witness+..."             # its cosignature/v1 key (0x04)

Every value is checked when loaded; a problem raises one :class:`MalformedError` that names
the field. Servers listen on 127.0.0.1 unless the operator writes another address. This
module never prints or logs a private key: :func:`node_keys` returns public keys only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.crypto import PrivateKey
from ..core.note import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    NoteSigner,
    Verifier,
    check_key_name,
)
from ..errors import (
    LedgerError,
    MalformedError,
    NotFoundError,
    OtherOriginError,
    StorageError,
    quoted,
)
from ..ledger import Home, Ledger
from ..ledger.files import write_atomic
from ..ledger.keys import read_private_key, write_private_key
from ..ledger.ledger import MapProgress

CONFIG_FILE = "node.toml"
REFUSALS_FILE = "refusals.json"
WITNESS_KEY_FILE = "witness.key"
WITNESS_DB_FILE = "witness.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8380
DEFAULT_LISTEN = f"{DEFAULT_HOST}:{DEFAULT_PORT}"
WITNESS_NAME_SUFFIX = "/witness"
MAX_CONFIG_BYTES = 1 << 20
"""Largest ``node.toml`` read, in bytes."""
MAX_PEERS = 256
MAX_URL_CHARS = 2048

MAX_WITNESSES = 64
DEFAULT_WITNESS_TIMEOUT_S = 5.0
"""Seconds a receipt waits for the witness quorum by default (specs/node.md section 9)."""
MAX_WITNESS_TIMEOUT_S = 600.0
WITNESS_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A configured witness's name: what ``node witness`` and the receipt's reply call it."""


# -- mirroring inside ``node serve`` (node/autosync.py; specs/node.md section 4.1) --------------
DEFAULT_MIRROR_INTERVAL = 60
"""Seconds between two mirroring rounds of a serving node, unless node.toml says otherwise."""
MAX_MIRROR_INTERVAL = 86_400  # seconds: a round at least once a day


def check_mirror_interval(value: Any, what: str = "node.toml: field 'mirror_interval'") -> int:
    """A whole number of seconds from 0 (mirroring in ``node serve`` off) to a day."""
    if type(value) is not int or not 0 <= value <= MAX_MIRROR_INTERVAL:
        raise MalformedError(f"{what} must be a whole number of seconds from 0 (off) to "
                             f"{MAX_MIRROR_INTERVAL}, not {quoted(value, 42)}")
    return value
# -- end of mirroring settings ------------------------------------------------------------------

# -- freshness: re-cosigning the latest checkpoint (node/freshness.py; specs/node.md 9.2) -------
DEFAULT_FRESHNESS_INTERVAL = 300
"""Seconds after which a serving node has its latest checkpoint cosigned again, unless
node.toml says otherwise."""
MIN_FRESHNESS_INTERVAL = 60  # seconds: at most one request a minute to each witness
MAX_FRESHNESS_INTERVAL = 86_400  # seconds: cosigned again at least once a day
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
_DURATION = re.compile(r"(0|[1-9][0-9]{0,5})(s|m|h)?")


def check_freshness_interval(value: Any,
                             what: str = "node.toml: field 'freshness_interval'") -> int:
    """A whole number of seconds, 0 (off) or from a minute to a day."""
    if type(value) is not int or not (
            value == 0 or MIN_FRESHNESS_INTERVAL <= value <= MAX_FRESHNESS_INTERVAL):
        raise MalformedError(f"{what} must be 0 (off) or a whole number of seconds from "
                             f"{MIN_FRESHNESS_INTERVAL} to {MAX_FRESHNESS_INTERVAL}, not "
                             f"{quoted(value, 42)}")
    return value


def parse_freshness_interval(text: str, what: str = "--freshness-interval") -> int:
    """``off``, or a whole number with an optional unit (``s``, ``m``, ``h``: ``300``,
    ``300s``, ``5m``), as seconds (0: off), within :func:`check_freshness_interval`'s bounds."""
    if text == "off":
        return 0
    m = _DURATION.fullmatch(text)
    seconds = None if m is None else int(m.group(1)) * _UNITS[m.group(2) or ""]
    if seconds is None or (seconds and not
                           MIN_FRESHNESS_INTERVAL <= seconds <= MAX_FRESHNESS_INTERVAL):
        raise MalformedError(f"{what} must be off (or 0), or a duration from "
                             f"{MIN_FRESHNESS_INTERVAL} s to {MAX_FRESHNESS_INTERVAL // 3600} h "
                             f"such as 300, 300s, 5m or 1h, not {quoted(text, 42)}")
    return seconds
# -- end of freshness settings ------------------------------------------------------------------

_TOP_FIELDS = frozenset({"origin", "listen", "witness_name", "peers", "mirror_interval",
                         "freshness_interval", "witnesses", "witnessing", "tiles"})
_PEER_FIELDS = frozenset({"origin", "url", "vkey", "witness_vkey", "tiles"})
_WITNESS_FIELDS = frozenset({"name", "url", "vkey"})
_WITNESSING_FIELDS = frozenset({"quorum", "timeout"})


def parse_listen(listen: Any, what: str = "listen address") -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) with an IP address or ``localhost`` as host;
    port 0 asks the system for a free port. ``what`` names it in an error: ``--listen`` for
    the option, the listen address of node.toml otherwise."""
    if not isinstance(listen, str) or len(listen) > 64:
        raise MalformedError(f"{what} {quoted(listen)} is not HOST:PORT")
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not port_text.isascii():
        raise MalformedError(f"{what} {quoted(listen)} is not HOST:PORT")
    port = int(port_text)
    if port > 65535:
        raise MalformedError(f"{what} {quoted(listen)}: port {port} is above 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            if ipaddress.ip_address(host).version != 6:
                raise ValueError(host)
        except ValueError as e:
            raise MalformedError(f"{what} {quoted(listen)}: [{host}] is not an IPv6 address") from e
        return host, port
    if host != "localhost":
        try:
            if ipaddress.ip_address(host).version != 4:
                raise ValueError(host)
        except ValueError as e:
            raise MalformedError(
                f"{what} {quoted(listen)}: the host must be an IPv4 address, [IPv6] or "
                "localhost") from e
    return host, port


def check_url(url: Any, what: str = "peer URL") -> str:
    """An http(s) base URL with a host and no user info, query or fragment; no trailing '/'."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_CHARS or not url.isprintable() \
            or any(c.isspace() for c in url):
        raise MalformedError(f"{what} {quoted(url)} is not a URL")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError as e:
        raise MalformedError(f"{what} {quoted(url)} is not a URL: {e}") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MalformedError(f"{what} {quoted(url)} must be http:// or https:// with a host")
    if parts.username is not None or parts.password is not None:
        raise MalformedError(f"{what} {parts.hostname} must not carry user information")
    if parts.query or parts.fragment:
        raise MalformedError(f"{what} {quoted(url)} must not have a query or fragment")
    return url.rstrip("/")


_KEY_KINDS = {SIG_TYPE_ED25519: ("log key (type 0x01)", "node keys --only log"),
              SIG_TYPE_COSIGNATURE_V1: ("witness key (cosignature/v1, type 0x04)",
                                        "node keys --only witness")}


def check_vkey(vkey: Any, what: str, name: str | None, sig_type: int,
               name_option: str | None = None) -> Verifier:
    """Parse a verifier key, requiring its signature type and (if given) its key name.
    A node's other key (its witness key where its log key belongs, or the reverse) is named
    as such, with the command that prints the right one. ``name_option``: the option that
    gave ``name``, named when the key is another log's."""
    if not isinstance(vkey, str):
        raise MalformedError(f"{what} must be a string")
    try:
        v = Verifier.from_vkey(vkey, sig_type)
    except MalformedError as e:
        for other, (kind, _) in _KEY_KINDS.items():
            if other != sig_type and sig_type in _KEY_KINDS:
                try:
                    Verifier.from_vkey(vkey, other)
                except MalformedError:
                    continue
                wanted, where = _KEY_KINDS[sig_type]
                raise MalformedError(f"{what}: {quoted(vkey)} is a node's {kind}, not its "
                                     f"{wanted} ('provenance {where}' on that node prints "
                                     "it)") from e
        raise MalformedError(f"{what}: {e}") from e
    if name is not None and v.name != name:
        if name_option is not None:
            raise MalformedError(f"{what} is the key of the log {quoted(v.name)}, not of "
                                 f"{name_option} {quoted(name)}")
        raise MalformedError(f"{what} is named {quoted(v.name)}, expected {quoted(name)}")
    return v


@dataclass(frozen=True, slots=True)
class Peer:
    """Another node this one mirrors and witnesses: its log origin, base URL and keys."""

    origin: str
    url: str
    vkey: str
    witness_vkey: str | None = None
    tiles: str | None = None
    """The peer's C2SP tiles URL: mirrored from it rather than ``url`` (specs/tiles.md
    section 5.2)."""

    def __post_init__(self) -> None:
        check_key_name(self.origin, "peer origin")
        object.__setattr__(self, "url", check_url(self.url))
        if self.tiles is not None:
            object.__setattr__(self, "tiles", check_url(self.tiles, "peer tiles URL"))
        check_vkey(self.vkey, f"vkey of peer {self.origin}", self.origin, SIG_TYPE_ED25519)
        if self.witness_vkey is not None:
            w = check_vkey(self.witness_vkey, f"witness_vkey of peer {self.origin}", None,
                           SIG_TYPE_COSIGNATURE_V1)
            if w.name == self.origin:
                raise MalformedError(
                    f"peer {self.origin}: the witness key must have a name other than the origin")

    @property
    def log_verifier(self) -> Verifier:
        return Verifier.from_vkey(self.vkey)

    @property
    def witness_verifier(self) -> Verifier | None:
        return None if self.witness_vkey is None else Verifier.from_vkey(self.witness_vkey)


@dataclass(frozen=True, slots=True)
class WitnessEntry:
    """A witness this node asks for cosignatures right after each block (specs/node.md
    section 9): any C2SP tlog-witness, a peer node or not. ``name`` is this node's label for
    it; ``vkey`` its cosignature/v1 verifier key."""

    name: str
    url: str
    vkey: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not WITNESS_LABEL.fullmatch(self.name):
            raise MalformedError(f"witness name {quoted(self.name)} must be 1 to 64 "
                                 "letters, digits, '.', '_' or '-', starting with a letter or "
                                 "digit")
        object.__setattr__(self, "url", check_url(self.url, f"URL of witness {self.name}"))
        check_vkey(self.vkey, f"vkey of witness {self.name}", None, SIG_TYPE_COSIGNATURE_V1)

    @property
    def verifier(self) -> Verifier:
        return Verifier.from_vkey(self.vkey)


@dataclass(frozen=True, slots=True)
class Witnessing:
    """The ``[witnessing]`` table: how many of the configured witnesses must cosign before a
    receipt is handed out (None: all of them) and how long a receipt waits for them."""

    quorum: int | None = None
    timeout: float = DEFAULT_WITNESS_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.quorum is not None and (type(self.quorum) is not int or self.quorum < 0):
            raise MalformedError(f"witnessing quorum {quoted(self.quorum)} must be a whole number "
                                 "of witnesses, 0 or more")
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float) or \
                not (math.isfinite(self.timeout) and 0 < self.timeout <= MAX_WITNESS_TIMEOUT_S):
            raise MalformedError(f"witnessing timeout {quoted(self.timeout)} must be a number of "
                                 f"seconds above 0, at most {MAX_WITNESS_TIMEOUT_S:g}")
        object.__setattr__(self, "timeout", float(self.timeout))


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """The contents of ``node.toml``."""

    origin: str
    listen: str = DEFAULT_LISTEN
    witness_name: str = ""
    peers: tuple[Peer, ...] = field(default=())
    witnesses: tuple[WitnessEntry, ...] = field(default=())
    witnessing: Witnessing = field(default=Witnessing())
    mirror_interval: int = DEFAULT_MIRROR_INTERVAL  # seconds; 0: no mirroring in node serve
    freshness_interval: int = DEFAULT_FRESHNESS_INTERVAL  # seconds; 0: never cosigned again
    tiles: str = ""  # folder the node writes its C2SP tiles to (specs/tiles.md); "": none

    def __post_init__(self) -> None:
        check_key_name(self.origin, "origin")
        check_mirror_interval(self.mirror_interval)
        check_freshness_interval(self.freshness_interval)
        if not self.witness_name:
            object.__setattr__(self, "witness_name", self.origin + WITNESS_NAME_SUFFIX)
        check_key_name(self.witness_name, "witness_name")
        if self.witness_name == self.origin:
            raise MalformedError("witness_name must differ from the origin (they are two keys)")
        parse_listen(self.listen)
        if len(self.peers) > MAX_PEERS:
            raise MalformedError(f"a node has at most {MAX_PEERS} peers")
        seen_origins = {self.origin}
        seen_witnesses: dict[str, str | None] = {self.witness_name: None}  # name -> its peer
        for p in self.peers:
            if p.origin in seen_origins:
                what = "this node's own origin" if p.origin == self.origin else "listed twice"
                raise MalformedError(f"peer {p.origin} is {what}")
            seen_origins.add(p.origin)
            w = p.witness_verifier
            if w is not None:
                if w.name in seen_witnesses:
                    other = seen_witnesses[w.name]
                    if other is None:
                        raise MalformedError(f"peer {p.origin}: witness name {w.name} is "
                                             "already used: it is this node's own")
                    # One node's witness under two origins (a peer that rotated: specs/node.md
                    # section 10.5): its cosignatures are kept once it is listed once.
                    raise MalformedError(
                        f"peer {p.origin}: the witness key {w.name} is already used, with "
                        f"peer {other}: its cosignatures are kept already; leave out the "
                        "witness key (--witness-vkey)")
                seen_witnesses[w.name] = p.origin
        self._check_witnesses()

    def _check_witnesses(self) -> None:
        if len(self.witnesses) > MAX_WITNESSES:
            raise MalformedError(f"a node asks at most {MAX_WITNESSES} witnesses")
        labels: set[str] = set()
        keys: set[str] = set()
        for w in self.witnesses:
            if w.name in labels:
                raise MalformedError(f"witness {w.name} is listed twice")
            labels.add(w.name)
            if w.vkey in keys:
                raise MalformedError(f"witness {w.name}: its vkey is already listed")
            keys.add(w.vkey)
            if w.verifier.name in (self.origin, self.witness_name):
                raise MalformedError(f"witness {w.name}: its key is named {w.verifier.name}, "
                                     "which is this node's own")
        quorum = self.witnessing.quorum
        if quorum is not None and quorum > len(self.witnesses):
            raise MalformedError(f"witnessing quorum {quorum} is more than the "
                                 f"{len(self.witnesses)} witnesses listed")

    @property
    def quorum(self) -> int:
        """How many of the listed witnesses must cosign a checkpoint before a receipt
        against it is handed out (0 when none are listed)."""
        q = self.witnessing.quorum
        return len(self.witnesses) if q is None else q

    @property
    def host(self) -> str:
        return parse_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen)[1]

    def peer(self, origin: str) -> Peer:
        for p in self.peers:
            if p.origin == origin:
                return p
        raise NotFoundError(f"no peer {origin} in this node's configuration")

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> NodeConfig:
        unknown = data.keys() - _TOP_FIELDS
        if unknown:
            raise MalformedError(f"{CONFIG_FILE}: unknown field {quoted(sorted(unknown)[0])}")
        for name in ("origin", "listen", "witness_name"):
            if name not in data:
                raise MalformedError(f"{CONFIG_FILE}: field {name!r} is missing")
            if not isinstance(data[name], str):
                raise MalformedError(f"{CONFIG_FILE}: field {name!r} must be a string")
        peers = []
        for n, p in _tables(data.get("peers", []), "peers", _PEER_FIELDS):
            if "witness_vkey" in p and not isinstance(p["witness_vkey"], str):
                raise MalformedError(f"{CONFIG_FILE}: peers[{n}].witness_vkey must be a string")
            if "tiles" in p and not isinstance(p["tiles"], str):
                raise MalformedError(f"{CONFIG_FILE}: peers[{n}].tiles must be a string")
            peers.append(Peer(p["origin"], p["url"], p["vkey"], p.get("witness_vkey"),
                              p.get("tiles")))
        interval = check_mirror_interval(data.get("mirror_interval", DEFAULT_MIRROR_INTERVAL))
        freshness = check_freshness_interval(data.get("freshness_interval",
                                                      DEFAULT_FRESHNESS_INTERVAL))
        tiles = data.get("tiles", "")
        if not isinstance(tiles, str):
            raise MalformedError(f"{CONFIG_FILE}: field 'tiles' must be a string (a folder)")
        return cls(data["origin"], data["listen"], data["witness_name"], tuple(peers),
                   witnesses=_witnesses_from_toml(data.get("witnesses", [])),
                   witnessing=_witnessing_from_toml(data.get("witnessing", {})),
                   mirror_interval=interval, freshness_interval=freshness, tiles=tiles)

    def to_toml(self) -> str:
        lines = [
            "# provenance-ledger node configuration (written by the node; see node/config.py)",
            f"origin = {_toml_str(self.origin)}",
            f"listen = {_toml_str(self.listen)}",
            f"witness_name = {_toml_str(self.witness_name)}",
            f"mirror_interval = {self.mirror_interval}",
        ]
        if self.freshness_interval != DEFAULT_FRESHNESS_INTERVAL:  # as [witnessing]: when set
            lines.append(f"freshness_interval = {self.freshness_interval}")
        if self.tiles:
            lines.append(f"tiles = {_toml_str(self.tiles)}")
        for p in self.peers:
            lines += ["", "[[peers]]", f"origin = {_toml_str(p.origin)}",
                      f"url = {_toml_str(p.url)}", f"vkey = {_toml_str(p.vkey)}"]
            if p.witness_vkey is not None:
                lines.append(f"witness_vkey = {_toml_str(p.witness_vkey)}")
            if p.tiles is not None:
                lines.append(f"tiles = {_toml_str(p.tiles)}")
        if self.witnessing != Witnessing():
            lines += ["", "[witnessing]"]
            if self.witnessing.quorum is not None:
                lines.append(f"quorum = {self.witnessing.quorum}")
            lines.append(f"timeout = {self.witnessing.timeout!r}")
        for w in self.witnesses:
            lines += ["", "[[witnesses]]", f"name = {_toml_str(w.name)}",
                      f"url = {_toml_str(w.url)}", f"vkey = {_toml_str(w.vkey)}"]
        return "\n".join(lines) + "\n"


def _tables(raw: Any, kind: str, fields: frozenset[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The ``[[kind]]`` tables of node.toml, numbered: each a table of known ``fields`` whose
    ``name``/``origin``, ``url`` and ``vkey`` (those it has of them) are strings."""
    if not isinstance(raw, list):
        raise MalformedError(f"{CONFIG_FILE}: {kind} must be [[{kind}]] tables")
    for n, t in enumerate(raw):
        if not isinstance(t, dict):
            raise MalformedError(f"{CONFIG_FILE}: {kind}[{n}] must be a table")
        unknown = t.keys() - fields
        if unknown:
            raise MalformedError(f"{CONFIG_FILE}: {kind}[{n}] has unknown field "
                                 f"{quoted(sorted(unknown)[0])}")
        for name in sorted(fields & {"origin", "name", "url", "vkey"}):
            if not isinstance(t.get(name), str):
                raise MalformedError(f"{CONFIG_FILE}: {kind}[{n}].{name} is missing or "
                                     "not a string")
        yield n, t


def _witnesses_from_toml(raw: Any) -> tuple[WitnessEntry, ...]:
    return tuple(WitnessEntry(w["name"], w["url"], w["vkey"])
                 for _, w in _tables(raw, "witnesses", _WITNESS_FIELDS))


def _witnessing_from_toml(raw: Any) -> Witnessing:
    if not isinstance(raw, dict):
        raise MalformedError(f"{CONFIG_FILE}: witnessing must be a [witnessing] table")
    unknown = raw.keys() - _WITNESSING_FIELDS
    if unknown:
        raise MalformedError(f"{CONFIG_FILE}: witnessing has unknown field "
                             f"{quoted(sorted(unknown)[0])}")
    quorum = raw.get("quorum")
    if quorum is not None and (type(quorum) is not int or quorum < 0):
        raise MalformedError(f"{CONFIG_FILE}: witnessing.quorum must be a whole number, 0 or "
                             "more")
    timeout = raw.get("timeout", DEFAULT_WITNESS_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise MalformedError(f"{CONFIG_FILE}: witnessing.timeout must be a number of seconds")
    try:
        return Witnessing(quorum, timeout)
    except MalformedError as e:
        raise MalformedError(f"{CONFIG_FILE}: {e}") from e


def _toml_str(value: str) -> str:
    """A TOML basic string (TOML 1.0 section "String"): escape '\\', '"' and controls."""
    out = []
    for c in value:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


# -- the home directory -------------------------------------------------------------------------


def config_path(home: Path) -> Path:
    return home / CONFIG_FILE


def witness_key_path(home: Path) -> Path:
    return home / WITNESS_KEY_FILE


def witness_db_path(home: Path) -> Path:
    return home / WITNESS_DB_FILE


def refusals_path(home: Path) -> Path:
    """Where ``node serve`` keeps the witnesses that refuse its log's checkpoints."""
    return home / REFUSALS_FILE


def init_node(home: Path, origin: str, listen: str = DEFAULT_LISTEN,
              witness_name: str | None = None,
              mirror_interval: int = DEFAULT_MIRROR_INTERVAL,
              freshness_interval: int = DEFAULT_FRESHNESS_INTERVAL,
              store: str | None = None, tiles: str = "") -> NodeConfig:
    """Make a node home: the ledger (log key, database, origin), the witness key and
    ``node.toml``. Refuses a home that already has a ``node.toml``; an existing ledger is
    kept when its origin is ``origin``. ``store``: a postgresql:// URL to keep the log in
    instead of ``ledger.db`` (recorded in the home's ``store.url``, specs/storage.md
    section 6)."""
    config = NodeConfig(origin, listen, witness_name or "", mirror_interval=mirror_interval,
                        freshness_interval=freshness_interval, tiles=tiles)
    if config_path(home).exists():
        raise LedgerError(f"{home} is already a node home ({CONFIG_FILE} exists)")
    made = not home.exists()
    try:
        Home(home, store).open_ledger(origin=origin).close()  # raises on another origin
    except BaseException:
        if made:  # a store that could not be opened leaves no empty home behind
            with contextlib.suppress(OSError):
                home.rmdir()
        raise
    if not witness_key_path(home).exists():
        write_private_key(witness_key_path(home), PrivateKey.generate(), None)
    home.chmod(0o700)  # made or adopted: its keys and databases are the owner's alone
    _write_config(home, config)  # last: its presence means the home is complete
    return config


HOME_FILES = ("node.toml", "log.key", "store.url", "refusals.json", "serve.lock", "mirrors",
              "keys", "shards")
"""Names (besides ``ledger.*`` and ``witness.*``) a node or ledger home holds."""


def foreign_files(home: Path) -> list[str]:
    """The names in an existing folder that no node or ledger home holds, sorted: what
    ``node init`` adopting it leaves as they are (specs/node.md section 1)."""
    try:
        names = [p.name for p in home.iterdir()] if home.is_dir() else []
    except OSError:
        return []
    return sorted(n for n in names if n not in HOME_FILES
                  and not n.startswith(("ledger.", "witness.")))


def tiles_dir(home: Path, config: NodeConfig) -> Path | None:
    """The folder ``node serve`` writes its tiles to (specs/tiles.md section 4), a relative
    ``tiles`` being relative to the home; None when it writes none."""
    return (home / config.tiles) if config.tiles else None


def load_config(home: Path) -> NodeConfig:
    path = config_path(home)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as e:
        raise NotFoundError(
            f"{home} is not a node home (no {CONFIG_FILE}; run provenance node init)") from e
    except OSError as e:
        raise LedgerError(f"cannot read {path}: {e.strerror}") from e
    if len(raw) > MAX_CONFIG_BYTES:
        raise MalformedError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise MalformedError(f"{path} is not valid TOML: {e}") from e
    return NodeConfig.from_toml(data)


def _write_config(home: Path, config: NodeConfig) -> None:
    """Replace ``node.toml`` atomically (ledger/files.py: temporary file, fsync, rename)."""
    write_atomic(config_path(home), config.to_toml().encode("utf-8"), mode=None)


def add_peer(home: Path, origin: str, url: str, vkey: str,
             witness_vkey: str | None = None, tiles: str | None = None) -> NodeConfig:
    """Trust a peer's log (and, optionally, its witness key; ``tiles``: mirror it from its
    tiles URL); refuses a peer already listed."""
    config = load_config(home)
    if any(p.origin == origin for p in config.peers):
        raise LedgerError(f"peer {origin} is already configured (remove it first)")
    updated = replace(config, peers=(*config.peers, Peer(origin, url, vkey, witness_vkey,
                                                                   tiles)))
    _write_config(home, updated)
    return updated


def remove_peer(home: Path, origin: str) -> NodeConfig:
    config = load_config(home)
    config.peer(origin)  # raises NotFoundError
    updated = replace(config, peers=tuple(p for p in config.peers if p.origin != origin))
    _write_config(home, updated)
    return updated


def add_witness(home: Path, name: str, url: str, vkey: str) -> NodeConfig:
    """Ask one more witness for cosignatures after each block; refuses a name or key already
    listed. A quorum left at its default (all) grows with the list."""
    config = load_config(home)
    if any(w.name == name for w in config.witnesses):
        raise MalformedError(f"witness {name} is already configured (remove it first)")
    updated = replace(config, witnesses=(*config.witnesses, WitnessEntry(name, url, vkey)))
    _write_config(home, updated)
    return updated


def remove_witness(home: Path, name: str) -> NodeConfig:
    """Stop asking the witness ``name``; refuses when the quorum set would then exceed the
    witnesses left."""
    config = load_config(home)
    if not any(w.name == name for w in config.witnesses):
        listed = ", ".join(w.name for w in config.witnesses) or "none"
        raise NotFoundError(f"no witness {name} in this node's configuration (listed: "
                            f"{listed})")
    left = tuple(w for w in config.witnesses if w.name != name)
    quorum = config.witnessing.quorum
    if quorum is not None and quorum > len(left):
        raise MalformedError(f"the quorum is {quorum} and only {len(left)} witnesses would be "
                             "left: lower it first with provenance node witness policy "
                             "--quorum N")
    updated = replace(config, witnesses=left)
    _write_config(home, updated)
    return updated


def set_witnessing(home: Path, quorum: int | None, timeout: float | None,
                   all_witnesses: bool = False) -> NodeConfig:
    """Set the quorum (``all_witnesses``: back to every witness listed) and/or the timeout."""
    config = load_config(home)
    current = config.witnessing
    updated = replace(config, witnessing=Witnessing(
        None if all_witnesses else (current.quorum if quorum is None else quorum),
        current.timeout if timeout is None else timeout))
    _write_config(home, updated)
    return updated


def set_mirror_interval(home: Path, seconds: int) -> NodeConfig:
    """Set how often ``node serve`` mirrors its peers (seconds; 0: never by itself)."""
    config = load_config(home)
    updated = replace(config, mirror_interval=check_mirror_interval(seconds, "mirror interval"))
    _write_config(home, updated)
    return updated


def set_freshness_interval(home: Path, seconds: int) -> NodeConfig:
    """Set after how long ``node serve`` has its latest checkpoint cosigned again (seconds;
    0: never)."""
    config = load_config(home)
    updated = replace(config, freshness_interval=check_freshness_interval(
        seconds, "freshness interval"))
    _write_config(home, updated)
    return updated


def set_listen(home: Path, listen: str) -> NodeConfig:
    """Set the address ``node serve`` listens on (``HOST:PORT``, checked first)."""
    parse_listen(listen, "--listen")
    updated = replace(load_config(home), listen=listen)
    _write_config(home, updated)
    return updated


def set_tiles(home: Path, folder: str | None) -> NodeConfig:
    """Set the folder ``node serve`` writes the log's C2SP tiles to (relative: in the home;
    None: none), made and checked writable first (specs/tiles.md section 4). The next start
    writes every tile the folder lacks; turning tiles off leaves the folder as it is."""
    from .tiles import check_folder

    config = load_config(home)
    updated = replace(config, tiles=folder or "")
    written = tiles_dir(home, updated)
    if written is not None:
        check_folder(written, "--tiles")
    _write_config(home, updated)
    return updated


def log_signer(home: Path, config: NodeConfig) -> NoteSigner:
    """The node's log key as a note signer named by its origin."""
    return NoteSigner(config.origin, read_private_key(Home(home).log_key_path, None))


def witness_signer(home: Path, config: NodeConfig) -> NoteSigner:
    """The node's witness key as a cosignature/v1 signer named ``witness_name``."""
    key = read_private_key(witness_key_path(home), None)
    return NoteSigner(config.witness_name, key, cosigner=True)


def node_keys(home: Path) -> dict[str, str]:
    """The node's public verifier keys: ``log`` (type 0x01) and ``witness`` (type 0x04)."""
    config = load_config(home)
    return {
        "log": log_signer(home, config).verifier.to_vkey(),
        "witness": witness_signer(home, config).verifier.to_vkey(),
    }


def open_node_ledger(home: Path, config: NodeConfig) -> Ledger:
    """The node's own ledger; raises if the database holds another origin. A home made
    before the verifiable map gets it built now, each step logged (specs/map.md section 10)."""
    def built(stage: str, done: int, total: int) -> None:
        logging.getLogger("provenance_ledger.node").info(
            "building the verifiable map", extra={"fields": {"done": done, "total": total}})

    require_log_key(home)  # a log.key that did not sign the log: refused by open_ledger
    ledger = open_own_ledger(home, config.origin, built)
    return _with_frozen_shards(home, config, ledger)


def open_own_ledger(home: Path, origin: str, progress: MapProgress | None = None) -> Ledger:
    """The ledger of the home, whose origin must be ``origin`` (node.toml's): one changed in
    node.toml by hand is refused naming node.toml and what makes a new origin, a rotation
    (specs/node.md section 1)."""
    try:
        return Home(home).open_ledger(origin=origin, progress=progress)
    except OtherOriginError as e:
        raise StorageError(
            f"{config_path(home)} says origin = \"{origin}\", but the node's log is "
            f"{e.held}: an origin is not changed in node.toml; put "
            f"origin = \"{e.held}\" back, then make a new origin with provenance "
            f"node shard rotate --home {home} --origin {origin} (the log so far is frozen "
            "and still served)") from e


def require_log_key(home: Path) -> None:
    """Refuse a node home whose ``log.key`` is gone (specs/node.md section 1): ``node init``
    made it, and the embedded ledger would make a new one in its place, a key no peer,
    witness or client trusts, signing checkpoints that extend the log under another key."""
    path = Home(home).log_key_path
    if not path.exists():
        raise LedgerError(
            f"the node's log key {path} is missing: restore it from your backup of the home "
            "(a new key would sign another log, which no peer, witness or client trusts)")


def require_keys(home: Path) -> None:
    """What ``node serve`` checks before it listens (specs/node.md section 1): the log key
    (:func:`require_log_key`) and the witness key are there, read only by their owner, and
    each holds a key, so that a home with a key missing, readable by others or damaged is
    one line and exit 2 without a ``listening`` record before it."""
    require_log_key(home)
    path = witness_key_path(home)
    if not path.exists():
        raise LedgerError(f"the node's witness key {path} is missing: restore it from your "
                          "backup of the home (its peers know this node's cosignatures by it)")
    for key in (Home(home).log_key_path, path):
        try:
            mode = key.stat().st_mode & 0o777
        except OSError as e:
            raise LedgerError(f"cannot read key {key}: {e.strerror}") from e
        if mode & 0o077:
            raise LedgerError(f"the private key {key} may be read by other users (mode "
                              f"{mode:04o}): chmod 600 {key}")
        try:
            read_private_key(key, None)
        except LedgerError as e:  # its words name the file alone: name the home's path
            raise type(e)(str(e).replace(f"key {key.name}", f"key {key}", 1)) from e


def check_home_access(home: Path) -> None:
    """A warning (logged, ``node serve`` goes on) when other users may write the home: they
    could replace its files (specs/node.md section 1)."""
    try:
        mode = home.stat().st_mode & 0o777
    except OSError:
        return
    if mode & 0o022:
        logging.getLogger("provenance_ledger.node").warning(
            "the node's home may be written by other users", extra={"fields": {
                "home": str(home), "mode": f"{mode:04o}", "fix": f"chmod 700 {home}"}})


def _with_frozen_shards(home: Path, config: NodeConfig, ledger: Ledger) -> Ledger:
    """The current log of a node that rotated, carrying works forward from its frozen shards
    (node/carry.py; specs/node.md section 10.4); ``ledger`` itself when it never rotated."""
    from .carry import ShardedLedger
    from .shard_manifest import load_manifest
    from .shards import frozen_stores

    manifest = load_manifest(home, config.origin)
    if not manifest.frozen or ledger.signer is None:
        return ledger
    try:
        return ShardedLedger(ledger.store, ledger.signer, frozen_stores(home, manifest))
    except BaseException:
        ledger.close()
        raise
