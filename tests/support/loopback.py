"""A bare TCP server on 127.0.0.1 for fault injection: the test says what each connection gets.

Subclasses implement :meth:`LoopbackServer.handle`, called in the accepting thread for each
connection (start a thread there for a conversation). ``close`` stops accepting; connections
already handed out are the subclass's.
"""

from __future__ import annotations

import socket
import threading


class LoopbackServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self.handle(conn)

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()
