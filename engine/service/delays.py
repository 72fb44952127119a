"""A batch's -StartAfter, -CompleteAfter and -TimeZone: where they are kept, and the runner's
completion of a batch whose CompleteAfter has passed.

* Kept in the batch row's ``extra`` (``start_after``/``complete_after`` as ISO UTC text,
  ``time_zone`` as typed): additive, no schema change for three optional settings.
* The pure decisions are engine/runner/scheduler.py's (:func:`start_held`,
  :func:`completion_due`); the parsing and the zones are engine/schedule_times.py's.
* :func:`complete_due_batches` is what the runner calls each tick: a due batch is completed
  through :meth:`BatchService.complete`, the same path as Complete-MigrationBatch, so the final
  pass and the statuses are exactly those of a completion the administrator asked for.
  A batch is completed once: afterwards its phase is Completing, no longer Active. The value
  stays, for Get-MigrationBatch to show.
* :func:`complete_due_users` is Set-MigrationUser -CompleteAfter's: a synced user whose own
  time has passed is marked Completing and made due now; the runner gives a Completing user
  its final pass (engine/runner/passes.py), after which it is Completed and gets no more
  passes, while its batch stays Active and its other users keep syncing. The batch shows what
  its other users do (Syncing, Synced ...) and is Completed once every user has completed
  (engine/transitions.py). A user's later CompleteAfter holds the batch's own completion
  (:func:`engine.runner.scheduler.batch_completion_held`); its other users then complete one
  by one at the batch's time. The marking is one transaction that re-reads the user, so a pass
  another runner claimed meanwhile is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from engine.errors import ImshError
from engine.model import BatchStatus, MigrationUserStatus
from engine.runner.scheduler import (
    batch_completion_held,
    complete_after_of,
    completion_due,
    start_after_of,
    start_held,
    user_completion_due,
)
from engine.schedule_times import check_time_zone, to_utc
from engine.service.common import UNSET, Launcher, Unset
from engine.store import Store
from engine.store.batches import BatchSpec
from engine.store.users import MigrationUserRow
from engine.transitions import BatchPhase, with_status

log = logging.getLogger(__name__)

START_AFTER, COMPLETE_AFTER, TIME_ZONE = "start_after", "complete_after", "time_zone"
B = TypeVar("B", bound=BatchSpec)
_SYNCED = frozenset({BatchStatus.Synced, BatchStatus.SyncedWithErrors})
_USER_SYNCED = frozenset({MigrationUserStatus.Synced, MigrationUserStatus.IncrementalSynced})
_USER_DONE = frozenset({MigrationUserStatus.Completed, MigrationUserStatus.CompletedWithWarnings,
                        MigrationUserStatus.Completing})


@dataclass(frozen=True)
class BatchDelays:
    start_after: datetime | None = None  # UTC
    complete_after: datetime | None = None  # UTC
    time_zone: str | None = None  # as typed; None: UTC


def batch_delays(batch: BatchSpec) -> BatchDelays:
    extra = batch.extra
    return BatchDelays(_time(extra.get(START_AFTER)), _time(extra.get(COMPLETE_AFTER)),
                       extra.get(TIME_ZONE))


def with_delays(batch: B, start_after: datetime | Unset | None = UNSET,
                complete_after: datetime | Unset | None = UNSET,
                time_zone: str | Unset | None = UNSET) -> B:
    """``batch`` with the given settings changed (UNSET: kept; None: cleared)."""
    extra = dict(batch.extra)
    for key, value in ((START_AFTER, start_after), (COMPLETE_AFTER, complete_after),
                       (TIME_ZONE, time_zone)):
        if isinstance(value, Unset):
            continue
        if value is None:
            extra.pop(key, None)
        else:
            extra[key] = value.isoformat() if isinstance(value, datetime) else value
    return replace(batch, extra=extra)


def delays_for(batch: B, start_after: datetime | str | Unset | None,
               complete_after: datetime | str | Unset | None,
               time_zone: str | Unset | None) -> B:
    """``batch`` with what New-/Set-MigrationBatch gave, checked and converted to UTC."""
    zone = batch_delays(batch).time_zone if isinstance(time_zone, Unset) \
        else check_time_zone(time_zone)
    return with_delays(batch, scheduled(start_after, zone, "StartAfter"),
                       scheduled(complete_after, zone, "CompleteAfter"),
                       time_zone if isinstance(time_zone, Unset) else zone)


def held_by_start_after(store: Store, users: Sequence[MigrationUserRow],
                        now: datetime) -> set[int]:
    """Ids of the due ``users`` whose StartAfter (their own, else their batch's) lies ahead of
    ``now``."""
    starts: dict[int, datetime | None] = {}
    held = set()
    for user in users:
        if user.batch_id not in starts:
            starts[user.batch_id] = batch_delays(store.batches.get_by_id(user.batch_id)
                                                 ).start_after
        own = store.user_settings.get(user.id).start_after  # Set-MigrationUser's overrides
        if start_held(start_after_of(starts[user.batch_id], own), now):
            held.add(user.id)
    return held


def complete_due_batches(store: Store, now: datetime) -> list[str]:
    """Complete every active, synced batch whose CompleteAfter has passed; their names."""
    timed = [(batch, when) for batch in store.batches.list()
             if (when := batch_delays(batch).complete_after) is not None]
    if not timed:  # the usual tick: the batch service (and all it imports) is not needed
        return []
    from engine.service.batches import BatchService, derive_status  # the service uses us

    done = []
    owns = store.user_settings.complete_afters()  # Set-MigrationUser's, which may hold a batch
    for batch, complete_after in timed:
        active = BatchPhase(batch.status) is BatchPhase.Active
        if active and owns and batch_completion_held(
                _own_complete_afters(store.users.list(batch_id=batch.id), owns), now):
            continue  # a user's later CompleteAfter overrides: complete_due_users does it
        if not completion_due(complete_after, now, active=active,
                              synced=derive_status(store, batch) in _SYNCED):
            continue
        try:
            BatchService(store, Launcher(None)).complete(batch.name)
        except ImshError as exc:  # changed meanwhile (stopped, removed): try next tick
            log.info("CompleteAfter of batch %s not applied yet: %s", batch.name, exc)
            continue
        log.info("completing batch %s: its CompleteAfter %s has passed", batch.name,
                 complete_after.isoformat())
        done.append(batch.name)
    return done


def complete_due_users(store: Store, now: datetime) -> list[str]:
    """Mark Completing every synced user of an active batch whose CompleteAfter (its own, or
    its batch's while a user's later one holds the batch) has passed; their addresses."""
    owns = store.user_settings.complete_afters()
    if not owns:
        return []  # nobody has a CompleteAfter of its own: the batches' completion does it
    done = []
    for batch in store.batches.list():
        if BatchPhase(batch.status) is not BatchPhase.Active:
            continue
        users = store.users.list(batch_id=batch.id)
        if not any(user.id in owns for user in users):
            continue
        batch_time = batch_delays(batch).complete_after
        held = batch_completion_held(_own_complete_afters(users, owns), now)
        for user in users:
            own = owns.get(user.id)
            if not user_completion_due(own, batch_time, now, active=True,
                                       synced=user.status in _USER_SYNCED,
                                       batch_held=held):
                continue
            with store.transaction():  # re-read: a runner may have claimed it meanwhile
                fresh = store.users.get_by_id(user.id)
                if fresh.status not in _USER_SYNCED or fresh.stop_requested:
                    continue
                store.users.update(with_status(fresh, MigrationUserStatus.Completing,
                                               next_sync_due_at=now))
            when = complete_after_of(batch_time, own)
            log.info("completing user %s: its CompleteAfter %s has passed",
                     user.email_address, when.isoformat() if when else "-")
            done.append(user.email_address)
    return done


def _own_complete_afters(users: Sequence[MigrationUserRow],
                         owns: dict[int, datetime]) -> list[datetime | None]:
    """The own CompleteAfter of each unfinished one of ``users``."""
    return [owns.get(user.id) for user in users
            if MigrationUserStatus(user.status) not in _USER_DONE]


def scheduled(value: datetime | str | Unset | None, zone: str | None,
              parameter: str) -> datetime | Unset | None:
    """A -StartAfter/-CompleteAfter as given (UNSET, None to clear, a datetime or text) in
    UTC; a value without a zone is read in ``zone`` (the batch's -TimeZone)."""
    if isinstance(value, Unset) or value is None:
        return value
    return to_utc(value, zone, parameter)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
