"""A loopback IMAP proxy that rewrites what a real server answers, for protocol-fault tests.

``ImapProxy(host, port)`` listens on a free 127.0.0.1 port and carries each connection to the
real server (Dovecot in the tests). Unlike tests/support/tcp_proxy.py (bytes, cuts), it
understands IMAP framing well enough to change single responses: it reads the server's answer
one *response* at a time (a line plus the literals it announces, ``{n}``) and the client's
commands one line at a time (literals passed through), and hands them to the *rules* a test
adds. A rule can:

- rewrite or drop a response: :class:`DropAppendUid` (the ``[APPENDUID ...]`` code of APPEND),
  :class:`HideCapability` (``UIDPLUS`` out of every CAPABILITY list), :class:`StripFetchItems`
  (named items such as ``BODY[]``, ``RFC822.SIZE`` or ``INTERNALDATE`` out of FETCH responses),
  :class:`BareLineFeeds` (message bodies served with LF line ends, by an unnamed server);
- add responses: :class:`InjectAfterFetch` (say ``* 1 EXPUNGE`` or an unsolicited
  ``* 3 FETCH (FLAGS (\\Seen))``) after the Nth FETCH response of a command, optionally running
  a callback first (a real EXPUNGE through a second connection, at a deterministic moment);
- act before a command reaches the server: :class:`BeforeCommand` (delete the folder about to
  be EXAMINEd);
- cut the link right after the server completed a command but before the client heard it:
  :class:`CutAfterCompletion` (an APPEND that happened though imsh never learnt it).

Rules count what they did (``hits``), can be limited (``times``), and filter on the command in
progress (``command``: a case-insensitive substring of the client's command line). Everything
is bounded: every socket has an idle timeout, and the proxy closes itself after ``lifetime``
seconds whatever the test does. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.ports import LOOPBACK

IDLE_TIMEOUT = 60.0
DEFAULT_LIFETIME = 300.0
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_TAGGED = re.compile(rb"^([A-Za-z0-9.]+) (OK|NO|BAD)\b", re.IGNORECASE)
_FETCH = re.compile(rb"^\* (\d+) FETCH \(", re.IGNORECASE)
_APPENDUID = re.compile(rb"\[APPENDUID [^\]]*\] ?", re.IGNORECASE)


class Connection:
    """One carried connection: the commands in flight, as the client sent them."""

    def __init__(self, proxy: ImapProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.server = server
        self.in_flight: list[tuple[bytes, bytes]] = []  # (tag, command line)
        self.fetch_responses = 0  # FETCH responses seen for the command in progress
        self.closed = False

    def command(self) -> bytes:
        """The command lines in flight, upper-cased and joined (for rule filters)."""
        return b"\n".join(line for _tag, line in self.in_flight).upper()

    def busy_with(self, text: str | None) -> bool:
        return text is None or text.upper().encode() in self.command()

    def close(self) -> None:
        self.closed = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


@dataclass
class Rule:
    """Base of all rules: a filter on the command in progress and a budget of hits."""

    command: str | None = None
    times: int | None = None
    hits: int = 0

    def _spend(self) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True

    def on_command(self, conn: Connection, line: bytes) -> None:
        """Called before a client command line goes to the server."""

    def rewrite_command(self, conn: Connection, line: bytes) -> bytes:
        """The command line the server gets instead of ``line`` (tests/support/gmail_proxy.py)."""
        return line

    def on_response(self, conn: Connection, response: bytes) -> list[bytes]:
        """The responses to send instead of ``response`` (``[response]``: unchanged)."""
        return [response]


@dataclass
class DropAppendUid(Rule):
    """Remove the ``[APPENDUID v uids]`` response code from tagged APPEND completions."""

    def on_response(self, conn: Connection, response: bytes) -> list[bytes]:
        if _TAGGED.match(response) and _APPENDUID.search(response) and self._spend():
            return [_APPENDUID.sub(b"", response)]
        return [response]


@dataclass
class HideCapability(Rule):
    """Remove a capability (``UIDPLUS``) from ``* CAPABILITY`` and ``[CAPABILITY ...]``."""

    name: str = "UIDPLUS"

    def on_response(self, conn: Connection, response: bytes) -> list[bytes]:
        if b"CAPABILITY" not in response.upper():
            return [response]
        word = re.compile(rb" " + re.escape(self.name.encode()) + rb"(?=[ \]\r])", re.IGNORECASE)
        changed = word.sub(b"", response)
        if changed != response:
            self.hits += 1
        return [changed]


@dataclass
class StripFetchItems(Rule):
    """Leave named items out of FETCH responses (``uids``: only responses carrying one of
    these UIDs). Names compare case-insensitively and exactly (``BODY[]``, ``RFC822.SIZE``)."""

    items: tuple[str, ...] = ()
    uids: frozenset[int] | None = None

    def on_response(self, conn: Connection, response: bytes) -> list[bytes]:
        if not _FETCH.match(response) or not conn.busy_with(self.command):
            return [response]
        parsed = fetch_items(response)
        if self.uids is not None:
            uid = next((v for n, v, _s, _e in parsed if n == b"UID"), None)
            if uid is None or int(uid) not in self.uids:
                return [response]
        wanted = {i.upper().encode() for i in self.items}
        spans = [(start, end) for name, _v, start, end in parsed if name in wanted]
        if not spans or not self._spend():
            return [response]
        for start, end in reversed(spans):
            if response[end:end + 1] == b" ":
                end += 1
            elif start > 0 and response[start - 1:start] == b" ":
                start -= 1
            response = response[:start] + response[end:]
        return [response]


@dataclass
class BareLineFeeds(Rule):
    """A server that serves bare LF: ``BODY[]`` literals of FETCH responses with every CRLF
    turned into LF, behind a greeting of the proxy's own (no server name in it)."""

    def on_response(self, conn: Connection, response: bytes) -> list[bytes]:
        if response.startswith(b"* OK") and not conn.in_flight and b"ready" in response:
            return [re.sub(rb"\][^\r]*\r\n$", b"] mail proxy ready.\r\n", response)]
        if not _FETCH.match(response):
            return [response]
        for name, value, start, end in reversed(fetch_items(response)):
            if name != b"BODY[]" or not value.startswith(b"{"):
                continue
            data = value[value.index(b"}") + 3:]
            lf = data.replace(b"\r\n", b"\n")
            if lf != data:
                self.hits += 1
            response = (response[:start] + b"BODY[] {%d}\r\n" % len(lf) + lf
                        + response[end:])
        return [response]


@dataclass
class InjectAfterFetch(Rule):
    """After the ``after``-th FETCH response of a matching command, run ``action`` (if any),
    then send ``lines`` (untagged responses, CRLF added) before the server's next response."""

    after: int = 1
    lines: tuple[str, ...] = ()
    action: Callable[[], None] | None = None

    def on_response(self, conn: Connection, response: bytes) -> list[bytes]:
        if not _FETCH.match(response) or not conn.busy_with(self.command):
            return [response]
        if conn.fetch_responses != self.after or not self._spend():
            return [response]
        if self.action is not None:
            self.action()
        return [response, *(line.encode() + b"\r\n" for line in self.lines)]


@dataclass
class BeforeCommand(Rule):
    """Run ``action`` before a matching client command reaches the server."""

    action: Callable[[], None] = field(default=lambda: None)

    def on_command(self, conn: Connection, line: bytes) -> None:
        if self.command is not None and self.command.upper().encode() in line.upper() \
                and self._spend():
            self.action()


@dataclass
class CutAfterCompletion(Rule):
    """When the server completes a matching command (tagged OK), drop that completion and
    close the connection: the server did it, the client never hears so."""

    def on_response(self, conn: Connection, response: bytes) -> list[bytes]:
        match = _TAGGED.match(response)
        if match is None or match.group(2).upper() != b"OK":
            return [response]
        line = next((c for t, c in conn.in_flight if t == match.group(1)), b"")
        if self.command is None or self.command.upper().encode() not in line.upper():
            return [response]
        if not self._spend():
            return [response]
        conn.close()
        return []


class ImapProxy:
    """Carries 127.0.0.1:<port> to an upstream IMAP server through the rules in ``rules``."""

    def __init__(self, upstream_host: str, upstream_port: int, *,
                 lifetime: float = DEFAULT_LIFETIME) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((LOOPBACK, 0))
        self.host = LOOPBACK
        self.port = int(self._listener.getsockname()[1])
        self.rules: list[Rule] = []
        self.commands: list[bytes] = []  # every command line seen, for assertions
        self._lock = threading.RLock()
        self._connections: list[Connection] = []
        self._closed = False
        self._timer = threading.Timer(lifetime, self.close)
        self._timer.daemon = True
        self._timer.start()
        threading.Thread(target=self._accept, name="imap-proxy", daemon=True).start()

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def close(self) -> None:
        self._closed = True
        self._timer.cancel()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def __enter__(self) -> ImapProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing --------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.settimeout(IDLE_TIMEOUT)
            conn = Connection(self, client, server)
            with self._lock:
                self._connections.append(conn)
            threading.Thread(target=self._commands, args=(conn,), daemon=True).start()
            threading.Thread(target=self._responses, args=(conn,), daemon=True).start()

    def _commands(self, conn: Connection) -> None:
        """Client to server: command lines (and the literals they announce)."""
        reader = conn.client.makefile("rb")
        continuing = False  # the line goes on after a literal: not a new command
        try:
            while not conn.closed and (line := reader.readline()):
                if not continuing and b" " in line:
                    tag = line.split(b" ", 1)[0]
                    with self._lock:
                        self.commands.append(line.rstrip(b"\r\n"))
                        for rule in list(self.rules):
                            rule.on_command(conn, line)
                            line = rule.rewrite_command(conn, line)
                    conn.in_flight = [*conn.in_flight[-31:], (tag, line)]
                    conn.fetch_responses = 0
                conn.server.sendall(line)
                literal = _LITERAL.search(line)
                if literal:
                    conn.server.sendall(_read_exactly(reader, int(literal.group(1))))
                continuing = literal is not None
        except OSError:
            pass
        conn.close()

    def _responses(self, conn: Connection) -> None:
        """Server to client: whole responses, through the rules."""
        reader = conn.server.makefile("rb")
        try:
            while not conn.closed and (response := _read_response(reader)):
                if _FETCH.match(response):
                    conn.fetch_responses += 1
                out = [response]
                with self._lock:
                    for rule in list(self.rules):
                        out = [r for item in out for r in rule.on_response(conn, item)]
                if conn.closed:
                    return
                if out:
                    conn.client.sendall(b"".join(out))
                tagged = _TAGGED.match(response)
                if tagged:
                    conn.in_flight = [(t, c) for t, c in conn.in_flight
                                      if t != tagged.group(1)]
        except OSError:
            pass
        conn.close()


def _read_exactly(reader: object, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = reader.read(count - len(data))  # type: ignore[attr-defined]
        if not chunk:
            raise OSError("connection closed inside a literal")
        data += chunk
    return data


def _read_response(reader: object) -> bytes:
    """One server response: a line, plus every literal it announces and the rest of it."""
    data = reader.readline()  # type: ignore[attr-defined]
    if not data:
        return b""
    while (literal := _LITERAL.search(data)) is not None:
        data += _read_exactly(reader, int(literal.group(1)))
        rest = reader.readline()  # type: ignore[attr-defined]
        if not rest:
            raise OSError("connection closed inside a response")
        data += rest
    return bytes(data)


def fetch_items(response: bytes) -> list[tuple[bytes, bytes, int, int]]:
    """The items of one ``* n FETCH (...)`` response: (upper name, value text, start, end),
    ``start:end`` spanning name and value in ``response``. Literal values are given whole."""
    match = _FETCH.match(response)
    if match is None:
        return []
    items: list[tuple[bytes, bytes, int, int]] = []
    i = match.end()
    while i < len(response):
        while response[i:i + 1] == b" ":
            i += 1
        if response[i:i + 1] in (b")", b"", b"\r"):
            break
        start = i
        depth = 0
        while i < len(response):  # the name: up to a space outside [...]
            c = response[i:i + 1]
            if c == b"[":
                depth += 1
            elif c == b"]":
                depth -= 1
            elif c == b" " and depth == 0:
                break
            i += 1
        name = response[start:i].upper()
        i += 1
        value_start = i
        i = _skip_value(response, i)
        items.append((name, response[value_start:i], start, i))
    return items


def _skip_value(data: bytes, i: int) -> int:
    """The index just after the value starting at ``i`` (atom, string, literal or list)."""
    c = data[i:i + 1]
    if c == b'"':
        i += 1
        while i < len(data) and data[i:i + 1] != b'"':
            i += 2 if data[i:i + 1] == b"\\" else 1
        return i + 1
    if c == b"{":
        close = data.index(b"}", i)
        count = int(data[i + 1:close].rstrip(b"+"))
        return close + 3 + count  # "}\r\n" then the literal
    if c == b"(":
        depth = 0
        while i < len(data):
            c = data[i:i + 1]
            if c == b'"' or c == b"{":
                i = _skip_value(data, i)
                continue
            if c == b"(":
                depth += 1
            elif c == b")":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return i
    while i < len(data) and data[i:i + 1] not in (b" ", b")", b"\r"):
        i += 1
    return i
