"""Fetching from peers and nodes: bounded in size and time while the answer streams in.

Everything a peer sends is untrusted, the amount and the pace included. As python-tuf's
``RequestsFetcher`` does, an answer is read as a stream with a running byte count and
abandoned as soon as it passes the limit the caller names (a declared ``Content-Length``
over the limit is refused before any of the body is read), never after the whole answer is in
memory. Time is bounded three ways (specs/cli.md section 1.3): the connection must be made
within the connect timeout, every read must bring bytes within the read timeout (a peer that
accepts the connection and stays silent), and the whole answer must be in within the answer
deadline (a peer trickling bytes just under the read timeout). Headers are bounded by the
HTTP parser (httpcore: 100 KiB). Compressed answers are refused: the client asks for
``identity``, so that the count is of the bytes kept, with no decompression bomb in between.

Every failure is one :class:`PeerError` naming the peer and the URL. What the bytes mean is
not decided here: :mod:`provenance_ledger.node.replies` parses them into typed values.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import PeerError, quoted

DEFAULT_TIMEOUT_S = 10.0
"""Default connect and read timeout, in seconds (``--timeout``)."""
ANSWER_DEADLINE_S = 120.0
"""Longest time one whole answer may take to arrive, in seconds (at least the read timeout)."""
MAX_SHOWN_CHARS = 200  # longest piece of a peer's error body repeated in a message


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Connect timeout, read timeout (the longest silence while waiting for bytes) and the
    deadline for a whole answer, in seconds."""

    connect: float = DEFAULT_TIMEOUT_S
    read: float = DEFAULT_TIMEOUT_S
    answer: float = ANSWER_DEADLINE_S

    def __post_init__(self) -> None:
        if not (self.connect > 0 and self.read > 0 and self.answer > 0):
            raise ValueError("timeouts must be positive")

    @classmethod
    def of(cls, seconds: float | None) -> Timeouts:
        """The timeouts of ``--timeout SECONDS`` (connect and read; None: the default)."""
        if seconds is None:
            return cls()
        return cls(seconds, seconds, max(ANSWER_DEADLINE_S, seconds))

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.read,
                             pool=self.connect)


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole answer, within its limit: status, media type (without parameters), body."""

    method: str
    url: str
    status: int
    media_type: str
    body: bytes
    retry_after: str | None = None
    provenance: Mapping[str, str] = field(default_factory=dict)
    """The answer's ``Provenance-*`` headers, names in lower case (specs/node.md section 9)."""

    @property
    def where(self) -> str:
        """``METHOD URL``, for messages."""
        return f"{self.method} {self.url}"

    def excerpt(self) -> str:
        """The start of the body as one printable line, for an error message."""
        text = self.body[: 4 * MAX_SHOWN_CHARS].decode("utf-8", "replace")
        line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
        return line[:MAX_SHOWN_CHARS]


def _seconds(value: float) -> str:
    return f"{value:g} s"


class Fetcher:
    """HTTP requests to one kind of party (peers, or a node) with bounded answers.

    ``who`` in each call names the party for messages (``peer O (URL)``, ``node URL``)."""

    def __init__(self, timeouts: Timeouts | None = None,
                 client: httpx.Client | None = None) -> None:
        self.timeouts = timeouts or Timeouts()
        self._own = client is None
        self._client = client or httpx.Client(follow_redirects=False)

    def close(self) -> None:
        if self._own:
            self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, who: str, url: str, limit: int,
            params: Mapping[str, int | str] | None = None) -> Answer:
        return self.request("GET", who, url, limit, params=params)

    def request(self, method: str, who: str, url: str, limit: int, *,
                params: Mapping[str, int | str] | None = None, content: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> Answer:
        """One request; the whole answer (any status) of at most ``limit`` bytes, or one
        :class:`PeerError` naming ``who`` and the URL."""
        t = self.timeouts
        deadline = time.monotonic() + t.answer
        shown = url
        try:
            request = self._client.build_request(
                method, url, params=dict(params) if params else None, content=content,
                headers={**(headers or {}), "accept-encoding": "identity"},
                timeout=t.httpx())
            shown = str(request.url)
            response = self._client.send(request, stream=True)
        except httpx.ConnectTimeout as e:
            raise PeerError(who, f"{method} {shown}: no connection within "
                            f"{_seconds(t.connect)} (--timeout)") from e
        except httpx.TimeoutException as e:
            raise PeerError(who, f"{method} {shown}: no answer within {_seconds(t.read)} "
                            "(--timeout)") from e
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as e:
            raise PeerError(who, f"{method} {shown}: cannot reach it: {_why(e)}") from e
        try:
            return self._read(response, who, method, shown, limit, deadline)
        finally:
            response.close()

    def _read(self, response: httpx.Response, who: str, method: str, shown: str, limit: int,
              deadline: float) -> Answer:
        t = self.timeouts
        where = f"{method} {shown}"
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise PeerError(who, f"{where}: answered with content encoding {quoted(encoding, 42)}, "
                            "not the identity encoding asked for")
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise PeerError(who, f"{where}: the answer is {int(declared)} bytes, over the "
                            f"limit of {limit} bytes")
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_raw():  # each read as it comes, not a filled chunk
                total += len(chunk)
                if total > limit:
                    raise PeerError(who, f"{where}: the answer is over the limit of {limit} "
                                    "bytes")
                if time.monotonic() > deadline:
                    raise PeerError(who, f"{where}: the answer took over "
                                    f"{_seconds(t.answer)}")
                chunks.append(chunk)
        except httpx.TimeoutException as e:
            raise PeerError(who, f"{where}: the answer stopped for over {_seconds(t.read)} "
                            "(--timeout)") from e
        except (httpx.HTTPError, httpx.StreamError) as e:
            raise PeerError(who, f"{where}: the answer broke off: {_why(e)}") from e
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Answer(method, shown, response.status_code, media, b"".join(chunks),
                      response.headers.get("retry-after"),
                      {k: v for k, v in response.headers.items()
                       if k.startswith("provenance-")})


def _why(e: Exception) -> str:
    text: Any = str(e) or type(e).__name__
    return " ".join(str(text).split())[:MAX_SHOWN_CHARS]
