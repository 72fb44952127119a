"""New-/Get-/Set-/Start-/Stop-/Complete-/Remove-MigrationBatch and imsh's Wait-MigrationBatch.

Only IMAP onboarding batches exist in imsh: ``-CSVData`` with a ``-SourceEndpoint`` that is an
IMAP endpoint, or ``-Users`` of existing batches (Microsoft's retry of failed users; the users
move with their state, engine/service/moved_users.py). Parameters of other migration kinds
(remote moves, Google Workspace, public folders, ...) parse and are refused as not supported.
``-StartAfter``/``-CompleteAfter`` are declared OBJECT so that Exchange's text forms ("...Z",
"... -700") reach the engine's reader (engine/schedule_times.py) as typed.

Start/Stop/Complete/Remove-MigrationBatch take a mandatory ``-Identity`` (by name, position or
pipeline). Exchange documents it as optional there and acts on "the current batch" without it;
imsh never guesses the target of a state-changing cmdlet: without -Identity a script gets
"Cannot process command because of one or more missing mandatory parameters: Identity." and
the console asks for it, and ``$null``/``''`` are refused by the binder (cmdlets/base.py).

``-IncrementalSyncInterval`` is an imsh addition (Exchange syncs every 24 hours and has no
such parameter). On Set-MigrationBatch it is declared OBJECT so that ``$null`` can bind: the
batch then follows Set-MigrationConfig's interval again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from cmdlets.migration.common import (
    ON_PREMISES,
    checked,
    identity,
    optional,
    strings,
    timespan,
    unlimited,
    unsupported,
)
from cmdlets.migration.preview import preview_records
from cmdlets.migration.records import batch_record
from engine.limits import DEFAULT_REPORT_INTERVAL
from engine.model import BatchStatus, parse_enum
from engine.service.batches import BatchChanges, BatchInfo, BatchRequest
from engine.service.common import UNSET, Unset
from engine.store.stats import BatchTotals
from engine.sync.gmail_labels import POLICIES

_STATUSES = tuple(s.value for s in BatchStatus)
_TYPE = "Microsoft.Exchange.Data.Storage.Management.MigrationBatch"
# imsh: a Gmail-shaped source's labels (engine/sync/gmail_labels.py, docs/gmail.md)
_GMAIL_LABEL_POLICY = Parameter(
    "GmailLabelPolicy", T.STRING, choices=POLICIES,
    help="imsh: a Gmail source's labels: OneCopy (default) copies each message once, into "
         "its most specific label's folder (unlabeled mail into Archive); EveryLabel copies "
         "it into every label's folder. Starred and Important are never folders.")

_OTHER_KINDS = (
    *unsupported(
        "AdoptPreexisting", "AutoProvisioning", "AvoidMergeOverlap", "DataFusion",
        "DisallowExistingUsers", "ExcludeDumpsters", "IncludeOtherContacts", "Local",
        "MigrateTasks", "PrimaryOnly", "ArchiveOnly", "RemoveOnCopy", "RenamePrimaryCalendar",
        "Restore", "SimplifiedSwitchOver", "SkipCalendar", "SkipContacts", "SkipDelegates",
        "SkipMail", "SkipProvisioning", "SkipRules", "PublicFolderToUnifiedGroup",
        "ManagedGmailTeams", "Analysis", switch=True),
    *unsupported(
        "AllowIncrementalSyncs", "ArchiveDomain", "AutoRetryCount",
        "ContentFilterLanguage", "ForwardingDisposition",
        "Locale", "MoveOptions", "SkipMerging", "SkipMoving", "SkipSteps",
        "SourcePFPrimaryMailboxGuid", "SourcePublicFolderDatabase",
        "TargetArchiveDatabases", "TargetDatabases", "TargetDeliveryDomain", "UserIds",
        "WorkflowControlFlags", "XMLData", "ArchiveDatabases",
        "TargetPFPrimaryMailboxGuid"),
)
_NOTIFY = Parameter("NotificationEmails", T.STRING_ARRAY, allow_empty=True,
                    help="Addresses the status reports are sent to (none: no reports).")
# Set-: $null or @() clears the list, as setting a multi-valued property to $null does in
# Exchange (declared, so the binder lets exactly this null through).
_SET_NOTIFY = Parameter("NotificationEmails", T.STRING_ARRAY, allow_null=True, allow_empty=True,
                        help="Addresses the status reports are sent to ($null: none).")
_REPORT_INTERVAL = Parameter("ReportInterval", T.TIMESPAN,
                             help="How often reports are sent (default 1.00:00:00; 0 = never).")
_SYNC_INTERVAL_HELP = ("imsh: how long after a successful pass the next incremental sync is due, "
                       "1 second to 365 days (default: Set-MigrationConfig's, else 1.00:00:00)")
_WHEN = ('"09/01/2018 5:00 PM", "2021-05-06 14:30:00Z" or "7/30/2020 9:00PM -700"; without '
         "a zone it is read in -TimeZone (default UTC)")
_DELAYS = (
    Parameter("StartAfter", T.OBJECT,
              help="Do not start the users' data migration before this date/time: " + _WHEN
              + "."),
    Parameter("CompleteAfter", T.OBJECT,
              help="Complete the batch once it is synced and this date/time has passed: "
              + _WHEN + "."),
    Parameter("TimeZone", T.STRING,
              help='The administrator\'s time zone, e.g. "Pacific Standard Time" (default '
                   "UTC); Get-MigrationBatch shows StartAfter/CompleteAfter in it."),
)
# Set-: $null clears a time
_SET_DELAYS = (
    Parameter("StartAfter", T.OBJECT, allow_null=True,
              help="Do not start the data migration before this date/time ($null: clear)."),
    Parameter("CompleteAfter", T.OBJECT, allow_null=True,
              help="Complete the batch once synced and past this date/time ($null: clear)."),
    _DELAYS[2],
)
_ITEM_LIMITS = (
    Parameter("BadItemLimit", T.UNLIMITED_INT,
              help="Corrupt items allowed before a user fails (default Unlimited: skip them)."),
    Parameter("LargeItemLimit", T.UNLIMITED_INT,
              help="Too-large items allowed before a user fails (default Unlimited)."),
)


def user_identities(value: Any) -> list[str]:
    """-Users: migration user records (their Identity) or e-mail addresses, one or many."""
    items = value if isinstance(value, list | tuple) else [value]
    found = []
    for item in items:
        if isinstance(item, PSObject):
            item = item.get("Identity") or item.get("EmailAddress")
        if item is not None and str(item).strip():
            found.append(str(item).strip())
    return found


def _records(infos: Iterable[BatchInfo], include_report: bool = False) -> list[Any]:
    return [batch_record(info, include_report) for info in infos]


class NewMigrationBatch(Cmdlet):
    name = "New-MigrationBatch"
    synopsis = "Creates an IMAP migration batch from CSV data."
    description = (
        "Creates a batch of migration users from -CSVData: the bytes of a CSV file with the "
        "columns EmailAddress, UserName, Password and optionally UserRoot (and imsh's "
        "TargetUserName, TargetPassword). UserName may use the administrator forms "
        "user*admin (Dovecot), domain/admin/user (Exchange), #user@domain#admin# (Mirapoint) "
        "or, with UserRoot, a Courier administrator. The file is checked first; on any error "
        "nothing is created. -SourceEndpoint is the IMAP server; -TargetEndpoint defaults to "
        "the configured default target (LocalMaildir on a fresh state). The batch waits for "
        "Start-MigrationBatch unless -AutoStart is given. imsh's -IncrementalSyncInterval sets "
        "how often the batch is kept in sync after its initial sync (default: the configured "
        "interval, 24 hours unless Set-MigrationConfig changed it). -Users instead of -CSVData "
        "moves existing users (Get-MigrationUser -Status Failed) into the new batch with their "
        "progress. -IncludeFolders migrates only the named folders (the syntax of "
        "-ExcludeFolders); -ContentFilter \"Received -gt '2020-01-01'\" only the mail received "
        "in that range. -StartAfter holds the data migration until then, -CompleteAfter "
        "completes the batch once synced and past that time; both are read in -TimeZone "
        "(default UTC) unless they carry a zone.")
    examples = (
        Example('New-MigrationBatch -Name IMAPbatch1 -CSVData ([System.IO.File]::ReadAllBytes('
                '"/srv/IMAPmigration_1.csv")) -SourceEndpoint IMAPEndpoint1 -ExcludeFolders '
                '"Deleted Items","Junk Email"',
                "Creates a batch that skips the Deleted Items and Junk Email folders."),
        Example('New-MigrationBatch -Name IMAPBatch1 -SourceEndpoint IMAPEndpoint -CSVData '
                '(Get-Content users.csv -AsByteStream) -AutoStart',
                "Creates the batch and starts it at once."),
        Example("New-MigrationBatch -Name IMAPBatch2 -SourceEndpoint IMAPEndpoint -CSVData "
                "(Get-Content users.csv -AsByteStream) -IncrementalSyncInterval 06:00:00",
                "Creates a batch that is kept in sync every 6 hours instead of every 24."),
        Example('$Failed = Get-MigrationUser -Status Failed; New-MigrationBatch -Name "Retry '
                'Failed Users" -Users $Failed -AutoStart',
                "Retries the failed users in a new batch; what they copied so far stays."),
        Example("New-MigrationBatch -Name IMAPBatch3 -SourceEndpoint IMAPEndpoint -CSVData "
                "(Get-Content users.csv -AsByteStream) -AutoStart -StartAfter "
                "\"09/01/2026 8:00 PM\" -CompleteAfter \"09/03/2026 6:00 AM\" -TimeZone "
                "\"Pacific Standard Time\"",
                "Starts copying at 8 PM Pacific time and completes two days later."),
        Example("New-MigrationBatch -Name Recent -SourceEndpoint IMAPEndpoint -CSVData "
                "(Get-Content users.csv -AsByteStream) -IncludeFolders '#Inbox#','Projects/*' "
                "-ContentFilter \"Received -gt '2020-01-01'\"",
                "Migrates the Inbox and the Projects tree, mail received since 2020 only."),
        Example("New-MigrationBatch -Name IMAPBatch4 -SourceEndpoint IMAPEndpoint -CSVData "
                "(Get-Content users.csv -AsByteStream) -WhatIf | Export-Csv sizing.csv",
                "imsh: checks the CSV as the real command would, then writes each user's "
                "folders, items, bytes, refused items and estimated duration (docs/proof.md)."),
    )
    parameters = (
        Parameter("Name", T.STRING, mandatory=True, help="A unique name, at most 64 characters."),
        # allow_empty: an empty file is refused by the CSV check with Exchange's own text
        # ("Upload file can't be empty"), which says more than the binder's "empty array"
        Parameter("CSVData", T.BYTES, mandatory=True, allow_empty=True, sets=("Onboarding",),
                  help="The CSV file's bytes."),
        Parameter("Users", T.OBJECT_ARRAY, mandatory=True, position=0, from_pipeline=True,
                  sets=("Preexisting",),
                  help="Migration users of existing batches (Get-MigrationUser output or "
                       "e-mail addresses) that move into the new batch with their progress."),
        Parameter("SourceEndpoint", T.STRING, help="The IMAP endpoint of the source server."),
        Parameter("TargetEndpoint", T.STRING,
                  help="imsh: the target endpoint (default: the configured default target)."),
        Parameter("ExcludeFolders", T.STRING_ARRAY, allow_empty=True,
                  help="Source folders not to migrate: Name, Name/* (subtree), #WellKnown#."),
        Parameter("IncludeFolders", T.STRING_ARRAY,
                  help="Only these source folders are migrated (the syntax of "
                       "-ExcludeFolders: Name, Name/*, #WellKnown#)."),
        Parameter("ContentFilter", T.STRING,
                  help="Only messages that match are migrated, e.g. \"Received -gt "
                       "'2020-01-01'\" (-and, -or, -not; Received is the only property)."),
        Parameter("AutoStart", T.SWITCH, help="Start the batch at once."),
        Parameter("AutoComplete", T.SWITCH, help="Complete each user after its initial sync."),
        Parameter("AllowUnknownColumnsInCsv", T.BOOL, sets=("Onboarding",),
                  help="$true ignores columns imsh does not know (default $false: refuse)."),
        Parameter("SkipReports", T.SWITCH, help="Send no status reports."),
        Parameter("IncrementalSyncInterval", T.TIMESPAN, help=_SYNC_INTERVAL_HELP + "."),
        _GMAIL_LABEL_POLICY,
        _NOTIFY, _REPORT_INTERVAL, *_ITEM_LIMITS, *_DELAYS, *_OTHER_KINDS, *ON_PREMISES,
    )
    default_parameter_set = "Onboarding"
    supports_should_process = True
    output_type = _TYPE

    def __init__(self) -> None:
        self._users: list[str] = []  # -Users, collected over the pipeline
        self._args: BoundArguments | None = None

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if "Users" in args:  # one batch for all the piped users: created in end()
            self._users.extend(user_identities(args["Users"]))
            self._args = args
            return []
        return self._create(ctx, args, ())

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if self._args is None:
            return []
        return self._create(ctx, self._args, tuple(self._users))

    def _create(self, ctx: Context, args: BoundArguments,
                users: tuple[str, ...]) -> Iterable[Any]:
        interval = optional(args, "ReportInterval")
        request = BatchRequest(
            name=args["Name"], source_endpoint=optional(args, "SourceEndpoint"),
            csv_data=bytes(args["CSVData"]) if "CSVData" in args else b"",
            users=users, target_endpoint=optional(args, "TargetEndpoint"),
            allow_unknown_columns=bool(optional(args, "AllowUnknownColumnsInCsv")),
            exclude_folders=strings(args, "ExcludeFolders"),
            include_folders=strings(args, "IncludeFolders"),
            content_filter=optional(args, "ContentFilter"),
            gmail_label_policy=optional(args, "GmailLabelPolicy"),
            auto_start=args.switch("AutoStart"), auto_complete=args.switch("AutoComplete"),
            notification_emails=strings(args, "NotificationEmails"),
            bad_item_limit=unlimited(args, "BadItemLimit") if "BadItemLimit" in args else None,
            large_item_limit=(unlimited(args, "LargeItemLimit")
                              if "LargeItemLimit" in args else None),
            report_interval=(timedelta(0) if args.switch("SkipReports")
                             else interval if interval is not None else DEFAULT_REPORT_INTERVAL),
            incremental_sync_interval=optional(args, "IncrementalSyncInterval"),
            start_after=_when(args, "StartAfter"), complete_after=_when(args, "CompleteAfter"),
            time_zone=optional(args, "TimeZone"),
        )
        if ctx.whatif:  # check everything first, then show what would move (preview.py)
            previews = ctx.engine.preview_new_batch(request)
            ctx.should_process(request.name, "Create migration batch")
            return preview_records(previews)
        if not ctx.should_process(request.name, "Create migration batch"):
            return []
        return [batch_record(ctx.engine.new_batch(request))]


class GetMigrationBatch(Cmdlet):
    name = "Get-MigrationBatch"
    synopsis = "Lists migration batches with their status and user counts."
    description = (
        "Shows every batch, one batch (-Identity), the batches in one status (-Status) or the "
        "batches using an endpoint (-Endpoint). The status is worked out from the users' "
        "statuses each time. -IncludeReport adds the users' report entries in Report.")
    examples = (
        Example("Get-MigrationBatch -Identity IMAPBatch1 | Format-List", "All of a batch."),
        Example("Get-MigrationBatch -Status Syncing", "The batches being synchronized."),
        Example("Get-MigrationBatch -Endpoint IMAPEndpoint", "The batches using an endpoint."),
    )
    parameters = (
        identity("migration batch", sets=("Identity",)),
        Parameter("Status", T.STRING, choices=_STATUSES, sets=("Identity", "Status"),
                  help="Only batches in this status."),
        Parameter("Endpoint", T.STRING, sets=("Endpoint",),
                  help="Only batches using this endpoint (source or target)."),
        Parameter("IncludeReport", T.SWITCH, help="Fill the Report property."),
        Parameter("ResultSize", T.UNLIMITED_INT, help="At most this many (default 1000)."),
        *unsupported("Diagnostic", switch=True),
        *unsupported("DiagnosticArgument", "DiagnosticInfo"), *ON_PREMISES,
    )
    default_parameter_set = "Identity"
    output_type = _TYPE

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        status = optional(args, "Status")
        size = unlimited(args, "ResultSize") if "ResultSize" in args else 1000
        found = ctx.engine.get_batches(
            optional(args, "Identity"), parse_enum(BatchStatus, status) if status else None,
            optional(args, "Endpoint"), args.switch("IncludeReport"), size)
        for info in found:
            if info.attention:
                ctx.write_warning(info.attention)
            notice = ctx.engine.runner_notice(info)
            if notice:
                ctx.write_warning(notice)
        return _records(found, args.switch("IncludeReport"))


class SetMigrationBatch(Cmdlet):
    name = "Set-MigrationBatch"
    synopsis = "Changes a migration batch, adds users to it or syncs it now."
    description = (
        "Changes the report recipients and interval or the item limits; -AddUsers -CSVData adds "
        "the users of a CSV file that are not in the batch yet; -SyncNow starts an immediate "
        "incremental sync of the users that are Synced. IMAP migrations need no approval of "
        "skipped items; -ApproveSkippedItems (or a changed item limit) tries them again in the "
        "next pass. imsh's "
        "-IncrementalSyncInterval changes how often the batch is kept in sync; users waiting "
        "for their next pass are rescheduled at once; $null makes the batch follow "
        "Set-MigrationConfig's interval again. A row of -AddUsers for a user already in the "
        "batch whose values changed updates that user (refused while it syncs). -StartAfter, "
        "-CompleteAfter and -TimeZone change the batch's schedule ($null clears a time).")
    examples = (
        Example("Set-MigrationBatch -Identity MigrationBatch01 -AddUsers -CSVData "
                "([System.IO.File]::ReadAllBytes('/srv/MigrationBatch01.csv'))",
                "Adds the new users listed in the file."),
        Example("Set-MigrationBatch -Identity IMAPBatch1 -SyncNow",
                "Synchronizes the Synced users now instead of at the next daily pass."),
        Example("Set-MigrationBatch -Identity IMAPBatch1 -IncrementalSyncInterval '12:00:00'",
                "Keeps the batch in sync every 12 hours."),
        Example("Set-MigrationBatch -Identity IMAPBatch1 -IncrementalSyncInterval $null",
                "Follows the interval of Set-MigrationConfig again."),
        Example('Set-MigrationBatch -Identity IMAPBatch1 -CompleteAfter "2026-12-24 18:00:00Z"',
                "Completes the batch after that time (UTC), once it is synced."),
    )
    parameters = (
        identity("migration batch", mandatory=True),
        Parameter("AddUsers", T.SWITCH, help="Add the new users of -CSVData."),
        Parameter("CSVData", T.BYTES, allow_empty=True,  # as on New-MigrationBatch
                  help="The CSV file's bytes (with -AddUsers)."),
        Parameter("AllowUnknownColumnsInCsv", T.BOOL, help="$true ignores unknown columns."),
        Parameter("SyncNow", T.SWITCH, help="Synchronize the Synced users now."),
        _GMAIL_LABEL_POLICY,
        Parameter("ApproveSkippedItems", T.SWITCH, help="Approve the skipped items so far."),
        Parameter("ApproveDeletions", T.SWITCH,
                  help="imsh: carry out every user's deletions that the deletion guard held."),
        Parameter("Update", T.SWITCH, help="Reapply the endpoint's settings (always done)."),
        Parameter("SkipReports", T.BOOL, help="$true sends no more reports."),
        Parameter("IncrementalSyncInterval", T.OBJECT, allow_null=True,
                  help=_SYNC_INTERVAL_HELP + "; $null = follow Set-MigrationConfig's again."),
        _SET_NOTIFY, _REPORT_INTERVAL, *_ITEM_LIMITS, *_SET_DELAYS,
        *unsupported("AllowIncrementalSyncs", "AutoRetryCount", "MoveOptions", "SkipMerging",
                     "SkipMoving", "SourcePublicFolderDatabase"),
        *ON_PREMISES,
    )
    supports_should_process = True

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        interval = optional(args, "ReportInterval")
        if optional(args, "SkipReports"):
            interval = timedelta(0)
        changes = BatchChanges(
            notification_emails=(strings(args, "NotificationEmails")
                                 if "NotificationEmails" in args else None),
            report_interval=interval,
            incremental_sync_interval=_sync_interval(args),
            bad_item_limit=unlimited(args, "BadItemLimit") if "BadItemLimit" in args else UNSET,
            large_item_limit=(unlimited(args, "LargeItemLimit")
                              if "LargeItemLimit" in args else UNSET),
            csv_data=bytes(args["CSVData"]) if "CSVData" in args else None,
            add_users=args.switch("AddUsers"),
            allow_unknown_columns=bool(optional(args, "AllowUnknownColumnsInCsv")),
            sync_now=args.switch("SyncNow"),
            approve_skipped_items=args.switch("ApproveSkippedItems"),
            approve_deletions=args.switch("ApproveDeletions"),
            gmail_label_policy=optional(args, "GmailLabelPolicy"),
            start_after=_when(args, "StartAfter") if "StartAfter" in args else UNSET,
            complete_after=_when(args, "CompleteAfter") if "CompleteAfter" in args else UNSET,
            time_zone=optional(args, "TimeZone") if "TimeZone" in args else UNSET,
        )
        if checked(ctx, args["Identity"], "Change migration batch",
                   lambda e: e.set_batch(args["Identity"], changes)):
            ctx.engine.set_batch(args["Identity"], changes)
        return []


def _when(args: BoundArguments, name: str) -> datetime | str | None:
    """-StartAfter/-CompleteAfter as given: a DateTime (Get-Date) or text; the engine reads it
    (engine/schedule_times.py), so "...Z" and "... -700" keep their zone."""
    value = optional(args, name)
    if value is None or isinstance(value, datetime):
        return value
    return str(value)


def _sync_interval(args: BoundArguments) -> timedelta | Unset | None:
    """Set-MigrationBatch's interval: UNSET when not given, None for ``$null``."""
    return timespan(args, "IncrementalSyncInterval") if "IncrementalSyncInterval" in args \
        else UNSET


class StartMigrationBatch(Cmdlet):
    name = "Start-MigrationBatch"
    synopsis = "Starts a created batch, resumes a stopped one, or retries failed users."
    description = (
        "Queues the batch's users for synchronization and starts imsh's background runner "
        "(imsh service) if none is running. A Stopped batch resumes; in a Failed, "
        "SyncedWithErrors or CompletedWithErrors batch the failed users are retried.")
    examples = (Example("Start-MigrationBatch -Identity IMAPBatch1", "Starts the batch."),
                Example("Start-MigrationBatch -Identity IMAPBatch1 -WhatIf",
                        "imsh: what starting would move, per user (docs/proof.md)."))
    parameters = (identity("migration batch", mandatory=True),
                  *unsupported("Validate", switch=True), *ON_PREMISES)
    supports_should_process = True

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if ctx.whatif:  # the checks of a real start, then the preview (preview.py)
            previews = ctx.engine.preview_start_batch(args["Identity"])
            ctx.should_process(args["Identity"], "Start migration batch")
            return preview_records(previews)
        if ctx.should_process(args["Identity"], "Start migration batch"):
            notice = ctx.engine.runner_notice(ctx.engine.start_batch(args["Identity"]))
            if notice:
                ctx.write_warning(notice)
        return []


class StopMigrationBatch(Cmdlet):
    name = "Stop-MigrationBatch"
    synopsis = "Stops a batch that is syncing, waiting to sync, or kept in sync."
    description = (
        "Users that are waiting stop at once; users being synchronized stop after the runner "
        "finishes the message in hand. Mail already copied stays. Start-MigrationBatch "
        "resumes the batch.")
    examples = (Example("Stop-MigrationBatch -Identity IMAPBatch1 -Confirm:$false",
                        "Stops the batch without asking."),)
    parameters = (identity("migration batch", mandatory=True), *ON_PREMISES)
    supports_should_process = True
    confirm_impact = "High"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if checked(ctx, args["Identity"], "Stop migration batch",
                   lambda e: e.stop_batch(args["Identity"])):
            ctx.engine.stop_batch(args["Identity"])
        return []


class CompleteMigrationBatch(Cmdlet):
    name = "Complete-MigrationBatch"
    synopsis = "Finalizes a Synced batch: one last sync, then no more syncs."
    description = (
        "For a batch that is Synced or SyncedWithErrors: every user that has not failed gets "
        "a final incremental sync and is then Completed; after that the batch is no longer "
        "synchronized. (For IMAP migrations Exchange ends synchronization by removing the "
        "batch; imsh offers both.) With -SyncAndComplete the batch must have no failed, "
        "corrupted or stopped user; otherwise the cmdlet names them and completes nothing.")
    examples = (Example("Complete-MigrationBatch -Identity IMAPBatch1 -Confirm:$false",
                        "Completes the batch without asking."),
                Example("Complete-MigrationBatch -Identity IMAPBatch1 -SyncAndComplete "
                        "-Confirm:$false", "A final sync and completion, only if every user "
                        "is synced."))
    parameters = (
        identity("migration batch", mandatory=True),
        Parameter("SyncAndComplete", T.SWITCH,
                  help="A final incremental sync, then completion; refused unless no user "
                       "failed or stopped."),
        *unsupported("CompletePublicFolderMigrationWithDataLoss", switch=True),
        *unsupported("NotificationEmails"), *ON_PREMISES,
    )
    supports_should_process = True
    confirm_impact = "High"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if checked(ctx, args["Identity"], "Complete migration batch",
                   lambda e: e.complete_batch(args["Identity"],
                                              sync_and_complete=args.switch("SyncAndComplete"))):
            ctx.engine.complete_batch(args["Identity"],
                                      sync_and_complete=args.switch("SyncAndComplete"))
        return []


class RemoveMigrationBatch(Cmdlet):
    name = "Remove-MigrationBatch"
    synopsis = "Removes a batch and its users' migration state; mail is never touched."
    description = (
        "Deletes the batch, its users, their statistics and sync state. Neither the source "
        "nor the target mailboxes are changed. A batch in its initial sync must be stopped "
        "first. While a runner still holds one of its users the batch shows Removing until the "
        "runner lets go.")
    examples = (
        Example("Remove-MigrationBatch -Identity IMAPBatch1 -Confirm:$false",
                "Removes the batch without asking."),
        Example("Get-MigrationBatch IMAPBatch1 | Remove-MigrationBatch -Force",
                "Removes the batch from the pipeline without asking."),
    )
    parameters = (
        identity("migration batch", mandatory=True),
        Parameter("Force", T.SWITCH, help="Do not ask for confirmation."),
        *ON_PREMISES,
    )
    supports_should_process = True
    confirm_impact = "High"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if ctx.whatif:  # the checks of a real removal (it may wait for a runner: not run)
            ctx.engine.check_remove_batch(args["Identity"])
        if ctx.should_process(args["Identity"], "Remove migration batch"):
            ctx.engine.remove_batch(args["Identity"])
        return []


class WaitMigrationBatch(Cmdlet):
    name = "Wait-MigrationBatch"
    synopsis = "imsh: waits until a batch reaches a settled status, then returns it."
    description = (
        "Polls the batch until its status is -Status or, without -Status, a settled one "
        "(Synced, SyncedWithErrors, Stopped, Completed, CompletedWithErrors). Shows progress "
        "while waiting. Fails when the batch Failed, was never started, or the timeout "
        "(-TimeoutSeconds, default 3600) passes.")
    examples = (
        Example("Start-MigrationBatch B1; Wait-MigrationBatch -Identity B1 -Status Synced",
                "Starts a batch and waits for its initial sync."),
    )
    parameters = (
        Parameter("Identity", T.STRING, mandatory=True, position=0, from_pipeline=True,
                  from_pipeline_by_name=True, help="The migration batch."),
        Parameter("Status", T.STRING_ARRAY, choices=_STATUSES,
                  help="The status (or statuses) to wait for."),
        Parameter("TimeoutSeconds", T.INT, help="Give up after this many seconds (3600)."),
    )
    output_type = _TYPE

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        name = args["Identity"]
        wanted = frozenset(parse_enum(BatchStatus, s) for s in strings(args, "Status"))
        activity = f"Waiting for migration batch {name}"

        started = time.monotonic()
        first_bytes: list[int] = []

        def show(info: BatchInfo) -> None:
            counts = info.counts
            done = counts.synced + counts.finalized + counts.failed + counts.stopped
            totals = info.totals or BatchTotals()
            first_bytes[:] = [min(first_bytes[0], totals.bytes_transferred) if first_bytes
                              else totals.bytes_transferred]
            rate = transfer_rate(first_bytes[0], totals.bytes_transferred,
                                 time.monotonic() - started)
            items = totals.synced_items + totals.skipped_items
            status = (f"{info.status}: {done}/{counts.total} users, "
                      f"{items}/{totals.total_items} items, "
                      f"{totals.bytes_transferred / MEGABYTE:.1f} MB, {rate:.1f} MB/s")
            ctx.progress(activity, status, _fraction(done, counts.total, items,
                                                     totals.total_items, totals.surveyed_users))

        timeout = timedelta(seconds=optional(args, "TimeoutSeconds") or 3600)
        try:
            info = ctx.engine.wait_batch(name, wanted or None, timeout, show)
        finally:
            ctx.progress_done(activity)
        return [batch_record(info)]


MEGABYTE = 1024 * 1024


def transfer_rate(baseline: int, current: int, seconds: float) -> float:
    """MB/s since the wait began. ``baseline`` is the lowest total seen: a removed user's
    bytes leave the batch's total, which must never show as a negative rate."""
    return max(0.0, (current - min(baseline, current)) / max(seconds, 1e-6) / MEGABYTE)


def _fraction(users_done: int, users: int, items_done: int, items: int,
              surveyed: int | None = None) -> float | None:
    """How far a batch is: by items once totals are known, else by users settled. Items
    only count the users whose mailbox was surveyed so far; the others count as not begun,
    so a batch with one surveyed user of ten never shows more than a tenth done."""
    if users and users_done == users:
        return 1.0
    if items:
        share = min(surveyed, users) / users if surveyed is not None and users else 1.0
        return min(items_done / items * share, 0.99)
    return users_done / users if users else None


BATCH_CMDLETS: tuple[type[Cmdlet], ...] = (
    NewMigrationBatch, GetMigrationBatch, SetMigrationBatch, StartMigrationBatch,
    StopMigrationBatch, CompleteMigrationBatch, RemoveMigrationBatch, WaitMigrationBatch,
)
