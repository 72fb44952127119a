"""The :class:`Store`: one open state database with its repositories.

``Store.open(paths)`` creates the state directory (0700) and database (0600) if needed (or, with
``paths.database`` a ``postgresql://`` URL, connects to that database: engine/store/pg.py), applies
the schema migrations, loads (or on a fresh store creates) the sealing key and checks it against
the key check value sealed in the database, then calls :meth:`Store.ensure_defaults`.

A new database is never "blank" where others can see it: it is built under a temporary name
with the whole schema and hard-linked into place (``_create_database``), so a ``state.db``
without a schema is always damage, never imsh's own work in progress. Such a file is refused
(``StateDatabaseEmpty``) when the key file exists, i.e. when the directory has held a store
whose passwords were sealed; without a key nothing was ever stored (an older imsh killed during
its very first start), and the file is initialised. A truncated or foreign file is refused
(``StateDatabaseDamaged``) in every case. Neither is written to; the error names the file and
what to do (restore from backup, or move it aside). docs/state.md has the rule.

What is committed when
----------------------
- Every repository write method runs in a transaction of its own and is committed when it
  returns — unless the caller already opened ``store.transaction()``, in which case it joins
  that transaction and everything commits (or rolls back) together when the outer block ends.
- Messages: the executor commits ``messages.record_pending`` for a whole append batch BEFORE it
  appends anything to the target; after the append it commits ``messages.record_copied`` (target
  references) together with ``statistics.add_counts`` in one transaction per append batch. A
  crash between the two leaves ``pending`` rows, which the next run looks up on the target
  before appending again: nothing is lost and nothing duplicated.
- Flag changes and deletions on the target are recorded after the target confirmed them; if the
  process dies first, the next incremental sync sees the difference again and repeats an
  idempotent operation.
- Folder state (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) is saved only after every message of the
  folder pass is recorded, so a crash never makes a later pass skip unseen messages.
- Status changes of batches and users are single committed updates.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from engine.errors import StateStoreError
from engine.paths import StatePaths, ensure_state_dir
from engine.secrets import Sealer, Secret
from engine.store.batches import BatchRepository
from engine.store.config import ConfigRepository, MetaRepository
from engine.store.db import Database
from engine.store.endpoints import EndpointRepository, EndpointSpec
from engine.store.leases import LeaseFence, LeaseRepository
from engine.store.passes import PassRepository
from engine.store.proofs import ProofRepository
from engine.store.schema import migrate
from engine.store.stats import StatisticsRepository
from engine.store.sync_state import FolderStateRepository, MessageStateRepository
from engine.store.user_settings import UserSettingsRepository
from engine.store.users import MigrationUserRepository

DEFAULT_TARGET_NAME = "LocalMaildir"
_KEY_CHECK = "sealer.key_check"
_KEY_CHECK_PURPOSE = "store_meta.key_check"
_KEY_CHECK_VALUE = "imsh key check"
_DEFAULTS_CREATED = "defaults.created"


class Store:
    """An open state database; use one per thread (see ``engine.store.db``)."""

    def __init__(self, paths: StatePaths, db: Database, sealer: Sealer) -> None:
        self.paths = paths
        self.db = db
        self.meta = MetaRepository(db)
        self.config = ConfigRepository(db, sealer)
        self.endpoints = EndpointRepository(db, sealer)
        self.batches = BatchRepository(db)
        self.users = MigrationUserRepository(db, sealer)
        self.folders = FolderStateRepository(db)
        self.messages = MessageStateRepository(db)
        self.statistics = StatisticsRepository(db)
        self.leases = LeaseRepository(db, paths.host)
        self.user_settings = UserSettingsRepository(db)
        self.proofs = ProofRepository(db)
        self.passes = PassRepository(db)

    @classmethod
    def open(cls, paths: StatePaths) -> Store:
        ensure_state_dir(paths)
        if paths.database is not None:
            return cls._open_postgres(paths, paths.database)
        if not paths.db.exists():
            _create_database(paths.db)
        db = Database.open(paths.db, allow_blank=not paths.key_file.exists(),
                           blank_message=_blank_message(paths))
        try:
            migrate(db)
            store = cls(paths, db, _open_sealer(db, paths))
            store.ensure_defaults()
        except BaseException:
            db.close()
            raise
        return store

    @classmethod
    def _open_postgres(cls, paths: StatePaths, url: str) -> Store:
        """The state in PostgreSQL (engine/store/pg.py). There is no file that could be blank
        or cut short: a database without imsh's tables is simply migrated, under the writer
        lock, so two hosts starting at once build the schema once."""
        from engine.store.pg import PgDatabase, is_postgres_url, masked_url

        if not is_postgres_url(url):
            raise StateStoreError(
                f"the state database URL '{masked_url(url)}' is not a PostgreSQL URL: "
                "give --database (or IMSH_DATABASE) as postgresql://user@host/dbname",
                error_id="StateDatabaseUrlInvalid",
            )
        db = PgDatabase.connect(url)
        try:
            migrate(db)
            store = cls(paths, db, _open_sealer(db, paths))
            store.ensure_defaults()
        except BaseException:
            db.close()
            raise
        return store

    def ensure_defaults(self) -> None:
        """Create the default target endpoint ``LocalMaildir`` once, on a fresh store.

        This is done here rather than in a schema migration because its path depends on where
        the state directory is. It runs once per store: removing ``LocalMaildir`` later is
        respected and it is not recreated.
        """
        with self.transaction():
            if self.meta.get(_DEFAULTS_CREATED) is not None:
                return
            if self.endpoints.find(DEFAULT_TARGET_NAME) is None:
                self.endpoints.add(
                    EndpointSpec(
                        name=DEFAULT_TARGET_NAME,
                        kind="Maildir",
                        path=str(self.paths.maildir_default),
                    )
                )
            if self.endpoints.default_target() is None:
                self.endpoints.set_default_target(DEFAULT_TARGET_NAME)
            self.meta.set(_DEFAULTS_CREATED, "1")

    def fenced(self, fence: LeaseFence | None) -> Store:
        """Fence every later write transaction of this store by ``fence`` (a pass's user
        lease, engine/store/leases.py): each first checks, under the write lock, that the
        fence's tenure still holds the lease and raises :class:`LeaseLost` (writing nothing)
        when it does not. ``None`` leaves the store unfenced. Returns the store."""
        if fence is not None:
            self.db.write_guard = lambda: self.leases.check_fence(fence)
        return self

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group several repository calls into one atomic write transaction."""
        with self.db.transaction():
            yield self

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def state_exists(paths: StatePaths) -> bool:
    """Whether ``paths`` hold migration state, found without creating or changing anything:
    ``state.db`` exists, or the PostgreSQL database has imsh's schema (an unreachable one
    raises the store's error)."""
    if paths.database is None:
        return paths.db.is_file()
    from engine.store.pg import PgDatabase, is_postgres_url

    if not is_postgres_url(paths.database):
        return False
    db = PgDatabase.connect(paths.database)
    try:
        return db.user_version() > 0
    finally:
        db.close()


def _create_database(path: Path) -> None:
    """Create ``path`` with the whole schema, atomically: built as a temporary file, closed (so
    its WAL is checkpointed into it) and hard-linked into place. If another process linked
    its database first, that one is used and ours is discarded."""
    temp = path.with_name(f".{path.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        db = Database.open(temp)
        try:
            migrate(db)
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    except OSError as exc:
        raise StateStoreError(f"cannot create the state database {path}: "
                              f"{exc.strerror or exc}", error_id="StateDatabaseUnwritable"
                              ) from exc
    finally:
        for leftover in (temp, temp.with_name(temp.name + "-wal"),
                         temp.with_name(temp.name + "-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _blank_message(paths: StatePaths) -> str:
    return (f"The state database {paths.db} is empty, but the key file {paths.key_file} shows "
            "this state directory has held migration state: its batches, users and sealed "
            "passwords are gone from the database. imsh does not start over on it: restore "
            "state.db from your backup, or, to begin with an empty state on purpose, delete "
            f"{paths.db}.")


def _open_sealer(db: Database, paths: StatePaths) -> Sealer:
    """Load the key; create it only when the database has never sealed anything."""
    meta = MetaRepository(db)
    check = meta.get(_KEY_CHECK)
    if check is None:
        sealer = Sealer.load_or_create(paths.key_file)
        with db.transaction():
            if meta.get(_KEY_CHECK) is None:
                meta.set(_KEY_CHECK, sealer.seal(Secret(_KEY_CHECK_VALUE), _KEY_CHECK_PURPOSE))
                return sealer
            check = meta.get(_KEY_CHECK)  # another process initialised it meanwhile
    sealer = Sealer.load(paths.key_file)
    _verify_key(sealer, str(check), paths)
    return sealer


def _verify_key(sealer: Sealer, check: str, paths: StatePaths) -> None:
    try:
        ok = sealer.unseal(check, _KEY_CHECK_PURPOSE).reveal() == _KEY_CHECK_VALUE
    except StateStoreError:
        ok = False
    if not ok:
        raise StateStoreError(
            f"the key file {paths.key_file} is not the key that sealed the passwords in "
            f"{paths.db}; restore the original key file (or set IMSH_KEY_FILE to it)",
            error_id="SecretKeyMismatch",
        )
