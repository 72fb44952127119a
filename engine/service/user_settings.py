"""Set-MigrationUser's per-user settings and the user's stable MailboxGuid.

* **Limits.** ``-BadItemLimit``/``-LargeItemLimit`` on a user override the batch's (the
  executor reads :func:`engine.store.user_settings.limit_that_applies`). When a pass finds more
  such items than the limit that applies, the user fails with the limit's text, as for a batch
  limit; a changed limit retries the items skipped so far in the next pass, as
  Set-MigrationBatch does.
* **StartAfter** on a user holds its passes until then, overriding the batch's (the runner's
  decision is engine/runner/scheduler.py's). A value without a zone is read in the user's
  batch's -TimeZone, as on Set-MigrationBatch.
* **CompleteAfter** on a user: once it has passed and the user is synced, the user gets its
  final pass and becomes Completed while the rest of its batch keeps syncing (the runner's
  :func:`engine.service.delays.complete_due_users`). It overrides the batch's CompleteAfter for
  this user in both directions: earlier completes the user alone, later keeps the batch from
  completing as a whole until then. Read in the batch's -TimeZone like StartAfter (Exchange's
  Set-MigrationUser has no -TimeZone of its own).
* **MailboxGuid.** Exchange identifies a migration user's mailbox by a GUID
  (``Get-MigrationUser -MailboxGuid``). imsh has no directory, so the GUID is derived from
  what makes the migration user itself unique: its e-mail address (case-folded) and the moment
  it was created. It never changes while the user exists (a move to another batch keeps it)
  and needs no storage; a user removed and added again is a new migration user with a new GUID.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from engine.errors import InvalidStateError, NotFoundError, ValidationError
from engine.model import MigrationUserStatus
from engine.schedule_times import to_utc
from engine.service.common import UNSET, Unset
from engine.service.delays import batch_delays
from engine.skipped import retry_skipped_items
from engine.store import Store, codec
from engine.store.user_settings import UNLIMITED, Limit, UserSettings
from engine.store.users import MigrationUserRow

_COMPLETED = frozenset({MigrationUserStatus.Completing, MigrationUserStatus.Completed,
                        MigrationUserStatus.CompletedWithWarnings})
_NAMESPACE = uuid.UUID("6f1f1c2e-8a43-4c1d-9a57-3d1b2f0e9c11")  # imsh migration users


@dataclass(frozen=True)
class UserSettingChanges:
    """Set-MigrationUser's settings: UNSET leaves one as it is."""

    bad_item_limit: int | Unset | None = UNSET  # None: Unlimited
    large_item_limit: int | Unset | None = UNSET
    start_after: datetime | str | Unset | None = UNSET  # None: follow the batch's again
    complete_after: datetime | str | Unset | None = UNSET  # None: follow the batch's again

    @property
    def any(self) -> bool:
        return any(not isinstance(v, Unset) for v in (self.bad_item_limit,
                                                      self.large_item_limit, self.start_after,
                                                      self.complete_after))


def mailbox_guid(user: MigrationUserRow) -> str:
    """The user's stable MailboxGuid (see the module docstring)."""
    created = codec.time_to_db(user.created_at) or ""
    return str(uuid.uuid5(_NAMESPACE, f"{codec.name_key(user.email_address)}|{created}"))


def parse_guid(text: str) -> str:
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        raise ValidationError(
            f'Cannot bind parameter \'MailboxGuid\'. Cannot convert value "{text}" to type '
            '"System.Guid". Error: "Guid should contain 32 digits with 4 dashes '
            '(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."', error_id="InvalidGuid") from None


def user_by_guid(store: Store, guid: str) -> MigrationUserRow:
    wanted = parse_guid(guid)
    for user in store.users.list():
        if mailbox_guid(user) == wanted:
            return user
    raise NotFoundError(f"The migration user with MailboxGuid '{wanted}' couldn't be found.",
                        error_id="MigrationUserNotFound")


def apply_settings(store: Store, user: MigrationUserRow, changes: UserSettingChanges) -> None:
    """Check and store ``changes`` for ``user``; retry its skipped items when a limit changed."""
    current = store.user_settings.get(user.id)
    updated = current
    for name in ("bad_item_limit", "large_item_limit"):
        value = getattr(changes, name)
        if isinstance(value, Unset):
            continue
        if value is not None and value < 0:
            parameter = "BadItemLimit" if name == "bad_item_limit" else "LargeItemLimit"
            raise ValidationError(
                f'The value "{value}" of parameter {parameter} isn\'t valid. Enter a '
                "non-negative integer or the value Unlimited.", error_id="InvalidUnlimitedValue")
        stored: Limit = UNLIMITED if value is None else value
        updated = (replace(updated, bad_item_limit=stored) if name == "bad_item_limit"
                   else replace(updated, large_item_limit=stored))
    if not isinstance(changes.start_after, Unset):
        zone = batch_delays(store.batches.get_by_id(user.batch_id)).time_zone
        start = (to_utc(changes.start_after, zone, "StartAfter")
                 if changes.start_after is not None else None)
        updated = replace(updated, start_after=start)
    if not isinstance(changes.complete_after, Unset):
        if user.status in _COMPLETED:
            raise InvalidStateError(
                f'The migration user "{user.email_address}" has already been completed '
                f"(status {user.status}); its CompleteAfter can't be changed.",
                error_id="UserAlreadyCompleted")
        zone = batch_delays(store.batches.get_by_id(user.batch_id)).time_zone
        complete = (to_utc(changes.complete_after, zone, "CompleteAfter")
                    if changes.complete_after is not None else None)
        updated = replace(updated, complete_after=complete)
    if updated == current:
        return
    with store.transaction():
        store.user_settings.save(updated)
        if _limits(updated) != _limits(current):
            retry_skipped_items(store, user.id)


def user_start_after(store: Store, user_id: int) -> datetime | None:
    return store.user_settings.get(user_id).start_after


def _limits(settings: UserSettings) -> tuple[Limit, Limit]:
    return settings.bad_item_limit, settings.large_item_limit
