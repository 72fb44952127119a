"""Batch changes never overwrite what a concurrent runner or notification sender stamped.

The façade reads a batch, checks it, and then writes the whole row back. A second process
(here: a second Store on the same state) commits a stamp in between; the façade's write must
keep it. The hook runs the concurrent write right before the façade's write transaction
begins, which is exactly the window the old code left open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.service import Engine
from engine.service.batches import BatchChanges, BatchRequest
from engine.store import Store

CSV = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw\r\n"
SENT_AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
NOTIFIED = {"notifications": {"initial_sent_at": SENT_AT.isoformat()}}


def stamp_from_another_process(engine: Engine, batch_name: str) -> None:
    """What the notification sender records after a mail went out, from its own Store."""
    with Store.open(engine.store.paths) as other, other.transaction():
        row = other.batches.get(batch_name)
        other.batches.update(replace(row, last_report_sent_at=SENT_AT,
                                     initial_sync_completed_at=SENT_AT,
                                     extra={**row.extra, **NOTIFIED}))


def interleave_before_next_write(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                 concurrent: Callable[[], None]) -> None:
    """Run ``concurrent`` once, just before the façade's next write transaction starts."""
    original = engine.store.transaction
    pending = [concurrent]

    @contextmanager
    def transaction() -> Iterator[Store]:
        while pending:
            pending.pop()()
        with original() as store:
            yield store

    monkeypatch.setattr(engine.store, "transaction", transaction)


OPERATIONS: dict[str, Callable[[Engine], object]] = {
    "Set-MigrationBatch": lambda e: e.set_batch("B1", BatchChanges(
        notification_emails=("admin@contoso.com",), report_interval=timedelta(hours=2))),
    "Start-MigrationBatch": lambda e: e.start_batch("B1"),
    "Stop-MigrationBatch": lambda e: e.stop_batch("B1"),
    "Complete-MigrationBatch": lambda e: e.complete_batch("B1"),
}


@pytest.mark.parametrize("cmdlet", OPERATIONS)
def test_a_concurrent_stamp_survives_the_change(engine: Engine, source: str,
                                                monkeypatch: pytest.MonkeyPatch,
                                                cmdlet: str) -> None:
    engine.new_batch(BatchRequest(name="B1", source_endpoint=source, csv_data=CSV,
                                  auto_start=cmdlet in ("Stop-MigrationBatch",
                                                        "Complete-MigrationBatch")))
    if cmdlet == "Complete-MigrationBatch":
        user = engine.store.users.get("ann@contoso.com")
        engine.store.users.update(replace(user, status="Synced", status_summary="Synced"))
    interleave_before_next_write(engine, monkeypatch,
                                 lambda: stamp_from_another_process(engine, "B1"))

    OPERATIONS[cmdlet](engine)

    row = engine.store.batches.get("B1")
    assert (row.last_report_sent_at, row.initial_sync_completed_at) == (SENT_AT, SENT_AT)
    assert row.extra["notifications"] == NOTIFIED["notifications"]


def test_set_migration_batch_still_applies_its_own_changes(engine: Engine, source: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    engine.new_batch(BatchRequest(name="B1", source_endpoint=source, csv_data=CSV))
    interleave_before_next_write(engine, monkeypatch,
                                 lambda: stamp_from_another_process(engine, "B1"))
    info = engine.set_batch("B1", BatchChanges(notification_emails=("admin@contoso.com",),
                                               report_interval=timedelta(hours=2)))
    assert info.notification_emails == ("admin@contoso.com",)
    assert info.report_interval == timedelta(seconds=7200)
    assert info.last_report_sent_at == SENT_AT
