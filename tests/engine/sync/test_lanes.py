"""Lanes (engine/sync/lanes.py): a big folder's plan pieces shared by several workers, each
with its own connections; the first failure stops the rest, and every opened lane is closed."""

from __future__ import annotations

import threading
import time

import pytest

from engine.sync.lanes import Lanes, plan_pieces
from engine.sync.model import Copy, FolderPlan, FolderStatus, Skip, SkipReason


class Record:
    def __init__(self, fail_on: int | None = None, full_on: int | None = None) -> None:
        self.opened: list[int] = []
        self.closed: list[int] = []
        self.done: list[tuple[int, int]] = []  # (lane, piece)
        self.fail_on, self.full_on = fail_on, full_on
        self._lock = threading.Lock()

    def open(self) -> int:
        with self._lock:
            self.opened.append(len(self.opened))
            return self.opened[-1]

    def work(self, lane: int, piece: int) -> bool:
        time.sleep(0.01)
        if piece == self.fail_on:
            raise ConnectionError(f"lost in piece {piece}")
        with self._lock:
            self.done.append((lane, piece))
        return piece != self.full_on

    def close(self, lane: int) -> None:
        with self._lock:
            self.closed.append(lane)


def test_every_piece_is_worked_once_by_the_lanes_together() -> None:
    record = Record()
    Lanes(3, record.open, record.work, record.close).run(range(30))
    assert sorted(p for _, p in record.done) == list(range(30))
    assert len({lane for lane, _ in record.done}) > 1  # really shared
    assert sorted(record.closed) == sorted(record.opened) and len(record.opened) <= 3


def test_a_lane_opens_its_connections_only_when_it_has_work() -> None:
    record = Record()
    Lanes(4, record.open, record.work, record.close).run([7])
    assert record.done == [(0, 7)] and record.opened == [0] and record.closed == [0]


def test_the_first_failure_stops_the_others_and_is_raised_after_every_lane_closed() -> None:
    record = Record(fail_on=5)
    with pytest.raises(ConnectionError, match="piece 5"):
        Lanes(2, record.open, record.work, record.close).run(range(1000))
    assert len(record.done) < 20  # the producer stopped handing out pieces
    assert sorted(record.closed) == sorted(record.opened)


def test_a_full_target_ends_the_work_without_an_error() -> None:
    record = Record(full_on=3)
    Lanes(2, record.open, record.work, record.close).run(range(1000))
    assert (0, 3) in record.done or (1, 3) in record.done
    assert len(record.done) < 20 and sorted(record.closed) == sorted(record.opened)


def test_a_failing_producer_is_raised_and_the_lanes_are_closed() -> None:
    record = Record()

    def pieces():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        raise OSError("listing the next window failed")

    with pytest.raises(OSError, match="next window"):
        Lanes(2, record.open, record.work, record.close).run(pieces())
    assert {p for _, p in record.done} <= {1, 2}  # a piece still queued is dropped
    assert sorted(record.closed) == sorted(record.opened)


def copy(uid: int) -> Copy:
    return Copy(uid, f"<{uid}>|10|0|h", 10)


def test_a_window_plan_is_cut_into_pieces_the_first_keeping_the_other_actions() -> None:
    status = FolderStatus(7, 20)
    skip = Skip(9, "<9>|99|0|h", 99, SkipReason.TOO_LARGE)
    plans = [FolderPlan("INBOX", (copy(1), skip, copy(2), copy(3), copy(4), copy(5)), status),
             FolderPlan("INBOX", (), status),
             FolderPlan("INBOX", (skip,), status),
             FolderPlan("INBOX", (copy(6),), status)]
    pieces = list(plan_pieces(plans, 2))
    assert [p.actions for p in pieces] == [
        (skip, copy(1), copy(2)), (copy(3), copy(4)), (copy(5),), (skip,), (copy(6),)]
    assert all(p.status == status and p.folder == "INBOX" for p in pieces)


class Imapish:
    def __init__(self, uidplus: bool) -> None:
        self.uidplus = uidplus
        self.locate_unnamed = True

    @property
    def concurrent_appends(self) -> bool:
        return self.uidplus


def test_lanes_only_for_a_target_whose_server_names_every_copy() -> None:
    from engine.sync.lanes import lanes_allowed

    assert lanes_allowed(Imapish(uidplus=True))
    assert not lanes_allowed(Imapish(uidplus=False))  # copies found by headers: one writer
    assert not lanes_allowed(object())  # Maildir (one keyword file per folder), EWS


def test_a_lane_thread_that_cannot_start_fails_the_work_without_a_hang(
        monkeypatch: pytest.MonkeyPatch) -> None:
    record = Record()
    start = threading.Thread.start
    started: list[threading.Thread] = []

    def start_one_only(self: threading.Thread) -> None:
        if self.name.startswith("imsh-lane") and started:
            raise RuntimeError("can't start new thread")
        started.append(self)
        start(self)

    monkeypatch.setattr(threading.Thread, "start", start_one_only)
    with pytest.raises(RuntimeError, match="new thread"):
        Lanes(3, record.open, record.work, record.close).run(range(10))
    assert not any(t.is_alive() for t in started)  # the one started lane was ended
