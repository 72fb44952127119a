"""``New-MigrationBatch -Users``: users of existing batches move into a new batch.

Microsoft's documented retry of failed users is ``$Failed = Get-MigrationUser -Status Failed;
New-MigrationBatch -Name "Retry Failed Users" -Users $Failed`` ("The users that you specify for
this parameter must be defined in an existing migration batch"). Design decisions:

* **A move, not a copy.** The user's row keeps its id and only its ``batch_id`` changes, so
  everything keyed by the user id goes with it: folder and message states (nothing already
  copied is copied again, nothing is duplicated), statistics, report entries, skipped items
  and held deletions. The old batch keeps its other users.
* **Same target.** The stored state says where each copy is on the user's *target*; a new
  batch with another target endpoint would plan against copies that are not there. The new
  batch therefore takes the users' target endpoint, and a different ``-TargetEndpoint`` is
  refused. The source endpoint defaults to the users' one; another may be named (a renamed
  server), since passes re-match source messages by fingerprint.
* **Only users at rest move.** A user a runner holds, or one queued for a pass, syncing,
  stopping, completing or removing, is refused with its status; Completed users are done and
  are refused too. Failed, stopped and synced users move, and so do the Queued users of a
  batch that was never started (nothing is due for them).
* **All or nothing.** Every user is checked before anything is written; the batch and the
  moves are one transaction (the caller's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from engine.errors import InvalidStateError, ValidationError
from engine.model import MigrationUserStatus
from engine.service.common import users_being_synced
from engine.store import Store
from engine.store.users import MigrationUserRow
from engine.transitions import BatchPhase, with_status

U = MigrationUserStatus
MOVABLE = frozenset({
    U.Failed, U.IncrementalFailed, U.CompletionFailed, U.Corrupted,
    U.Stopped, U.IncrementalStopped, U.Synced, U.IncrementalSynced,
})
"""The statuses a user may have to move into a new batch: nothing is under way for it."""


def users_to_move(store: Store, identities: Iterable[str]) -> list[MigrationUserRow]:
    """The named users, each once, checked to be movable; raises on the first that is not."""
    users: list[MigrationUserRow] = []
    seen: set[int] = set()
    for identity in identities:
        user = store.users.get(identity.strip())  # "The migration user '...' couldn't be found."
        if user.id not in seen:
            seen.add(user.id)
            users.append(user)
    if not users:
        raise ValidationError("-Users names no migration user; a batch made with -Users "
                              "needs at least one.", error_id="NoUsersToMove")
    running = users_being_synced(store)
    for user in users:
        if user.id in running or not (U(user.status) in MOVABLE or _never_started(store, user)):
            raise InvalidStateError(
                f'The migration user "{user.email_address}" can\'t be moved to a new batch '
                f'because its status is {user.status} in batch "{user.batch_name}". Only '
                "failed, stopped or synced users can be moved; stop the user first.",
                error_id="UserCannotBeMoved")
    return users


def _never_started(store: Store, user: MigrationUserRow) -> bool:
    """A Queued user of a batch still Created: it waits for Start-MigrationBatch only."""
    if U(user.status) is not U.Queued or user.next_sync_due_at is not None:
        return False
    return BatchPhase(store.batches.get_by_id(user.batch_id).status) is BatchPhase.Created


def shared_endpoint(store: Store, users: Sequence[MigrationUserRow], which: str) -> int:
    """The source or target endpoint id (``which``) the users' batches share; raises when they
    differ, since the new batch has one of each."""
    ids = {getattr(store.batches.get_by_id(user.batch_id), f"{which}_endpoint_id")
           for user in users}
    if len(ids) != 1:
        names = sorted(store.endpoints.get_by_id(i).name for i in ids)
        raise ValidationError(
            f"The users come from batches with different {which} endpoints "
            f"({', '.join(names)}); a batch has one {which} endpoint. Create one batch per "
            f"{which} endpoint.", error_id=f"UsersWithDifferent{which.title()}Endpoints")
    return ids.pop()


def check_same_target(store: Store, users: Sequence[MigrationUserRow], target_id: int) -> None:
    """Refuse a target endpoint other than the users' own (their copies are there)."""
    own = shared_endpoint(store, users, "target")
    if own != target_id:
        raise ValidationError(
            f"The users were migrated to the target endpoint "
            f"'{store.endpoints.get_by_id(own).name}'; a batch that takes them over must use "
            f"the same target (what was copied is there). Leave out -TargetEndpoint.",
            error_id="MovedUsersTargetMismatch")


def move_users(store: Store, batch_id: int, users: Sequence[MigrationUserRow],
               due: datetime | None) -> None:
    """Move ``users`` into batch ``batch_id`` and queue them (due at ``due``; None: when the
    batch is started). Call inside ``store.transaction()``."""
    for user in users:
        store.users.move_to_batch(user.id, batch_id)
        moved = store.users.get_by_id(user.id)
        store.users.update(with_status(
            moved, U.Queued, error=None, stop_requested=False, sync_attempt=0,
            next_sync_due_at=due, started_at=moved.started_at or due))
