"""The SQLite connection: the only place that knows it is SQLite.

Opening a :class:`Database`:

- the file is created with mode 0600 before SQLite opens it; SQLite gives the ``-wal`` and
  ``-shm`` files the database file's permissions, and the state directory is 0700 besides;
- ``journal_mode=WAL`` (readers never block the writer), ``synchronous=NORMAL`` (in WAL mode a
  commit survives a killed process; only an OS crash or power loss can drop the last few
  commits), ``foreign_keys=ON``, ``busy_timeout`` so a writer waits for another instead of
  failing at once.

Transactions: the connection runs in autocommit mode and :meth:`Database.transaction` issues
``BEGIN IMMEDIATE`` — it takes the write lock up front, so two writers never deadlock upgrading
read locks. Nested ``transaction()`` blocks join the outermost one; it commits when the outermost
block exits normally and rolls back when it exits by an exception. A :attr:`Database.write_guard`
(the lease fence of a pass, engine/store/leases.py) runs first in every outermost write
transaction, under the write lock; what it raises rolls the transaction back.

Thread-safety policy: one ``Database`` (so one ``Store``) per thread. The sqlite3 connection is
opened with ``check_same_thread=True``, so sharing one across threads fails loudly. Worker threads
and processes open their own ``Store`` on the same file; SQLite's locking does the rest.

SQLite-isms (PRAGMAs, ``BEGIN IMMEDIATE``, ``?`` placeholders, error classification) stay in
this module; the repositories use standard SQL that PostgreSQL also accepts.

Damaged files. SQLite takes a 0-byte file for a valid, empty database, so "no schema yet" and
"emptied by accident" look the same to it. :meth:`Database.open` therefore looks at the file
before it writes anything (even the WAL switch writes the header) by reading the schema: with
``allow_blank=False`` a database without a single table at schema version 0 raises
:class:`BlankDatabase`. That first read also makes SQLite check the header, so a file shorter
than its header announces (a copy cut short, a full disk) or not an SQLite file at all fails
there, and it and every later "database disk image is malformed" (SQLITE_CORRUPT) or "file is
not a database" (SQLITE_NOTADB) raise :class:`DamagedDatabase`. Both name the file and what to
do. The store decides when a blank database is acceptable (engine/store/store.py).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from engine.errors import ErrorCategory, StateStoreError, TransientError

FILE_MODE = 0o600
BUSY_TIMEOUT_MS = 10_000

Params = Sequence[Any]


class Row(Protocol):
    """A result row: by position or by column name (``sqlite3.Row``, ``engine.store.pg.PgRow``)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What :meth:`Database.execute` returns: the rows and the number of rows changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Any: ...


class DamagedDatabase(StateStoreError):
    """The database file is truncated, corrupt or not an SQLite database at all."""

    default_error_id = "StateDatabaseDamaged"


class BlankDatabase(StateStoreError):
    """The database file holds no schema (0 bytes, or no tables) where one was expected."""

    default_category = ErrorCategory.InvalidData
    default_error_id = "StateDatabaseEmpty"


class Database:
    """One connection to the state database, with explicit transactions."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path: Path | str = path  # what messages name (engine/store/pg.py: a masked URL)
        self._conn = connection
        self._depth = 0
        self.write_guard: Callable[[], None] | None = None

    @classmethod
    def open(cls, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS, *,
             allow_blank: bool = True,
             blank_message: str = "") -> Database:
        """Open (creating with mode 0600 if needed) and configure the database at ``path``.

        With ``allow_blank=False`` a database that holds no schema raises
        :class:`BlankDatabase` (with ``blank_message``) before anything is written to it.
        """
        _create_private_file(path)
        try:
            conn = sqlite3.connect(
                path,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,  # autocommit; transaction() issues BEGIN itself
                check_same_thread=True,
            )
        except sqlite3.Error as exc:
            raise _store_error(exc, path) from exc
        conn.row_factory = sqlite3.Row
        database = cls(path, conn)
        try:
            # Reading the schema first makes SQLite check the header (and refuse a file shorter
            # than the header says, or not a database) before anything is written.
            if database._is_blank() and not allow_blank:
                raise BlankDatabase(blank_message or f"the state database {path} is empty")
            database._configure(busy_timeout_ms)
        except BaseException:
            conn.close()
            raise
        return database

    def _is_blank(self) -> bool:
        """No table and schema version 0: what SQLite makes of a 0-byte (or new) file."""
        row = self.query_one("SELECT COUNT(*) FROM sqlite_master")
        return self.user_version() == 0 and row is not None and int(row[0]) == 0

    def _configure(self, busy_timeout_ms: int) -> None:
        mode = self._pragma("journal_mode=WAL")
        if str(mode).lower() != "wal":
            raise StateStoreError(
                f"cannot switch {self.path} to WAL mode (got {mode})",
                error_id="StateDatabaseNoWal",
            )
        self._pragma("synchronous=NORMAL")
        self._pragma("foreign_keys=ON")
        self._pragma(f"busy_timeout={int(busy_timeout_ms)}")

    def _pragma(self, statement: str) -> Any:
        row = self.query_one(f"PRAGMA {statement}")
        return row[0] if row is not None else None

    share_lock = ""
    """What a ``SELECT`` appends to lock the rows it reads against writers until the
    transaction ends: nothing in SQLite (``BEGIN IMMEDIATE`` already excludes every other
    writer), `` FOR SHARE`` in PostgreSQL (engine/store/pg.py)."""

    skip_locked = ""
    """What a claiming ``SELECT`` appends to take its rows and pass over rows another
    transaction holds: nothing in SQLite (one writer at a time), `` FOR UPDATE SKIP LOCKED``
    in PostgreSQL."""

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def rolled_back(self) -> Iterator[Database]:
        """A transaction that is always rolled back (``-WhatIf``: run an operation's every
        check and write, keep nothing). Deferred (plain ``BEGIN``): the write lock is taken
        at the first write, not while the operation checks things over the network; nested
        ``transaction()`` blocks join it."""
        if self._depth:
            raise StateStoreError("a rolled-back transaction cannot be nested",
                                  error_id="NestedDryRun")
        self.execute("BEGIN")
        self._depth = 1
        try:
            yield self
        finally:
            self._depth = 0
            self._rollback()

    def _rollback(self) -> None:
        """End the open transaction keeping nothing (each backend its own way)."""
        self._conn.rollback()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction (``BEGIN IMMEDIATE``); nested blocks join the outermost one."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._begin_write()
        self._depth = 1
        try:
            if self.write_guard is not None:
                self.write_guard()
            yield self
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        try:
            self.execute("COMMIT")
        except BaseException:
            # a failed COMMIT (busy) leaves the transaction open; close it so the next
            # BEGIN works, and let the caller see the error: nothing of it was written
            self._rollback()
            raise

    def _begin_write(self) -> None:
        """Open a write transaction holding the writers' lock (SQLite: ``BEGIN IMMEDIATE``)."""
        self.execute("BEGIN IMMEDIATE")

    def execute_ddl(self, statement: str) -> None:
        """Run one schema statement of engine/store/schema.py (written in SQLite's types)."""
        self.execute(statement)

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from exc

    def execute_many(self, sql: str, rows: Sequence[Params]) -> int:
        """Run ``sql`` once per parameter row; returns the number of rows changed."""
        try:
            return int(self._conn.executemany(sql, rows).rowcount)
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from exc

    def query_one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self.execute(sql, params).fetchone()
        return row

    def query_all(self, sql: str, params: Params = ()) -> list[Row]:
        return list(self.execute(sql, params).fetchall())

    def user_version(self) -> int:
        return int(self._pragma("user_version"))

    def set_user_version(self, version: int) -> None:
        self.execute(f"PRAGMA user_version = {int(version)}")

    def journal_mode(self) -> str:
        return str(self._pragma("journal_mode"))

    def foreign_keys_enabled(self) -> bool:
        return bool(self._pragma("foreign_keys"))

    def close(self) -> None:
        self._conn.close()


class IntegrityError(StateStoreError):
    """A constraint (unique, foreign key, check) refused a write.

    Repositories turn the expected cases into domain errors (AlreadyExists, InvalidState);
    one that gets further is a bug in the caller, reported without SQLite types.
    """

    default_category = ErrorCategory.InvalidOperation
    default_error_id = "StateConstraintViolated"


def _create_private_file(path: Path) -> None:
    """Create the database file with mode 0600, or leave an existing one untouched.

    An existing file must never be opened and closed here: closing any descriptor of a
    file drops every POSIX lock this process holds on it, so a process with a live SQLite
    connection would lose its locks and another process could checkpoint and delete the
    WAL underneath it.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    except OSError as exc:
        raise StateStoreError(
            f"cannot create the state database {path}: {exc.strerror or exc}",
            category=ErrorCategory.WriteError,
            error_id="StateDatabaseUnwritable",
        ) from exc
    os.close(fd)  # a brand-new file: no connection of ours can hold locks on it yet


_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def _damaged(path: Path | str, why: str) -> DamagedDatabase:
    return DamagedDatabase(
        f"The state database {path} is damaged ({why}). imsh does not start over on a "
        "damaged state: restore state.db from your backup (together with the key file that "
        "sealed it), or move the state directory aside to begin with an empty one.")


def _store_error(exc: sqlite3.Error, path: Path | str) -> StateStoreError | TransientError:
    text = str(exc)
    code = int(getattr(exc, "sqlite_errorcode", -1)) & 0xFF
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text \
            or "not a database" in text:
        return _damaged(path, text)
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(f"state database {path}: {text}")
    if "locked" in text or "busy" in text:
        return TransientError(
            f"the state database {path} is busy: {text}",
            category=ErrorCategory.ResourceUnavailable,
            error_id="StateDatabaseBusy",
        )
    return StateStoreError(
        f"state database {path}: {text}",
        error_id="StateDatabaseError",
    )
