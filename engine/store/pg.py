"""The PostgreSQL connection: the only place that knows the state database is PostgreSQL.

``imsh --database postgresql://...`` (or ``IMSH_DATABASE``) keeps the state in PostgreSQL
instead of ``state.db``; the repositories run unchanged on :class:`PgDatabase`, a
:class:`~engine.store.db.Database` whose SQLite-isms are translated here and nowhere else:

- **Placeholders.** The repositories write ``?``; psycopg wants ``%s``. :func:`to_pg` rewrites
  them outside quoted literals (and doubles a literal ``%``).
- **Upsert and returning ids.** ``INSERT ... ON CONFLICT (...) DO UPDATE SET x = excluded.x``
  and ``INSERT ... RETURNING id`` are the same in both dialects (DESIGN.md §4): nothing to do.
- **Types in the DDL.** :func:`ddl_to_pg` maps ``id INTEGER PRIMARY KEY`` (SQLite's rowid) to
  an identity column and ``INTEGER`` to ``BIGINT`` (UIDs are unsigned 32-bit and MODSEQs 63-bit:
  PostgreSQL's ``INTEGER`` holds neither), ``REAL`` to ``DOUBLE PRECISION`` (PostgreSQL's
  ``REAL`` is 4 bytes) and ``BLOB`` to ``BYTEA``. Flags stay integers 0/1, so Python ``bool``
  parameters are sent as integers.
- **Numbers back.** ``SUM`` over ``BIGINT`` is ``NUMERIC`` in PostgreSQL; whole values come back
  as ``int`` (as from SQLite), never ``Decimal``.
- **Schema version.** There is no ``PRAGMA user_version``: the version is the one row of table
  ``imsh_schema_version``, behind the same :meth:`user_version` / :meth:`set_user_version`.
- **Locking.** SQLite's ``BEGIN IMMEDIATE`` makes writers take turns, and the store relies on
  it (a lease checked inside a write transaction cannot be taken meanwhile, the migration
  re-reads the version under the write lock). :meth:`PgDatabase.transaction` keeps exactly that
  rule: ``BEGIN`` then ``pg_advisory_xact_lock`` on one key, so write transactions of every
  process on every host take turns; readers (autocommit, READ COMMITTED) never wait. As with
  SQLite's ``busy_timeout``, a writer gives up after ``lock_timeout`` (30 s) with a
  :class:`~engine.errors.TransientError` rather than wait forever. Claims read the user's
  row ``FOR UPDATE SKIP LOCKED`` and fence checks read the lease row ``FOR SHARE``
  (:attr:`PgDatabase.skip_locked`, :attr:`PgDatabase.share_lock`); while every writer takes
  the one advisory lock these row locks only matter against transactions outside it (a
  ``-WhatIf`` dry run). Dropping the global lock for fenced sync-state writes is not done
  (docs/scale-out.md).
- **Errors.** Constraint violations become :class:`~engine.store.db.IntegrityError`, a lost or
  refused connection a :class:`~engine.errors.TransientError` (the runner retries next tick),
  anything else a :class:`~engine.errors.StateStoreError` — never a psycopg type.

Connections come from a :class:`psycopg_pool.ConnectionPool`, one per URL and process: a
``PgDatabase`` borrows one connection for its life (one ``Database`` per thread, as with
SQLite) and gives it back on :meth:`close`, so the shell, the runner's worker threads and their
many short ``Store.open`` calls do not each pay a new PostgreSQL backend. The password in a URL
is never shown: :attr:`PgDatabase.path` (what error messages name) is the URL without it.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import threading
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Dumper, Loader
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import Format
from psycopg.types.numeric import NumericLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from engine.errors import ErrorCategory, StateStoreError, TransientError
from engine.store.db import Cursor, Database, IntegrityError, Params, Row

URL_SCHEMES = ("postgresql://", "postgres://")
POOL_MAX_SIZE = 40  # the runner's worker threads (engine/runner/runner.py) each open a Store
# A writer waits this long for the writer lock. Longer than SQLite's BUSY_TIMEOUT_MS (10 s, one
# host's processes): here the workers of every host poll for one lock, and a try is not a
# queue, so after a cut-off host's transaction is ended (IDLE_IN_TRANSACTION_TIMEOUT_MS) a
# waiter must still win against all of them. With 10 s it had 5 s for that, and on a loaded
# machine a writer once did not (fresh-clone CI, tests/integration/test_multihost_runners.py:
# "another writer held the state for over 10 s"; not reproduced since).
LOCK_TIMEOUT_MS = 30_000
POOL_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10
# A host cut off (or frozen) inside a write transaction holds the writer lock, and so every
# host's writes, until its backend ends: PostgreSQL ends an idle-in-transaction session after
# this long — a sixth of the others' lock_timeout, so they still get the lock. No transaction
# of the store waits for anything but the database between its statements.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 5_000
# Every wait on the network has a deadline, on both ends (a silent partition drops packets
# and resets nothing): unacknowledged data fails a connection after TCP_USER_TIMEOUT_MS, and
# an idle one is probed by keepalives. Settings given in the URL win over these.
TCP_USER_TIMEOUT_MS = 20_000
_CLIENT_TIMEOUTS = {"connect_timeout": CONNECT_TIMEOUT_S, "keepalives": 1,
                    "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
                    "tcp_user_timeout": TCP_USER_TIMEOUT_MS}
_SERVER_TIMEOUTS = {"idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT_MS,
                    "tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5,
                    "tcp_keepalives_count": 3, "tcp_user_timeout": TCP_USER_TIMEOUT_MS}
# the advisory lock every write transaction takes (any constant; "imsh" in ASCII)
WRITER_LOCK_KEY = 0x696D7368
_VERSION_TABLE = "imsh_schema_version"


def is_postgres_url(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith(URL_SCHEMES)


def masked_url(url: str) -> str:
    """``url`` without its password, for messages and logs.

    A URL ``urlsplit`` cannot take apart (``postgresql://u:p@[::1/db``: an unclosed IPv6
    bracket) is masked from its raw text instead, never an exception of its own."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _masked_raw(url)
    # libpq also takes the password as a query parameter: ...?password=...
    query = _QUERY_PASSWORD.sub(r"\1***", parts.query)
    netloc = parts.netloc
    if parts.password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = (f"{parts.username}:***@" if parts.username else ":***@") + host
    # not urlunsplit: it drops the empty host of postgresql:///db?host=/run/postgresql
    return (f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


_QUERY_PASSWORD = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)
_ANY_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)


def _user_info_password(url: str) -> str | None:
    """The password of ``url``'s user-info as written (not decoded), read from the raw text
    so that a URL ``urlsplit`` refuses still gives it up."""
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" not in authority:
        return None
    user_info = authority.rsplit("@", 1)[0]
    return user_info.split(":", 1)[1] if ":" in user_info else None


def _masked_raw(url: str) -> str:
    password = _user_info_password(url)
    masked = _ANY_QUERY_PASSWORD.sub(r"\1***", url)
    if password:
        scheme, _, rest = masked.partition("://")
        user_info, at, host = rest.partition("@")
        masked = f"{scheme}://{user_info.split(':', 1)[0]}:***{at}{host}"
    return masked


def scrub_secrets(text: str, url: str) -> str:
    """``text`` (a driver's message about ``url``) with ``url`` masked and every password of
    it — the user-info one and any ``password=`` query value, as written and as decoded —
    replaced by ``***``: libpq repeats a bad percent-encoding (``Pw%zz``) verbatim."""
    text = text.replace(url, masked_url(url))
    secrets = {match.group(2) for match in _ANY_QUERY_PASSWORD.finditer(url)}
    password = _user_info_password(url)
    if password is not None:
        secrets.add(password)
    for secret in list(secrets):
        secrets.add(unquote(secret))
    for secret in sorted((secret for secret in secrets if secret), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# ---- the dialect -------------------------------------------------------------------------

_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|%")


@lru_cache(maxsize=1024)
def to_pg(sql: str) -> str:
    """``?`` placeholders to ``%s`` and ``%`` to ``%%``, leaving quoted literals alone."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")  # a literal: psycopg still reads its % signs

    return _TOKEN.sub(swap, sql)


_DDL_TYPES = (
    (re.compile(r"\bid INTEGER PRIMARY KEY\b"), "id BIGINT GENERATED BY DEFAULT AS IDENTITY "
                                                "PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
)


def ddl_to_pg(statement: str) -> str:
    """A schema statement written for SQLite (engine/store/schema.py) in PostgreSQL's types."""
    for pattern, replacement in _DDL_TYPES:
        statement = pattern.sub(replacement, statement)
    return statement


class PgRow:
    """A result row readable by position and by column name, like ``sqlite3.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: Sequence[Any]) -> None:
        self._names = names
        self._values = tuple(values)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._names.index(key.lower())]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._names, self._values, strict=True))!r})"


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    names = tuple(d.name.lower() for d in cursor.description or ())

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(names, values)

    return make


class _BoolAsInteger(Dumper):
    """Flags are INTEGER 0/1 columns (as in SQLite): send ``True`` as 1, not as boolean."""

    format = Format.TEXT
    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _WholeNumeric(Loader):
    """``NUMERIC`` (what ``SUM(bigint)`` gives) as ``int`` when whole, else ``float``."""

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._numeric = NumericLoader(oid, context)

    def load(self, data: Any) -> Any:
        value = self._numeric.load(data)
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        return value


def _configure(conn: psycopg.Connection[Any]) -> None:
    # like SQLite's busy_timeout: a writer waits this long for the writer lock, then fails
    # transiently (the runner retries) instead of waiting forever
    conn.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")
    for name, value in _SERVER_TIMEOUTS.items():  # the server's side of a lost connection
        conn.execute(f"SET {name} = {int(value)}")
    conn.adapters.register_dumper(bool, _BoolAsInteger)
    conn.adapters.register_loader("numeric", _WholeNumeric)
    conn.row_factory = _row_factory


# ---- the pool ----------------------------------------------------------------------------

_pools: dict[str, ConnectionPool[Any]] = {}
_pools_lock = threading.Lock()


def _pool(url: str) -> ConnectionPool[Any]:
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            _probe(url)
            pool = ConnectionPool(
                url, min_size=1, max_size=POOL_MAX_SIZE, timeout=POOL_TIMEOUT_S,
                kwargs={"autocommit": True, **client_timeouts(url)}, configure=_configure,
                open=False,
                # a connection is tried before it is handed out: after a restart or failover
                # of PostgreSQL the pool's idle connections are dead, and the next
                # Store.open must get a new one, not fail
                check=ConnectionPool.check_connection,
                name=f"imsh {masked_url(url)}",
            )
            try:
                pool.open(wait=True, timeout=POOL_TIMEOUT_S)
            except PoolTimeout as exc:
                pool.close()
                raise _unreachable(url, exc) from exc
            _pools[url] = pool
        return pool


def client_timeouts(url: str) -> dict[str, Any]:
    """libpq's connection deadlines (``_CLIENT_TIMEOUTS``) that ``url`` does not set itself."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error:
        given = {}
    return {name: value for name, value in _CLIENT_TIMEOUTS.items() if name not in given}


def _probe(url: str) -> None:
    """One direct connection before the pool is made: libpq's own reason (refused, no such
    database, password authentication failed) at once, instead of a pool timeout later."""
    try:
        psycopg.connect(url, **client_timeouts(url)).close()
    except psycopg.Error as exc:
        raise _unreachable(url, exc) from exc


def close_pools() -> None:
    """Close every pool of this process (at exit; tests that drop their cluster)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_pools)


# ---- the database ------------------------------------------------------------------------


class PgDatabase(Database):
    """One pooled connection to a PostgreSQL state database, with the store's transactions."""

    def __init__(self, url: str, pool: ConnectionPool[Any],
                 connection: psycopg.Connection[Any]) -> None:
        # Database.__init__ is SQLite's; only the attributes the base class methods use are set
        self.path = masked_url(url)
        self.url = url
        self._pool = pool
        self._pg = connection
        self._depth = 0
        self.write_guard = None
        # one Database per thread, as SQLite's check_same_thread enforces: a psycopg connection
        # would accept a second thread, and its statements would land in this thread's
        # transaction
        self._thread = threading.get_ident()

    share_lock = " FOR SHARE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    @classmethod
    def connect(cls, url: str) -> PgDatabase:
        pool = _pool(url)
        try:
            connection = pool.getconn()
        except PoolTimeout as exc:
            raise _unreachable(url, exc) from exc
        return cls(url, pool, connection)

    def execute_ddl(self, statement: str) -> None:
        self.execute(ddl_to_pg(statement))

    def _begin_write(self) -> None:
        """``BEGIN`` and the one advisory lock every writer takes, so write transactions of all
        processes take turns (see above); the base class's transaction() does the rest."""
        self.execute("BEGIN")
        try:
            self._take_writer_lock()
        except BaseException:
            self._rollback()
            raise

    def _take_writer_lock(self) -> None:
        """Try the writer lock, again and again, until ``LOCK_TIMEOUT_MS``; never queue for it.

        A request queued in PostgreSQL (``pg_advisory_xact_lock``) is granted even when its
        host has been cut off since it was sent: the grant never arrives, the session sits idle
        in its transaction holding the lock until IDLE_IN_TRANSACTION_TIMEOUT_MS, and then the
        cut-off host's next queued request gets it — every worker of a cut-off host blocked
        every host's writes for 5 s in turn (tests/integration/test_multihost_runners.py). A
        try is answered at once, so a host cut off holds the lock at most once, for at most
        that timeout. The waits between tries grow from 2 ms to 25 ms: a write transaction
        holds the lock for milliseconds."""
        deadline = time.monotonic() + LOCK_TIMEOUT_MS / 1000
        pause = 0.002
        while True:
            row = self.execute("SELECT pg_try_advisory_xact_lock(?) AS got",
                               (WRITER_LOCK_KEY,)).fetchone()
            if row is not None and row["got"]:
                return
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"the state database {self.path} is unavailable: another writer held the "
                    f"state for over {LOCK_TIMEOUT_MS / 1000:.0f} s",
                    category=ErrorCategory.ResourceUnavailable, error_id="StateDatabaseBusy")
            time.sleep(pause)
            pause = min(pause * 2, 0.025)

    def _rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):  # a lost connection lost its transaction too
            self._pg.execute("ROLLBACK")

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        if threading.get_ident() != self._thread:
            raise StateStoreError(
                f"the state database connection to {self.path} belongs to another thread; "
                "open a Store per thread", error_id="StateDatabaseWrongThread")
        try:
            return self._pg.execute(to_pg(sql), tuple(params))
        except psycopg.Error as exc:
            raise _store_error(exc, self.path, self.url) from exc

    def execute_many(self, sql: str, rows: Sequence[Params]) -> int:
        if threading.get_ident() != self._thread:
            self.execute("SELECT 1")  # raises the wrong-thread error
        try:
            with self._pg.cursor() as cursor:
                cursor.executemany(to_pg(sql), [tuple(r) for r in rows])
                return int(cursor.rowcount)
        except psycopg.Error as exc:
            raise _store_error(exc, self.path, self.url) from exc

    def query_one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self.execute(sql, params).fetchone()
        return row

    def user_version(self) -> int:
        # pg_tables, read with the statement's snapshot: to_regclass() may answer from a
        # stale catalog cache and miss the table another host just committed
        exists = self.query_one("SELECT 1 FROM pg_catalog.pg_tables "
                                "WHERE schemaname = current_schema() AND tablename = ?",
                                (_VERSION_TABLE,))
        if exists is None:
            return 0
        row = self.query_one(f"SELECT version FROM {_VERSION_TABLE}")
        return int(row[0]) if row is not None else 0

    def set_user_version(self, version: int) -> None:
        with self.transaction():
            self.execute(f"CREATE TABLE IF NOT EXISTS {_VERSION_TABLE} ("
                         "one INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1), "
                         "version INTEGER NOT NULL)")
            self.execute(f"INSERT INTO {_VERSION_TABLE} (one, version) VALUES (1, ?) "
                         "ON CONFLICT (one) DO UPDATE SET version = excluded.version",
                         (int(version),))

    def journal_mode(self) -> str:
        return "postgresql"

    def foreign_keys_enabled(self) -> bool:
        return True  # PostgreSQL always enforces them

    def close(self) -> None:
        if self._pg is None:
            return
        connection, self._pg = self._pg, None  # type: ignore[assignment]
        self._pool.putconn(connection)


def _unreachable(url: str, exc: Exception) -> TransientError:
    why = scrub_secrets(str(exc).strip(), url)
    return TransientError(
        f"cannot connect to the state database {masked_url(url)}: {why}. Check that "
        "PostgreSQL runs there and the URL (host, port, database, user) and password are right.",
        category=ErrorCategory.ResourceUnavailable,
        error_id="StateDatabaseUnreachable",
    )


def _store_error(exc: psycopg.Error, where: Path | str, url: str | None = None
                 ) -> StateStoreError | TransientError:
    text = str(exc).strip() if url is None else scrub_secrets(str(exc).strip(), url)
    if isinstance(exc, pg_errors.IntegrityError):
        return IntegrityError(f"state database {where}: {text}")
    if isinstance(exc, psycopg.OperationalError | pg_errors.SerializationFailure
                  | pg_errors.DeadlockDetected | pg_errors.LockNotAvailable):
        return TransientError(
            f"the state database {where} is unavailable: {text}",
            category=ErrorCategory.ResourceUnavailable,
            error_id="StateDatabaseBusy",
        )
    return StateStoreError(f"state database {where}: {text}", error_id="StateDatabaseError")
