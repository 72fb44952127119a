"""Passes that are due with no runner to perform them: the notice, and reviving the runner.

A batch keeps getting passes only while some runner serves the state directory: a systemd
unit (``imsh service install``) or the on-demand runner a shell launches, which stays alive
while passes are due (engine/runner/runner.py, ``keep_alive``). When neither is there — the
runner was SIGKILLed, the machine rebooted, keep-alive is switched off, or the engine was
opened without a launcher — the batch would sit at Synced for ever while ``-Diagnostic``
promised a next pass. Two things here keep that from going unnoticed:

- :func:`no_runner_notice` is the warning Start-MigrationBatch and Get-MigrationBatch write
  for a batch with a pass due (now or later) when no live runner serves the state and no
  launch is under way (a live ``launch`` lease: a shell is starting one this moment);
- :func:`revive_runner` is what every imsh command that opens the engine does first (when the
  shell keeps runners alive): if passes are due and no runner lives, it asks the launcher to
  start one, so a killed runner is replaced by the next command that reads state; an engine
  opened with ``keep_runner`` also does it before each notice, so a console left open for days
  replaces a dead runner when it lists batches, rather than only warning.

Which users count as "due" is the runner's own rule (:func:`engine.transitions.runnable`):
a user in one of the due statuses, not asked to stop, with a due time, in a running batch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.runner.launcher import LAUNCH_RESOURCE, RUNNER_PREFIX
from engine.runner.liveness import live_leases
from engine.service.common import Launcher, now
from engine.store import Store
from engine.transitions import DUE_STATUSES, batch_phase, runnable

_FAR_FUTURE = timedelta(days=3650)
_SCAN_LIMIT = 1000


def next_pass_due(store: Store, batch_id: int | None = None,
                  at: datetime | None = None) -> datetime | None:
    """When the next pass a runner would perform is due (of one batch, or of any); None when
    no pass is due at any time."""
    moment = at or now()
    phases: dict[int, str] = {}
    for user in store.users.list_due(moment + _FAR_FUTURE, DUE_STATUSES, limit=_SCAN_LIMIT):
        if batch_id is not None and user.batch_id != batch_id:
            continue
        if user.batch_id not in phases:
            phases[user.batch_id] = store.batches.get_by_id(user.batch_id).status
        if runnable(user.status, batch_phase(phases[user.batch_id])):
            return user.next_sync_due_at
    return None


def runner_coming(store: Store) -> bool:
    """Does a live runner serve the state, or is a live process launching one right now?"""
    return bool(live_leases(store, prefix=RUNNER_PREFIX)
                or live_leases(store, prefix=LAUNCH_RESOURCE))


def no_runner_notice(store: Store, batch_id: int, name: str) -> str | None:
    """The warning for the batch ``name`` when it has a pass due but no runner will perform
    it."""
    due = next_pass_due(store, batch_id)
    if due is None or runner_coming(store):
        return None
    when = due.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f'The migration batch "{name}" has passes due (the next at {when}) but no '
            "runner is running to perform them. Install the service with 'imsh service "
            "install' so that passes happen by themselves, run 'imsh service' in the "
            "foreground, or switch runner keep-alive back on (IMSH_RUNNER_KEEP_ALIVE, "
            "runner.keep_alive) so that imsh starts one.")


def revive_runner(store: Store, launch: Launcher) -> bool:
    """Ask ``launch`` for a runner when passes are due and none serves the state; True when
    it was asked (the launcher itself makes sure only one process launches)."""
    if not launch.available or runner_coming(store) or next_pass_due(store) is None:
        return False
    launch()
    return True
