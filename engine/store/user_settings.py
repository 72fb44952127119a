"""Per-user settings that override the batch's: Set-MigrationUser -BadItemLimit,
-LargeItemLimit, -StartAfter (schema migration 4, table ``user_settings``) and -CompleteAfter
(migration 6, column ``complete_after``).

"Some settings can be applied both to the batch as well as to individual users within the
batch. A setting applied to a user overrides any corresponding setting on the batch." A user
without a row, or a NULL column, follows its batch. An item limit of ``-1`` stored means
Unlimited (NULL already means "the batch's"); the repository turns it back into
:data:`UNLIMITED` so callers never see the encoding. Rows go with their user (ON DELETE
CASCADE) and stay with it when it moves to another batch (engine/service/moved_users.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.store import codec
from engine.store.db import Database, Row

UNLIMITED = "Unlimited"
_UNLIMITED_IN_DB = -1

Limit = int | str | None
"""An item limit of a user: a number, :data:`UNLIMITED`, or None (the batch's)."""


@dataclass(frozen=True)
class UserSettings:
    user_id: int
    bad_item_limit: Limit = None
    large_item_limit: Limit = None
    start_after: datetime | None = None  # UTC; None: the batch's
    complete_after: datetime | None = None  # UTC; None: the batch's


class UserSettingsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, user_id: int) -> UserSettings:
        row = self._db.query_one("SELECT * FROM user_settings WHERE user_id = ?", (user_id,))
        return _settings(row) if row is not None else UserSettings(user_id)

    def of_users(self, batch_id: int | None = None) -> dict[int, UserSettings]:
        """Every user's own settings (only batch ``batch_id``'s when given), by user id, in one
        query (a user without a row has none: :meth:`get`)."""
        if batch_id is None:
            rows = self._db.query_all("SELECT * FROM user_settings")
        else:
            rows = self._db.query_all(
                "SELECT s.* FROM user_settings s JOIN migration_users u ON u.id = s.user_id "
                "WHERE u.batch_id = ?", (batch_id,))
        return {int(r["user_id"]): _settings(r) for r in rows}

    def complete_afters(self) -> dict[int, datetime]:
        """Every user's own CompleteAfter, by user id (one query for the runner's tick: the
        usual answer is none)."""
        rows = self._db.query_all(
            "SELECT user_id, complete_after FROM user_settings WHERE complete_after IS NOT NULL")
        times = {row["user_id"]: codec.time_from_db(row["complete_after"]) for row in rows}
        return {user_id: when for user_id, when in times.items() if when is not None}

    def save(self, settings: UserSettings) -> UserSettings:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO user_settings (user_id, bad_item_limit, large_item_limit, "
                "start_after, complete_after) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET "
                "bad_item_limit = excluded.bad_item_limit, "
                "large_item_limit = excluded.large_item_limit, "
                "start_after = excluded.start_after, "
                "complete_after = excluded.complete_after",
                (settings.user_id, _limit_to_db(settings.bad_item_limit),
                 _limit_to_db(settings.large_item_limit),
                 codec.time_to_db(settings.start_after),
                 codec.time_to_db(settings.complete_after)))
            return self.get(settings.user_id)


def _limit_to_db(value: Limit) -> int | None:
    if value == UNLIMITED:
        return _UNLIMITED_IN_DB
    return value if isinstance(value, int) else None


def _limit_from_db(value: int | None) -> Limit:
    return UNLIMITED if value == _UNLIMITED_IN_DB else value


def limit_that_applies(user: Limit, batch: int | None) -> int | None:
    """The item limit a pass uses: the user's own when set, else the batch's (None:
    Unlimited)."""
    if user is None:
        return batch
    return None if user == UNLIMITED else int(user)


def _settings(row: Row) -> UserSettings:
    return UserSettings(int(row["user_id"]), _limit_from_db(row["bad_item_limit"]),
                        _limit_from_db(row["large_item_limit"]),
                        codec.time_from_db(row["start_after"]),
                        codec.time_from_db(row["complete_after"]))
