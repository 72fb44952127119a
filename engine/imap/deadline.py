"""Deadlines for IMAP commands, and aborting a connection from another thread.

A socket timeout bounds one ``recv``; a link that trickles one byte every 100 s never trips a
60 s timeout, and a pass on it hangs forever. So every IMAP command also has an absolute
**deadline**, measured from when it was sent::

    budget = base + bytes / min_rate

``bytes`` are the bytes the command has carried so far *plus* the bytes of the literal being
read or sent right now (its size is known up front: ``{N}`` in a FETCH response, the message
in an APPEND). With the defaults (:class:`Deadlines`: 120 s base, 16 KiB/s) a 1 MB message
may take 3 min, a 35 MB one 39 min; a command whose budget is spent is aborted and surfaces
as a transient "connection lost" fault, retried like any other. A slow but steady link is
fine; a trickle is not.

How: :func:`watch` wraps one imaplib connection's ``read``/``readline``/``send`` to count bytes
and its tag source (:func:`engine.imap.wire.wrap_new_tag`) to know when a command (or a
pipeline of them) is in flight; one
watchdog thread per process (:class:`_Watchdog`) looks at every watched connection a few
times a second and, when a deadline passed, shuts the socket down (``shutdown(SHUT_RDWR)``
wakes a thread blocked in ``recv`` at once, on plain and TLS sockets alike).

The same switch serves cancellation: a :class:`ConnectionGroup` collects the connections one
pass opens (:func:`joining` makes a thread's new connections join a group) and
:meth:`ConnectionGroup.abort` shuts them all down, so Stop, Remove and SIGTERM end a pass
blocked in the network within seconds. Aborting is safe at any byte: it is a connection cut,
which the sync's intent rows already survive (engine/sync/apply.py).

A **pass** has a deadline too (:func:`pass_budget`, armed by the executor once the survey
knows the mailbox's size): a command base per folder plus every byte at the minimum rate. A
pass past it has its connections cut and ends as a transient fault, resumed by the next
attempt.

The deadlines are process settings: :func:`configure` (``imsh service`` sets them from
``IMSH_COMMAND_DEADLINE`` and ``IMSH_MIN_TRANSFER_RATE``; docs/service.md) — small in tests.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.imap.wire import NewTag, wrap_new_tag

log = logging.getLogger(__name__)

DEFAULT_BASE_SECONDS = 120.0
DEFAULT_MIN_RATE = 16 * 1024  # bytes per second
WATCH_INTERVAL = 0.25  # how often the watchdog looks


@dataclass(frozen=True)
class Deadlines:
    """``base`` seconds plus one second per ``min_rate`` bytes, for each command."""

    base: float = DEFAULT_BASE_SECONDS
    min_rate: float = DEFAULT_MIN_RATE

    def budget(self, nbytes: int) -> float:
        """The seconds a command that carries ``nbytes`` may take."""
        return self.base + max(nbytes, 0) / self.min_rate


PASS_BASE_COMMANDS = 10  # a pass's budget: this many command bases, one more per folder


def pass_budget(deadlines: Deadlines, nbytes: int, folders: int) -> float:
    """The seconds one pass over a mailbox of ``nbytes`` in ``folders`` folders may take: a
    command base per folder (plus :data:`PASS_BASE_COMMANDS`) and every byte at the minimum
    rate. A backstop behind the per-command deadlines: generous, but never infinite."""
    return deadlines.base * (PASS_BASE_COMMANDS + max(folders, 0)) + (
        max(nbytes, 0) / deadlines.min_rate)


def command_overdue(deadlines: Deadlines, elapsed: float, nbytes: int) -> bool:
    """Has a command that has run ``elapsed`` seconds and carries ``nbytes`` spent its budget?"""
    return elapsed > deadlines.budget(nbytes)


_settings = Deadlines()


def configure(deadlines: Deadlines) -> None:
    """Set the deadlines of the connections opened from now on (this process)."""
    global _settings
    _settings = deadlines


def current() -> Deadlines:
    return _settings


class Meter:
    """One watched connection: bytes carried, the command in flight, and how to abort it."""

    def __init__(self, imap: Any, deadlines: Deadlines, name: str) -> None:
        self._imap = imap
        self.deadlines = deadlines
        self.name = name
        self.total = 0  # bytes carried over the connection's life
        self.in_flight = 0  # size of the read or send under way
        self.started: float | None = None  # when the command in flight was first seen
        self.start_total = 0
        self.aborted: str | None = None  # why it was shut down, once it was
        self.closed = False  # the session closed it: nothing left to abort

    def busy(self) -> bool:
        """A command (or a pipeline of commands) is waiting for its tagged reply."""
        try:
            return any(v is None for v in list(self._imap.tagged_commands.values()))
        except RuntimeError:  # changed while copied: it is busy
            return True

    def check(self, now: float) -> None:
        """The watchdog's look: start timing a command, or abort one that is overdue."""
        if self.aborted is not None or self.closed:
            return
        if not self.busy() and not self.in_flight:
            self.started = None
            return
        if self.started is None:
            self.started, self.start_total = now, self.total
            return
        carried = self.total - self.start_total + self.in_flight
        if command_overdue(self.deadlines, now - self.started, carried):
            self.abort(f"a command took longer than its deadline of "
                       f"{self.deadlines.budget(carried):.0f} s")

    def abort(self, why: str) -> None:
        """Shut the socket down: a thread blocked on it wakes with a connection error."""
        if self.aborted is not None or self.closed:
            return
        self.aborted = why
        log.warning("%s: connection aborted: %s", self.name, why)
        sock = getattr(self._imap, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                # socket.socket's own shutdown, also for a TLS socket (whose override would
                # drop its SSL object under the reading thread's feet)
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread per process that checks every watched connection."""

    def __init__(self) -> None:
        self._meters: weakref.WeakSet[Meter] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, meter: Meter) -> None:
        with self._lock:
            self._meters.add(meter)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="imsh-deadlines",
                                                daemon=True)
                self._thread.start()

    def discard(self, meter: Meter) -> None:
        with self._lock:
            self._meters.discard(meter)

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            with self._lock:
                meters = list(self._meters)
            now = time.monotonic()
            for meter in meters:
                try:
                    meter.check(now)
                except Exception:  # never let one connection stop the watchdog
                    log.exception("deadline check failed")


_watchdog = _Watchdog()


class ConnectionGroup:
    """The connections of one pass, to abort together (Stop, Remove, SIGTERM)."""

    def __init__(self) -> None:
        self._meters: weakref.WeakSet[Meter] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.aborted: str | None = None

    def add(self, meter: Meter) -> None:
        with self._lock:
            self._meters.add(meter)
            why = self.aborted
        if why is not None:
            meter.abort(why)

    def abort(self, why: str) -> int:
        """Shut every connection of the group down (and any that joins later); how many."""
        with self._lock:
            self.aborted = why
            meters = list(self._meters)
        for meter in meters:
            meter.abort(why)
        return len(meters)


_joined = threading.local()


@contextlib.contextmanager
def joining(group: ConnectionGroup | None) -> Iterator[None]:
    """Connections this thread opens inside the block join ``group``."""
    previous = getattr(_joined, "group", None)
    _joined.group = group
    try:
        yield
    finally:
        _joined.group = previous


def current_group() -> ConnectionGroup | None:
    """The group this thread's new connections join (to hand to worker threads)."""
    return getattr(_joined, "group", None)


def watch(imap: Any, name: str) -> Meter:
    """Put an imaplib connection under the current deadlines (and the thread's group)."""
    meter = Meter(imap, _settings, name)
    read, readline, send = imap.read, imap.readline, imap.send

    def counted_read(size: int) -> bytes:
        meter.in_flight = size
        try:
            data: bytes = read(size)
        finally:
            meter.in_flight = 0
        meter.total += len(data)
        return data

    def counted_readline() -> bytes:
        line: bytes = readline()
        meter.total += len(line)
        return line

    def counted_send(data: bytes) -> None:
        meter.in_flight = len(data)
        try:
            send(data)
        finally:
            meter.in_flight = 0
        meter.total += len(data)

    def timed(new_tag: NewTag) -> NewTag:
        def timed_new_tag() -> bytes:
            if not meter.busy():  # a new exchange begins (pipelined commands share one)
                meter.started, meter.start_total = time.monotonic(), meter.total
            return new_tag()
        return timed_new_tag

    imap.read, imap.readline, imap.send = counted_read, counted_readline, counted_send
    wrap_new_tag(imap, timed)
    _watchdog.add(meter)
    group = getattr(_joined, "group", None)
    if group is not None:
        group.add(meter)
    return meter


def unwatch(meter: Meter | None) -> None:
    """The connection is closed: stop watching it."""
    if meter is not None:
        meter.closed = True
        _watchdog.discard(meter)
