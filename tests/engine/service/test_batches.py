"""New-MigrationBatch from CSV bytes (all or nothing), the batch life cycle, and Wait."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import (
    AlreadyExistsError,
    ImshError,
    InvalidStateError,
    NotFoundError,
    ValidationError,
)
from engine.model import BatchStatus, EndpointType, MigrationUserStatus
from engine.secrets import Credential, Secret
from engine.service import Engine
from engine.service.batches import BatchChanges, BatchRequest
from engine.service.common import user_lease
from engine.service.endpoints import EndpointRequest
from tests.engine.service.conftest import snapshot

CSV = (b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,Secr3t!\r\n"
       b"bob@contoso.com,bob*admin,pw2\r\n")


def new_batch(engine: Engine, name: str = "B1", csv: bytes = CSV, **extra: object) -> object:
    return engine.new_batch(BatchRequest(name=name, source_endpoint="Source", csv_data=csv,
                                         **extra))  # type: ignore[arg-type]


def test_a_new_batch_is_created_with_queued_users_and_the_default_target(
    engine: Engine, source: str
) -> None:
    info = engine.new_batch(BatchRequest(name="B1", source_endpoint=source, csv_data=CSV,
                                         exclude_folders=("Junk Email",)))
    assert info.status is BatchStatus.Created
    assert info.counts.total == 2
    assert info.target_endpoint == "LocalMaildir"
    assert info.exclude_folders == ("Junk Email",)
    users = engine.get_users(batch="B1")
    assert [(u.email_address, u.status) for u in users] == [
        ("ann@contoso.com", MigrationUserStatus.Queued),
        ("bob@contoso.com", MigrationUserStatus.Queued),
    ]
    assert all(u.next_sync_due_at is None for u in users)  # nothing due before Start


def test_passwords_are_sealed_in_the_database(engine: Engine, source: str) -> None:
    new_batch(engine)
    raw = engine.store.paths.db.read_bytes() + _wal(engine)
    assert b"Secr3t!" not in raw
    with sqlite3.connect(engine.store.paths.db) as db:
        sealed = [r[0] for r in db.execute("SELECT password_sealed FROM migration_users")]
    assert all(value.startswith("v1:") for value in sealed)
    assert engine.store.users.get("ann@contoso.com").password == Secret("Secr3t!")


def _wal(engine: Engine) -> bytes:
    wal = engine.store.paths.db.with_name("state.db-wal")
    return wal.read_bytes() if wal.exists() else b""


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        (b"", "Upload file can't be empty"),
        (b"EmailAddress,Password\r\na@contoso.com,pw\r\n",
         'Column "UserName" is missing from the CSV file.'),
        (b"EmailAddress,UserName,Password\r\na@contoso.com,a,pw\r\nb@contoso.com,b\r\n",
         "Row 2 has the wrong number of columns. Expected number: 3. Actual number: 2."),
        (b"EmailAddress,UserName,Password\r\na@contoso.com,a,pw\r\nA@contoso.com,b,pw\r\n",
         'Row 2 repeats the EmailAddress "A@contoso.com" of row 1.'),
        (b"EmailAddress,UserName,Password\r\nnot-an-address,a,pw\r\n",
         'Row 1 has an invalid EmailAddress "not-an-address".'),
        (b"EmailAddress,UserName,Password\r\n" + b"u@contoso.com,u,p\r\n" * 50_001,
         "The CSV file contains more than 50,000 rows."),
        (b"EmailAddress,UserName,Password\r\na@contoso.com,authzid=a,pw\r\n",
         "Row 1: The UserName \"authzid=a\" isn't a valid proxy login."),
    ],
)
def test_each_csv_defect_names_the_row_and_changes_nothing(
    engine: Engine, source: str, csv: bytes, message: str
) -> None:
    before = snapshot(engine)
    with pytest.raises(ValidationError) as caught:
        new_batch(engine, csv=csv)
    assert message in caught.value.message
    assert snapshot(engine) == before


def test_a_user_in_another_batch_is_refused_naming_the_row(engine: Engine, source: str) -> None:
    new_batch(engine)
    before = snapshot(engine)
    csv = b"EmailAddress,UserName,Password\r\nnew@contoso.com,n,pw\r\nBOB@contoso.com,b,pw\r\n"
    with pytest.raises(ValidationError, match=re.escape(
            'Row 2: the user "BOB@contoso.com" is already in the migration batch "B1"')):
        new_batch(engine, name="B2", csv=csv)
    assert snapshot(engine) == before


def test_batch_names_are_unique_and_at_most_64_characters(engine: Engine, source: str) -> None:
    new_batch(engine)
    other = b"EmailAddress,UserName,Password\r\nz@contoso.com,z,pw\r\n"
    with pytest.raises(AlreadyExistsError, match=r"The migration batch already exists\."):
        new_batch(engine, name="b1", csv=other)
    with pytest.raises(ValidationError, match="maximum length is 64"):
        new_batch(engine, name="x" * 65, csv=other)
    new_batch(engine, name="x" * 64, csv=other)


def test_the_source_must_be_an_existing_imap_endpoint(engine: Engine, source: str) -> None:
    with pytest.raises(NotFoundError):
        engine.new_batch(BatchRequest(name="B", source_endpoint="Nope", csv_data=CSV))
    with pytest.raises(ValidationError, match="must be an IMAP endpoint"):
        engine.new_batch(BatchRequest(name="B", source_endpoint="LocalMaildir", csv_data=CSV))
    with pytest.raises(ValidationError, match="needs -SourceEndpoint"):
        engine.new_batch(BatchRequest(name="B", source_endpoint=None, csv_data=CSV))


def test_an_imap_target_without_admin_credentials_needs_target_columns(
    engine: Engine, source: str
) -> None:
    engine.new_endpoint(EndpointRequest(name="Target", kind=EndpointType.IMAP,
                                        remote_server="127.0.0.1", port=9,
                                        skip_verification=True))
    with pytest.raises(ValidationError, match="Row 1 has no TargetUserName"):
        new_batch(engine, target_endpoint="Target")
    csv = (b"EmailAddress,UserName,Password,TargetUserName,TargetPassword\r\n"
           b"ann@contoso.com,ann,pw,ann.t,tpw\r\n")
    info = new_batch(engine, csv=csv, target_endpoint="Target")
    assert info.target_endpoint == "Target"  # type: ignore[attr-defined]
    assert engine.store.users.get("ann@contoso.com").target_password == Secret("tpw")


def test_start_queues_every_user_and_calls_the_runner_launcher(
    engine: Engine, source: str
) -> None:
    launched: list[str] = []
    engine.__init__(engine.store, lambda: launched.append("run"))  # type: ignore[misc]
    new_batch(engine)
    info = engine.start_batch("B1")
    assert info.status is BatchStatus.Starting
    assert launched == ["run"]
    assert all(u.status is MigrationUserStatus.Queued and u.next_sync_due_at is not None
               for u in engine.get_users(batch="B1"))


def test_autostart_starts_at_creation(engine: Engine, source: str) -> None:
    info = new_batch(engine, auto_start=True)
    assert info.status is BatchStatus.Starting  # type: ignore[attr-defined]


def test_stop_stops_idle_users_at_once_and_asks_the_runner_for_busy_ones(
    engine: Engine, source: str
) -> None:
    new_batch(engine)
    engine.start_batch("B1")
    bob = engine.store.users.get("bob@contoso.com")
    assert engine.store.leases.acquire(user_lease(bob.id), "runner-1", timedelta(minutes=5))
    info = engine.stop_batch("B1")
    assert info.status is BatchStatus.Stopping
    statuses = {u.email_address: u.status for u in engine.get_users(batch="B1")}
    assert statuses == {"ann@contoso.com": MigrationUserStatus.Stopped,
                        "bob@contoso.com": MigrationUserStatus.Stopping}
    assert engine.store.users.get("bob@contoso.com").stop_requested


def test_illegal_transitions_are_refused_with_the_status(engine: Engine, source: str) -> None:
    new_batch(engine)
    with pytest.raises(InvalidStateError, match=r"can't be stopped .*\(status Created\)"):
        engine.stop_batch("B1")
    with pytest.raises(InvalidStateError, match=r"can't be completed .*\(status Created\)"):
        engine.complete_batch("B1")
    engine.start_batch("B1")
    with pytest.raises(InvalidStateError, match=r"can't be removed .*\(status Starting\)"):
        engine.remove_batch("B1")
    engine.stop_batch("B1")
    with pytest.raises(InvalidStateError, match=r"can't be stopped .*\(status Stopped\)"):
        engine.stop_batch("B1")
    assert engine.start_batch("B1").status is BatchStatus.Starting  # resume


def test_remove_deletes_the_batch_and_its_users_only(engine: Engine, source: str) -> None:
    new_batch(engine)
    new_batch(engine, name="Keep", csv=b"EmailAddress,UserName,Password\r\nk@contoso.com,k,p\r\n")
    assert engine.remove_batch("B1") is None
    assert engine.identities("batch") == ["Keep"]
    assert engine.identities("user") == ["k@contoso.com"]
    assert {e.name for e in engine.get_endpoints()} == {"LocalMaildir", "Source"}


@pytest.mark.usefixtures("short_release_wait")
def test_remove_while_a_runner_holds_a_user_marks_the_batch_removing(
    engine: Engine, source: str
) -> None:
    new_batch(engine)
    engine.start_batch("B1")
    engine.stop_batch("B1")
    ann = engine.store.users.get("ann@contoso.com")
    engine.store.leases.acquire(user_lease(ann.id), "runner-1", timedelta(minutes=5))
    info = engine.remove_batch("B1")
    assert info is not None and info.status is BatchStatus.Removing
    assert engine.get_batches("B1")[0].status is BatchStatus.Removing


def test_get_filters_by_status_and_endpoint(engine: Engine, source: str) -> None:
    new_batch(engine)
    new_batch(engine, name="B2", csv=b"EmailAddress,UserName,Password\r\nz@contoso.com,z,p\r\n")
    engine.start_batch("B2")
    assert [b.name for b in engine.get_batches(status=BatchStatus.Starting)] == ["B2"]
    assert [b.name for b in engine.get_batches(endpoint="Source")] == ["B1", "B2"]
    assert engine.get_batches(result_size=1)[0].name == "B1"
    with pytest.raises(NotFoundError, match="couldn't be found"):
        engine.get_batches("Nope")


def test_set_adds_only_new_users_and_changes_settings(engine: Engine, source: str) -> None:
    new_batch(engine)
    more = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,x\r\ncid@contoso.com,c,p\r\n"
    info = engine.set_batch("B1", BatchChanges(csv_data=more, add_users=True,
                                               notification_emails=("admin@contoso.com",),
                                               bad_item_limit=None))
    assert info.counts.total == 3
    assert info.notification_emails == ("admin@contoso.com",)
    with pytest.raises(ValidationError, match="notification e-mail address"):
        engine.set_batch("B1", BatchChanges(notification_emails=("nope",)))
    with pytest.raises(InvalidStateError, match="synchronized now"):
        engine.set_batch("B1", BatchChanges(sync_now=True))


def test_wait_returns_at_the_status_and_times_out_otherwise(engine: Engine, source: str) -> None:
    new_batch(engine)
    with pytest.raises(InvalidStateError, match="hasn't been started"):
        engine.wait_batch("B1", None, timedelta(seconds=1), lambda info: None)
    engine.start_batch("B1")
    polls: list[BatchStatus] = []
    with pytest.raises(ImshError, match="didn't reach one of") as caught:
        engine.wait_batch("B1", None, timedelta(seconds=0.3),
                          lambda info: polls.append(info.status), interval=0.1)
    assert caught.value.error_id == "WaitTimedOut"
    assert polls and set(polls) == {BatchStatus.Starting}
    engine.stop_batch("B1")
    assert engine.wait_batch("B1", frozenset({BatchStatus.Stopped}), timedelta(seconds=1),
                             lambda info: None).status is BatchStatus.Stopped


def test_credentials_on_the_source_are_not_needed(engine: Engine) -> None:
    engine.new_endpoint(EndpointRequest(
        name="WithCreds", kind=EndpointType.IMAP, remote_server="127.0.0.1", port=9,
        credentials=Credential("admin", Secret("adminpw")), skip_verification=True))
    info = engine.new_batch(BatchRequest(name="B", source_endpoint="WithCreds", csv_data=CSV))
    assert info.counts.total == 2


def test_wait_after_start_on_a_synced_batch_waits_for_the_requested_pass(
    engine: Engine, source: str
) -> None:
    new_batch(engine)
    store = engine.store
    later = datetime.now(UTC) + timedelta(days=1)
    batch = store.batches.get("B1")
    store.batches.update(replace(batch, status="Active"))
    for user in store.users.list(batch_id=batch.id):
        store.users.update(replace(user, status="Synced", status_summary="Synced",
                                   next_sync_due_at=later))
    assert engine.wait_batch("B1", None, timedelta(seconds=1),
                             lambda info: None).status is BatchStatus.Synced
    engine.start_batch("B1")  # a pass is now due, but no runner has begun it
    with pytest.raises(ImshError) as caught:
        engine.wait_batch("B1", None, timedelta(seconds=0.3), lambda info: None, interval=0.1)
    assert caught.value.error_id == "WaitTimedOut"
    for user in store.users.list(batch_id=batch.id):  # as a runner records the finished pass
        store.users.update(replace(user, next_sync_due_at=later))
    assert engine.wait_batch("B1", None, timedelta(seconds=1),
                             lambda info: None).status is BatchStatus.Synced
