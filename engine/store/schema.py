"""The state schema as an ordered list of migrations.

The schema version is ``PRAGMA user_version`` (kept behind ``Database.user_version``). On open,
every migration whose number is above the stored version runs, in order, each in its own
transaction together with the version bump, so a crash leaves the database at a whole version.
Running :func:`migrate` again is a no-op. A database newer than this program is refused.

To change the schema, append a ``Migration`` with the next number; never edit a released one.

The DDL keeps to portable types (INTEGER, REAL, TEXT), ``REFERENCES ... ON DELETE CASCADE``,
``UNIQUE`` and plain/partial indexes, so a PostgreSQL variant needs little more than
``BIGINT GENERATED ... AS IDENTITY`` for the ``id INTEGER PRIMARY KEY`` columns. Names that are
unique case-insensitively are stored twice: as typed, and casefolded in a ``*_key`` column that
carries the UNIQUE constraint (no collation tricks). See docs/state.md for the rationale.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import StateStoreError
from engine.store.db import Database


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_V1_META = (
    """CREATE TABLE store_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE config (
        key_key TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        value_json TEXT,
        sealed_value TEXT,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE leases (
        resource TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
)

_V1_ENDPOINTS = (
    """CREATE TABLE endpoints (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('IMAP', 'Maildir', 'EWS')),
        remote_server TEXT,
        port INTEGER,
        security TEXT,
        authentication TEXT,
        path TEXT,
        url TEXT,
        impersonation INTEGER NOT NULL DEFAULT 0,
        username TEXT,
        password_sealed TEXT,
        accept_untrusted_certificates INTEGER NOT NULL DEFAULT 0,
        max_concurrent_migrations INTEGER NOT NULL DEFAULT 20,
        max_concurrent_incremental_syncs INTEGER NOT NULL DEFAULT 10,
        is_default_target INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        extra_json TEXT NOT NULL DEFAULT '{}'
    )""",
    # At most one default target endpoint.
    """CREATE UNIQUE INDEX endpoints_single_default_target
        ON endpoints (is_default_target) WHERE is_default_target = 1""",
)

_V1_BATCHES = (
    """CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
        name_key TEXT NOT NULL UNIQUE,
        source_endpoint_id INTEGER NOT NULL REFERENCES endpoints (id),
        target_endpoint_id INTEGER NOT NULL REFERENCES endpoints (id),
        status TEXT NOT NULL,
        status_detail TEXT,
        error TEXT,
        exclude_folders_json TEXT NOT NULL DEFAULT '[]',
        auto_start INTEGER NOT NULL DEFAULT 0,
        auto_complete INTEGER NOT NULL DEFAULT 0,
        notification_emails_json TEXT NOT NULL DEFAULT '[]',
        bad_item_limit INTEGER,
        large_item_limit INTEGER,
        report_interval_seconds INTEGER NOT NULL DEFAULT 86400,
        -- NULL: the configured IncrementalSyncInterval (Set-MigrationConfig), else 24 h
        incremental_sync_interval_seconds INTEGER,
        csv_row_count INTEGER NOT NULL DEFAULT 0,
        csv_bytes INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        started_at TEXT,
        initial_sync_completed_at TEXT,
        last_synced_at TEXT,
        completed_at TEXT,
        last_report_sent_at TEXT,
        extra_json TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX batches_source_endpoint ON batches (source_endpoint_id)",
    "CREATE INDEX batches_target_endpoint ON batches (target_endpoint_id)",
)

_V1_USERS = (
    """CREATE TABLE migration_users (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        email_address TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        user_name TEXT NOT NULL,
        password_sealed TEXT,
        user_root TEXT,
        target_user_name TEXT,
        target_password_sealed TEXT,
        status TEXT NOT NULL,
        status_summary TEXT NOT NULL,
        error TEXT,
        sync_kind TEXT NOT NULL DEFAULT 'initial'
            CHECK (sync_kind IN ('initial', 'incremental')),
        stop_requested INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        started_at TEXT,
        last_successful_sync_at TEXT,
        next_sync_due_at TEXT,
        -- attempts of the current pass that failed transiently in a row (runner retries)
        sync_attempt INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX migration_users_batch ON migration_users (batch_id)",
    "CREATE INDEX migration_users_next_sync_due ON migration_users (next_sync_due_at)",
)

_V1_SYNC_STATE = (
    """CREATE TABLE folder_states (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES migration_users (id) ON DELETE CASCADE,
        source_name TEXT NOT NULL,
        source_separator TEXT,
        target_name TEXT,
        source_uidvalidity INTEGER,
        source_uidnext INTEGER,
        source_highestmodseq INTEGER,
        target_uidvalidity INTEGER,
        excluded INTEGER NOT NULL DEFAULT 0,
        created_by_migration INTEGER NOT NULL DEFAULT 0,
        last_synced_at TEXT,
        UNIQUE (user_id, source_name)
    )""",
    """CREATE TABLE message_states (
        id INTEGER PRIMARY KEY,
        folder_id INTEGER NOT NULL REFERENCES folder_states (id) ON DELETE CASCADE,
        -- NULL for a detached row (source message gone, target copy kept until the next
        -- incremental pass) and for deleted tombstones: their UID may be reused after a
        -- UIDVALIDITY change, and NULLs never collide under UNIQUE.
        source_uid INTEGER,
        fingerprint TEXT NOT NULL,
        size INTEGER NOT NULL,
        internaldate TEXT,
        target_ref TEXT,
        target_uidvalidity INTEGER,
        flags TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL CHECK (state IN ('pending', 'copied', 'skipped', 'deleted')),
        updated_at TEXT NOT NULL,
        UNIQUE (folder_id, source_uid)
    )""",
    "CREATE INDEX message_states_fingerprint ON message_states (folder_id, fingerprint)",
    "CREATE INDEX message_states_target_ref ON message_states (folder_id, target_ref)",
    "CREATE INDEX message_states_state ON message_states (folder_id, state)",
)

_V1_STATS = (
    """CREATE TABLE user_statistics (
        user_id INTEGER PRIMARY KEY REFERENCES migration_users (id) ON DELETE CASCADE,
        synced_item_count INTEGER NOT NULL DEFAULT 0,
        skipped_item_count INTEGER NOT NULL DEFAULT 0,
        total_items_in_source INTEGER NOT NULL DEFAULT 0,
        bytes_transferred INTEGER NOT NULL DEFAULT 0,
        total_bytes INTEGER NOT NULL DEFAULT 0,
        percentage_complete INTEGER NOT NULL DEFAULT 0,
        queued_seconds REAL NOT NULL DEFAULT 0,
        in_progress_seconds REAL NOT NULL DEFAULT 0,
        initial_sync_seconds REAL,
        last_sync_seconds REAL,
        last_error TEXT,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE report_entries (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES migration_users (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('info', 'warning', 'error')),
        message TEXT NOT NULL,
        folder TEXT
    )""",
    "CREATE INDEX report_entries_user ON report_entries (user_id, created_at)",
    """CREATE TABLE skipped_items (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES migration_users (id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        subject TEXT,
        item_date TEXT,
        size INTEGER,
        kind TEXT NOT NULL CHECK (kind IN ('bad', 'large')),
        reason TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    )""",
    "CREATE INDEX skipped_items_user ON skipped_items (user_id, recorded_at)",
)

# The target's mark (engine/targets/base.py) taken before a pending row's append batch: after
# a crash, the copy can only be at or above it (IMAP: "<uidvalidity>:<uidnext>"). NULL when
# the target gives none (Maildir, EWS find a copy by its source key).
_V2_TARGET_MARK = ("ALTER TABLE message_states ADD COLUMN target_mark TEXT",)

# The deletion guard (engine/sync/guard.py): a copied row or a vanished folder whose deletion a
# pass held is marked 'held'; Set-MigrationUser -ApproveDeletions turns 'held' into 'approved',
# which the next pass deletes. The statistics keep the reason of the latest hold.
_V3_DELETION_GUARD = (
    "ALTER TABLE message_states ADD COLUMN hold TEXT CHECK (hold IN ('held', 'approved'))",
    "ALTER TABLE folder_states ADD COLUMN hold TEXT CHECK (hold IN ('held', 'approved'))",
    "ALTER TABLE user_statistics ADD COLUMN held_deletions_reason TEXT",
    "CREATE INDEX message_states_hold ON message_states (folder_id, hold) "
    "WHERE hold IS NOT NULL",
)

# Per-user settings that override the batch's (engine/store/user_settings.py): item limits
# (NULL: the batch's, -1: Unlimited) and StartAfter (UTC).
_V4_USER_SETTINGS = (
    """CREATE TABLE user_settings (
        user_id INTEGER PRIMARY KEY REFERENCES migration_users (id) ON DELETE CASCADE,
        bad_item_limit INTEGER,
        large_item_limit INTEGER,
        start_after TEXT
    )""",
)

# Proofs (engine/verify, Test-MigrationUser): each proof's counts; the newest one and the
# skipped items give the user's DataConsistencyScore (engine/verify/score.py).
_V5_PROOFS = (
    """CREATE TABLE proofs (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES migration_users (id) ON DELETE CASCADE,
        proved_at TEXT NOT NULL,
        moment TEXT NOT NULL CHECK (moment IN ('manual', 'initial-sync', 'completion')),
        score TEXT NOT NULL CHECK (score IN ('Perfect', 'Good', 'Investigate', 'Poor')),
        folders INTEGER NOT NULL DEFAULT 0,
        source_items INTEGER NOT NULL DEFAULT 0,
        target_items INTEGER NOT NULL DEFAULT 0,
        missing INTEGER NOT NULL DEFAULT 0,
        changed INTEGER NOT NULL DEFAULT 0,
        extra INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        folders_missing INTEGER NOT NULL DEFAULT 0,
        error TEXT
    )""",
    "CREATE INDEX proofs_user ON proofs (user_id, id)",
)

# Set-MigrationUser -CompleteAfter (UTC; NULL: the batch's), engine/service/delays.py.
_V6_USER_COMPLETE_AFTER = ("ALTER TABLE user_settings ADD COLUMN complete_after TEXT",)

# Fencing tokens and host identity (engine/store/leases.py): every tenure of a lease gets the
# next number of one counter; the host (IMSH_HOST_ID) that took it is recorded with it.
_V7_LEASE_TOKENS = (
    "ALTER TABLE leases ADD COLUMN token INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE leases ADD COLUMN host TEXT",
    """CREATE TABLE lease_tokens (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        last_token INTEGER NOT NULL
    )""",
    "INSERT INTO lease_tokens (one, last_token) VALUES (1, 0)",
)

# Per-pass statistics (engine/store/passes.py): one row per sync pass of a user, written by the
# runner when the pass is claimed and when it ends; the dashboard's throughput chart and
# /metrics' pass durations, retries and throttling waits.
_PASSES = Migration(8, "passes: per-pass statistics (items, bytes, retries, throttling waits)", (
    """CREATE TABLE passes (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES migration_users (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('initial', 'incremental')),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        items_at_start INTEGER NOT NULL DEFAULT 0,
        bytes_at_start INTEGER NOT NULL DEFAULT 0,
        items_copied INTEGER NOT NULL DEFAULT 0,
        bytes_copied INTEGER NOT NULL DEFAULT 0,
        retries INTEGER NOT NULL DEFAULT 0,
        throttle_wait_seconds REAL NOT NULL DEFAULT 0,
        outcome TEXT CHECK (outcome IN ('ok', 'failed', 'transient', 'stopped', 'interrupted'))
    )""",
    "CREATE INDEX passes_batch ON passes (batch_id, finished_at)",
    "CREATE INDEX passes_open ON passes (user_id) WHERE finished_at IS NULL",
))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial schema: endpoints, batches, users, sync state, statistics, leases, config",
        _V1_META + _V1_ENDPOINTS + _V1_BATCHES + _V1_USERS + _V1_SYNC_STATE + _V1_STATS,
    ),
    Migration(2, "message_states.target_mark: where a pending copy can appear", _V2_TARGET_MARK),
    Migration(3, "held deletions: message_states.hold, folder_states.hold, the reason",
              _V3_DELETION_GUARD),
    Migration(4, "user_settings: per-user item limits and StartAfter", _V4_USER_SETTINGS),
    Migration(5, "proofs: the verdicts of Test-MigrationUser and the automatic proofs",
              _V5_PROOFS),
    Migration(6, "user_settings.complete_after: Set-MigrationUser -CompleteAfter",
              _V6_USER_COMPLETE_AFTER),
    Migration(7, "leases.token, leases.host and the lease_tokens counter: fencing tokens",
              _V7_LEASE_TOKENS),
    _PASSES,
)

LATEST_VERSION = MIGRATIONS[-1].version


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring ``db`` up to the newest schema version and return that version."""
    _check_order(migrations)
    latest = migrations[-1].version if migrations else 0
    current = db.user_version()
    if current > latest:
        raise StateStoreError(
            f"the state database {db.path} has schema version {current}, newer than this "
            f"imsh understands ({latest}); upgrade imsh",
            error_id="StateDatabaseTooNew",
        )
    for migration in migrations:
        if migration.version > current:
            _apply(db, migration)
    return db.user_version()


def _apply(db: Database, migration: Migration) -> None:
    with db.transaction():
        # Re-read under the write lock: another process may have migrated meanwhile.
        if db.user_version() >= migration.version:
            return
        for statement in migration.statements:
            db.execute_ddl(statement)
        db.set_user_version(migration.version)


def _check_order(migrations: tuple[Migration, ...]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations must be numbered 1..n in order, got {versions}")
