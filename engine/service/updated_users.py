"""``Set-MigrationBatch -AddUsers -CSVData``: a row for a user already in the batch whose
values changed updates that user.

Exchange: "Only new entries in the CSV file are processed." An administrator who fixes a
wrong password or user name and re-submits the file expects the fix to take; imsh used to drop
it silently. Design decisions:

* A row *changed* when its UserName, Password, UserRoot, TargetUserName or TargetPassword
  differ from the stored ones (passwords compared as secrets, never shown). Unchanged rows
  are left alone, as Exchange does.
* A changed user is updated only **at rest**: while a runner syncs it, or its status is
  Syncing/IncrementalSyncing/Completing/Stopping/Removing, the whole Set-MigrationBatch is
  refused naming the user (nothing is written), since a pass under way uses the old
  credentials and would mix them with the new. Stop the user, or wait for the pass to end.
* The update keeps the user's status and its sync state (nothing is copied again); a failed
  user is retried with Start-MigrationBatch or Start-MigrationUser, as before.
* Each row's login form is checked as for a new user (engine/adminlogin.py), before any write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.csvdata import CsvUserRow, address_key
from engine.errors import InvalidStateError
from engine.model import MigrationUserStatus
from engine.service.common import users_being_synced
from engine.store import Store
from engine.store.users import MigrationUserRow

U = MigrationUserStatus
_UNDER_WAY = frozenset({U.Syncing, U.IncrementalSyncing, U.Completing, U.Stopping, U.Removing})


def changed_users(store: Store, present: Sequence[MigrationUserRow],
                  rows: Sequence[CsvUserRow]) -> list[MigrationUserRow]:
    """The stored users with the values of their changed rows; raises when one is busy."""
    by_key = {address_key(user.email_address): user for user in present}
    running = users_being_synced(store)
    changed = []
    for row in rows:
        user = by_key.get(address_key(row.email_address))
        if user is None:
            continue
        updated = _with_row(user, row)
        if updated == user:
            continue
        if user.id in running or U(user.status) in _UNDER_WAY:
            raise InvalidStateError(
                f'The migration user "{user.email_address}" is being synchronized (status '
                f"{user.status}), so its changed row {row.row_number} can't be applied now. "
                "Wait until its pass has ended, or stop it with Stop-MigrationUser, and "
                "submit the file again.", error_id="UserBeingSynced")
        changed.append(updated)
    return changed


def _with_row(user: MigrationUserRow, row: CsvUserRow) -> MigrationUserRow:
    """``user`` with the row's values, stored as a new user's are (engine/service/batches.py);
    Secrets compare by value, so an unchanged row gives an equal row."""
    return replace(user, user_name=row.user_name, password=row.password,
                   user_root=row.user_root, target_user_name=row.target_user_name,
                   target_password=row.target_password)
