"""The local EWS test double as fixtures for endpoint tests, and a record of every host the
process looked up or connected to (proof that nothing but the given URL is contacted, so no
autodiscover round trip happens).

The double checks Basic authentication (``ADMIN``/``ADMIN_PASSWORD``) and the shape of every
request; the fixtures fail a test that caused a schema violation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import exchangelib
import pytest

from tests.support.ews_double import EWS_PATH, EwsDouble, EwsDoubleServer

ADMIN, ADMIN_PASSWORD = "admin@contoso.com", "Adm1n-EWS-pw"
MAILBOX = "ann@contoso.com"

_recording: list[list[tuple[str, Any]]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording and event in ("socket.getaddrinfo", "socket.connect"):
        target = args[0] if event == "socket.getaddrinfo" else args[1]
        _recording[-1].append((event, target))


sys.addaudithook(_audit)  # audit hooks can't be removed; it records only inside contacted()


@contextmanager
def contacted() -> Iterator[list[tuple[str, Any]]]:
    """Collect (event, host or address) for every name lookup and connect in the block."""
    events: list[tuple[str, Any]] = []
    _recording.append(events)
    try:
        yield events
    finally:
        _recording.remove(events)


def hosts(events: list[tuple[str, Any]]) -> set[str]:
    return {target if isinstance(target, str) else str(target[0]) for _, target in events}


def new_double() -> EwsDouble:
    double = EwsDouble(users={ADMIN: ADMIN_PASSWORD}, impersonators={ADMIN})
    double.add_mailbox(MAILBOX)
    return double


def _checked(server: EwsDoubleServer) -> Iterator[EwsDoubleServer]:
    with server:
        yield server
    exchangelib.close_connections()
    assert server.double.violations == []
    assert {r.path for r in server.double.requests} <= {EWS_PATH}


@pytest.fixture(scope="module")
def ews_http() -> Iterator[EwsDoubleServer]:
    """The double over plain http (what Test-MigrationServerAvailability calls a Warning)."""
    yield from _checked(EwsDoubleServer(new_double()))


@pytest.fixture(scope="module")
def ews_https() -> Iterator[EwsDoubleServer]:
    """The double over https with a self-signed certificate (-AcceptUntrustedCertificates)."""
    yield from _checked(EwsDoubleServer(new_double(), https=True))
