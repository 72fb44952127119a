"""Lanes: one big folder's copy split over several folder workers at once.

A mailbox whose mail is mostly in one folder (a 50,000-message INBOX) kept one folder worker
busy while the other three had nothing to do, and the target stored one MULTIAPPEND at a time.
Most of such a copy is the target storing messages (a py-spy of a 20,000-message copy: 9 of
15 s waiting for Dovecot's APPEND answers, its disk flushing every message); two or more
APPENDs into one folder on separate connections overlap that wait (an experiment on this
machine: 20,000 messages into one Dovecot folder in 8.1 s over one connection, 4.8 s over two).

:class:`Lanes` is the scheduling part, free of IMAP: the caller produces pieces of work (the
windowed copy's plan pieces, engine/sync/executor.py ``_apply_windows``), and up to ``count``
lane threads take them one at a time, each with resources of its own (its own source session,
target connection and store, opened when the lane takes its first piece and closed at the end).

- **Bounded**: the producer waits while a piece is already queued, so at most ``count`` pieces
  are being worked on and one waits; the producer never reads ahead of that.
- **First error wins**: a lane that fails stops the producer and the other lanes (they see
  :attr:`Lanes.failed` between batches, through the token the caller hands them); every lane
  is joined and its resources closed before :meth:`Lanes.run` raises that first error.
- **A lane may end the work**: ``work`` returning False (the target is full) makes the producer
  stop and the lanes take no more pieces; the caller knows why from its own state (the other
  lanes see the full target themselves, engine/sync/apply.py ``ItemLimits.full``).

Crash safety stays the applier's, batch by batch (engine/sync/apply.py): lanes only choose who
appends a batch, and an intent row's mark (the target folder's UIDNEXT before its append) is a
lower bound of where that batch lands even while other lanes append to the same folder.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Generic, Protocol, TypeVar, runtime_checkable

from engine.sync.model import Copy, FolderPlan

log = logging.getLogger(__name__)

Piece = TypeVar("Piece")
Lane = TypeVar("Lane")

_PUT_WAIT = 0.2  # seconds between the producer's looks at ``stopping`` while the queue is full


@runtime_checkable
class ConcurrentAppends(Protocol):
    """A target whose connections may append into one folder at once (engine/targets/imap.py
    with UIDPLUS). Other targets (Maildir: one keyword file per folder; EWS) get no lanes."""

    @property
    def concurrent_appends(self) -> bool: ...

    locate_unnamed: bool


def lanes_allowed(target: object) -> bool:
    """Whether ``target`` (a pass's open target) may be appended to by several lanes."""
    return isinstance(target, ConcurrentAppends) and target.concurrent_appends


class _Done:
    """The end of the pieces, one per lane."""


class Lanes(Generic[Lane, Piece]):
    """Up to ``count`` threads working through pieces, each with a lane of its own."""

    def __init__(self, count: int, open_lane: Callable[[], Lane],
                 work: Callable[[Lane, Piece], bool], close_lane: Callable[[Lane], None],
                 *, wrap: Callable[[Callable[[], None]], None] | None = None,
                 name: str = "imsh-lane") -> None:
        self.count = max(1, count)
        self._open, self._work, self._close = open_lane, work, close_lane
        self._wrap = wrap or (lambda run: run())
        self._name = name
        self._queue: queue.Queue[Piece | _Done] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []

    @property
    def failed(self) -> bool:
        """A lane (or the producer) failed: the others stop at their next safe point (the
        caller's token for them says so)."""
        return bool(self._errors)

    def run(self, pieces: Iterable[Piece]) -> None:
        """Hand every piece to a lane (in order of taking), wait for all; the first error."""
        threads: list[threading.Thread] = []
        try:
            for i in range(self.count):  # a thread that cannot start fails the work, not a hang
                thread = threading.Thread(target=self._wrap, args=(self._lane,),
                                          name=f"{self._name}-{i}", daemon=True)
                thread.start()
                threads.append(thread)
            for piece in pieces:
                if not self._put(piece):
                    break
        except BaseException as exc:  # the producer's own (listing a window), or no thread
            self._fail(exc)
        finally:
            for _ in threads:
                self._put_end()
            for thread in threads:
                thread.join()
        if self._errors:
            raise self._errors[0]

    def _put(self, item: Piece | _Done) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_PUT_WAIT)
                return True
            except queue.Full:
                continue
        return False

    def _put_end(self) -> None:
        while True:  # every lane must get its end, also when stopping (lanes drain the queue)
            try:
                self._queue.put(_Done(), timeout=_PUT_WAIT)
                return
            except queue.Full:
                continue

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)
        self._stop.set()

    def _lane(self) -> None:
        lane: Lane | None = None
        opened = False
        try:
            while not isinstance(piece := self._queue.get(), _Done):
                if self._stop.is_set():
                    continue  # drain: the producer is ending every lane
                if not opened:
                    lane, opened = self._open(), True
                if not self._work(lane, piece):  # type: ignore[arg-type]
                    self._stop.set()
        except BaseException as exc:
            self._fail(exc)
            while not isinstance(self._queue.get(), _Done):
                pass  # keep taking until this lane's end arrives, so the producer never waits
        finally:
            if opened:
                try:
                    self._close(lane)  # type: ignore[arg-type]
                except Exception:  # a dropped session may fail in any way while closing
                    log.debug("closing a lane failed", exc_info=True)


def plan_pieces(plans: Iterable[FolderPlan], size: int) -> Iterator[FolderPlan]:
    """Each plan cut into pieces of at most ``size`` copies, so lanes share a window's work:
    the first piece carries the plan's other actions (skips, flag changes) as well; every
    piece keeps the plan's status (checked against the source before copying, never saved by
    a piece: the windowed copy saves it after the last window)."""
    for plan in plans:
        copies = plan.of_type(Copy)
        others = tuple(a for a in plan.actions if not isinstance(a, Copy))
        if not copies:
            if others:
                yield plan
            continue
        for start in range(0, len(copies), size):
            part = copies[start:start + size]
            yield replace(plan, actions=(*others, *part) if start == 0 else part)
