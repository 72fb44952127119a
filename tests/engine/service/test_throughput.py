"""A batch's throughput over time (engine/service/passes.py: pure, literal passes in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.service.passes import ThroughputStep, rate_per_minute, throughput, window_step
from engine.store.passes import PassRow

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def run(start_min: float, end_min: float | None, items: int, moved: int = 0) -> PassRow:
    return PassRow(1, 1, 1, "B1", "ann@contoso.com", "initial", T0 + start_min * MINUTE,
                   None if end_min is None else T0 + end_min * MINUTE, items, moved, 0, 0.0,
                   None if end_min is None else "ok")


def items(steps: list[ThroughputStep]) -> list[float]:
    return [round(s.items, 6) for s in steps]


def test_a_pass_spreads_its_copies_evenly_over_the_minutes_it_ran() -> None:
    steps = throughput([run(1, 3, 120, 1200)], T0, T0 + 4 * MINUTE, MINUTE)
    assert items(steps) == [0, 60, 60, 0]
    assert [s.bytes for s in steps] == [0, 600, 600, 0]
    assert [s.start for s in steps] == [T0 + i * MINUTE for i in range(4)]
    assert rate_per_minute(steps, MINUTE) == [0, 60, 60, 0]


def test_overlapping_passes_add_up_and_a_part_step_gets_its_share() -> None:
    steps = throughput([run(0, 2, 100), run(1.5, 2.5, 40)], T0, T0 + 3 * MINUTE, MINUTE)
    assert items(steps) == [50, 70, 20]


def test_what_ran_outside_the_window_is_left_out() -> None:
    steps = throughput([run(-2, 2, 400), run(5, 6, 9)], T0, T0 + 4 * MINUTE, MINUTE)
    assert items(steps) == [100, 100, 0, 0]


def test_a_running_pass_counts_up_to_the_windows_end() -> None:
    steps = throughput([run(2, None, 30)], T0, T0 + 5 * MINUTE, MINUTE)
    assert items(steps) == [0, 0, 10, 10, 10]


def test_an_instant_pass_lands_in_its_step_and_an_empty_one_draws_nothing() -> None:
    steps = throughput([run(1.5, 1.5, 7), run(0, 3, 0)], T0, T0 + 3 * MINUTE, MINUTE)
    assert items(steps) == [0, 7, 0]


def test_the_step_cuts_the_window_and_is_never_below_a_second() -> None:
    assert window_step(T0, T0 + 60 * MINUTE, 60) == MINUTE
    assert window_step(T0, T0 + timedelta(seconds=10), 60) == timedelta(seconds=1)
    assert len(throughput([], T0, T0 + timedelta(seconds=90), MINUTE)) == 2
    with pytest.raises(ValueError):
        throughput([], T0, T0 + MINUTE, timedelta(0))
