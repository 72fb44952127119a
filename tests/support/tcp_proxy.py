"""A loopback TCP proxy that can cut every connection it carries, for connection-fault tests.

``TcpProxy(host, port)`` listens on a free 127.0.0.1 port and forwards each accepted
connection to ``host:port``. :meth:`TcpProxy.cut_after` arms a cut: once that many more bytes
went from the server to the client (over all connections), every live connection is closed on
both sides, as a dropped network link or a crashed server would look to imsh. New connections
after a cut are carried normally, so a resumed pass can reach the server again.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.ports import LOOPBACK

_CHUNK = 16 * 1024


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream server; counts and can cut downstream bytes."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((LOOPBACK, 0))
        self.host = LOOPBACK
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._budget: int | None = None
        self.downstream_bytes = 0
        self.cuts = 0
        self._closed = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def cut_after(self, nbytes: int | None) -> None:
        """Cut every connection once ``nbytes`` more bytes went downstream (None: never)."""
        with self._lock:
            self._budget = nbytes

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self._cut_all()

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
                self._sockets |= {client, server}
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, downstream: bool) -> None:
        try:
            while data := source.recv(_CHUNK):
                if downstream:
                    data, cut = self._spend(data)
                    if data:
                        sink.sendall(data)
                    if cut:
                        self._cut_all()
                        return
                else:
                    sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            self._close(sock)

    def _spend(self, data: bytes) -> tuple[bytes, bool]:
        """The part of ``data`` the budget lets through, and whether the cut is due now."""
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
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            self._close(sock)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
