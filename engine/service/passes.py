"""The recorded sync passes as the dashboard reads them, and a batch's throughput over time.

:func:`batch_passes` and :func:`all_passes` read engine/store/passes.py's rows (a pass still
running carries its copies so far). :func:`throughput` is pure: passes, a time window and a
step in, the items and bytes copied in each step of the window out. A pass's copies are spread
evenly over the time it ran (the store records a pass's totals, not each append batch's time),
so a long pass draws a plateau, not a spike at its end; a running pass counts up to ``end``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.store import Store
from engine.store.passes import PassRow

MIN_STEP = timedelta(seconds=1)


@dataclass(frozen=True)
class ThroughputStep:
    """What was copied from ``start`` for one step of the window."""

    start: datetime
    items: float
    bytes: float


def batch_passes(store: Store, identity: str, since: datetime | None = None) -> list[PassRow]:
    """The passes of batch ``identity`` (NotFoundError if there is none) since ``since``."""
    return store.passes.for_batch(store.batches.get(identity).id, since)


def all_passes(store: Store) -> list[PassRow]:
    """Every finished pass of every batch, oldest first."""
    return store.passes.finished()


def window_step(start: datetime, end: datetime, steps: int) -> timedelta:
    """The step that cuts [start, end] into ``steps`` (at least :data:`MIN_STEP`)."""
    return max(MIN_STEP, (end - start) / max(1, steps))


def throughput(passes: Iterable[PassRow], start: datetime, end: datetime,
               step: timedelta) -> list[ThroughputStep]:
    """Items and bytes copied in each ``step`` from ``start`` until ``end``."""
    if step <= timedelta(0):
        raise ValueError("the step must be positive")
    count = max(1, -(-(end - start) // step))  # ceiling
    items = [0.0] * count
    moved = [0.0] * count
    for run in passes:
        began, ended = run.started_at, run.finished_at or end
        if ended < start or began >= end or not (run.items_copied or run.bytes_copied):
            continue
        _spread(items, start, step, began, ended, run.items_copied)
        _spread(moved, start, step, began, ended, run.bytes_copied)
    return [ThroughputStep(start + i * step, items[i], moved[i]) for i in range(count)]


def _spread(into: list[float], start: datetime, step: timedelta, began: datetime,
            ended: datetime, amount: int) -> None:
    """Add ``amount`` to the steps [began, ended] overlaps, in proportion to the overlap (what
    ran outside the window is left out)."""
    last = len(into) - 1
    if ended <= began:  # an instant: all of it in its step
        into[_index(start, step, began, last)] += amount
        return
    span = (ended - began).total_seconds()
    first, final = _index(start, step, began, last), _index(start, step, ended, last)
    for i in range(first, final + 1):
        low = max(began, start + i * step)
        high = min(ended, start + (i + 1) * step)
        if high > low:
            into[i] += amount * (high - low).total_seconds() / span


def _index(start: datetime, step: timedelta, at: datetime, last: int) -> int:
    return min(last, max(0, (at - start) // step))


def rate_per_minute(steps: Sequence[ThroughputStep], step: timedelta) -> list[float]:
    """Each step's items as items per minute."""
    minutes = step.total_seconds() / 60
    return [s.items / minutes for s in steps]
