"""BodyBudget (engine/sync/budget.py): the bytes of bodies a process holds in flight."""

from __future__ import annotations

import threading
import time

import pytest

from engine.sync.budget import BodyBudget, BudgetWaitCancelled


def later(seconds: float, action) -> threading.Thread:  # type: ignore[no-untyped-def]
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_batch_waits_until_its_bytes_fit_and_goes_once_they_are_given_back() -> None:
    budget = BodyBudget(100)
    assert budget.take(60) == 60
    helper = later(0.2, lambda: budget.give(60))
    started = time.monotonic()
    assert budget.take(70) == 70
    assert time.monotonic() - started >= 0.15  # it waited for the first batch
    helper.join()
    assert budget.held == 70


def test_a_batch_larger_than_the_budget_goes_alone_instead_of_waiting_forever() -> None:
    budget = BodyBudget(100)
    taken = budget.take(10)
    helper = later(0.2, lambda: budget.give(taken))
    assert budget.take(5000) == 100  # waited until nothing else was held
    helper.join()
    assert budget.held == 100


def test_a_waiter_whose_pass_is_cancelled_stops_waiting() -> None:
    budget = BodyBudget(100)
    budget.take(100)
    stop = threading.Event()
    helper = later(0.2, stop.set)
    with pytest.raises(BudgetWaitCancelled):
        budget.take(1, stop.is_set)
    helper.join()
    assert budget.held == 100  # nothing taken by the cancelled waiter


def test_waiters_are_served_in_order_of_arrival() -> None:
    budget = BodyBudget(100)
    budget.take(100)
    order: list[str] = []

    def waiter(name: str, nbytes: int) -> None:
        budget.take(nbytes)
        order.append(name)

    big = threading.Thread(target=waiter, args=("big", 90))
    big.start()
    time.sleep(0.1)
    small = threading.Thread(target=waiter, args=("small", 10))
    small.start()
    time.sleep(0.1)
    budget.give(50)  # enough for the small one, not for the big one that came first
    time.sleep(0.3)
    assert order == []  # the small one does not overtake
    budget.give(50)
    big.join(2)
    small.join(2)
    assert order == ["big", "small"]


def test_the_next_waiter_goes_when_the_first_one_is_cancelled() -> None:
    budget = BodyBudget(100)
    budget.take(60)
    stop = threading.Event()
    served: list[int] = []
    cancelled: list[bool] = []

    def wait_for_90() -> None:
        try:
            budget.take(90, stop.is_set)
        except BudgetWaitCancelled:
            cancelled.append(True)

    first = threading.Thread(target=wait_for_90)
    first.start()
    time.sleep(0.1)
    second = threading.Thread(target=lambda: served.append(budget.take(30)))
    second.start()
    time.sleep(0.1)
    assert served == []  # 30 fit, but the first came before it
    started = time.monotonic()
    stop.set()
    second.join(2)
    first.join(2)
    assert served == [30] and time.monotonic() - started < 1.0
    assert cancelled == [True] and budget.held == 90


def test_many_waiters_are_each_served_once_and_every_byte_comes_back() -> None:
    budget = BodyBudget(1000)
    done: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for _ in range(50):
            taken = budget.take(100 + n * 7)
            assert budget.held <= 1000
            budget.give(taken)
        with lock:
            done.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(done) == list(range(40)) and budget.held == 0
