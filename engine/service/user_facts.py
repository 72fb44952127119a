"""What a listing of migration users reads besides the user rows, in a few queries for all.

``Get-MigrationUser``, ``Get-MigrationBatch`` and the dashboard's pages list many users; each
:class:`~engine.service.users.UserInfo` needs the user's statistics, held deletions, own
settings, latest proof (for its DataConsistencyScore) and batch. Read user by user, that is
about seven queries a user (550 for a 50-user batch page); :meth:`UserFacts.of` reads them for
every user of a batch (or of all batches) in six, whatever the number of users, and
:meth:`UserFacts.of_user` for one user. A user a table has no row for gets what the
repositories' single reads give it (zero statistics, no settings, no proof).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import DataConsistencyScore
from engine.store import Store
from engine.store.batches import BatchRow
from engine.store.proofs import ProofRow
from engine.store.stats import UserStatistics
from engine.store.user_settings import UserSettings
from engine.store.users import MigrationUserRow
from engine.verify.score import score_of


@dataclass(frozen=True)
class UserFacts:
    statistics: dict[int, UserStatistics]
    held: dict[int, tuple[int, int]]  # (held message deletions, held folder removals)
    settings: dict[int, UserSettings]
    proofs: dict[int, ProofRow]
    batches: dict[int, BatchRow]

    @classmethod
    def of(cls, store: Store, batch_id: int | None = None) -> UserFacts:
        """The facts of every user of batch ``batch_id`` (of every batch when None)."""
        batches = ([store.batches.get_by_id(batch_id)] if batch_id is not None
                   else store.batches.list())
        return cls(store.statistics.of_users(batch_id), store.messages.held_counts(batch_id),
                   store.user_settings.of_users(batch_id),
                   store.proofs.latest_of_users(batch_id), {b.id: b for b in batches})

    @classmethod
    def of_user(cls, store: Store, user: MigrationUserRow) -> UserFacts:
        proof = store.proofs.latest(user.id)
        return cls({user.id: store.statistics.get(user.id)},
                   {user.id: (store.messages.count_held(user.id),
                              store.messages.count_held_folders(user.id))},
                   {user.id: store.user_settings.get(user.id)},
                   {user.id: proof} if proof is not None else {},
                   {user.batch_id: store.batches.get_by_id(user.batch_id)})

    def statistics_of(self, user_id: int) -> UserStatistics:
        return self.statistics.get(user_id) or UserStatistics(user_id=user_id)

    def held_of(self, user_id: int) -> tuple[int, int]:
        return self.held.get(user_id, (0, 0))

    def settings_of(self, user_id: int) -> UserSettings:
        return self.settings.get(user_id) or UserSettings(user_id)

    def score_of(self, user_id: int) -> DataConsistencyScore:
        return score_of(self.proofs.get(user_id), self.statistics_of(user_id))
