"""ExtraWorkers (engine/sync/sessions.py): the folder workers beyond their first that the
passes of one process share."""

from __future__ import annotations

import threading

from engine.sync.sessions import ExtraWorkers


def test_a_pass_gets_what_is_free_at_once_and_never_waits() -> None:
    pool = ExtraWorkers(8)
    assert pool.take(3) == 3
    assert pool.take(3) == 3
    assert pool.take(3) == 2  # only two left: the pass copies with its first worker and two
    assert pool.take(3) == 0  # none left: its first worker alone
    pool.give(3)
    assert pool.take(5) == 3 and pool.free == 0


def test_what_is_given_back_never_exceeds_the_pool() -> None:
    pool = ExtraWorkers(4)
    pool.give(10)
    assert pool.free == 4
    assert pool.take(-2) == 0 and pool.free == 4


def test_passes_taking_and_giving_at_once_leave_the_pool_whole() -> None:
    pool = ExtraWorkers(8)
    seen: list[int] = []

    def passes() -> None:
        for _ in range(2000):
            got = pool.take(3)
            seen.append(got)
            pool.give(got)

    threads = [threading.Thread(target=passes) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert pool.free == 8 and max(seen) == 3 and min(seen) >= 0
