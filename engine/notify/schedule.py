"""When notification mail is due, and :func:`run_due_notifications`, which sends it.

A batch with ``-NotificationEmails`` gets (docs/notifications.md):

- one ``InitialSyncFinished`` mail once its initial sync is over (the runner stamps
  ``initial_sync_completed_at`` when the batch first settles at Synced, SyncedWithErrors or
  Failed) — unless the batch was completed before that mail could go out;
- one ``Completed`` mail once Complete-MigrationBatch finished (``completed_at``);
- a ``Report`` every ``-ReportInterval`` (0 = never) while the batch is being synced, counted
  from the last mail of any kind (``last_report_sent_at``), else from when it was started.

Bookkeeping lives in the batch row: ``last_report_sent_at`` and, under ``extra["notifications"]``,
when the two one-off mails went out and the state of a failing send (failures, next retry, last
error). A failed send is retried with backoff (1 min doubling to 1 h), logged as a warning and
kept as ``last_error``; it never raises into the runner.

Delivery is **at least once**. A ``notify:<batch id>`` lease keeps two processes from sending
for one batch at once; the mail is recorded as sent in the transaction right after the SMTP
server accepted it. A crash in between (milliseconds) sends that mail again on the next call.
The repeat carries the same Message-ID (made from the batch and the event), so a mail system
that removes duplicates by Message-ID shows it once. Losing a "has finished" mail was judged
worse than a rare duplicate.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import Enum
from typing import Any

from engine.errors import ImshError, PermanentError, TransientError
from engine.model import BatchStatus, MigrationUserStatus
from engine.notify.compose import (
    BatchSummary,
    Envelope,
    NotificationKind,
    UserResult,
    compose,
)
from engine.notify.settings import SMTP_SERVER, SmtpSettings
from engine.notify.smtp import send_message
from engine.store import Store
from engine.store.batches import BatchRow
from engine.store.users import MigrationUserRow
from engine.transitions import BatchPhase, batch_status_from_users
from engine.verify.score import proof_text, user_score

log = logging.getLogger(__name__)

Sender = Callable[[SmtpSettings, EmailMessage], None]

LEASE_PREFIX = "notify:"
LEASE_TTL = timedelta(minutes=5)  # well above the SMTP timeout
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
EXTRA_KEY = "notifications"

B = BatchStatus
# The batch is being synced (or about to be): worth a periodic report. Created, Stopping,
# Stopped, Failed, Completed, CompletedWithErrors, Removing and Corrupted batches change only
# when the administrator acts, so a daily report would say the same thing again.
REPORTING_STATUSES = frozenset(
    {B.Starting, B.Waiting, B.Syncing, B.Synced, B.SyncedWithErrors, B.IncrementalSyncing,
     B.Completing}
)


@dataclass(frozen=True)
class NotificationLog:
    """A batch's notification bookkeeping, kept in ``extra["notifications"]``."""

    initial_sent_at: datetime | None = None
    completed_sent_at: datetime | None = None
    failures: int = 0
    retry_at: datetime | None = None
    last_error: str | None = None

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> NotificationLog:
        data = extra.get(EXTRA_KEY) or {}
        return cls(
            initial_sent_at=_time(data.get("initial_sent_at")),
            completed_sent_at=_time(data.get("completed_sent_at")),
            failures=int(data.get("failures", 0)),
            retry_at=_time(data.get("retry_at")),
            last_error=data.get("last_error"),
        )

    def to_extra(self, extra: dict[str, Any]) -> dict[str, Any]:
        data = {
            "initial_sent_at": _text(self.initial_sent_at),
            "completed_sent_at": _text(self.completed_sent_at),
            "failures": self.failures,
            "retry_at": _text(self.retry_at),
            "last_error": self.last_error,
        }
        return {**extra, EXTRA_KEY: {k: v for k, v in data.items() if v not in (None, 0)}}


@dataclass(frozen=True)
class NotifyFacts:
    """What decides which mail a batch is due."""

    status: BatchStatus
    has_recipients: bool
    report_interval: timedelta
    report_anchor: datetime  # the last mail sent, else when the batch was started or created
    initial_sync_completed_at: datetime | None
    completed_at: datetime | None
    log: NotificationLog


def facts_of(batch: BatchRow, status: BatchStatus) -> NotifyFacts:
    return NotifyFacts(
        status=status,
        has_recipients=bool(batch.notification_emails),
        report_interval=timedelta(seconds=batch.report_interval_seconds),
        report_anchor=batch.last_report_sent_at or batch.started_at or batch.created_at,
        initial_sync_completed_at=batch.initial_sync_completed_at,
        completed_at=batch.completed_at,
        log=NotificationLog.from_extra(batch.extra),
    )


def due_notification(facts: NotifyFacts, now: datetime) -> NotificationKind | None:
    """The one mail the batch is due at ``now``, if any (pure)."""
    if not facts.has_recipients or facts.status is B.Removing:
        return None
    if facts.log.retry_at is not None and now < facts.log.retry_at:
        return None
    if facts.completed_at is not None:
        return NotificationKind.Completed if facts.log.completed_sent_at is None else None
    if facts.initial_sync_completed_at is not None and facts.log.initial_sent_at is None:
        return NotificationKind.InitialSyncFinished
    report_at = report_due_at(facts)
    if report_at is not None and now >= report_at:
        return NotificationKind.Report
    return None


def report_due_at(facts: NotifyFacts) -> datetime | None:
    """When the next periodic report is due; None when none will be (interval 0, idle batch)."""
    if facts.report_interval <= timedelta(0) or facts.status not in REPORTING_STATUSES:
        return None
    return facts.report_anchor + facts.report_interval


def retry_delay(failures: int) -> timedelta:
    """Backoff after ``failures`` failed sends in a row: 1 min, 2 min, 4 min ... at most 1 h."""
    return min(FIRST_RETRY * 2 ** max(failures - 1, 0), MAX_RETRY)


def run_due_notifications(store: Store, now: datetime, sender: Sender = send_message) -> int:
    """Send every notification mail that is due at ``now``; returns how many were sent.

    Never raises an :class:`ImshError`: a failure is logged, recorded on the batch and
    retried later.
    """
    try:
        batches = store.batches.list()
    except ImshError as exc:
        log.warning("notification mail: cannot read the batches: %s", exc)
        return 0
    sent = 0
    for batch in batches:
        # A cheap, read-only look first: the lease and the full re-check only when mail is due.
        if not batch.notification_emails or _due(store, batch, now) is None:
            continue
        outcome = _notify_batch(store, batch.id, now, sender)
        if outcome is _Outcome.sent:
            sent += 1
        if outcome is _Outcome.unreachable:
            # One timeout per call at most: the runner's loop waits for this call.
            log.info("notification mail: SMTP server unavailable, the rest wait for next time")
            break
    return sent


def _due(store: Store, batch: BatchRow, now: datetime) -> NotificationKind | None:
    try:
        return due_notification(facts_of(batch, batch_status(store, batch)), now)
    except ImshError as exc:
        log.warning("notification mail for batch %s: %s", batch.name, exc)
        return None


class _Outcome(Enum):
    sent = "sent"
    nothing = "nothing"  # not due after all, or another process holds the batch
    failed = "failed"
    unreachable = "unreachable"  # a transient failure: the server is down or slow


def _notify_batch(store: Store, batch_id: int, now: datetime, sender: Sender) -> _Outcome:
    resource, owner = f"{LEASE_PREFIX}{batch_id}", uuid.uuid4().hex
    try:
        if not store.leases.acquire(resource, owner, LEASE_TTL, now):
            return _Outcome.nothing
        try:
            return _send_due(store, batch_id, now, sender)
        finally:
            store.leases.release(resource, owner)
    except ImshError as exc:
        log.warning("notification mail for batch id %s: %s", batch_id, exc)
        return _Outcome.failed


def _send_due(store: Store, batch_id: int, now: datetime, sender: Sender) -> _Outcome:
    batch = store.batches.get_by_id(batch_id)  # re-read under the lease
    facts = facts_of(batch, batch_status(store, batch))
    kind = due_notification(facts, now)
    if kind is None:
        return _Outcome.nothing
    try:
        settings = _settings(store)
        sender(settings, _message(store, batch, facts, kind, now, settings))
    except ImshError as exc:
        _record_failure(store, batch_id, now, exc)
        return _Outcome.unreachable if isinstance(exc, TransientError) else _Outcome.failed
    except Exception as exc:  # a bug here must not stop the runner's syncs
        log.exception("notification mail for batch %s failed unexpectedly", batch.name)
        _record_failure(store, batch_id, now, ImshError(f"Unexpected error: {exc!r}"))
        return _Outcome.failed
    _record_sent(store, batch_id, kind, now)
    log.info("sent the %s mail of batch %s to %s", kind, batch.name,
             ", ".join(batch.notification_emails))
    return _Outcome.sent


def batch_status(store: Store, batch: BatchRow) -> BatchStatus:
    """The derived batch status (docs/status-model.md), from counts: no passwords unsealed."""
    try:
        phase = BatchPhase(batch.status)
    except ValueError:  # the store holds a phase; an older status word counts as active
        phase = BatchPhase.Active
    counts = store.users.count_by_status(batch.id)
    statuses = [MigrationUserStatus(s) for s, n in counts.items() for _ in range(n)]
    return batch_status_from_users(phase, statuses)


def _settings(store: Store) -> SmtpSettings:
    settings = SmtpSettings.from_config(store.config)
    if settings is None:
        raise PermanentError(
            f"No SMTP server is configured, so notification mail can't be sent. Set one "
            f"with Set-MigrationConfig -{SMTP_SERVER}.",
            error_id="SmtpServerNotConfigured",
        )
    return settings


def _message(
    store: Store,
    batch: BatchRow,
    facts: NotifyFacts,
    kind: NotificationKind,
    now: datetime,
    settings: SmtpSettings,
) -> EmailMessage:
    users = store.users.list(batch_id=batch.id)
    summary = BatchSummary(batch.name, facts.status.value, _results(store, users))
    envelope = Envelope(
        sender=settings.from_address,
        recipients=batch.notification_emails,
        date=now,
        message_id=message_id(batch, kind, _event_time(facts, kind, now), settings.from_address),
    )
    return compose(kind, summary, envelope)


def _results(store: Store, users: list[MigrationUserRow]) -> tuple[UserResult, ...]:
    results = []
    for user in users:
        if user.status == MigrationUserStatus.Removing:
            continue
        stats = store.statistics.get(user.id)
        held = (store.messages.count_held(user.id)
                + store.messages.count_held_folders(user.id))
        results.append(UserResult(user.email_address, user.status, stats.synced_item_count,
                                  stats.skipped_item_count, user.error, held,
                                  stats.held_deletions_reason if held else None,
                                  user_score(store, user.id),
                                  proof_text(store.proofs.latest(user.id))))
    return tuple(results)


def _event_time(facts: NotifyFacts, kind: NotificationKind, now: datetime) -> datetime:
    """The time of the event the mail is about: the same on every retry of that mail."""
    if kind is NotificationKind.Completed:
        return facts.completed_at or now
    if kind is NotificationKind.InitialSyncFinished:
        return facts.initial_sync_completed_at or now
    return report_due_at(facts) or now


def message_id(batch: BatchRow, kind: NotificationKind, event: datetime, sender: str) -> str:
    """A Message-ID that is the same for every attempt to send one notification."""
    domain = sender.rpartition("@")[2] or "imsh.invalid"
    stamp = f"{batch.created_at:%Y%m%d%H%M%S%f}.{event:%Y%m%d%H%M%S%f}"
    return f"<imsh.{kind.value.lower()}.{batch.id}.{stamp}@{domain}>"


def _record_sent(store: Store, batch_id: int, kind: NotificationKind, now: datetime) -> None:
    with store.transaction():
        batch = store.batches.get_by_id(batch_id)
        entry = NotificationLog.from_extra(batch.extra)
        if kind is NotificationKind.Completed:
            entry = replace(entry, completed_sent_at=now)
        elif kind is NotificationKind.InitialSyncFinished:
            entry = replace(entry, initial_sent_at=now)
        entry = replace(entry, failures=0, retry_at=None, last_error=None)
        store.batches.update(
            replace(batch, last_report_sent_at=now, extra=entry.to_extra(batch.extra))
        )


def _record_failure(store: Store, batch_id: int, now: datetime, error: ImshError) -> None:
    with store.transaction():
        batch = store.batches.get_by_id(batch_id)
        entry = NotificationLog.from_extra(batch.extra)
        failures = entry.failures + 1
        retry_at = now + retry_delay(failures)
        entry = replace(entry, failures=failures, retry_at=retry_at, last_error=error.message)
        store.batches.update(replace(batch, extra=entry.to_extra(batch.extra)))
    log.warning(
        "notification mail for batch %s not sent (attempt %d, next try at %s): %s",
        batch.name, failures, retry_at.isoformat(timespec="seconds"), error.message,
    )


def clear_backoff(store: Store) -> None:
    """Forget every batch's retry wait, so the next call tries at once (for the SMTP settings
    having just been changed with Set-MigrationConfig)."""
    with store.transaction():
        for batch in store.batches.list():
            entry = NotificationLog.from_extra(batch.extra)
            if entry.retry_at is not None:
                entry = replace(entry, retry_at=None)
                store.batches.update(replace(batch, extra=entry.to_extra(batch.extra)))


def notification_log(batch: BatchRow) -> NotificationLog:
    """The batch's notification bookkeeping (for Get-MigrationBatch and tests)."""
    return NotificationLog.from_extra(batch.extra)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _text(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
