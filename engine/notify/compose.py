"""Pure composition of a notification e-mail about one batch: subject, body, CSV attachment.

Three kinds of mail (docs/notifications.md):

- ``InitialSyncFinished`` — the batch's initial sync is over. Subject
  ``E-mail migration batch "NAME" has finished``, with `` - with errors`` appended when a
  mailbox could not be migrated: Exchange's wording (reference/ms-cmdlets.md §B8, TSHOOT).
- ``Report`` — the status report every ``-ReportInterval``. Subject and wording are imsh's.
- ``Completed`` — Complete-MigrationBatch finished. Subject and wording are imsh's, in the same
  pattern as Exchange's.

Every mail carries the per-user results as ``MigrationStatistics.csv`` (imsh's name): the
columns ``EmailAddress,Status,ItemsSynced,ItemsSkipped,ErrorMessage,DataConsistencyScore,Proof``
(the last two: engine/verify/score.py), written as PowerShell's
Export-Csv writes (every field quoted, embedded quotes doubled, ``$null`` as an empty unquoted
field), UTF-8 without BOM, CRLF line ends as RFC 4180 and Exchange (a Windows service) write.
Import-Csv reads it back. Exchange's mail links to statistics and error reports; imsh has no
web pages, so the body names the cmdlets that show them instead.

Nothing here does I/O; the caller supplies the time, the addresses and the Message-ID.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum

from engine.model import (
    DataConsistencyScore,
    MigrationUserStatus,
    MigrationUserStatusSummary,
    status_summary,
    worst_score,
)

ATTACHMENT_NAME = "MigrationStatistics.csv"
CSV_COLUMNS = ("EmailAddress", "Status", "ItemsSynced", "ItemsSkipped", "ErrorMessage",
               "DataConsistencyScore", "Proof")
_WIDTH = 72
_MIGRATED = frozenset({MigrationUserStatusSummary.Synced, MigrationUserStatusSummary.Completed})


class NotificationKind(StrEnum):
    InitialSyncFinished = "InitialSyncFinished"
    Report = "Report"
    Completed = "Completed"


@dataclass(frozen=True)
class UserResult:
    """One migration user's line in the CSV attachment."""

    email_address: str
    status: str
    items_synced: int = 0
    items_skipped: int = 0
    error_message: str | None = None
    held_deletions: int = 0  # the deletion guard held these (engine/sync/guard.py)
    held_reason: str | None = None
    data_consistency_score: DataConsistencyScore = DataConsistencyScore.Perfect
    proof: str | None = None  # the latest proof in one line (engine/verify/score.proof_text)

    @property
    def summary(self) -> MigrationUserStatusSummary | None:
        try:
            return status_summary(MigrationUserStatus(self.status))
        except ValueError:
            return None


@dataclass(frozen=True)
class BatchSummary:
    """What the mail reports about a batch."""

    name: str
    status: str
    results: tuple[UserResult, ...] = ()

    @property
    def migrated(self) -> int:
        return sum(1 for r in self.results if r.summary in _MIGRATED)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.summary is MigrationUserStatusSummary.Failed)

    @property
    def items_synced(self) -> int:
        return sum(r.items_synced for r in self.results)

    @property
    def items_skipped(self) -> int:
        return sum(r.items_skipped for r in self.results)

    @property
    def data_consistency_score(self) -> DataConsistencyScore:
        return worst_score(r.data_consistency_score for r in self.results)


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: tuple[str, ...]
    date: datetime
    message_id: str


def compose(kind: NotificationKind, batch: BatchSummary, envelope: Envelope) -> EmailMessage:
    """The complete message: headers, plain-text body and the CSV attachment."""
    message = EmailMessage()
    message["Subject"] = subject(kind, batch)
    message["From"] = envelope.sender
    message["To"] = ", ".join(envelope.recipients)
    message["Date"] = format_datetime(envelope.date)
    message["Message-ID"] = envelope.message_id
    message.set_content(body(kind, batch))
    message.add_attachment(
        results_csv(batch.results),
        maintype="text",
        subtype="csv",
        filename=ATTACHMENT_NAME,
        params={"charset": "utf-8"},
    )
    return message


def subject(kind: NotificationKind, batch: BatchSummary) -> str:
    name = _one_line(batch.name)
    errors = " - with errors" if batch.failed else ""
    if kind is NotificationKind.InitialSyncFinished:
        return f'E-mail migration batch "{name}" has finished{errors}'  # Exchange's wording
    if kind is NotificationKind.Completed:
        return f'E-mail migration batch "{name}" has been completed{errors}'  # imsh's wording
    return f'E-mail migration batch "{name}" status report'  # imsh's wording


_OPENING = {  # imsh's wording
    NotificationKind.InitialSyncFinished: (
        "The initial synchronization of the migration batch \"{name}\" has finished. From now "
        "on, the mailboxes are kept in step by incremental synchronization until the batch is "
        "completed or removed."
    ),
    NotificationKind.Report: "This is the status report of the migration batch \"{name}\".",
    NotificationKind.Completed: (
        "The migration batch \"{name}\" has been completed. Its mailboxes are no longer "
        "synchronized."
    ),
}


def body(kind: NotificationKind, batch: BatchSummary) -> str:
    """The plain-text body: what happened, the counts, the failures, where to look further."""
    name = _one_line(batch.name)
    lines = [
        *textwrap.wrap(_OPENING[kind].format(name=name), _WIDTH),
        "",
        f"Status: {batch.status}",
        f"Mailboxes in the batch: {len(batch.results)}",
        f"Mailboxes migrated successfully: {batch.migrated}",
        f"Mailboxes that couldn't be migrated: {batch.failed}",
        f"Items synced: {batch.items_synced}",
        f"Items skipped: {batch.items_skipped}",
        f"Data consistency score: {batch.data_consistency_score}",
        "",
        *_failures(batch.results),
        *_proofs(batch.results),
        *_held(batch.results),
        *textwrap.wrap(
            f"The attached {ATTACHMENT_NAME} lists every mailbox with its status, the items "
            "synced and skipped, and the error message of each mailbox that couldn't be "
            "migrated.",
            _WIDTH,
        ),
        "",
        "Migration statistics and error reports:",
        f"  Get-MigrationBatch -Identity \"{name}\" -IncludeReport | Format-List",
        f"  Get-MigrationUser -BatchId \"{name}\" | Get-MigrationUserStatistics -IncludeReport",
    ]
    return "\n".join(lines) + "\n"


def _failures(results: Sequence[UserResult]) -> list[str]:
    failed = [r for r in results if r.summary is MigrationUserStatusSummary.Failed]
    if not failed:
        return []
    lines = ["Mailboxes that couldn't be migrated:"]
    lines += [f"  {r.email_address}: {_one_line(r.error_message or r.status)}" for r in failed]
    return [*lines, ""]


def _proofs(results: Sequence[UserResult]) -> list[str]:
    """The mailboxes whose latest proof was not Perfect (docs/proof.md)."""
    shown = [r for r in results
             if r.data_consistency_score is not DataConsistencyScore.Perfect]
    if not shown:
        return []
    lines = ["Mailboxes whose data consistency needs a look (Test-MigrationUser -Detailed):"]
    lines += [f"  {r.email_address}: {r.data_consistency_score}"
              + (f", {_one_line(r.proof)}" if r.proof else "") for r in shown]
    return [*lines, ""]


def _held(results: Sequence[UserResult]) -> list[str]:
    """The mailboxes whose deletions imsh held: they need the administrator's approval."""
    held = [r for r in results if r.held_deletions]
    if not held:
        return []
    lines = textwrap.wrap(
        "Deletions held (nothing was deleted on the target; review the source, then approve "
        "with Set-MigrationUser -Identity <mailbox> -ApproveDeletions):", _WIDTH)
    lines += [f"  {r.email_address}: {r.held_deletions} held"
              + (f", because {_one_line(r.held_reason)}" if r.held_reason else "")
              for r in held]
    return [*lines, ""]


def results_csv(results: Sequence[UserResult]) -> bytes:
    """The per-user CSV (Export-Csv quoting, UTF-8 without BOM, CRLF)."""
    rows: list[list[str | None]] = [list(CSV_COLUMNS)]
    rows += [
        [r.email_address, r.status, str(r.items_synced), str(r.items_skipped),
         r.error_message or (f"Deletions held: {r.held_deletions}" if r.held_deletions else None),
         str(r.data_consistency_score), r.proof]
        for r in results
    ]
    return "".join(_csv_line(row) + "\r\n" for row in rows).encode("utf-8")


def _csv_line(fields: Sequence[str | None]) -> str:
    # Export-Csv writes $null as nothing at all and every other value quoted.
    return ",".join("" if f is None else '"' + f.replace('"', '""') + '"' for f in fields)


def _one_line(text: str) -> str:
    """Header-safe text: line breaks and other control characters become spaces."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text).strip()
