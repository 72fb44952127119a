"""The state store (engine.store), run against both backends.

Every test that uses the ``paths`` (or ``store``) fixture runs twice: on SQLite files and on
a fresh PostgreSQL database of the session's throwaway cluster (tests/support/postgres.py).
Tests about SQLite's own files and pragmas say ``@only_sqlite``.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NotFoundError,
    StateStoreError,
    ValidationError,
)
from engine.paths import StatePaths, resolve_state_paths
from engine.secrets import MASK, Secret
from engine.store import DEFAULT_TARGET_NAME, Store
from engine.store.batches import BatchRow, BatchSpec
from engine.store.db import Database, IntegrityError
from engine.store.endpoints import EndpointSpec
from engine.store.schema import LATEST_VERSION, MIGRATIONS, Migration, migrate
from engine.store.sync_state import CopiedMessage, FolderRow, PendingMessage
from engine.store.users import MigrationUserSpec

PASSWORD = "S3cret-Plaintext-Password-7Q"
TARGET_PASSWORD = "Other-Target-Password-9Z"
SMTP_PASSWORD = "Smtp-Relay-Password-4K"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def paths(request: pytest.FixtureRequest, tmp_path: Path) -> StatePaths:
    paths = resolve_state_paths(tmp_path / "state", env={})
    if request.param == "postgresql":
        return dataclasses.replace(paths, database=request.getfixturevalue("postgres_url"))
    return paths


# a test about SQLite's files, pragmas or connection rules: not run against PostgreSQL
only_sqlite = pytest.mark.parametrize("paths", ["sqlite"], indirect=True)


@pytest.fixture
def store(paths: StatePaths) -> Iterator[Store]:
    with Store.open(paths) as opened:
        yield opened


def _imap_source(store: Store, name: str = "Source") -> int:
    spec = EndpointSpec(
        name=name,
        kind="IMAP",
        remote_server="imap.example.org",
        port=993,
        security="Ssl",
        authentication="Basic",
        username="admin",
        password=Secret(PASSWORD),
    )
    return store.endpoints.add(spec).id


def _batch(store: Store, name: str = "Batch1") -> BatchRow:
    source = store.endpoints.find("Source")
    source_id = source.id if source else _imap_source(store)
    target = store.endpoints.get(DEFAULT_TARGET_NAME)
    return store.batches.add(BatchSpec(name, source_id, target.id))


def _user_spec(email: str = "ann@example.org") -> MigrationUserSpec:
    return MigrationUserSpec(
        email_address=email,
        user_name="ann",
        password=Secret(PASSWORD),
        target_user_name="ann.t",
        target_password=Secret(TARGET_PASSWORD),
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- opening: files, modes, pragmas, migrations -------------------------------------------


@only_sqlite
def test_files_are_private(store: Store, paths: StatePaths) -> None:
    _imap_source(store)  # a write, so that the -wal and -shm files exist
    assert _mode(paths.root) == 0o700
    assert _mode(paths.db) == 0o600
    assert _mode(paths.key_file) == 0o600
    for suffix in ("-wal", "-shm"):
        side_file = Path(f"{paths.db}{suffix}")
        assert side_file.exists()
        assert _mode(side_file) == 0o600


def test_wal_and_foreign_keys_are_on(store: Store, paths: StatePaths) -> None:
    assert store.db.journal_mode() == ("postgresql" if paths.database else "wal")
    assert store.db.foreign_keys_enabled()
    with pytest.raises(IntegrityError):
        store.db.execute(
            "INSERT INTO migration_users (batch_id, email_address, email_key, user_name, "
            "status, status_summary, created_at) VALUES (999, 'x', 'x', 'x', 'Queued', "
            "'Active', '2026-01-01T00:00:00.000000Z')"
        )


def test_migrations_set_user_version_and_are_idempotent(store: Store, paths: StatePaths) -> None:
    assert store.db.user_version() == LATEST_VERSION
    assert migrate(store.db) == LATEST_VERSION
    store.close()
    with Store.open(paths) as again:
        assert again.db.user_version() == LATEST_VERSION
        assert [e.name for e in again.endpoints.list()] == [DEFAULT_TARGET_NAME]


def test_failed_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "m.db")
    broken = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", ("CREATE TABLE t (a)", "x")))
    with pytest.raises(StateStoreError):
        migrate(db, broken)
    assert db.user_version() == LATEST_VERSION
    assert db.query_one("SELECT name FROM sqlite_master WHERE name = 't'") is None
    db.close()


def test_database_newer_than_program_is_refused(store: Store, paths: StatePaths) -> None:
    store.db.set_user_version(LATEST_VERSION + 5)
    store.close()
    with pytest.raises(StateStoreError, match="newer"):
        Store.open(paths)


def test_store_is_bound_to_its_thread(store: Store) -> None:
    errors: list[BaseException] = []

    def use() -> None:
        try:
            store.endpoints.list()
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=use)
    worker.start()
    worker.join()
    assert len(errors) == 1 and isinstance(errors[0], StateStoreError)


# --- defaults and keys ---------------------------------------------------------------------


def test_fresh_store_has_local_maildir_default_target_once(store: Store, paths: StatePaths) -> None:
    default = store.endpoints.default_target()
    assert default is not None
    assert default.name == DEFAULT_TARGET_NAME
    assert default.kind == "Maildir"
    assert default.path == str(paths.maildir_default)
    store.endpoints.remove(DEFAULT_TARGET_NAME)
    store.close()
    with Store.open(paths) as again:
        assert again.endpoints.find(DEFAULT_TARGET_NAME) is None


def test_wrong_or_missing_key_file_is_a_clear_error(store: Store, paths: StatePaths) -> None:
    _imap_source(store)
    store.close()
    original = paths.key_file.read_bytes()
    paths.key_file.unlink()
    with pytest.raises(StateStoreError) as missing:
        Store.open(paths)
    assert missing.value.error_id == "SecretKeyMissing"
    assert not paths.key_file.exists()  # a new key must not be invented for old data
    paths.key_file.write_text("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n")
    with pytest.raises(StateStoreError) as mismatch:
        Store.open(paths)
    assert mismatch.value.error_id == "SecretKeyMismatch"
    paths.key_file.write_bytes(original)
    with Store.open(paths) as again:
        password = again.endpoints.get("source").password
        assert password is not None and password.reveal() == PASSWORD


def test_key_file_from_environment_override(tmp_path: Path) -> None:
    paths = resolve_state_paths(
        tmp_path / "state", env={"IMSH_KEY_FILE": str(tmp_path / "keys" / "k")}
    )
    with Store.open(paths) as store:
        _imap_source(store)
    assert (tmp_path / "keys" / "k").exists()
    assert not (tmp_path / "state" / "secret.key").exists()


# --- secrets never reach the database or the logs ------------------------------------------


@only_sqlite
def test_passwords_are_not_in_the_raw_database_files(store: Store, paths: StatePaths) -> None:
    _batch(store)
    store.users.add(store.batches.get("Batch1").id, _user_spec())
    store.config.set_secret("SmtpPassword", Secret(SMTP_PASSWORD))
    wal = Path(f"{paths.db}-wal")
    raw = paths.db.read_bytes() + wal.read_bytes()
    assert wal.stat().st_size > 0
    assert b"ann@example.org" in raw  # the raw read does see the data ...
    for plaintext in (PASSWORD, TARGET_PASSWORD, SMTP_PASSWORD):
        assert plaintext.encode() not in raw  # ... but never a password
        assert plaintext.encode("utf-16-le") not in raw
    store.close()  # checkpoint into the main file and check it again
    raw = paths.db.read_bytes()
    assert all(p.encode() not in raw for p in (PASSWORD, TARGET_PASSWORD, SMTP_PASSWORD))


def test_rows_holding_secrets_do_not_show_them(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    _batch(store)
    user = store.users.add(store.batches.get("Batch1").id, _user_spec())
    endpoint = store.endpoints.get("Source")
    with caplog.at_level(logging.INFO):
        logging.getLogger("imsh.test").info("user %s endpoint %r", user, endpoint)
    texts = [repr(user), str(user), f"{user}", "%s" % (endpoint,), caplog.text]  # noqa: UP031
    for text in texts:
        assert PASSWORD not in text and TARGET_PASSWORD not in text
        assert MASK in text
    assert user.password is not None and user.password.reveal() == PASSWORD
    assert user.target_password is not None and user.target_password.reveal() == TARGET_PASSWORD


# --- repositories --------------------------------------------------------------------------


def test_a_whatif_keeps_nothing_and_the_next_change_commits_only_itself(store: Store) -> None:
    # -WhatIf runs the real operation inside rolled_back(); on either backend nothing of it may
    # survive, not even when the next real transaction commits
    with store.db.rolled_back():
        _imap_source(store, "DryRun")
        store.config.set("MaxNumberOfBatches", 77)
    assert store.endpoints.find("DryRun") is None
    with store.db.transaction():
        store.config.set("MaxNumberOfBatches", 5)
    assert store.endpoints.find("DryRun") is None
    assert store.config.get("MaxNumberOfBatches") == 5


def test_endpoint_crud_and_case_insensitive_names(store: Store) -> None:
    _imap_source(store)
    with pytest.raises(AlreadyExistsError):
        _imap_source(store, "SOURCE")
    found = store.endpoints.get("sOuRcE")
    assert (found.name, found.port, found.security, found.max_concurrent_migrations) == (
        "Source",
        993,
        "Ssl",
        20,
    )
    changed = store.endpoints.update(
        dataclasses.replace(found, port=143, security="Tls", extra={"note": "x"})
    )
    assert (changed.port, changed.security, changed.extra) == (143, "Tls", {"note": "x"})
    assert changed.password is not None and changed.password.reveal() == PASSWORD
    store.endpoints.set_default_target("Source")
    default = store.endpoints.default_target()
    assert default is not None and default.name == "Source"
    assert not store.endpoints.get(DEFAULT_TARGET_NAME).is_default_target
    store.endpoints.remove("SOURCE")
    with pytest.raises(NotFoundError):
        store.endpoints.get("Source")


def test_endpoint_in_use_cannot_be_removed(store: Store) -> None:
    _batch(store)
    with pytest.raises(InvalidStateError):
        store.endpoints.remove("Source")
    assert store.endpoints.find("Source") is not None


def test_batch_crud_and_names(store: Store) -> None:
    batch = _batch(store)
    assert (batch.status, batch.source_endpoint, batch.target_endpoint) == (
        "Created",
        "Source",
        DEFAULT_TARGET_NAME,
    )
    assert batch.incremental_sync_interval_seconds is None  # the configured default
    with pytest.raises(AlreadyExistsError):
        _batch(store, "BATCH1")
    with pytest.raises(ValidationError):
        _batch(store, "x" * 65)
    updated = store.batches.update(
        dataclasses.replace(
            batch,
            exclude_folders=("Junk", "Trash/*"),
            notification_emails=("admin@example.org",),
            bad_item_limit=10,
            started_at=T0,
        )
    )
    assert updated.exclude_folders == ("Junk", "Trash/*")
    assert updated.notification_emails == ("admin@example.org",)
    assert (updated.bad_item_limit, updated.large_item_limit) == (10, None)
    assert updated.started_at == T0
    interval = store.batches.update(
        dataclasses.replace(updated, incremental_sync_interval_seconds=3600)
    )
    assert interval.incremental_sync_interval_seconds == 3600
    store.batches.set_status(batch.id, "Syncing")
    assert [b.name for b in store.batches.list(status="Syncing")] == ["Batch1"]
    assert store.batches.list(status="Stopped") == []
    assert store.batches.count() == 1
    store.batches.remove("batch1")
    assert store.batches.find("Batch1") is None


def test_users_unique_across_batches(store: Store) -> None:
    first, second = _batch(store, "B1"), _batch(store, "B2")
    store.users.add(first.id, _user_spec())
    with pytest.raises(AlreadyExistsError, match="B1"):
        store.users.add(second.id, _user_spec("ANN@Example.ORG"))
    with pytest.raises(AlreadyExistsError):  # all-or-nothing
        store.users.add_many(second.id, [_user_spec("bob@example.org"), _user_spec()])
    assert store.users.find("bob@example.org") is None


def test_user_crud_status_and_due_list(store: Store) -> None:
    batch = _batch(store)
    ann, bob = store.users.add_many(batch.id, [_user_spec(), _user_spec("bob@example.org")])
    assert (ann.status, ann.status_summary, ann.sync_kind, ann.batch_name) == (
        "Queued",
        "Active",
        "initial",
        "Batch1",
    )
    assert ann.sync_attempt == 0
    store.users.update(
        dataclasses.replace(ann, next_sync_due_at=T0, user_root="/root", sync_attempt=3)
    )
    assert store.users.get("ann@example.org").sync_attempt == 3  # kept across runners
    store.users.update(dataclasses.replace(bob, next_sync_due_at=T0 + timedelta(hours=1)))
    due = store.users.list_due(T0 + timedelta(minutes=1), ["Queued"])
    assert [u.email_address for u in due] == ["ann@example.org"]
    assert store.users.get("ann@example.org").user_root == "/root"
    store.users.request_stop(ann.id)
    assert store.users.list_due(T0 + timedelta(hours=2), ["Queued"]) == [
        store.users.get("bob@example.org")
    ]
    store.users.set_status(bob.id, "Failed", "Failed", "bad password")
    assert store.users.get("BOB@example.org").error == "bad password"
    assert store.users.count_by_status(batch.id) == {"Queued": 1, "Failed": 1}
    assert [u.email_address for u in store.users.list(status="Failed")] == ["bob@example.org"]
    store.users.remove("bob@example.org")
    assert len(store.users.list(batch_id=batch.id)) == 1


def test_folder_and_message_state_follow_the_intent_rule(store: Store) -> None:
    user = store.users.add(_batch(store).id, _user_spec())
    folder = store.folders.save(
        user.id, FolderRow("INBOX", "/", "INBOX", source_uidvalidity=7, source_uidnext=3)
    )
    store.folders.save(user.id, dataclasses.replace(folder, source_highestmodseq=2**62))
    folder = store.folders.get(user.id, "INBOX")
    assert (folder.source_uidvalidity, folder.source_highestmodseq) == (7, 2**62)
    messages = [PendingMessage(uid, f"fp{uid}", 100 * uid, T0, "\\Seen") for uid in (1, 2)]
    store.messages.record_pending(folder.id, messages)
    assert [m.state for m in store.messages.list(folder.id)] == ["pending", "pending"]
    store.messages.record_copied(folder.id, [CopiedMessage(1, "501", 9, "\\Seen")])
    copied = store.messages.get(folder.id, 1)
    assert copied is not None and (copied.state, copied.target_ref) == ("copied", "501")
    assert store.messages.find_by_target_ref(folder.id, "501") == copied
    assert [m.source_uid for m in store.messages.find_by_fingerprint(folder.id, "fp2")] == [2]
    store.messages.record_pending(folder.id, messages[:1])  # re-planned: keeps its target ref
    again = store.messages.get(folder.id, 1)
    assert again is not None and (again.state, again.target_ref) == ("pending", "501")
    assert store.messages.count_by_state(user.id) == {"pending": 2}
    with pytest.raises(InvalidStateError):  # no intent row for UID 9: refused, nothing written
        store.messages.record_copied(folder.id, [CopiedMessage(2, "502"), CopiedMessage(9, "9")])
    second = store.messages.get(folder.id, 2)
    assert second is not None and second.state == "pending"


def test_message_flags_deletion_skips_and_rekeying(store: Store) -> None:
    user = store.users.add(_batch(store).id, _user_spec())
    folder = store.folders.save(user.id, FolderRow("Sent"))
    store.messages.record_pending(
        folder.id, [PendingMessage(u, f"fp{u}", 10) for u in (1, 2, 4)]
    )
    store.messages.update_flags(folder.id, {1: "\\Flagged"})
    store.messages.mark_deleted(folder.id, [2])
    store.messages.record_skipped(folder.id, [PendingMessage(3, "fp3", 10**9)])
    # UIDs 1 and 4 swap places, as after a UIDVALIDITY change matched by fingerprint
    live = [m for m in store.messages.list(folder.id) if m.source_uid in (1, 4)]
    store.messages.reassign_source_uids(folder.id, {m.id: 5 - (m.source_uid or 0) for m in live})
    rows = {m.fingerprint: m for m in store.messages.list(folder.id)}
    assert (rows["fp1"].source_uid, rows["fp1"].flags) == (4, "\\Flagged")
    assert rows["fp4"].source_uid == 1
    # a tombstone gives up its UID, so a reused UID 2 can be recorded again
    assert (rows["fp2"].source_uid, rows["fp2"].state) == (None, "deleted")
    store.messages.record_pending(folder.id, [PendingMessage(2, "fp2-new", 10)])
    reused = store.messages.get(folder.id, 2)
    assert reused is not None and reused.fingerprint == "fp2-new"
    assert rows["fp3"].state == "skipped"
    store.messages.forget(folder.id, [3])
    assert len(store.messages.list(folder.id, state="skipped")) == 0


def test_detached_row_keeps_its_target_copy_without_a_source_uid(store: Store) -> None:
    user = store.users.add(_batch(store).id, _user_spec())
    folder = store.folders.save(user.id, FolderRow("INBOX", created_by_migration=True))
    assert store.folders.get(user.id, "INBOX").created_by_migration is True
    store.messages.record_pending(folder.id, [PendingMessage(7, "fp7", 10)])
    store.messages.record_copied(folder.id, [CopiedMessage(7, "uid:70")])
    store.messages.detach(folder.id, [7])
    row = store.messages.find_by_target_ref(folder.id, "uid:70")
    assert row is not None and (row.source_uid, row.state) == (None, "copied")
    store.messages.mark_deleted_rows(folder.id, [row.id])
    tombstone = store.messages.find_by_target_ref(folder.id, "uid:70")
    assert tombstone is not None and tombstone.state == "deleted"


def test_statistics_reports_and_skipped_items(store: Store) -> None:
    user = store.users.add(_batch(store).id, _user_spec())
    assert store.statistics.get(user.id).synced_item_count == 0
    store.statistics.add_counts(user.id, synced=3, bytes_transferred=300)
    store.statistics.add_counts(user.id, synced=2, skipped=1, bytes_transferred=50)
    stats = store.statistics.get(user.id)
    assert (stats.synced_item_count, stats.skipped_item_count, stats.bytes_transferred) == (
        5,
        1,
        350,
    )
    store.statistics.save(dataclasses.replace(stats, total_items_in_source=10, last_error="x"))
    saved = store.statistics.get(user.id)
    assert (saved.total_items_in_source, saved.last_error, saved.synced_item_count) == (10, "x", 5)
    for n in range(3):
        store.statistics.add_report_entry(user.id, "info", f"step {n}", folder="INBOX")
    assert [e.message for e in store.statistics.report_entries(user.id, limit=2)] == [
        "step 1",
        "step 2",
    ]
    store.statistics.add_skipped_item(user.id, "INBOX", "large", "too big", "Hi", T0, 10**9)
    (item,) = store.statistics.skipped_items(user.id)
    assert (item.kind, item.subject, item.item_date, item.size) == ("large", "Hi", T0, 10**9)


def test_percentage_complete_moves_with_every_copy_batch(store: Store) -> None:
    """PercentageComplete stayed 0 while a user was at 2,943 of 6,000 items, then jumped."""
    user = store.users.add(_batch(store).id, _user_spec())
    store.statistics.add_counts(user.id, synced=5)  # before the totals: nothing to divide by
    assert store.statistics.get(user.id).percentage_complete == 0
    store.statistics.save(dataclasses.replace(store.statistics.get(user.id),
                                              total_items_in_source=6000))
    store.statistics.add_counts(user.id, synced=2938)
    assert store.statistics.get(user.id).percentage_complete == 49
    store.statistics.add_counts(user.id, synced=3057)
    assert store.statistics.get(user.id).percentage_complete == 99  # 100 only when it ends


def test_removing_a_batch_cascades_to_everything_below(store: Store) -> None:
    batch = _batch(store)
    user = store.users.add(batch.id, _user_spec())
    folder = store.folders.save(user.id, FolderRow("INBOX"))
    store.messages.record_pending(folder.id, [PendingMessage(1, "fp", 1)])
    store.statistics.add_counts(user.id, synced=1)
    store.statistics.add_report_entry(user.id, "error", "boom")
    store.statistics.add_skipped_item(user.id, "INBOX", "bad", "corrupt")
    store.batches.remove("Batch1")
    for table in (
        "migration_users",
        "folder_states",
        "message_states",
        "user_statistics",
        "report_entries",
        "skipped_items",
    ):
        row = store.db.query_one(f"SELECT COUNT(*) FROM {table}")
        assert row is not None and row[0] == 0, table


def test_config_values_secrets_and_case_insensitive_keys(store: Store) -> None:
    store.config.set("MaxNumberOfBatches", 100)
    store.config.set("maxnumberofbatches", 50)
    store.config.set("SmtpServer", {"host": "127.0.0.1", "port": 2525})
    store.config.set_secret("SmtpPassword", Secret(SMTP_PASSWORD))
    assert store.config.get("MAXNUMBEROFBATCHES") == 50
    assert store.config.get("Missing", "default") == "default"
    secret = store.config.get_secret("smtppassword")
    assert secret is not None and secret.reveal() == SMTP_PASSWORD
    items = store.config.items()
    assert set(items) == {"maxnumberofbatches", "SmtpServer", "SmtpPassword"}
    assert isinstance(items["SmtpPassword"], Secret)
    store.config.set("SmtpServer", None)
    assert store.config.get("SmtpServer") is None


def test_transaction_groups_writes_and_rolls_back(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        _imap_source(store, "One")
        _imap_source(store, "Two")
        raise RuntimeError("abort")
    assert store.endpoints.find("One") is None and store.endpoints.find("Two") is None
    with store.transaction():
        _imap_source(store, "One")
        _imap_source(store, "Two")
    assert store.endpoints.find("Two") is not None


# --- leases --------------------------------------------------------------------------------


def test_lease_acquire_renew_expire_release(store: Store) -> None:
    ttl = timedelta(minutes=5)
    assert store.leases.acquire("user:1", "runner-a", ttl, now=T0)
    assert not store.leases.acquire("user:1", "runner-b", ttl, now=T0 + timedelta(minutes=1))
    assert store.leases.acquire("user:1", "runner-a", ttl, now=T0 + timedelta(minutes=1))
    assert store.leases.renew("user:1", "runner-a", ttl, now=T0 + timedelta(minutes=2))
    assert not store.leases.renew("user:1", "runner-b", ttl, now=T0 + timedelta(minutes=2))
    later = T0 + timedelta(minutes=8)
    assert store.leases.acquire("user:1", "runner-b", ttl, now=later)  # a's lease expired
    assert not store.leases.renew("user:1", "runner-a", ttl, now=later)
    assert not store.leases.release("user:1", "runner-a")
    assert [lease.owner for lease in store.leases.active(now=later, prefix="user:")] == ["runner-b"]
    assert store.leases.release("user:1", "runner-b")
    assert store.leases.get("user:1") is None
    store.leases.acquire("user:2", "runner-c", ttl)
    store.leases.acquire("runner", "runner-c", ttl)
    assert store.leases.release_all("runner-c") == 2


def _compete(db_dir: str, database: str | None, name: str, start: Any, results: Any) -> None:
    """Child process body: open an own store, wait for the start signal, try the lease."""
    paths = resolve_state_paths(db_dir, env={"IMSH_DATABASE": database} if database else {})
    with Store.open(paths) as store:
        start.wait()
        won = store.leases.acquire("user:42", name, timedelta(minutes=5))
        results.put((name, won))


def test_only_one_process_wins_a_lease(paths: StatePaths) -> None:
    Store.open(paths).close()
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    names = [f"runner-{n}" for n in range(4)]
    workers = [
        ctx.Process(target=_compete, args=(str(paths.root), paths.database, n, start, results))
        for n in names
    ]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = dict(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    winners = [n for n, won in outcomes.items() if won]
    assert len(winners) == 1
    with Store.open(paths) as store:
        lease = store.leases.get("user:42")
        assert lease is not None and lease.owner == winners[0]


def test_only_one_thread_wins_a_lease(paths: StatePaths) -> None:
    Store.open(paths).close()
    barrier = threading.Barrier(4)
    outcomes: dict[str, bool] = {}

    def compete(name: str) -> None:
        with Store.open(paths) as store:
            barrier.wait()
            outcomes[name] = store.leases.acquire("batch:B", name, timedelta(minutes=1))

    threads = [threading.Thread(target=compete, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == [False, False, False, True]


def test_state_dir_is_created_with_private_modes_on_first_open(tmp_path: Path) -> None:
    paths = resolve_state_paths(tmp_path / "fresh" / "imsh", env={})
    old = os.umask(0o022)
    try:
        Store.open(paths).close()
    finally:
        os.umask(old)
    assert (_mode(paths.root), _mode(paths.db), _mode(paths.key_file)) == (0o700, 0o600, 0o600)


def test_batch_totals_add_up_the_users_of_that_batch_only(store: Store) -> None:
    first, second = _batch(store, "B1"), _batch(store, "B2")
    ann = store.users.add(first.id, _user_spec("ann@example.org"))
    bob = store.users.add(first.id, _user_spec("bob@example.org"))
    eve = store.users.add(second.id, _user_spec("eve@example.org"))
    for user, synced, sent in ((ann, 3, 300), (bob, 4, 50), (eve, 100, 10_000)):
        store.statistics.add_counts(user.id, synced=synced, skipped=1, bytes_transferred=sent)
    store.statistics.save(dataclasses.replace(store.statistics.get(ann.id),
                                              total_items_in_source=10, total_bytes=1000))
    totals = store.statistics.batch_totals(first.id)
    assert (totals.synced_items, totals.skipped_items, totals.bytes_transferred) == (7, 2, 350)
    assert (totals.total_items, totals.total_bytes) == (10, 1000)
    assert store.statistics.batch_totals(9999).synced_items == 0


@only_sqlite
def test_a_failed_commit_rolls_back_and_the_next_transaction_works(store: Store) -> None:
    db = store.db
    with pytest.raises(StateStoreError), db.transaction():
        db.execute("PRAGMA defer_foreign_keys = ON")  # the violation surfaces at COMMIT
        db.execute("INSERT INTO report_entries (user_id, created_at, kind, message) "
                   "VALUES (424242, '2026-01-01T00:00:00Z', 'info', 'orphan')")
    assert db.query_all("SELECT * FROM report_entries WHERE user_id = 424242") == []
    user = store.users.add(_batch(store).id, _user_spec())  # BEGIN works again
    assert store.users.get_by_id(user.id).email_address == "ann@example.org"


def test_held_marks_approval_is_never_taken_back_and_marks_carry_over(store: Store) -> None:
    user = store.users.add(_batch(store).id, _user_spec())
    folder = store.folders.save(user.id, FolderRow("INBOX"))
    store.messages.record_pending(folder.id, [PendingMessage(1, "fp1", 1),
                                              PendingMessage(2, "fp2", 1)])
    store.messages.record_copied(folder.id, [CopiedMessage(1, "1:1"), CopiedMessage(2, "1:2")])
    store.messages.hold(folder.id, [1, 2], [])
    assert store.messages.count_held(user.id) == 2
    assert store.messages.approve_held(user.id) == 2
    row = store.messages.find_by_target_ref(folder.id, "1:1")
    assert row is not None
    store.messages.hold(folder.id, [], [row.id])  # a pass planned before the approval
    assert store.messages.count_held(user.id, "approved") == 2
    renamed = store.folders.save(user.id, FolderRow("Renamed"))
    store.messages.record_pending(renamed.id, [PendingMessage(9, "fp1", 1)])
    store.messages.record_copied(renamed.id, [CopiedMessage(9, "1:1")])
    store.messages.mark_holds(renamed.id, {9: "held"})
    assert store.messages.count_held(user.id) == 1


def test_a_users_complete_after_is_kept_apart_from_its_other_settings(store: Store) -> None:
    from engine.store.user_settings import UserSettings

    ann = store.users.add(_batch(store).id, _user_spec())
    store.user_settings.save(UserSettings(ann.id, bad_item_limit=5, start_after=T0))
    saved = store.user_settings.save(dataclasses.replace(
        store.user_settings.get(ann.id), complete_after=T0 + timedelta(days=2)))
    assert saved == UserSettings(ann.id, 5, None, T0, T0 + timedelta(days=2))
    assert store.user_settings.complete_afters() == {ann.id: T0 + timedelta(days=2)}
    cleared = store.user_settings.save(dataclasses.replace(saved, complete_after=None))
    assert cleared.complete_after is None and cleared.start_after == T0
    assert store.user_settings.complete_afters() == {}
