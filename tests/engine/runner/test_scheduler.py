"""The pure scheduling decisions: endpoint limits, retry backoff, the next incremental due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.runner.jobs import SyncKind
from engine.runner.scheduler import (
    MAX_ATTEMPTS,
    Candidate,
    EndpointLimits,
    count_running,
    gives_up,
    next_incremental_due,
    pick_jobs,
    retry_delay,
)

INITIAL, INCREMENTAL = SyncKind.initial, SyncKind.incremental


def _due(*specs: tuple[int, int, SyncKind]) -> list[Candidate]:
    return [Candidate(user, endpoint, kind) for user, endpoint, kind in specs]


def test_pick_respects_the_initial_limit_per_source_endpoint() -> None:
    due = _due((1, 10, INITIAL), (2, 10, INITIAL), (3, 10, INITIAL), (4, 20, INITIAL))
    limits = {10: EndpointLimits(2, 1), 20: EndpointLimits(5, 5)}
    picked = pick_jobs(due, {}, limits, free_workers=10)
    assert [c.user_id for c in picked] == [1, 2, 4]


def test_pick_counts_jobs_already_running_anywhere() -> None:
    due = _due((1, 10, INITIAL), (2, 10, INCREMENTAL), (3, 10, INCREMENTAL))
    limits = {10: EndpointLimits(3, 2)}
    running = {(10, INITIAL): 3, (10, INCREMENTAL): 1}
    assert [c.user_id for c in pick_jobs(due, running, limits, free_workers=10)] == [2]


def test_initial_and_incremental_limits_are_separate() -> None:
    due = _due((1, 10, INITIAL), (2, 10, INCREMENTAL), (3, 10, INITIAL), (4, 10, INCREMENTAL))
    picked = pick_jobs(due, {}, {10: EndpointLimits(1, 1)}, free_workers=10)
    assert [c.user_id for c in picked] == [1, 2]


def test_pick_stops_at_the_free_workers_and_keeps_the_due_order() -> None:
    due = _due(*((n, 10, INITIAL) for n in (5, 3, 9, 1)))
    picked = pick_jobs(due, {}, {10: EndpointLimits(20, 10)}, free_workers=2)
    assert [c.user_id for c in picked] == [5, 3]


def test_endpoint_without_limits_or_with_zero_starts_nothing() -> None:
    due = _due((1, 10, INITIAL), (2, 11, INITIAL))
    assert pick_jobs(due, {}, {11: EndpointLimits(0, 0)}, free_workers=5) == []


def test_count_running_groups_by_endpoint_and_kind() -> None:
    running = _due((1, 10, INITIAL), (2, 10, INITIAL), (3, 10, INCREMENTAL), (4, 7, INITIAL))
    assert count_running(running) == {(10, INITIAL): 2, (10, INCREMENTAL): 1, (7, INITIAL): 1}


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 900), (7, 900), (100, 900), (0, 30)],
)
def test_retry_backoff_doubles_from_30_seconds_up_to_15_minutes(attempt: int, seconds: int) -> None:
    assert retry_delay(attempt) == timedelta(seconds=seconds)


def test_a_longer_server_hint_wins_but_is_capped_at_an_hour() -> None:
    assert retry_delay(1, hint_seconds=300) == timedelta(seconds=300)
    assert retry_delay(3, hint_seconds=10) == timedelta(seconds=120)
    assert retry_delay(1, hint_seconds=10**6) == timedelta(hours=1)


def test_gives_up_after_the_maximum_attempts() -> None:
    assert not gives_up(MAX_ATTEMPTS - 1)
    assert gives_up(MAX_ATTEMPTS)


def test_next_incremental_due_is_last_success_plus_interval() -> None:
    last = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert next_incremental_due(last, 86400) == datetime(2026, 1, 3, 3, 4, 5, tzinfo=UTC)
    assert next_incremental_due(last, 90) == last + timedelta(seconds=90)


def test_a_configured_retry_base_starts_the_doubling_there_and_keeps_the_cap() -> None:
    assert [retry_delay(n, base_seconds=2).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert retry_delay(20, base_seconds=2) == timedelta(minutes=15)
    assert retry_delay(1, hint_seconds=10, base_seconds=2) == timedelta(seconds=10)
