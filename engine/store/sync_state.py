"""Sync state: per (user, folder) and per message. The heart of crash safety.

Folder state remembers the source folder's identity (raw name, separator, UIDVALIDITY, UIDNEXT,
HIGHESTMODSEQ) and the target folder it maps to. Message state remembers, per source UID, a
fingerprint, the target reference (IMAP UID, EWS item id or Maildir key) and the flags last
synced, plus a state:

    pending  — intent written: the message is about to be (or may have been) appended
    copied   — the target holds it; ``target_ref`` says where
    skipped  — deliberately not copied (too large, bad item); see statistics.skipped_items
    deleted  — the copy was removed from the target because the source message vanished

Commit rules (see the ``engine.store`` docstring): :meth:`MessageStateRepository.record_pending`
commits before the append (with the target's mark taken just before it),
:meth:`MessageStateRepository.record_copied` after it, one transaction per append batch. A
``pending`` row on resume means "look on the target first".
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import InvalidStateError, NotFoundError
from engine.mail import Hold, MessageState
from engine.store import codec
from engine.store.db import Database, Row

MESSAGE_STATES = tuple(state.value for state in MessageState)
_IN_CHUNK = 500  # bound parameters per IN (...) query, well under any server's limit

_FOLDER_COLUMNS = (
    "source_separator",
    "target_name",
    "source_uidvalidity",
    "source_uidnext",
    "source_highestmodseq",
    "target_uidvalidity",
    "excluded",
    "created_by_migration",
    "last_synced_at",
    "hold",
)


@dataclass(frozen=True)
class FolderRow:
    """What imsh knows about one source folder of one user."""

    source_name: str  # raw, as the source server spells it
    source_separator: str | None = None
    target_name: str | None = None
    source_uidvalidity: int | None = None
    source_uidnext: int | None = None
    source_highestmodseq: int | None = None  # only when the source has CONDSTORE
    target_uidvalidity: int | None = None
    excluded: bool = False
    created_by_migration: bool = False  # only such target folders may ever be deleted
    last_synced_at: datetime | None = None
    hold: Hold | None = None  # removing it (it vanished) awaits approval, or has it
    id: int = 0
    user_id: int = 0


@dataclass(frozen=True)
class PendingMessage:
    """The intent to copy one source message; ``target_mark`` is the target's mark taken
    before its append batch (where the copy can appear; see engine/targets/base.py)."""

    source_uid: int
    fingerprint: str
    size: int
    internaldate: datetime | None = None
    flags: str = ""
    target_mark: str | None = None


@dataclass(frozen=True)
class CopiedMessage:
    """Where one source message landed on the target."""

    source_uid: int
    target_ref: str
    target_uidvalidity: int | None = None
    flags: str = ""


@dataclass(frozen=True)
class MessageRow:
    id: int
    folder_id: int
    source_uid: int | None  # None: detached or deleted (see schema)
    fingerprint: str
    size: int
    internaldate: datetime | None
    target_ref: str | None
    target_uidvalidity: int | None
    flags: str
    state: MessageState
    updated_at: datetime
    target_mark: str | None = None  # kept from the row's last pending write
    hold: Hold | None = None  # its deletion awaits (or has) approval


@dataclass(frozen=True)
class FolderTally:
    """One folder's message rows counted, not loaded (one SQL query): what a pass needs to
    decide whether, and how much of, the folder must be listed (engine/sync/incremental.py).

    ``live``: rows not deleted; ``attached``: live rows holding a source UID; ``pending``,
    ``detached`` (live, without source UID), ``copies`` (state copied), ``copies_with_ref``
    (copied and holding a target reference); ``size``: bytes of the live rows; ``max_uid``:
    the highest source UID of a live row (0 when none)."""

    live: int = 0
    attached: int = 0
    pending: int = 0
    detached: int = 0
    copies: int = 0
    copies_with_ref: int = 0
    size: int = 0
    max_uid: int = 0


class FolderStateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, user_id: int, folder: FolderRow) -> FolderRow:
        """Insert or update the state of ``folder.source_name`` for ``user_id``."""
        with self._db.transaction():
            updates = ", ".join(f"{c} = excluded.{c}" for c in _FOLDER_COLUMNS)
            placeholders = ", ".join("?" for _ in range(len(_FOLDER_COLUMNS) + 2))
            self._db.execute(
                f"INSERT INTO folder_states (user_id, source_name, {', '.join(_FOLDER_COLUMNS)}) "
                f"VALUES ({placeholders}) "
                f"ON CONFLICT (user_id, source_name) DO UPDATE SET {updates}",
                (user_id, folder.source_name, *_folder_values(folder)),
            )
            return self.get(user_id, folder.source_name)

    def find(self, user_id: int, source_name: str) -> FolderRow | None:
        found = self._db.query_one(
            "SELECT * FROM folder_states WHERE user_id = ? AND source_name = ?",
            (user_id, source_name),
        )
        return _folder(found) if found is not None else None

    def get(self, user_id: int, source_name: str) -> FolderRow:
        found = self.find(user_id, source_name)
        if found is None:
            raise NotFoundError(
                f"No sync state for folder '{source_name}'.", error_id="FolderStateNotFound"
            )
        return found

    def list(self, user_id: int) -> list[FolderRow]:
        rows = self._db.query_all(
            "SELECT * FROM folder_states WHERE user_id = ? ORDER BY source_name", (user_id,)
        )
        return [_folder(r) for r in rows]

    def remove(self, folder_id: int) -> None:
        """Forget a folder and, by cascade, its message states."""
        with self._db.transaction():
            self._db.execute("DELETE FROM folder_states WHERE id = ?", (folder_id,))


class MessageStateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record_pending(self, folder_id: int, messages: Sequence[PendingMessage]) -> None:
        """Write the intent to copy ``messages`` (commit this BEFORE appending them).

        An existing row keeps its target reference: a re-planned copy must still be looked up
        on the target before it is appended again.
        """
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            self._db.execute_many(
                "INSERT INTO message_states (folder_id, source_uid, fingerprint, size, "
                "internaldate, flags, target_mark, state, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?) "
                "ON CONFLICT (folder_id, source_uid) DO UPDATE SET "
                "fingerprint = excluded.fingerprint, size = excluded.size, "
                "internaldate = excluded.internaldate, flags = excluded.flags, "
                "target_mark = excluded.target_mark, "
                "state = 'pending', updated_at = excluded.updated_at",
                [
                    (
                        folder_id,
                        m.source_uid,
                        m.fingerprint,
                        m.size,
                        codec.time_to_db(m.internaldate),
                        m.flags,
                        m.target_mark,
                        now,
                    )
                    for m in messages
                ],
            )

    def record_copied(self, folder_id: int, copies: Sequence[CopiedMessage]) -> None:
        """Record where appended messages landed (commit once per append batch).

        Every message must have its pending row already: intent comes before the append.
        """
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            changed = self._db.execute_many(
                "UPDATE message_states SET target_ref = ?, target_uidvalidity = ?, flags = ?, "
                "state = 'copied', updated_at = ? WHERE folder_id = ? AND source_uid = ?",
                [
                    (c.target_ref, c.target_uidvalidity, c.flags, now, folder_id, c.source_uid)
                    for c in copies
                ],
            )
            if changed != len(copies):
                raise InvalidStateError(
                    "a copied message has no pending row: intent must be recorded before the "
                    "append",
                    error_id="CopyWithoutIntent",
                )

    def record_skipped(self, folder_id: int, messages: Sequence[PendingMessage]) -> None:
        """Remember messages deliberately not copied, so they are not retried every pass."""
        self._upsert_state(folder_id, messages, "skipped")

    def update_flags(self, folder_id: int, flags_by_uid: Mapping[int, str]) -> None:
        """Record the flags now on the target for already copied messages."""
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            self._db.execute_many(
                "UPDATE message_states SET flags = ?, updated_at = ? "
                "WHERE folder_id = ? AND source_uid = ?",
                [(flags, now, folder_id, uid) for uid, flags in flags_by_uid.items()],
            )

    def mark_deleted(self, folder_id: int, source_uids: Iterable[int]) -> None:
        """Record that the target copies of vanished source messages were removed.

        The tombstone gives up its source UID so that a UID reused after a UIDVALIDITY
        change can never collide with it.
        """
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            self._db.execute_many(
                "UPDATE message_states SET state = 'deleted', source_uid = NULL, updated_at = ? "
                "WHERE folder_id = ? AND source_uid = ?",
                [(now, folder_id, uid) for uid in source_uids],
            )

    def mark_deleted_rows(self, folder_id: int, row_ids: Iterable[int]) -> None:
        """Like ``mark_deleted`` for rows that no longer have a source UID (detached)."""
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            self._db.execute_many(
                "UPDATE message_states SET state = 'deleted', source_uid = NULL, updated_at = ? "
                "WHERE folder_id = ? AND id = ?",
                [(now, folder_id, row_id) for row_id in row_ids],
            )

    def detach(self, folder_id: int, source_uids: Iterable[int]) -> None:
        """Keep the target copy of a vanished source message but release its source UID.

        Used in the initial phase (which never deletes): the next incremental pass finds
        the detached row by its target reference and deletes the copy.
        """
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            self._db.execute_many(
                "UPDATE message_states SET source_uid = NULL, updated_at = ? "
                "WHERE folder_id = ? AND source_uid = ?",
                [(now, folder_id, uid) for uid in source_uids],
            )

    def forget(self, folder_id: int, source_uids: Iterable[int]) -> None:
        """Drop message rows entirely (e.g. a pending copy found never to have happened)."""
        with self._db.transaction():
            self._db.execute_many(
                "DELETE FROM message_states WHERE folder_id = ? AND source_uid = ?",
                [(folder_id, uid) for uid in source_uids],
            )

    def forget_skipped(self, user_id: int) -> int:
        """Drop every *skipped* row of ``user_id``'s folders, so the next pass plans those
        messages again (copied, or skipped anew); returns how many rows went."""
        with self._db.transaction():
            found = self._db.query_all(
                "SELECT COUNT(*) AS n FROM message_states WHERE state = 'skipped' AND "
                "folder_id IN (SELECT id FROM folder_states WHERE user_id = ?)", (user_id,))
            self._db.execute(
                "DELETE FROM message_states WHERE state = 'skipped' AND "
                "folder_id IN (SELECT id FROM folder_states WHERE user_id = ?)", (user_id,))
        return int(found[0]["n"]) if found else 0

    def reassign_source_uids(self, folder_id: int, new_uid_by_row_id: Mapping[int, int]) -> None:
        """Re-key rows after a source UIDVALIDITY change (matched by fingerprint).

        Two steps keep ``UNIQUE (folder_id, source_uid)`` satisfied while UIDs swap places:
        every row first moves to a negative placeholder UID, then to its new UID. A row whose
        deletion was held is matched again: the source holds its message, so the hold ends.
        """
        with self._db.transaction():
            self._db.execute_many(
                "UPDATE message_states SET source_uid = -id WHERE folder_id = ? AND id = ?",
                [(folder_id, row_id) for row_id in new_uid_by_row_id],
            )
            self._db.execute_many(
                "UPDATE message_states SET source_uid = ?, hold = NULL "
                "WHERE folder_id = ? AND id = ?",
                [(uid, folder_id, row_id) for row_id, uid in new_uid_by_row_id.items()],
            )

    def hold(self, folder_id: int, source_uids: Iterable[int], row_ids: Iterable[int]) -> None:
        """Held deletions (engine/sync/guard.py): keep the copies, release the source UIDs
        (as :meth:`detach` does) and mark the rows held until the administrator approves."""
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            # an approval given meanwhile (a pass planned before it) is never taken back
            self._db.execute_many(
                "UPDATE message_states SET source_uid = NULL, hold = 'held', updated_at = ? "
                "WHERE folder_id = ? AND source_uid = ? AND state = 'copied' "
                "AND (hold IS NULL OR hold <> 'approved')",
                [(now, folder_id, uid) for uid in source_uids],
            )
            self._db.execute_many(
                "UPDATE message_states SET hold = 'held', updated_at = ? "
                "WHERE folder_id = ? AND id = ? AND state = 'copied' "
                "AND (hold IS NULL OR hold <> 'approved')",
                [(now, folder_id, row_id) for row_id in row_ids],
            )

    def mark_holds(self, folder_id: int, hold_by_uid: Mapping[int, str]) -> None:
        """Carry rows' hold marks over (a renamed folder's state is written anew)."""
        with self._db.transaction():
            self._db.execute_many(
                "UPDATE message_states SET hold = ? WHERE folder_id = ? AND source_uid = ?",
                [(str(hold), folder_id, uid) for uid, hold in hold_by_uid.items()],
            )

    def approve_held(self, user_id: int) -> int:
        """Approve every held deletion of the user (its rows and vanished folders); returns
        how many messages were approved. The next pass deletes exactly these."""
        with self._db.transaction():
            count = self.count_held(user_id)
            self._db.execute(
                "UPDATE message_states SET hold = 'approved' WHERE hold = 'held' AND folder_id "
                "IN (SELECT id FROM folder_states WHERE user_id = ?)", (user_id,))
            self._db.execute(
                "UPDATE folder_states SET hold = 'approved' WHERE hold = 'held' AND user_id = ?",
                (user_id,))
        return count

    def count_held(self, user_id: int, hold: str = "held") -> int:
        """The user's copies whose deletion is held (or, with ``hold='approved'``, approved)."""
        found = self._db.query_one(
            "SELECT COUNT(*) AS n FROM message_states m JOIN folder_states f "
            "ON f.id = m.folder_id WHERE f.user_id = ? AND m.hold = ? AND m.state = 'copied'",
            (user_id, hold))
        return int(found["n"]) if found is not None else 0

    def held_counts(self, batch_id: int | None = None) -> dict[int, tuple[int, int]]:
        """(:meth:`count_held`, :meth:`count_held_folders`) of every user that has any
        (only batch ``batch_id``'s when given), by user id, in two queries."""
        where, params = ("", ()) if batch_id is None else (
            " AND f.user_id IN (SELECT id FROM migration_users WHERE batch_id = ?)", (batch_id,))
        messages = self._db.query_all(
            "SELECT f.user_id, COUNT(*) AS n FROM message_states m JOIN folder_states f "
            "ON f.id = m.folder_id WHERE m.hold = 'held' AND m.state = 'copied'"
            f"{where} GROUP BY f.user_id", params)
        folders = self._db.query_all(
            f"SELECT f.user_id, COUNT(*) AS n FROM folder_states f WHERE f.hold = 'held'{where} "
            "GROUP BY f.user_id", params)
        counts: dict[int, tuple[int, int]] = {}
        for r in messages:
            counts[int(r["user_id"])] = (int(r["n"]), 0)
        for r in folders:
            user_id = int(r["user_id"])
            counts[user_id] = (counts.get(user_id, (0, 0))[0], int(r["n"]))
        return counts

    def count_held_folders(self, user_id: int) -> int:
        found = self._db.query_one(
            "SELECT COUNT(*) AS n FROM folder_states WHERE user_id = ? AND hold = 'held'",
            (user_id,))
        return int(found["n"]) if found is not None else 0

    def get(self, folder_id: int, source_uid: int) -> MessageRow | None:
        found = self._db.query_one(
            "SELECT * FROM message_states WHERE folder_id = ? AND source_uid = ?",
            (folder_id, source_uid),
        )
        return _message(found) if found is not None else None

    def list(self, folder_id: int, state: str | None = None) -> builtins.list[MessageRow]:
        sql = "SELECT * FROM message_states WHERE folder_id = ?"
        params: tuple[Any, ...] = (folder_id,)
        if state is not None:
            sql, params = sql + " AND state = ?", (folder_id, state)
        rows = self._db.query_all(sql + " ORDER BY source_uid", params)
        return [_message(r) for r in rows]

    def find_by_fingerprint(self, folder_id: int, fingerprint: str) -> builtins.list[MessageRow]:
        rows = self._db.query_all(
            "SELECT * FROM message_states WHERE folder_id = ? AND fingerprint = ? ORDER BY id",
            (folder_id, fingerprint),
        )
        return [_message(r) for r in rows]

    def find_by_target_ref(self, folder_id: int, target_ref: str) -> MessageRow | None:
        found = self._db.query_one(
            "SELECT * FROM message_states WHERE folder_id = ? AND target_ref = ?",
            (folder_id, target_ref),
        )
        return _message(found) if found is not None else None

    def find_by_source_uids(self, folder_id: int,
                            source_uids: Iterable[int]) -> dict[int, MessageRow]:
        """The rows of ``source_uids`` in ``folder_id`` (tombstones have no source UID)."""
        found: dict[int, MessageRow] = {}
        for chunk in _chunks(sorted(set(source_uids))):
            rows = self._db.query_all(
                "SELECT * FROM message_states WHERE folder_id = ? "
                f"AND source_uid IN ({_marks(chunk)})", (folder_id, *chunk))
            found.update((int(r["source_uid"]), _message(r)) for r in rows)
        return found

    def find_by_target_refs(self, folder_id: int,
                            target_refs: Iterable[str]) -> dict[str, MessageRow]:
        """The live (not deleted) rows holding ``target_refs`` in ``folder_id``; where two
        rows hold one reference, the one with the highest source UID."""
        found: dict[str, MessageRow] = {}
        for chunk in _chunks(sorted(set(target_refs))):
            rows = self._db.query_all(
                "SELECT * FROM message_states WHERE folder_id = ? AND state <> 'deleted' "
                f"AND target_ref IN ({_marks(chunk)}) ORDER BY source_uid", (folder_id, *chunk))
            found.update((r["target_ref"], _message(r)) for r in rows)
        return found

    def claimed_target_refs(self, folder_id: int, target_refs: Iterable[str]) -> set[str]:
        """Which of ``target_refs`` a copied row of ``folder_id`` holds."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(target_refs))):
            rows = self._db.query_all(
                "SELECT DISTINCT target_ref FROM message_states WHERE folder_id = ? "
                f"AND state = 'copied' AND target_ref IN ({_marks(chunk)})",
                (folder_id, *chunk))
            found.update(r["target_ref"] for r in rows)
        return found

    def copied_elsewhere(self, user_id: int, folder_id: int,
                         fingerprints: Iterable[str]) -> set[str]:
        """Which of ``fingerprints`` a copied row (with a target reference) of another folder
        of ``user_id`` holds: the only copies a move between folders can pair with."""
        wanted = sorted(set(fingerprints))
        found: set[str] = set()
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            rows = self._db.query_all(
                "SELECT DISTINCT m.fingerprint AS fingerprint FROM message_states m "
                "JOIN folder_states f ON f.id = m.folder_id "
                "WHERE f.user_id = ? AND m.folder_id <> ? AND m.state = 'copied' "
                "AND m.target_ref IS NOT NULL "
                f"AND m.fingerprint IN ({', '.join('?' for _ in chunk)})",
                (user_id, folder_id, *chunk),
            )
            found.update(r["fingerprint"] for r in rows)
        return found

    def copies_elsewhere(self, user_id: int, folder_id: int, fingerprints: Iterable[str]
                         ) -> dict[str, tuple[str | None, str, str]]:
        """For each of ``fingerprints`` that a copied row (with a target reference) of another
        folder of ``user_id`` holds, one such copy: (that folder's target name, the target
        reference, the recorded flags). What a copy made on the target itself starts from
        (engine/sync/target_copy.py)."""
        wanted = sorted(set(fingerprints))
        found: dict[str, tuple[str | None, str, str]] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            rows = self._db.query_all(
                "SELECT m.fingerprint AS fingerprint, f.target_name AS target_name, "
                "m.target_ref AS target_ref, m.flags AS flags FROM message_states m "
                "JOIN folder_states f ON f.id = m.folder_id "
                "WHERE f.user_id = ? AND m.folder_id <> ? AND m.state = 'copied' "
                "AND m.target_ref IS NOT NULL "
                f"AND m.fingerprint IN ({', '.join('?' for _ in chunk)}) "
                "ORDER BY m.id",
                (user_id, folder_id, *chunk),
            )
            for r in rows:
                found.setdefault(r["fingerprint"], (r["target_name"], r["target_ref"],
                                                    r["flags"]))
        return found

    def tally(self, folder_id: int) -> FolderTally:
        """The folder's rows counted (:class:`FolderTally`), in one query."""
        found = self._db.query_one(
            "SELECT COUNT(*) AS live, COUNT(source_uid) AS attached, "
            "SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending, "
            "SUM(CASE WHEN source_uid IS NULL THEN 1 ELSE 0 END) AS detached, "
            "SUM(CASE WHEN state = 'copied' THEN 1 ELSE 0 END) AS copies, "
            "SUM(CASE WHEN state = 'copied' AND target_ref IS NOT NULL THEN 1 ELSE 0 END) "
            "AS copies_with_ref, "
            "SUM(size) AS size, MAX(source_uid) AS max_uid "
            "FROM message_states WHERE folder_id = ? AND state <> 'deleted'", (folder_id,))
        if found is None:
            return FolderTally()
        return FolderTally(*(int(found[k] or 0) for k in (
            "live", "attached", "pending", "detached", "copies", "copies_with_ref", "size",
            "max_uid")))

    def source_uids(self, folder_id: int, below: int) -> builtins.list[int]:
        """The source UIDs below ``below`` that live rows of ``folder_id`` hold, ascending
        (integers only: what finding vanished UIDs needs)."""
        rows = self._db.query_all(
            "SELECT source_uid FROM message_states WHERE folder_id = ? AND state <> 'deleted' "
            "AND source_uid IS NOT NULL AND source_uid < ? ORDER BY source_uid",
            (folder_id, below))
        return [int(r["source_uid"]) for r in rows]

    def uids_in_state(self, folder_id: int, state: str) -> builtins.list[int]:
        """The source UIDs of ``folder_id``'s rows in ``state``, ascending (integers only: a
        proof asks for the skipped and the copied ones of a folder of any size)."""
        rows = self._db.query_all(
            "SELECT source_uid FROM message_states WHERE folder_id = ? AND state = ? "
            "AND source_uid IS NOT NULL ORDER BY source_uid", (folder_id, state))
        return [int(r["source_uid"]) for r in rows]

    def count_by_state(self, user_id: int) -> dict[str, int]:
        """Message counts per state over all of a user's folders."""
        rows = self._db.query_all(
            "SELECT m.state AS state, COUNT(*) AS n FROM message_states m "
            "JOIN folder_states f ON f.id = m.folder_id WHERE f.user_id = ? GROUP BY m.state",
            (user_id,),
        )
        return {r["state"]: int(r["n"]) for r in rows}

    def _set_state(self, folder_id: int, source_uids: Iterable[int], state: str) -> None:
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            self._db.execute_many(
                "UPDATE message_states SET state = ?, updated_at = ? "
                "WHERE folder_id = ? AND source_uid = ?",
                [(state, now, folder_id, uid) for uid in source_uids],
            )

    def _upsert_state(self, folder_id: int, messages: Sequence[PendingMessage], state: str) -> None:
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            self._db.execute_many(
                "INSERT INTO message_states (folder_id, source_uid, fingerprint, size, "
                "internaldate, flags, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (folder_id, source_uid) DO UPDATE SET state = excluded.state, "
                "updated_at = excluded.updated_at",
                [
                    (
                        folder_id,
                        m.source_uid,
                        m.fingerprint,
                        m.size,
                        codec.time_to_db(m.internaldate),
                        m.flags,
                        state,
                        now,
                    )
                    for m in messages
                ],
            )


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """``values`` in slices of at most ``_IN_CHUNK``, one IN (...) query each."""
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start:start + _IN_CHUNK]


def _marks(chunk: Sequence[Any]) -> str:
    return ", ".join("?" for _ in chunk)


def _folder_values(folder: FolderRow) -> tuple[Any, ...]:
    return (
        folder.source_separator,
        folder.target_name,
        folder.source_uidvalidity,
        folder.source_uidnext,
        folder.source_highestmodseq,
        folder.target_uidvalidity,
        codec.bool_to_db(folder.excluded),
        codec.bool_to_db(folder.created_by_migration),
        codec.time_to_db(folder.last_synced_at),
        str(folder.hold) if folder.hold else None,
    )


def _folder(r: Row) -> FolderRow:
    return FolderRow(
        id=int(r["id"]),
        user_id=int(r["user_id"]),
        source_name=r["source_name"],
        source_separator=r["source_separator"],
        target_name=r["target_name"],
        source_uidvalidity=r["source_uidvalidity"],
        source_uidnext=r["source_uidnext"],
        source_highestmodseq=r["source_highestmodseq"],
        target_uidvalidity=r["target_uidvalidity"],
        excluded=bool(r["excluded"]),
        created_by_migration=bool(r["created_by_migration"]),
        last_synced_at=codec.time_from_db(r["last_synced_at"]),
        hold=_hold(r["hold"]),
    )


def _message(r: Row) -> MessageRow:
    return MessageRow(
        id=int(r["id"]),
        folder_id=int(r["folder_id"]),
        source_uid=None if r["source_uid"] is None else int(r["source_uid"]),
        fingerprint=r["fingerprint"],
        size=int(r["size"]),
        internaldate=codec.time_from_db(r["internaldate"]),
        target_ref=r["target_ref"],
        target_uidvalidity=r["target_uidvalidity"],
        flags=r["flags"],
        state=MessageState(r["state"]),
        updated_at=codec.required_time(r["updated_at"]),
        target_mark=r["target_mark"],
        hold=_hold(r["hold"]),
    )


def _hold(value: str | None) -> Hold | None:
    return Hold(value) if value else None
