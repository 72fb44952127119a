"""An IMAP proxy in front of Dovecot that answers the way Exchange Online throttles.

It forwards everything, and it reads the client's commands (lines and their ``{N}``/``{N+}``
literals). The first ``APPEND`` command after :meth:`ExoProxy.throttle_next_append` is armed
is never forwarded. The proxy lets the replies already owed reach the client, answers that
command with ``NO Request is throttled. Suggested Backoff Time: <ms> milliseconds`` and then
drops the session. Exchange Online does the same (imapsync FAQ.Office365, issues #198 and
#272). Connections made after that are carried normally.

With ``exchange=True`` it also looks and behaves like Exchange Online in two more ways. Its
greeting names "The Microsoft Exchange IMAP4 service", and its capabilities lack MULTIAPPEND
(so imsh pipelines APPENDs with LITERAL+, as it does against Exchange Online). It "forgets"
``\\Flagged`` given at APPEND: the proxy strips the flag from APPEND commands, so a copy gets
it only through a later STORE, as on Exchange Online.

:attr:`ExoProxy.append_limit`, when set, is announced as ``APPENDLIMIT=<n>`` (RFC 7889) in the
server's CAPABILITY replies, on the connections made after it was set.
:attr:`ExoProxy.refuse_over`, when set, refuses an APPEND whose literal is larger, as a server
with a size limit it does not announce: the literal is read, not forwarded, and the command is
answered ``NO [TOOBIG] Message size exceeds fixed maximum message size``.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time

from tests.support.ports import LOOPBACK

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_MULTIAPPEND = re.compile(rb" MULTIAPPEND(?=[ \]\r])")
_FLAGGED = re.compile(rb"\\Flagged\b ?", re.IGNORECASE)
_SPACE_BEFORE_CLOSE = re.compile(rb" \)")
_CAPABILITY = re.compile(rb"(CAPABILITY IMAP4rev1)(?= )")
_APPEND = re.compile(rb"^(\S+) (?:UID )?APPEND ", re.IGNORECASE)


class ExoProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, exchange: bool = False
                 ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.exchange = exchange
        self._listener = socket.create_server((LOOPBACK, 0))
        self.host = LOOPBACK
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._armed: int | None = None  # the hint in milliseconds
        self.throttled_at: list[float] = []  # monotonic times of the throttled commands
        self.append_times: list[float] = []  # monotonic times of every APPEND command seen
        self.append_limit: int | None = None  # announced as APPENDLIMIT=<n> when set
        self.refuse_over: int | None = None  # APPENDs of larger literals: NO [TOOBIG]
        self.refused: int = 0  # APPENDs refused so far
        threading.Thread(target=self._accept, name="exo-proxy", daemon=True).start()

    def throttle_next_append(self, backoff_ms: int) -> None:
        with self._lock:
            self._armed = backoff_ms

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            threading.Thread(target=self._down, args=(server, client), daemon=True).start()
            threading.Thread(target=self._up, args=(client, server), daemon=True).start()

    def _down(self, server: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self.exchange:
                greeting = server.makefile("rb").readline()  # the server speaks first
                client.sendall(_MULTIAPPEND.sub(b"", re.sub(
                    rb"Dovecot.*ready\.", b"The Microsoft Exchange IMAP4 service is ready.",
                    greeting)))
            limit = self.append_limit
            while data := server.recv(65536):
                # Exchange offers LITERAL+ but not MULTIAPPEND: imsh pipelines its APPENDs
                data = _MULTIAPPEND.sub(b"", data) if self.exchange else data
                if limit is not None:
                    data = _CAPABILITY.sub(rb"\1 APPENDLIMIT=%d" % limit, data)
                client.sendall(data)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    def _up(self, client: socket.socket, server: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    break
                match = _APPEND.match(line)
                hint = self._take(match is not None)
                if hint is not None and match is not None:
                    self._drain(client)  # pipelined commands behind it are read, not run
                    client.sendall(match.group(1) + b" NO Request is throttled. Suggested "
                                   b"Backoff Time: " + str(hint).encode() + b" milliseconds\r\n")
                    with self._lock:
                        self.throttled_at.append(time.monotonic())
                    break
                # forward the command as it comes: a synchronising literal waits for the
                # server's "+", so nothing may be held back
                appending = match is not None
                while True:
                    if appending and self.exchange:
                        line = _SPACE_BEFORE_CLOSE.sub(b")", _FLAGGED.sub(b"", line))
                    literal = _LITERAL.search(line)
                    limit = self.refuse_over
                    if (appending and match is not None and literal is not None
                            and limit is not None and int(literal.group(1)) > limit
                            and line.rstrip().endswith(b"+}")):
                        reader.read(int(literal.group(1)))
                        reader.readline()  # the command's end
                        client.sendall(match.group(1) + b" NO [TOOBIG] Message size exceeds "
                                       b"fixed maximum message size\r\n")
                        with self._lock:
                            self.refused += 1
                        break
                    server.sendall(line)
                    if literal is None:
                        break
                    server.sendall(reader.read(int(literal.group(1))))
                    line = reader.readline()
                    if not line:
                        break
        except OSError:
            pass
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @staticmethod
    def _drain(client: socket.socket) -> None:
        """Read what the client still sends for 0.5 s; the replies owed for earlier commands
        reach it meanwhile."""
        client.settimeout(0.5)
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass
        client.settimeout(None)

    def _take(self, is_append: bool) -> int | None:
        with self._lock:
            if not is_append:
                return None
            self.append_times.append(time.monotonic())
            hint, self._armed = self._armed, None
            return hint
