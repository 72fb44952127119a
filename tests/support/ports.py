"""Free TCP ports on 127.0.0.1 for the servers tests start."""

from __future__ import annotations

import random
import socket
import threading

LOOPBACK = "127.0.0.1"
# below the kernel's ephemeral range (32768+), so client connections never take them
_LOW, _HIGH = 20000, 32000
_given: set[int] = set()
_lock = threading.Lock()


def free_port() -> int:
    """A port on 127.0.0.1 that is free now and was not handed out before by this process.

    Free "now" only: another process may bind it before our server does, which is why
    every start function retries with a new port.
    """
    for _ in range(500):
        port = random.randint(_LOW, _HIGH)
        with _lock:
            if port in _given:
                continue
            if _bindable(port):
                _given.add(port)
                return port
    raise OSError("no free TCP port found on 127.0.0.1")


def _bindable(port: int) -> bool:
    # SO_REUSEADDR as the servers use it: a port in TIME_WAIT counts as free
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True
