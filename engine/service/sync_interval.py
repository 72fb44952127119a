"""``-IncrementalSyncInterval`` as the façade takes it from an administrator.

An imsh addition: Exchange has no such parameter and syncs every 24 hours. The runner owns the
setting (engine/runner/intervals.py: its bounds, how it is stored, and which value applies to
a batch: its own, else the configured one, else 24 h). This module only checks a value before
anything is written, and words the error the way the shell writes a TimeSpan (``1.00:00:00``),
so the administrator sees the value they typed.

A change applies at once to the users waiting for their next incremental sync
(:func:`reschedule_waiting_users`): their next pass moves to their last successful sync plus
the interval that now applies, as the runner would have set it. Users already due (a Start or
-SyncNow asked for a pass now), and users being synced, are left alone; the runner sets the
latter's next pass from the new interval when their pass ends.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from engine.errors import ValidationError
from engine.model import MigrationUserStatus
from engine.runner.intervals import MAX_INTERVAL, MIN_INTERVAL, batch_interval, validate_interval
from engine.runner.scheduler import next_incremental_due
from engine.store import Store
from engine.store.batches import BatchRow
from engine.values import timespan_text

PARAMETER = "IncrementalSyncInterval"
_WAITING = frozenset({str(MigrationUserStatus.Synced), str(MigrationUserStatus.IncrementalSynced)})


def check_interval(value: timedelta | None) -> timedelta | None:
    """``value`` if the runner accepts it (``None``, "follow the default", always passes)."""
    if value is None:
        return None
    try:
        return validate_interval(value)
    except ValidationError:
        raise ValidationError(
            f'The value "{timespan_text(value)}" of parameter {PARAMETER} isn\'t valid. Enter '
            f"a time span of whole seconds from {timespan_text(MIN_INTERVAL)} to "
            f"{timespan_text(MAX_INTERVAL)}, such as 1.00:00:00 (24 hours) or 06:00:00.",
            error_id="InvalidIncrementalSyncInterval") from None


def reschedule_waiting_users(store: Store, batch: BatchRow, now: datetime) -> int:
    """Move the next pass of ``batch``'s waiting users to follow its interval as it is now.

    Call inside the transaction that changed the interval; returns how many users moved."""
    seconds = int(batch_interval(store, batch).total_seconds())
    moved = 0
    for user in store.users.list(batch_id=batch.id):
        due, last = user.next_sync_due_at, user.last_successful_sync_at
        if user.status not in _WAITING or due is None or last is None or due <= now:
            continue
        store.users.update(replace(user, next_sync_due_at=next_incremental_due(last, seconds)))
        moved += 1
    return moved
