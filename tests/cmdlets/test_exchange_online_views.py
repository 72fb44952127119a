"""Exchange Online's default table views and ByteQuantifiedSize text: golden tests of the exact
text the console writes (the statistics are written into the real store, as a pass would)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from engine.bytesize import byte_quantified_size
from tests.cmdlets.conftest import Shell
from tests.cmdlets.test_exchange_parameters import open_store


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so LastSyncTime reads the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def synced(shell: Shell, utc: None) -> Shell:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    shell.ok(f'New-MigrationBatch -Name IMAPBatch1 -SourceEndpoint Src -CSVData '
             f'([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}"))')
    with open_store(shell) as store:
        ann = store.users.get("ann@contoso.com")
        store.users.update(replace(ann, status="Synced", status_summary="Synced",
                                   last_successful_sync_at=datetime(2026, 3, 4, 15, 7, 9,
                                                                    tzinfo=UTC)))
        stats = store.statistics.get(ann.id)
        store.statistics.save(replace(stats, synced_item_count=12873, skipped_item_count=2,
                                      total_items_in_source=12875,
                                      bytes_transferred=396_346_184, total_bytes=1_319_413_953))
    return shell


def test_get_migration_user_shows_exchange_onlines_columns(synced: Shell) -> None:
    assert synced.ok("Get-MigrationUser") == (
        "\n"
        "Identity        Batch      Status LastSyncTime\n"
        "--------        -----      ------ ------------\n"
        "ann@contoso.com IMAPBatch1 Synced 3/4/2026 3:07:09 PM\n"
        "bob@contoso.com IMAPBatch1 Queued\n"
        "\n")


def test_get_migration_user_statistics_shows_items_synced_and_skipped(synced: Shell) -> None:
    assert synced.ok("Get-MigrationUser | Get-MigrationUserStatistics") == (
        "\n"
        "Identity        Batch      Status Items Synced Items Skipped\n"
        "--------        -----      ------ ------------ -------------\n"
        "ann@contoso.com IMAPBatch1 Synced        12873             2\n"
        "bob@contoso.com IMAPBatch1 Queued            0             0\n"
        "\n")


def test_sizes_read_as_byte_quantified_size(synced: Shell) -> None:
    out = synced.ok("Get-MigrationUserStatistics ann@contoso.com | "
                    "Format-List BytesTransferred,EstimatedTotalTransferSize")
    assert out == ("\n"
                   "BytesTransferred           : 378 MB (396,346,184 bytes)\n"
                   "EstimatedTotalTransferSize : 1.229 GB (1,319,413,953 bytes)\n"
                   "\n")


def test_the_property_names_stay_exchanges(synced: Shell) -> None:
    out = synced.ok("Get-MigrationUser ann@contoso.com | "
                    "Format-Table BatchId,LastSuccessfulSyncTime -HideTableHeaders")
    assert out.split() == ["IMAPBatch1", "3/4/2026", "3:07:09", "PM"]


@pytest.mark.parametrize(("size", "text"), [
    (0, "0 B (0 bytes)"),
    (512, "512 B (512 bytes)"),
    (1024, "1 KB (1,024 bytes)"),
    (6656, "6.5 KB (6,656 bytes)"),
    (4_743_839, "4.524 MB (4,743,839 bytes)"),
    (396_346_184, "378 MB (396,346,184 bytes)"),
    (1_319_413_953, "1.229 GB (1,319,413,953 bytes)"),
    (53_150_220_288, "49.5 GB (53,150,220,288 bytes)"),
    (3 * 1024 ** 4, "3 TB (3,298,534,883,328 bytes)"),
])
def test_byte_quantified_size_text(size: int, text: str) -> None:
    assert byte_quantified_size(size) == text
