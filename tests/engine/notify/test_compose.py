"""The notification e-mail as composed from literal batch summaries: subjects, counts, CSV bytes."""

from __future__ import annotations

import csv
import email
import email.policy
import io
from datetime import UTC, datetime

import pytest

from engine.model import DataConsistencyScore
from engine.notify.compose import (
    ATTACHMENT_NAME,
    BatchSummary,
    Envelope,
    NotificationKind,
    UserResult,
    body,
    compose,
    results_csv,
    subject,
)
from shell.format.csvtext import parse_csv

K = NotificationKind

CLEAN = BatchSummary(
    "Wave 1",
    "Synced",
    (
        UserResult("ann@contoso.com", "Synced", 120, 2),
        UserResult("bob@contoso.com", "IncrementalSynced", 30, 0),
    ),
)
WITH_ERRORS = BatchSummary(
    "Wave 2",
    "SyncedWithErrors",
    (
        UserResult("ann@contoso.com", "Synced", 120, 2),
        UserResult(
            "bob@contoso.com",
            "Failed",
            0,
            0,
            'We had trouble signing in to this account. Confirm that you\'re using the "correct" '
            "user name and password.",
        ),
        UserResult("cy@contoso.com", "Stopped", 5, 0),
        UserResult("dee@contoso.com", "Syncing", 7, 1),
    ),
)
ENVELOPE = Envelope(
    sender="imsh@migration.contoso.com",
    recipients=("admin@contoso.com", "ops@contoso.com"),
    date=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
    message_id="<imsh.test.1@migration.contoso.com>",
)


@pytest.mark.parametrize(
    ("kind", "batch", "expected"),
    [
        (K.InitialSyncFinished, CLEAN, 'E-mail migration batch "Wave 1" has finished'),
        (
            K.InitialSyncFinished,
            WITH_ERRORS,
            'E-mail migration batch "Wave 2" has finished - with errors',
        ),
        (K.Completed, CLEAN, 'E-mail migration batch "Wave 1" has been completed'),
        (
            K.Completed,
            WITH_ERRORS,
            'E-mail migration batch "Wave 2" has been completed - with errors',
        ),
        (K.Report, WITH_ERRORS, 'E-mail migration batch "Wave 2" status report'),
    ],
)
def test_subject(kind: NotificationKind, batch: BatchSummary, expected: str) -> None:
    assert subject(kind, batch) == expected


def test_a_line_break_in_the_batch_name_cannot_inject_headers() -> None:
    batch = BatchSummary("Evil\r\nBcc: x@y.z", "Synced")
    message = compose(K.Report, batch, ENVELOPE)
    assert message["Subject"] == 'E-mail migration batch "Evil  Bcc: x@y.z" status report'
    assert message["Bcc"] is None


def test_counts_migrated_and_failed_by_status_summary() -> None:
    # Synced counts as migrated; Failed as failed; Stopped and Syncing as neither.
    assert (WITH_ERRORS.migrated, WITH_ERRORS.failed) == (1, 1)
    assert (WITH_ERRORS.items_synced, WITH_ERRORS.items_skipped) == (132, 3)
    assert (CLEAN.migrated, CLEAN.failed) == (2, 0)


def test_body_states_the_counts_and_the_failures() -> None:
    text = body(K.InitialSyncFinished, WITH_ERRORS)
    lines = text.splitlines()
    for expected in (
        "Status: SyncedWithErrors",
        "Mailboxes in the batch: 4",
        "Mailboxes migrated successfully: 1",
        "Mailboxes that couldn't be migrated: 1",
        "Items synced: 132",
        "Items skipped: 3",
        '  Get-MigrationBatch -Identity "Wave 2" -IncludeReport | Format-List',
    ):
        assert expected in lines
    assert any(line.startswith("  bob@contoso.com: We had trouble signing in") for line in lines)
    assert not any(line.startswith("  ann@contoso.com") for line in lines)


def test_csv_bytes_are_export_csv_style_utf8_without_bom() -> None:
    data = results_csv(
        (
            UserResult("ann@contoso.com", "Synced", 120, 2,
                       data_consistency_score=DataConsistencyScore.Good,
                       proof="Identical 2026-12-01 10:00Z: 120 messages"),
            UserResult("zoë@contoso.com", "Failed", 0, 0, 'Say "hi", then, fail'),
        )
    )
    assert data == (
        b'"EmailAddress","Status","ItemsSynced","ItemsSkipped","ErrorMessage",'
        b'"DataConsistencyScore","Proof"\r\n'
        b'"ann@contoso.com","Synced","120","2",,"Good","Identical 2026-12-01 10:00Z: 120 '
        b'messages"\r\n'
        b'"zo\xc3\xab@contoso.com","Failed","0","0","Say ""hi"", then, fail","Perfect",\r\n'
    )


def test_the_body_names_the_score_and_each_mailbox_that_needs_a_look() -> None:
    batch = BatchSummary("Wave 3", "Synced", (
        UserResult("ann@contoso.com", "Synced", 10, 0),
        UserResult("bob@contoso.com", "Synced", 9, 0,
                   data_consistency_score=DataConsistencyScore.Investigate,
                   proof="Different 2026-12-01 10:00Z: 1 missing or altered, 0 changed, "
                         "0 extra, 1 folders missing"),
    ))
    lines = body(NotificationKind.InitialSyncFinished, batch).splitlines()
    assert "Data consistency score: Investigate" in lines
    assert any(line.startswith("  bob@contoso.com: Investigate, Different") for line in lines)
    assert not any(line.startswith("  ann@contoso.com") for line in lines)


def test_csv_of_a_batch_without_users_is_the_header_alone() -> None:
    assert results_csv(()) == (
        b'"EmailAddress","Status","ItemsSynced","ItemsSkipped","ErrorMessage",'
        b'"DataConsistencyScore","Proof"\r\n'
    )


def test_csv_reads_back_with_import_csv_and_the_csv_module() -> None:
    data = results_csv(WITH_ERRORS.results)
    imported = parse_csv(data.decode("utf-8"))
    assert [r.get("EmailAddress") for r in imported] == [
        r.email_address for r in WITH_ERRORS.results
    ]
    assert imported[1].get("ErrorMessage") == WITH_ERRORS.results[1].error_message
    assert imported[0].get("ErrorMessage") == ""  # $null is written as an empty field
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [(r["Status"], r["ItemsSynced"], r["ItemsSkipped"]) for r in rows] == [
        ("Synced", "120", "2"),
        ("Failed", "0", "0"),
        ("Stopped", "5", "0"),
        ("Syncing", "7", "1"),
    ]


def test_message_headers_body_and_attachment_survive_the_wire() -> None:
    message = compose(K.InitialSyncFinished, WITH_ERRORS, ENVELOPE)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    assert parsed["Subject"] == 'E-mail migration batch "Wave 2" has finished - with errors'
    assert parsed["From"] == "imsh@migration.contoso.com"
    assert [a.addr_spec for a in parsed["To"].addresses] == [
        "admin@contoso.com",
        "ops@contoso.com",
    ]
    assert parsed["Date"].datetime == ENVELOPE.date
    assert parsed["Message-ID"] == "<imsh.test.1@migration.contoso.com>"
    text = parsed.get_body(preferencelist=("plain",))
    assert text is not None
    assert "Mailboxes that couldn't be migrated: 1" in text.get_content()
    attachments = list(parsed.iter_attachments())
    assert len(attachments) == 1
    assert attachments[0].get_filename() == ATTACHMENT_NAME
    assert attachments[0].get_content_type() == "text/csv"
    assert attachments[0].get_payload(decode=True) == results_csv(WITH_ERRORS.results)


HELD = BatchSummary(
    "Wave 3",
    "Synced",
    (
        UserResult("ann@contoso.com", "IncrementalSynced", 120, 0, None, 120,
                   "the pass would delete every one of the 120 messages copied to the target"),
        UserResult("bob@contoso.com", "IncrementalSynced", 30, 0),
    ),
)


def test_held_deletions_are_named_in_the_body_and_the_csv() -> None:
    text = body(K.Report, HELD)
    assert "Deletions held" in text and "-ApproveDeletions" in text
    assert "  ann@contoso.com: 120 held, because the pass would delete every one" in text
    assert "bob@contoso.com: " not in text.split("Deletions held")[1]
    rows = parse_csv(results_csv(HELD.results).decode("utf-8"))
    assert [r.get("ErrorMessage") for r in rows] == ["Deletions held: 120", ""]


def test_no_held_deletions_no_paragraph() -> None:
    assert "Deletions held" not in body(K.Report, CLEAN)
