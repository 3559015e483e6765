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

    [[peers]]
    origin = "peer.example/log"
    url = "http://127.0.0.1:8381"
    vkey = "peer.example/log+1a2b3c4d+AQ..."          # the peer's log key (type 0x01)
    witness_vkey = "peer.example/log/witness+..."     # optional: its cosigning key (0x04)

Every value is checked when loaded; a problem raises one :class:`MalformedError` that names
the field. Servers listen on 127.0.0.1 unless the operator writes another address. This
module never prints or logs a private key: :func:`node_keys` returns public keys only.
"""

from __future__ import annotations

import ipaddress
import tomllib
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
from ..errors import LedgerError, MalformedError, NotFoundError
from ..ledger import Home, Ledger
from ..ledger.files import write_atomic
from ..ledger.keys import read_private_key, write_private_key

CONFIG_FILE = "node.toml"
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

# -- mirroring inside ``node serve`` (node/autosync.py; specs/node.md section 4.1) --------------
DEFAULT_MIRROR_INTERVAL = 60
"""Seconds between two mirroring rounds of a serving node, unless node.toml says otherwise."""
MAX_MIRROR_INTERVAL = 86_400  # seconds: a round at least once a day


def check_mirror_interval(value: Any, what: str = "node.toml: field 'mirror_interval'") -> int:
    """A whole number of seconds from 0 (mirroring in ``node serve`` off) to a day."""
    if type(value) is not int or not 0 <= value <= MAX_MIRROR_INTERVAL:
        raise MalformedError(f"{what} must be a whole number of seconds from 0 (off) to "
                             f"{MAX_MIRROR_INTERVAL}, not {str(value)[:40]!r}")
    return value
# -- end of mirroring settings ------------------------------------------------------------------

_TOP_FIELDS = frozenset({"origin", "listen", "witness_name", "peers", "mirror_interval"})
_PEER_FIELDS = frozenset({"origin", "url", "vkey", "witness_vkey"})


def parse_listen(listen: Any) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) with an IP address or ``localhost`` as host;
    port 0 asks the system for a free port."""
    if not isinstance(listen, str) or len(listen) > 64:
        raise MalformedError(f"listen address {str(listen)[:80]!r} is not HOST:PORT")
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not port_text.isascii():
        raise MalformedError(f"listen address {listen!r} is not HOST:PORT")
    port = int(port_text)
    if port > 65535:
        raise MalformedError(f"listen port {port} is above 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            if ipaddress.ip_address(host).version != 6:
                raise ValueError(host)
        except ValueError as e:
            raise MalformedError(f"listen host [{host}] is not an IPv6 address") from e
        return host, port
    if host != "localhost":
        try:
            if ipaddress.ip_address(host).version != 4:
                raise ValueError(host)
        except ValueError as e:
            raise MalformedError(
                f"listen host {host!r} must be an IPv4 address, [IPv6] or localhost") from e
    return host, port


def check_url(url: Any) -> str:
    """An http(s) base URL with a host and no user info, query or fragment; no trailing '/'."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_CHARS or not url.isprintable() \
            or any(c.isspace() for c in url):
        raise MalformedError(f"peer URL {str(url)[:80]!r} is not a URL")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError as e:
        raise MalformedError(f"peer URL {url[:80]!r} is not a URL: {e}") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MalformedError(f"peer URL {url[:80]!r} must be http:// or https:// with a host")
    if parts.username is not None or parts.password is not None:
        raise MalformedError(f"peer URL {parts.hostname} must not carry user information")
    if parts.query or parts.fragment:
        raise MalformedError(f"peer URL {url[:80]!r} must not have a query or fragment")
    return url.rstrip("/")


def check_vkey(vkey: Any, what: str, name: str | None, sig_type: int) -> Verifier:
    """Parse a verifier key, requiring its signature type and (if given) its key name."""
    if not isinstance(vkey, str):
        raise MalformedError(f"{what} must be a string")
    try:
        v = Verifier.from_vkey(vkey, sig_type)
    except MalformedError as e:
        raise MalformedError(f"{what}: {e}") from e
    if name is not None and v.name != name:
        raise MalformedError(f"{what} is named {v.name!r}, expected {name!r}")
    return v


@dataclass(frozen=True, slots=True)
class Peer:
    """Another node this one mirrors and witnesses: its log origin, base URL and keys."""

    origin: str
    url: str
    vkey: str
    witness_vkey: str | None = None

    def __post_init__(self) -> None:
        check_key_name(self.origin, "peer origin")
        object.__setattr__(self, "url", check_url(self.url))
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
class NodeConfig:
    """The contents of ``node.toml``."""

    origin: str
    listen: str = DEFAULT_LISTEN
    witness_name: str = ""
    peers: tuple[Peer, ...] = field(default=())
    mirror_interval: int = DEFAULT_MIRROR_INTERVAL  # seconds; 0: no mirroring in node serve

    def __post_init__(self) -> None:
        check_key_name(self.origin, "origin")
        check_mirror_interval(self.mirror_interval)
        if not self.witness_name:
            object.__setattr__(self, "witness_name", self.origin + WITNESS_NAME_SUFFIX)
        check_key_name(self.witness_name, "witness_name")
        if self.witness_name == self.origin:
            raise MalformedError("witness_name must differ from the origin (they are two keys)")
        parse_listen(self.listen)
        if len(self.peers) > MAX_PEERS:
            raise MalformedError(f"a node has at most {MAX_PEERS} peers")
        seen_origins = {self.origin}
        seen_witnesses = {self.witness_name}
        for p in self.peers:
            if p.origin in seen_origins:
                what = "this node's own origin" if p.origin == self.origin else "listed twice"
                raise MalformedError(f"peer {p.origin} is {what}")
            seen_origins.add(p.origin)
            w = p.witness_verifier
            if w is not None:
                if w.name in seen_witnesses:
                    raise MalformedError(f"peer {p.origin}: witness name {w.name} is already used")
                seen_witnesses.add(w.name)

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
            raise MalformedError(f"{CONFIG_FILE}: unknown field {sorted(unknown)[0]!r}")
        for name in ("origin", "listen", "witness_name"):
            if name not in data:
                raise MalformedError(f"{CONFIG_FILE}: field {name!r} is missing")
            if not isinstance(data[name], str):
                raise MalformedError(f"{CONFIG_FILE}: field {name!r} must be a string")
        raw_peers = data.get("peers", [])
        if not isinstance(raw_peers, list):
            raise MalformedError(f"{CONFIG_FILE}: peers must be [[peers]] tables")
        peers = []
        for n, p in enumerate(raw_peers):
            if not isinstance(p, dict):
                raise MalformedError(f"{CONFIG_FILE}: peers[{n}] must be a table")
            unknown = p.keys() - _PEER_FIELDS
            if unknown:
                raise MalformedError(f"{CONFIG_FILE}: peers[{n}] has unknown field "
                                     f"{sorted(unknown)[0]!r}")
            for name in ("origin", "url", "vkey"):
                if not isinstance(p.get(name), str):
                    raise MalformedError(f"{CONFIG_FILE}: peers[{n}].{name} is missing or "
                                         "not a string")
            if "witness_vkey" in p and not isinstance(p["witness_vkey"], str):
                raise MalformedError(f"{CONFIG_FILE}: peers[{n}].witness_vkey must be a string")
            peers.append(Peer(p["origin"], p["url"], p["vkey"], p.get("witness_vkey")))
        interval = check_mirror_interval(data.get("mirror_interval", DEFAULT_MIRROR_INTERVAL))
        return cls(data["origin"], data["listen"], data["witness_name"], tuple(peers),
                   mirror_interval=interval)

    def to_toml(self) -> str:
        lines = [
            "# provenance-ledger node configuration (written by the node; see node/config.py)",
            f"origin = {_toml_str(self.origin)}",
            f"listen = {_toml_str(self.listen)}",
            f"witness_name = {_toml_str(self.witness_name)}",
            f"mirror_interval = {self.mirror_interval}",
        ]
        for p in self.peers:
            lines += ["", "[[peers]]", f"origin = {_toml_str(p.origin)}",
                      f"url = {_toml_str(p.url)}", f"vkey = {_toml_str(p.vkey)}"]
            if p.witness_vkey is not None:
                lines.append(f"witness_vkey = {_toml_str(p.witness_vkey)}")
        return "\n".join(lines) + "\n"


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


def init_node(home: Path, origin: str, listen: str = DEFAULT_LISTEN,
              witness_name: str | None = None,
              mirror_interval: int = DEFAULT_MIRROR_INTERVAL) -> NodeConfig:
    """Make a node home: the ledger (log key, database, origin), the witness key and
    ``node.toml``. Refuses a home that already has a ``node.toml``; an existing ledger is
    kept when its origin is ``origin``."""
    config = NodeConfig(origin, listen, witness_name or "", mirror_interval=mirror_interval)
    if config_path(home).exists():
        raise LedgerError(f"{home} is already a node home ({CONFIG_FILE} exists)")
    Home(home).open_ledger(origin=origin).close()  # raises if the ledger has another origin
    if not witness_key_path(home).exists():
        write_private_key(witness_key_path(home), PrivateKey.generate(), None)
    _write_config(home, config)  # last: its presence means the home is complete
    return config


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
             witness_vkey: str | None = None) -> NodeConfig:
    """Trust a peer's log (and, optionally, its witness key); refuses a peer already listed."""
    config = load_config(home)
    if any(p.origin == origin for p in config.peers):
        raise LedgerError(f"peer {origin} is already configured (remove it first)")
    updated = replace(config, peers=(*config.peers, Peer(origin, url, vkey, witness_vkey)))
    _write_config(home, updated)
    return updated


def remove_peer(home: Path, origin: str) -> NodeConfig:
    config = load_config(home)
    config.peer(origin)  # raises NotFoundError
    updated = replace(config, peers=tuple(p for p in config.peers if p.origin != origin))
    _write_config(home, updated)
    return updated


def set_mirror_interval(home: Path, seconds: int) -> NodeConfig:
    """Set how often ``node serve`` mirrors its peers (seconds; 0: never by itself)."""
    config = load_config(home)
    updated = replace(config, mirror_interval=check_mirror_interval(seconds, "mirror interval"))
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
    """The node's own ledger; raises if the database holds another origin."""
    return Home(home).open_ledger(origin=config.origin)
