"""A loopback TCP proxy that injects byte-level faults, for connection-fault tests.

``TcpProxy(host, port)`` listens on a free 127.0.0.1 port and forwards each accepted
connection to ``host:port``. Two ways to break what it carries:

- :meth:`TcpProxy.cut_after` arms one global cut: once that many more bytes went from the
  server to the client (over all connections), every live connection is closed on both sides,
  as a dropped network link or a crashed server would look to imsh. New connections after a
  cut are carried normally, so a resumed pass can reach the server again.
- :attr:`TcpProxy.faults` is a function called with the number of each new connection (0, 1,
  ...); it returns that connection's :class:`LinkFaults` (or None for a healthy link). Each
  direction may carry one :class:`Fault`: after ``after`` bytes *in that direction on that
  connection*, the link is **cut** (both sides closed), **stalls** (nothing more is forwarded,
  the sockets stay open: a black hole), or **trickles** (``chunk`` bytes every ``interval``
  seconds from then on: a link that still answers, too slowly). ``every_connection`` builds
  the common case of one fault on every connection.

Counters: ``downstream_bytes`` (server to client, all connections), ``cuts`` (connections cut by
either mechanism), ``connections`` (accepted so far), ``stalls`` and ``trickles`` (faults that
took effect).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tests.support.ports import LOOPBACK

_CHUNK = 16 * 1024

FaultKind = Literal["cut", "stall", "trickle"]


@dataclass(frozen=True)
class Fault:
    """What happens to one direction of one connection once ``after`` bytes went through."""

    kind: FaultKind
    after: int = 0
    chunk: int = 1  # trickle: bytes per step
    interval: float = 1.0  # trickle: seconds between steps


@dataclass(frozen=True)
class LinkFaults:
    """The faults of one connection: ``down`` is server to client, ``up`` client to server."""

    down: Fault | None = None
    up: Fault | None = None


FaultPlan = Callable[[int], LinkFaults | None]


def every_connection(down: Fault | None = None, up: Fault | None = None) -> FaultPlan:
    """The same faults on every new connection."""
    faults = LinkFaults(down, up)
    return lambda _index: faults


class _Link:
    """One carried connection: its two sockets, its faults, and whether it is over."""

    def __init__(self, client: socket.socket, server: socket.socket,
                 faults: LinkFaults | None) -> None:
        self.client = client
        self.server = server
        self.faults = faults or LinkFaults()
        self.closed = threading.Event()
        self.sent = {True: 0, False: 0}  # bytes forwarded, by direction (True = downstream)
        self.faulted: set[bool] = set()  # directions whose fault took effect

    def fault(self, downstream: bool) -> Fault | None:
        return self.faults.down if downstream else self.faults.up


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream server; counts and can break what it carries."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((LOOPBACK, 0))
        self.host = LOOPBACK
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._budget: int | None = None
        self.faults: FaultPlan | None = None
        self.downstream_bytes = 0
        self.cuts = 0
        self.stalls = 0
        self.trickles = 0
        self.connections = 0
        self._closed = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def cut_after(self, nbytes: int | None) -> None:
        """Cut every connection once ``nbytes`` more bytes went downstream (None: never)."""
        with self._lock:
            self._budget = nbytes

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Faults for the connections accepted from now on (None: healthy links)."""
        with self._lock:
            self.faults = plan

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self._cut_all()

    def live_connections(self) -> int:
        with self._lock:
            return len(self._links)

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
            server.settimeout(None)
            with self._lock:
                index, self.connections = self.connections, self.connections + 1
                plan = self.faults
            link = _Link(client, server, plan(index) if plan is not None else None)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._pump, args=(link, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(link, True), daemon=True).start()

    def _pump(self, link: _Link, downstream: bool) -> None:
        source, sink = (link.server, link.client) if downstream else (link.client, link.server)
        try:
            while not link.closed.is_set() and (data := source.recv(_CHUNK)):
                if downstream:
                    data, cut = self._spend(data)
                    if data and not self._forward(link, downstream, data, sink):
                        return
                    if cut:
                        self._cut_all()
                        return
                elif not self._forward(link, downstream, data, sink):
                    return
        except OSError:
            pass
        self._end(link)

    def _forward(self, link: _Link, downstream: bool, data: bytes, sink: socket.socket) -> bool:
        """Send ``data`` on, as the link's fault allows; False once the link is over."""
        fault = link.fault(downstream)
        if fault is None or link.sent[downstream] + len(data) < fault.after:
            sink.sendall(data)
            link.sent[downstream] += len(data)
            return True
        healthy = max(fault.after - link.sent[downstream], 0)
        if healthy:
            sink.sendall(data[:healthy])
            link.sent[downstream] += healthy
        rest = data[healthy:]
        if fault.kind == "cut":
            with self._lock:
                self.cuts += 1
            self._end(link)
            return False
        if fault.kind == "stall":
            with self._lock:
                self.stalls += 1
            link.closed.wait()  # swallow everything until someone closes the connection
            return False
        if downstream not in link.faulted:
            link.faulted.add(downstream)
            with self._lock:
                self.trickles += 1
        for start in range(0, len(rest), fault.chunk):
            if link.closed.wait(fault.interval):
                return False
            sink.sendall(rest[start:start + fault.chunk])
            link.sent[downstream] += len(rest[start:start + fault.chunk])
        return True

    def _spend(self, data: bytes) -> tuple[bytes, bool]:
        """The part of ``data`` the global budget lets through, and whether the cut is due."""
        with self._lock:
            if self._budget is None:
                self.downstream_bytes += len(data)
                return data, False
            allowed = data[: self._budget]
            self._budget -= len(allowed)
            self.downstream_bytes += len(allowed)
            if self._budget > 0:
                return allowed, False
            self._budget = None
            self.cuts += 1
            return allowed, True

    def _cut_all(self) -> None:
        with self._lock:
            links, self._links = self._links, set()
        for link in links:
            self._end(link)

    def _end(self, link: _Link) -> None:
        link.closed.set()
        with self._lock:
            self._links.discard(link)
        for sock in (link.client, link.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds passed; whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
