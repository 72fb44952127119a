"""Statistics of a pass, as Get-MigrationUserStatistics and Wait-MigrationBatch show them.

Live progress needs nothing here: every copy batch bumps SyncedItemCount and BytesTransferred
with ``statistics.add_counts`` in the transaction that records the copies (apply.py), so the
counters move batch by batch and never run ahead of the sync state. This module writes the
rest, while no folder worker runs (``statistics.save`` overwrites the whole row): the source's
totals before the copying starts, and percentage, durations and last error at the end.
"""

from __future__ import annotations

from dataclasses import replace

from engine.store import Store


def record_totals(store: Store, user_id: int, items: int, size: int) -> None:
    """TotalItemsInSource and TotalBytes: the source folders as surveyed now (folders not
    listed this pass count with the message count STATUS gave and the sizes the store
    remembers)."""
    stats = store.statistics.get(user_id)
    store.statistics.save(replace(stats, total_items_in_source=items, total_bytes=size,
                                  percentage_complete=_percentage(stats.synced_item_count
                                                                  + stats.skipped_item_count,
                                                                  items)))


def record_finish(store: Store, user_id: int, *, seconds: float | None = None,
                  initial: bool = False, error: str | None = None) -> None:
    """The end of a pass: 100 % and its duration when it completed, else the error."""
    stats = store.statistics.get(user_id)
    if error is not None:
        store.statistics.save(replace(stats, last_error=error))
        return
    done = replace(stats, percentage_complete=100, last_error=None, last_sync_seconds=seconds,
                   in_progress_seconds=stats.in_progress_seconds + (seconds or 0.0))
    if initial and stats.initial_sync_seconds is None:
        done = replace(done, initial_sync_seconds=seconds)
    store.statistics.save(done)


def _percentage(done: int, total: int) -> int:
    if total <= 0:
        return 0
    return max(0, min(99, done * 100 // total))
