"""ReadAhead (engine/sync/prefetch.py): the next copy batch is read while the caller works on
the current one, one read at a time, and nothing is left running on the session when the
caller leaves."""

from __future__ import annotations

import threading
import time

import pytest

from engine.sync.prefetch import ReadAhead


class Reads:
    """A read function that logs what it did and can be held or made to fail."""

    def __init__(self, fail: int | None = None, hold: int | None = None) -> None:
        self.log: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.fail = fail
        self.hold = hold
        self.release = threading.Event()
        self.started = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, key: int) -> str:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.log.append(f"start {key}")
        try:
            if key == self.hold:
                self.started.set()
                assert self.release.wait(5)
            time.sleep(0.01)
            if key == self.fail:
                raise ConnectionError(f"lost while reading {key}")
            return f"body {key}"
        finally:
            with self._lock:
                self.running -= 1
                self.log.append(f"end {key}")


def test_every_batch_is_handed_over_in_order_and_the_next_is_read_meanwhile() -> None:
    reads = Reads()
    seen = []
    with ReadAhead([1, 2, 3, 4], reads) as batches:
        for key, body in batches:
            time.sleep(0.05)  # the caller appending: the next read finishes meanwhile
            seen.append((key, body, f"end {key + 1}" in reads.log))
    assert [(k, b) for k, b, _ in seen] == [(1, "body 1"), (2, "body 2"), (3, "body 3"),
                                            (4, "body 4")]
    assert [ahead for _, _, ahead in seen] == [True, True, True, False]
    assert reads.most_at_once == 1  # one user of the session at a time


def test_no_keys_means_no_read() -> None:
    reads = Reads()
    with ReadAhead([], reads) as batches:
        assert list(batches) == []
    assert reads.log == []


def test_a_failed_read_ahead_is_raised_when_its_batch_is_taken() -> None:
    reads = Reads(fail=3)
    taken = []
    with pytest.raises(ConnectionError, match="reading 3"), ReadAhead([1, 2, 3, 4], reads) as b:
        for key, _body in b:
            taken.append(key)
    assert taken == [1, 2]  # batches before the failure were handed over first
    assert "start 4" not in reads.log


def test_leaving_early_waits_for_the_running_read_and_starts_no_other() -> None:
    reads = Reads(hold=2)
    done_before_exit = []

    def release_later() -> None:
        assert reads.started.wait(5)
        time.sleep(0.1)
        reads.release.set()

    helper = threading.Thread(target=release_later)
    helper.start()
    with pytest.raises(RuntimeError, match="append failed"), \
            ReadAhead([1, 2, 3], reads) as batches:
        for _key, _body in batches:
            assert reads.started.wait(5)  # batch 2 is being read
            done_before_exit.append("end 2" in reads.log)
            raise RuntimeError("append failed")
    helper.join()
    assert done_before_exit == [False]
    assert reads.log[-1] == "end 2"  # the running read finished before the block was left
    assert reads.running == 0 and "start 3" not in reads.log


def test_an_unwanted_read_ahead_that_fails_is_dropped_when_the_caller_stops() -> None:
    reads = Reads(fail=2)
    with ReadAhead([1, 2, 3], reads) as batches:
        for key, _body in batches:
            assert key == 1
            break  # a full target: the caller stops before taking batch 2
    assert "end 2" in reads.log and "start 3" not in reads.log


def test_without_read_ahead_each_batch_is_read_when_taken() -> None:
    reads = Reads()
    seen = []
    with ReadAhead([1, 2, 3], reads, ahead=False) as batches:
        for key, body in batches:
            time.sleep(0.03)
            seen.append((key, body, f"start {key + 1}" in reads.log))
    assert seen == [(1, "body 1", False), (2, "body 2", False), (3, "body 3", False)]


def test_a_batch_read_ahead_but_never_taken_is_handed_to_discard() -> None:
    reads = Reads()
    dropped: list[str] = []
    with ReadAhead([1, 2, 3], reads, discard=dropped.append) as batches:
        for _key, _body in batches:
            time.sleep(0.05)  # batch 2 is read meanwhile
            break  # e.g. the target is full
    assert dropped == ["body 2"]  # its budget can be given back
