"""Which notification mail a batch is due, from literal facts (no store, no SMTP)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.model import BatchStatus as B
from engine.notify.compose import NotificationKind as K
from engine.notify.schedule import (
    NotificationLog,
    NotifyFacts,
    due_notification,
    report_due_at,
    retry_delay,
)

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(hours=24)

SYNCING = NotifyFacts(
    status=B.Syncing,
    has_recipients=True,
    report_interval=DAY,
    report_anchor=T0,
    initial_sync_completed_at=None,
    completed_at=None,
    log=NotificationLog(),
)
SYNCED = replace(SYNCING, status=B.Synced, initial_sync_completed_at=T0 + timedelta(hours=3))
INITIAL_SENT = replace(
    SYNCED,
    report_anchor=T0 + timedelta(hours=3),
    log=NotificationLog(initial_sent_at=T0 + timedelta(hours=3)),
)
COMPLETED = replace(INITIAL_SENT, status=B.Completed, completed_at=T0 + 2 * DAY)


def test_nothing_is_due_while_the_initial_sync_runs_within_the_interval() -> None:
    assert due_notification(SYNCING, T0 + timedelta(hours=23, minutes=59)) is None


def test_a_report_is_due_one_interval_after_the_start() -> None:
    assert report_due_at(SYNCING) == T0 + DAY
    assert due_notification(SYNCING, T0 + DAY) is K.Report


def test_the_finished_mail_is_due_once_the_initial_sync_completed() -> None:
    assert due_notification(SYNCED, T0 + timedelta(hours=3)) is K.InitialSyncFinished


@pytest.mark.parametrize("status", [B.Synced, B.SyncedWithErrors, B.Failed, B.IncrementalSyncing])
def test_the_finished_mail_goes_out_whatever_the_status_became(status: B) -> None:
    assert due_notification(replace(SYNCED, status=status), T0 + DAY) is K.InitialSyncFinished


def test_the_finished_mail_is_not_due_again_once_sent() -> None:
    assert due_notification(INITIAL_SENT, T0 + timedelta(hours=4)) is None


def test_reports_count_from_the_last_mail_sent() -> None:
    assert due_notification(INITIAL_SENT, T0 + timedelta(hours=3) + DAY - timedelta(seconds=1)) \
        is None
    assert due_notification(INITIAL_SENT, T0 + timedelta(hours=3) + DAY) is K.Report


def test_a_runner_that_was_down_for_days_sends_one_report_not_one_per_missed_day() -> None:
    late = T0 + 10 * DAY
    assert due_notification(INITIAL_SENT, late) is K.Report
    after = replace(INITIAL_SENT, report_anchor=late)  # what recording the report does
    assert due_notification(after, late + timedelta(minutes=1)) is None


def test_report_interval_zero_means_no_reports_but_the_finished_mail_still_goes() -> None:
    never = replace(SYNCING, report_interval=timedelta(0))
    assert report_due_at(never) is None
    assert due_notification(never, T0 + 100 * DAY) is None
    assert due_notification(replace(SYNCED, report_interval=timedelta(0)), T0 + DAY) \
        is K.InitialSyncFinished


@pytest.mark.parametrize(
    "status", [B.Created, B.Stopping, B.Stopped, B.Failed, B.Completed, B.CompletedWithErrors,
               B.Removing, B.Corrupted]
)
def test_no_periodic_report_for_a_batch_nobody_syncs(status: B) -> None:
    idle = replace(INITIAL_SENT, status=status)
    assert report_due_at(idle) is None
    assert due_notification(idle, T0 + 30 * DAY) is None


@pytest.mark.parametrize(
    "status", [B.Starting, B.Syncing, B.Synced, B.SyncedWithErrors, B.IncrementalSyncing,
               B.Completing]
)
def test_periodic_reports_while_the_batch_is_synced(status: B) -> None:
    assert due_notification(replace(INITIAL_SENT, status=status), T0 + 2 * DAY) is K.Report


def test_the_completion_mail_is_due_once_and_supersedes_an_unsent_finished_mail() -> None:
    assert due_notification(COMPLETED, T0 + 2 * DAY) is K.Completed
    never_announced = replace(COMPLETED, log=NotificationLog())
    assert due_notification(never_announced, T0 + 2 * DAY) is K.Completed
    sent = replace(COMPLETED, log=replace(COMPLETED.log, completed_sent_at=T0 + 2 * DAY))
    assert due_notification(sent, T0 + 30 * DAY) is None


def test_no_mail_without_recipients() -> None:
    for facts in (SYNCING, SYNCED, COMPLETED):
        assert due_notification(replace(facts, has_recipients=False), T0 + 30 * DAY) is None


def test_no_mail_for_a_batch_being_removed() -> None:
    assert due_notification(replace(SYNCED, status=B.Removing), T0 + DAY) is None


def test_a_failed_send_waits_for_its_retry_time() -> None:
    retry_at = T0 + timedelta(hours=3, minutes=1)
    failing = replace(SYNCED, log=NotificationLog(failures=1, retry_at=retry_at))
    assert due_notification(failing, retry_at - timedelta(seconds=1)) is None
    assert due_notification(failing, retry_at) is K.InitialSyncFinished


def test_retry_delay_doubles_from_one_minute_up_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600
    ]


def test_bookkeeping_round_trips_through_the_batch_extra_json() -> None:
    entry = NotificationLog(
        initial_sent_at=T0, completed_sent_at=None, failures=2, retry_at=T0 + DAY,
        last_error="down",
    )
    extra = entry.to_extra({"skipped_items_approved_at": "x"})
    assert extra["skipped_items_approved_at"] == "x"  # other keys are kept
    assert NotificationLog.from_extra(extra) == entry
    assert NotificationLog.from_extra({}) == NotificationLog()
