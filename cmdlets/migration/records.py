"""Engine results -> output records with Exchange's property and type names.

Property names follow reference/ms-cmdlets.md (A3, A5, A8, A13, A15-A17). The default table
columns of users and statistics are Exchange Online's views (headers ``Identity Batch Status
LastSyncTime`` and ``Identity Batch Status Items Synced Items Skipped``, labels over the
properties BatchId, LastSuccessfulSyncTime, SyncedItemCount, SkippedItemCount); the others are
imsh's choice: batches ``Identity Status Type TotalCount``, endpoints ``Identity EndpointType
RemoteServer Port Security``. Sizes read as Exchange's ByteQuantifiedSize text
(engine/bytesize.py).

Passwords never reach a record. Where one is stored, the ``Password`` property holds a
*redacted* :class:`~engine.secrets.Secret`: it prints ``********`` everywhere (tables,
``Format-List *``, CSV, JSON) and cannot be revealed.
"""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cmdlets.base import PSObject
from engine.bytesize import byte_quantified_size
from engine.limits import MAX_MESSAGE_SIZE_BYTES, format_unlimited
from engine.schedule_times import DEFAULT_TIME_ZONE, in_zone
from engine.secrets import Secret
from engine.service.batches import BatchInfo
from engine.service.config import MigrationConfig
from engine.service.endpoints import EndpointInfo
from engine.service.statistics import MigrationTotals, UserStatisticsInfo
from engine.service.users import UserInfo
from engine.store.stats import ReportEntry, SkippedItem
from engine.values import datetime_text

if TYPE_CHECKING:  # availability loads the IMAP client; only its cmdlets need it
    from engine.service.availability import AvailabilityResult

_NS = "Microsoft.Exchange.Data.Storage.Management."
IMAP = "IMAP"
# A Secret that crossed a pickle boundary is redacted: masked in every form, never revealable.
MASKED: Secret = pickle.loads(pickle.dumps(Secret("")))


def _record(type_name: str, properties: dict[str, Any], display: tuple[str, ...] = (),
            view: str | None = "table", labels: dict[str, str] | None = None) -> PSObject:
    return PSObject(properties, (_NS + type_name, "System.Object"), display, view,
                    labels or {})


def _local(value: datetime | None) -> datetime | None:
    return value.astimezone() if value is not None else None


def _times(name: str, value: datetime | None) -> dict[str, Any]:
    """Exchange shows each time twice: local (``XDateTime``) and UTC (``XDateTimeUTC``)."""
    return {f"{name}DateTime": _local(value), f"{name}DateTimeUTC": value}


def endpoint_record(info: EndpointInfo) -> PSObject:
    return _record("MigrationEndpoint", {
        "Identity": info.name,
        "EndpointType": str(info.kind),
        "RemoteServer": info.remote_server,
        "Port": info.port,
        "Security": info.security,
        "Authentication": info.authentication,
        "AcceptUntrustedCertificates": info.accept_untrusted_certificates,
        "MaxConcurrentMigrations": info.max_concurrent_migrations,
        "MaxConcurrentIncrementalSyncs": info.max_concurrent_incremental_syncs,
        "ActiveMigrationCount": info.active_migration_count,
        "ActiveIncrementalSyncCount": info.active_incremental_sync_count,
        "Username": info.user_name,
        "Password": MASKED if info.has_password and info.client_id is None else None,
        "Path": info.path,
        "Url": info.url,
        "Impersonation": info.impersonation,
        "TenantId": info.tenant_id,
        "ClientId": info.client_id,
        "ClientSecret": MASKED if info.has_password and info.client_id is not None
        and info.certificate_thumbprint is None else None,
        "CertificateThumbprint": info.certificate_thumbprint,
        "Authority": info.authority,
        **_max_message_size(info),
        **_shared_storage(info),
        "IsDefaultTarget": info.is_default_target,
        "IsRemote": info.kind == IMAP,
        **_times("Creation", info.created_at),
    }, ("Identity", "EndpointType", "RemoteServer", "Port", "Security"))


def _shared_storage(info: EndpointInfo) -> dict[str, object]:
    """Maildir only (imsh's): SharedStorage, and WriterHost, the host an unshared one is
    bound to (engine/maildir_sharing.py)."""
    if info.shared_storage is None:
        return {}
    return {"SharedStorage": info.shared_storage, "WriterHost": info.writer_host}


def _max_message_size(info: EndpointInfo) -> dict[str, str]:
    """IMAP only (imsh's addition): ByteQuantifiedSize text of the limit the sync applies,
    imsh's default shown. Other endpoint kinds don't carry the property at all, so their
    records (and ``Max*`` column patterns on them) stay as Exchange has them."""
    if info.kind != IMAP:
        return {}
    return {"MaxMessageSize": byte_quantified_size(info.max_message_size or MAX_MESSAGE_SIZE_BYTES)}


def batch_record(info: BatchInfo, include_report: bool = False) -> PSObject:
    counts = info.counts
    return _record("MigrationBatch", {
        "Identity": info.name,
        "Status": str(info.status),
        "Type": IMAP,
        "MigrationType": IMAP,
        "BatchDirection": "Onboarding",
        "TotalCount": counts.total,
        "ActiveCount": counts.active,
        "StoppedCount": counts.stopped,
        "SyncedCount": counts.synced,
        "FinalizedCount": counts.finalized,
        "FailedCount": counts.failed,
        "PendingCount": counts.pending,
        "ProvisionedCount": 0,
        "SourceEndpoint": info.source_endpoint,
        "TargetEndpoint": info.target_endpoint,
        "ExcludedFolders": list(info.exclude_folders),
        "IncludedFolders": list(info.included_folders),
        "ContentFilter": info.content_filter,
        "NotificationEmails": list(info.notification_emails),
        "AutoStart": info.auto_start,
        "AutoComplete": info.auto_complete,
        "BadItemLimit": format_unlimited(info.bad_item_limit),
        "LargeItemLimit": format_unlimited(info.large_item_limit),
        "ReportInterval": info.report_interval,
        "IncrementalSyncInterval": info.incremental_sync_interval,  # imsh: the one that applies
        **_times("Creation", info.created_at),
        **_times("Start", info.started_at),
        **_times("InitialSync", info.initial_sync_completed_at),
        **_times("LastSynced", info.last_synced_at),
        **_times("Finalized", info.completed_at),
        **_delays(info),
        "Message": info.error or info.attention,
        "UsersWithHeldDeletions": info.users_with_held_deletions,  # imsh
        "DataConsistencyScore": str(info.data_consistency_score),
        "Report": list(info.report) if include_report else None,
    }, ("Identity", "Status", "Type", "TotalCount"))


def _delays(info: BatchInfo) -> dict[str, Any]:
    """StartAfter/CompleteAfter in the batch's time zone, and in UTC ("In the cloud-based
    service, if you don't use the TimeZone parameter ... the default time zone for the
    migration batch is UTC")."""
    delays = info.delays
    return {
        "StartAfter": in_zone(delays.start_after, delays.time_zone),
        "StartAfterUTC": delays.start_after,
        "CompleteAfter": in_zone(delays.complete_after, delays.time_zone),
        "CompleteAfterUTC": delays.complete_after,
        "TimeZone": delays.time_zone or DEFAULT_TIME_ZONE,
    }


def _user_properties(info: UserInfo) -> dict[str, Any]:
    stats = info.statistics
    return {
        "Identity": info.email_address,
        "EmailAddress": info.email_address,
        "BatchId": info.batch_name,
        "Status": str(info.status),
        "StatusSummary": str(info.status_summary),
        "RecipientType": "Mailbox",
        "SyncedItemCount": stats.synced_item_count,
        "SkippedItemCount": stats.skipped_item_count,
        "LastSuccessfulSyncTime": _local(info.last_successful_sync_at),
        "ErrorSummary": info.error,
        "UserName": info.user_name,
        "Password": MASKED if info.has_password else None,
        "UserRoot": info.user_root,
        "TargetUserName": info.target_user_name,
        "HasUnapprovedDeletions": bool(info.held_deletions or info.held_folders),  # imsh
        "HeldDeletionCount": info.held_deletions,  # imsh
        "MailboxGuid": info.mailbox_guid,
        **_user_settings(info),
        "DataConsistencyScore": str(info.data_consistency_score),
    }


def _user_settings(info: UserInfo) -> dict[str, Any]:
    """Set-MigrationUser's overrides; None where the user follows its batch."""
    settings = info.settings
    if settings is None:
        return {"BadItemLimit": None, "LargeItemLimit": None, "StartAfter": None,
                "StartAfterUTC": None, "CompleteAfter": None, "CompleteAfterUTC": None}
    return {
        "BadItemLimit": _limit(settings.bad_item_limit),
        "LargeItemLimit": _limit(settings.large_item_limit),
        "StartAfter": in_zone(settings.start_after, info.time_zone),  # the batch's zone
        "StartAfterUTC": settings.start_after,
        "CompleteAfter": in_zone(settings.complete_after, info.time_zone),
        "CompleteAfterUTC": settings.complete_after,
    }


def _limit(value: int | str | None) -> str | None:
    return None if value is None else str(value)


# Exchange Online's default views: Get-MigrationUser "Identity Batch Status LastSyncTime",
# Get-MigrationUserStatistics "Identity Batch Status Items Synced Items Skipped".
USER_LABELS = {"BatchId": "Batch", "LastSuccessfulSyncTime": "LastSyncTime"}
STATISTICS_LABELS = {"BatchId": "Batch", "SyncedItemCount": "Items Synced",
                     "SkippedItemCount": "Items Skipped"}


def user_record(info: UserInfo) -> PSObject:
    return _record("MigrationUser", _user_properties(info),
                   ("Identity", "BatchId", "Status", "LastSuccessfulSyncTime"),
                   labels=USER_LABELS)


def _seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=round(value)) if value is not None else None


def user_statistics_record(info: UserStatisticsInfo) -> PSObject:
    user, stats = info.user, info.user.statistics
    properties = _user_properties(user)
    properties.update({
        "MigrationType": IMAP,
        "TotalItemsInSourceMailboxCount": stats.total_items_in_source,
        # ByteQuantifiedSize text, as Exchange Online writes it
        "BytesTransferred": byte_quantified_size(stats.bytes_transferred),
        "EstimatedTotalTransferSize": byte_quantified_size(stats.total_bytes),
        "PercentageComplete": stats.percentage_complete,
        "TotalQueuedDuration": _seconds(stats.queued_seconds),
        "TotalInProgressDuration": _seconds(stats.in_progress_seconds),
        "InitialSyncDuration": _seconds(stats.initial_sync_seconds),
        "LastSyncDuration": _seconds(stats.last_sync_seconds),
        "Error": user.error or stats.last_error,
        "HeldDeletionReason": stats.held_deletions_reason if user.held_deletions_warning
        else None,
        "Report": [_report_line(e) for e in info.report] if info.report is not None else None,
        "SkippedItems": ([_skipped_record(s) for s in info.skipped_items]
                         if info.skipped_items is not None else None),
        "DiagnosticInfo": info.diagnostic,
    })
    return _record("MigrationUserStatistics", properties,
                   ("Identity", "BatchId", "Status", "SyncedItemCount", "SkippedItemCount"),
                   labels=STATISTICS_LABELS)


def _report_line(entry: ReportEntry) -> str:
    where = f" ({entry.folder})" if entry.folder else ""
    return f"{datetime_text(entry.created_at)} [{entry.kind}] {entry.message}{where}"


def _skipped_record(item: SkippedItem) -> PSObject:
    return _record("MigrationUserSkippedItem", {
        "Kind": "LargeItem" if item.kind == "large" else "CorruptItem",
        "FolderName": item.folder,
        "Subject": item.subject,
        "Sender": None,
        "DateSent": None,
        "DateReceived": _local(item.item_date),
        "MessageSize": item.size,
        "Failure": item.reason,
        "ScoringClassifications": None,
    }, ("DateReceived", "Subject", "FolderName", "Kind"))


def statistics_record(totals: MigrationTotals) -> PSObject:
    counts = totals.counts
    return _record("MigrationStatistics", {
        "Identity": "MigrationStatistics",
        "TotalCount": counts.total,
        "ActiveCount": counts.active,
        "StoppedCount": counts.stopped,
        "SyncedCount": counts.synced,
        "FinalizedCount": counts.finalized,
        "FailedCount": counts.failed,
        "PendingCount": counts.pending,
        "ProvisionedCount": 0,
        "BatchCount": totals.batch_count,
        "MigrationType": IMAP,
    }, view="list")


def config_record(config: MigrationConfig) -> PSObject:
    smtp = config.smtp
    return _record("MigrationConfig", {
        "Identity": "MigrationConfig",
        "MaxNumberOfBatches": config.max_number_of_batches,
        "MaxConcurrentMigrations": format_unlimited(config.max_concurrent_migrations),
        "Features": config.features,
        "CanSubmitNewBatch": config.can_submit_new_batch,
        "SupportsCutover": False,
        "DefaultTargetEndpoint": config.default_target_endpoint,
        "IncrementalSyncInterval": config.incremental_sync_interval,
        "AutomaticProofs": config.automatic_proofs,  # imsh
        "SmtpServer": smtp.server,
        "SmtpPort": smtp.port,
        "SmtpSecurity": smtp.security,
        "SmtpCredentials": smtp.user_name,  # the user name only; the password is never shown
        "SmtpFrom": smtp.sender,
        # OAuth's settings only when the app signs in (the secret is never shown)
        **({"SmtpAuthentication": "OAuth", "SmtpTenantId": smtp.tenant_id,
            "SmtpClientId": smtp.client_id} if smtp.authentication == "OAuth" else {}),
    }, view="list")


def availability_record(result: AvailabilityResult) -> PSObject:
    return _record("TestMigrationServerAvailabilityOutcome", {
        "Result": str(result.result),
        "Message": result.message,
        "ErrorDetail": result.error_detail,
        "ConnectionSettings": result.connection_settings,
        "SupportsCutover": False,
    }, ("Result", "Message", "ErrorDetail"), view="list")
