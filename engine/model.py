"""The migration vocabulary: Exchange's enumerations with their exact spellings, and small values.

Every enumeration here is a :class:`~enum.StrEnum` whose *values* are the spellings Exchange
documents (reference/ms-cmdlets.md §0.1), in Exchange's enum order, so ``str(status)`` is what a
cmdlet prints and what a script compares against. Python member names equal the values, except
where the value is a Python keyword (``None`` becomes the member ``NONE`` with value ``"None"``).

PowerShell binds enum parameters case-insensitively (the docs even spell ``SyncedwithErrors``);
:func:`parse_enum` does the same and, on failure, raises :class:`ValidationError` with
PowerShell's "Unable to match the identifier name ..." wording.

Values that imsh adds (endpoint kinds EWS and Maildir) are marked as imsh's in their docstrings.
Nothing in this module does I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from engine.errors import ValidationError


class SyncKind(StrEnum):
    """imsh's: which pass this is: the first full copy, or a later pass over the changes (which also
    deletes). The one spelling of the concept: the runner's jobs carry it
    (:class:`engine.runner.jobs.SyncJob`), the planner takes it as ``phase``, and the store's
    ``sync_kind`` column holds its value."""

    initial = "initial"
    incremental = "incremental"


class BatchStatus(StrEnum):
    """``MigrationBatchStatus``, in the order of Exchange's enum (REF-2018 Get-MigrationBatch)."""

    Created = "Created"
    Syncing = "Syncing"
    Stopping = "Stopping"
    Stopped = "Stopped"
    Completed = "Completed"
    Failed = "Failed"
    Removing = "Removing"
    Synced = "Synced"
    IncrementalSyncing = "IncrementalSyncing"
    Completing = "Completing"
    CompletedWithErrors = "CompletedWithErrors"
    SyncedWithErrors = "SyncedWithErrors"
    Corrupted = "Corrupted"
    Waiting = "Waiting"
    Starting = "Starting"


class MigrationUserStatus(StrEnum):
    """``MigrationUserStatus``, in the order of Exchange's enum (REF-2018 Get-MigrationUser)."""

    Queued = "Queued"
    Syncing = "Syncing"
    Failed = "Failed"
    Synced = "Synced"
    IncrementalFailed = "IncrementalFailed"
    Completing = "Completing"
    Completed = "Completed"
    CompletionFailed = "CompletionFailed"
    Corrupted = "Corrupted"
    Provisioning = "Provisioning"
    ProvisionUpdating = "ProvisionUpdating"
    CompletionSynced = "CompletionSynced"
    Validating = "Validating"
    IncrementalSyncing = "IncrementalSyncing"
    IncrementalSynced = "IncrementalSynced"
    CompletedWithWarnings = "CompletedWithWarnings"
    Stopped = "Stopped"
    IncrementalStopped = "IncrementalStopped"
    Starting = "Starting"
    Stopping = "Stopping"
    Removing = "Removing"


class MigrationUserStatusSummary(StrEnum):
    """``MigrationUserStatusSummary`` (-StatusSummary of Get-MigrationUser)."""

    Active = "Active"
    Failed = "Failed"
    Synced = "Synced"
    Completed = "Completed"
    Stopped = "Stopped"


class IMAPSecurityMechanism(StrEnum):
    """``-Security`` of an IMAP endpoint: ``None`` (plain, port 143), ``Ssl`` (993), ``Tls``
    (STARTTLS on 143)."""

    NONE = "None"
    Ssl = "Ssl"
    Tls = "Tls"


class AuthenticationMethod(StrEnum):
    """``AuthenticationMethod`` as Exchange lists it (REF-2019). IMAP uses Basic or Ntlm."""

    Basic = "Basic"
    Digest = "Digest"
    Ntlm = "Ntlm"
    Fba = "Fba"
    WindowsIntegrated = "WindowsIntegrated"
    LiveIdFba = "LiveIdFba"
    LiveIdBasic = "LiveIdBasic"
    WSSecurity = "WSSecurity"
    Certificate = "Certificate"
    NegoEx = "NegoEx"
    OAuth = "OAuth"
    Adfs = "Adfs"
    Kerberos = "Kerberos"
    Negotiate = "Negotiate"
    LiveIdNegotiate = "LiveIdNegotiate"
    Misconfigured = "Misconfigured"


IMAP_AUTHENTICATION_METHODS = frozenset({AuthenticationMethod.Basic, AuthenticationMethod.Ntlm})
"""The methods REF names for IMAP/Test-MigrationServerAvailability ("Use Basic or NTLM")."""


class MigrationType(StrEnum):
    """``MigrationType`` (Get-MigrationEndpoint -Type), full Exchange enum (REF-2018)."""

    NONE = "None"
    IMAP = "IMAP"
    XO1 = "XO1"
    ExchangeOutlookAnywhere = "ExchangeOutlookAnywhere"
    BulkProvisioning = "BulkProvisioning"
    ExchangeRemoteMove = "ExchangeRemoteMove"
    ExchangeLocalMove = "ExchangeLocalMove"
    PSTImport = "PSTImport"
    PublicFolder = "PublicFolder"


class EndpointType(StrEnum):
    """The kinds of endpoint imsh can use. ``IMAP`` is Exchange's; ``EWS`` and ``Maildir`` are
    imsh's additions (DESIGN.md §3). An IMAP endpoint can be a batch's source or its target."""

    IMAP = "IMAP"
    EWS = "EWS"
    Maildir = "Maildir"
    Gmail = "Gmail"  # a Google Workspace source (engine/gmail_endpoint.py)


class DataConsistencyScore(StrEnum):
    """Exchange's grades, best first; a batch takes its worst user's grade (reference §B7)."""

    Perfect = "Perfect"
    Good = "Good"
    Investigate = "Investigate"
    Poor = "Poor"


_S = MigrationUserStatus
_SUMMARY_OF: dict[MigrationUserStatus, MigrationUserStatusSummary] = {
    **dict.fromkeys(
        (_S.Validating, _S.Provisioning, _S.ProvisionUpdating, _S.Queued, _S.Syncing,
         _S.Completing, _S.Starting, _S.Stopping, _S.Removing),
        MigrationUserStatusSummary.Active,
    ),
    **dict.fromkeys(
        (_S.Synced, _S.IncrementalSyncing, _S.IncrementalSynced, _S.CompletionSynced),
        MigrationUserStatusSummary.Synced,
    ),
    _S.Completed: MigrationUserStatusSummary.Completed,
    **dict.fromkeys(
        (_S.Failed, _S.IncrementalFailed, _S.CompletionFailed, _S.CompletedWithWarnings,
         _S.Corrupted),
        MigrationUserStatusSummary.Failed,
    ),
    **dict.fromkeys((_S.Stopped, _S.IncrementalStopped), MigrationUserStatusSummary.Stopped),
}
# IncrementalSynced is absent from the decompiled Exchange 2013 mapping (reference §A13);
# imsh files it under Synced, next to IncrementalSyncing and CompletionSynced.


def status_summary(status: MigrationUserStatus) -> MigrationUserStatusSummary:
    """The ``StatusSummary`` Exchange derives from a user's ``Status``."""
    return _SUMMARY_OF[status]


def worst_score(scores: Iterable[DataConsistencyScore]) -> DataConsistencyScore:
    """A batch's DataConsistencyScore: the worst of its users' (Perfect when it has none)."""
    order = list(DataConsistencyScore)
    return max(scores, key=order.index, default=DataConsistencyScore.Perfect)


@dataclass(frozen=True)
class BatchCounts:
    """The per-batch user counts Get-MigrationBatch shows (TotalCount, ActiveCount, ...)."""

    total: int = 0
    active: int = 0
    stopped: int = 0
    synced: int = 0
    finalized: int = 0
    failed: int = 0
    pending: int = 0


_PENDING = frozenset({_S.Queued, _S.Starting, _S.Validating, _S.Provisioning})


def count_users(statuses: Iterable[MigrationUserStatus]) -> BatchCounts:
    """Count a batch's users by StatusSummary; *pending* (not yet picked up) is also a part of
    *active*, as the EAC shows it."""
    listed = list(statuses)
    summaries = Counter(status_summary(s) for s in listed)
    return BatchCounts(
        total=len(listed),
        active=summaries[MigrationUserStatusSummary.Active],
        stopped=summaries[MigrationUserStatusSummary.Stopped],
        synced=summaries[MigrationUserStatusSummary.Synced],
        finalized=summaries[MigrationUserStatusSummary.Completed],
        failed=summaries[MigrationUserStatusSummary.Failed],
        pending=sum(1 for s in listed if s in _PENDING),
    )


E = TypeVar("E", bound=StrEnum)


def parse_enum(enum_type: type[E], text: str) -> E:
    """Bind ``text`` to a member of ``enum_type`` the way PowerShell does: by name, ignoring
    case and surrounding blanks. Raises :class:`ValidationError` listing the valid names."""
    wanted = text.strip().casefold()
    for member in enum_type:
        if member.value.casefold() == wanted:
            return member
    names = ", ".join(member.value for member in enum_type)
    raise ValidationError(
        f'Unable to match the identifier name {text} to a valid enumerator name. '
        f'Specify one of the following enumerator names and try again: {names}',
        error_id="InvalidEnumeratorName",
    )
