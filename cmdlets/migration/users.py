"""Get-/Set-/Start-/Stop-/Remove-MigrationUser, Get-MigrationUserStatistics and
Get-MigrationStatistics.

A migration user's Identity is its EmailAddress. ``Get-MigrationUser ... |
Get-MigrationUserStatistics`` binds each record's Identity by property name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, Context, Example, Parameter
from cmdlets.base import ParamType as T
from cmdlets.migration.common import (
    ON_PREMISES,
    checked,
    identity,
    optional,
    unlimited,
    unsupported,
)
from cmdlets.migration.records import statistics_record, user_record, user_statistics_record
from engine.model import MigrationUserStatus, MigrationUserStatusSummary, parse_enum
from engine.service.common import UNSET
from engine.service.user_settings import UserSettingChanges
from engine.service.users import UserChanges

_STATUSES = tuple(s.value for s in MigrationUserStatus)
_SUMMARIES = tuple(s.value for s in MigrationUserStatusSummary)


class GetMigrationUser(Cmdlet):
    name = "Get-MigrationUser"
    synopsis = "Lists migration users with their batch and status."
    description = (
        "Shows every migration user, one user (-Identity, -EmailAddress or its stable "
        "-MailboxGuid), or the users of a batch (-BatchId) in a status (-Status, "
        "-StatusSummary). The default table is Exchange Online's: Identity, Batch, Status, "
        "LastSyncTime.")
    examples = (
        Example("Get-MigrationUser -Identity TonySmith@contoso.com", "One user."),
        Example("Get-MigrationUser -BatchId IMAPBatch1 | Get-MigrationUserStatistics",
                "The statistics of every user in a batch."),
        Example("Get-MigrationUser -Status Failed", "The users whose migration failed."),
        Example("Get-MigrationUser -MailboxGuid b6a6795c-a010-4f67-aaaa-da372d56fcb9 | "
                "Get-MigrationUserStatistics", "The statistics of the user with this GUID."),
    )
    parameters = (
        identity("migration user (e-mail address)", sets=("Identity",)),
        Parameter("BatchId", T.STRING, sets=("StatusAndBatchId",),
                  help="Only users of this batch."),
        Parameter("Status", T.STRING, choices=_STATUSES, sets=("StatusAndBatchId",),
                  help="Only users in this status."),
        Parameter("StatusSummary", T.STRING, choices=_SUMMARIES, sets=("StatusAndBatchId",),
                  help="Only users with this summary: Active, Failed, Synced, Completed, Stopped."),
        Parameter("EmailAddress", T.STRING, mandatory=True, sets=("EmailAddress",),
                  help="The user with this e-mail address."),
        Parameter("MailboxGuid", T.STRING, mandatory=True, sets=("MailboxGuid",),
                  help="The user whose MailboxGuid this is (see Get-MigrationUser | "
                       "Format-List MailboxGuid)."),
        Parameter("ResultSize", T.UNLIMITED_INT, help="At most this many (default 1000)."),
        *unsupported("IncludeAssociatedUsers", switch=True),
        *ON_PREMISES,
    )
    default_parameter_set = "Identity"
    output_type = "Microsoft.Exchange.Data.Storage.Management.MigrationUser"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        status, summary = optional(args, "Status"), optional(args, "StatusSummary")
        found = ctx.engine.get_users(
            optional(args, "Identity") or optional(args, "EmailAddress"),
            optional(args, "BatchId"),
            parse_enum(MigrationUserStatus, status) if status else None,
            parse_enum(MigrationUserStatusSummary, summary) if summary else None,
            unlimited(args, "ResultSize") if "ResultSize" in args else 1000,
            mailbox_guid=optional(args, "MailboxGuid"))
        return [user_record(info) for info in found]


class SetMigrationUser(Cmdlet):
    name = "Set-MigrationUser"
    synopsis = ("Changes one migration user: sync it now, approve its skipped items, or "
                "approve the deletions imsh held.")
    description = ("-SyncNow starts an incremental sync of a Synced user at once. IMAP "
                   "migrations need no approval of skipped items; -ApproveSkippedItems tries "
                   "them again in the next pass. imsh's -ApproveDeletions releases the "
                   "deletions that the deletion guard held (the source looked empty or "
                   "changed): the next pass, started at once, deletes exactly those copies "
                   "on the target. -BadItemLimit and -LargeItemLimit (a number or Unlimited) "
                   "override the batch's limits for this user: a pass that finds more such "
                   "items fails the user, and a changed limit retries the items skipped so "
                   "far. -StartAfter holds the user's data migration until then, overriding "
                   "the batch's (a time without a zone is read in the batch's -TimeZone; "
                   "$null follows the batch's again). -CompleteAfter completes this user "
                   "alone once the time has passed and it is synced: its final pass runs and "
                   "it becomes Completed while the rest of the batch keeps syncing (a later "
                   "time than the batch's CompleteAfter keeps the batch from completing "
                   "before it).")
    examples = (Example("Set-MigrationUser -Identity laura@contoso.com -SyncNow",
                        "Synchronizes one user now."),
                Example("Set-MigrationUser -Identity laura@contoso.com -LargeItemLimit 15 "
                        "-BadItemLimit 15", "Lets the user's migration skip up to 15 large "
                        "and 15 corrupt items before it fails."),
                Example('Set-MigrationUser -Identity laura@contoso.com -StartAfter '
                        '"2026-12-24 18:00:00Z"', "Starts laura's migration after that time."),
                Example('Set-MigrationUser -Identity laura@contoso.com -CompleteAfter '
                        '"2026-12-27 06:00:00Z"', "Completes laura's migration after that "
                        "time, whatever the batch's CompleteAfter."),
                Example("Set-MigrationUser -Identity laura@contoso.com -ApproveDeletions",
                        "Deletes on the target the copies whose deletion imsh held."))
    parameters = (
        identity("migration user", mandatory=True),
        Parameter("SyncNow", T.SWITCH, help="Synchronize the user now."),
        Parameter("ApproveSkippedItems", T.SWITCH, help="Approve the skipped items so far."),
        Parameter("ApproveDeletions", T.SWITCH,
                  help="imsh: carry out the deletions the deletion guard held."),
        Parameter("BadItemLimit", T.UNLIMITED_INT,
                  help="Corrupt items allowed before the user fails (overrides the batch's)."),
        Parameter("LargeItemLimit", T.UNLIMITED_INT,
                  help="Too-large items allowed before the user fails (overrides the batch's)."),
        Parameter("StartAfter", T.OBJECT, allow_null=True,
                  help="Do not start the user's data migration before this date/time "
                       "($null: the batch's)."),
        Parameter("CompleteAfter", T.OBJECT, allow_null=True,
                  help="Complete the user's migration after this date/time, on its own "
                       "($null: with the batch)."),
        *ON_PREMISES,
    )
    supports_should_process = True

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        start, complete = optional(args, "StartAfter"), optional(args, "CompleteAfter")
        settings = UserSettingChanges(
            bad_item_limit=unlimited(args, "BadItemLimit") if "BadItemLimit" in args else UNSET,
            large_item_limit=(unlimited(args, "LargeItemLimit")
                              if "LargeItemLimit" in args else UNSET),
            start_after=(start if start is None or isinstance(start, datetime) else str(start))
            if "StartAfter" in args else UNSET,
            complete_after=(complete if complete is None or isinstance(complete, datetime)
                            else str(complete)) if "CompleteAfter" in args else UNSET)
        changes = UserChanges(sync_now=args.switch("SyncNow"),
                              approve_skipped_items=args.switch("ApproveSkippedItems"),
                              approve_deletions=args.switch("ApproveDeletions"),
                              settings=settings)
        if checked(ctx, args["Identity"], "Change migration user",
                   lambda e: e.set_user(args["Identity"], changes)):
            ctx.engine.set_user(args["Identity"], changes)
        return []


class StartMigrationUser(Cmdlet):
    name = "Start-MigrationUser"
    synopsis = "Resumes a stopped migration user or retries a failed one."
    description = "Queues the user for synchronization and starts the runner if needed."
    examples = (Example("Start-MigrationUser -Identity laura@contoso.com", "Resumes a user."),)
    parameters = (identity("migration user", mandatory=True), *ON_PREMISES)
    supports_should_process = True

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if checked(ctx, args["Identity"], "Start migration user",
                   lambda e: e.start_user(args["Identity"])):
            ctx.engine.start_user(args["Identity"])
        return []


class StopMigrationUser(Cmdlet):
    name = "Stop-MigrationUser"
    synopsis = "Stops one migration user that is waiting, syncing or kept in sync."
    description = "Mail already copied stays; Start-MigrationUser resumes the user."
    examples = (Example("Stop-MigrationUser -Identity laura@contoso.com -Confirm:$false",
                        "Stops one user without asking."),)
    parameters = (identity("migration user", mandatory=True), *ON_PREMISES)
    supports_should_process = True
    confirm_impact = "High"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if checked(ctx, args["Identity"], "Stop migration user",
                   lambda e: e.stop_user(args["Identity"])):
            ctx.engine.stop_user(args["Identity"])
        return []


class RemoveMigrationUser(Cmdlet):
    name = "Remove-MigrationUser"
    synopsis = "Removes one user from its batch; mail is never touched."
    description = ("Deletes the user's migration state and statistics. Neither the source nor "
                   "the target mailbox is changed.")
    examples = (Example("Remove-MigrationUser -Identity TonySmith@contoso.com -Confirm:$false",
                        "Removes the user from its batch."),)
    parameters = (identity("migration user", mandatory=True),
                  Parameter("Force", T.SWITCH, help="Do not ask for confirmation."),
                  *ON_PREMISES)
    supports_should_process = True
    confirm_impact = "High"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if ctx.whatif:  # the checks of a real removal (it may wait for a runner: not run)
            ctx.engine.check_remove_user(args["Identity"])
        if ctx.should_process(args["Identity"], "Remove migration user"):
            ctx.engine.remove_user(args["Identity"])
        return []


class GetMigrationUserStatistics(Cmdlet):
    name = "Get-MigrationUserStatistics"
    synopsis = "Shows a migration user's progress: items synced and skipped, bytes, errors."
    description = (
        "The numbers come from what imsh's runner recorded; before the first sync they are "
        "zero. -IncludeReport fills Report with the user's log, -IncludeSkippedItems fills "
        "SkippedItems (at most -LimitSkippedItemsTo), -Diagnostic fills DiagnosticInfo.")
    examples = (
        Example("Get-MigrationUserStatistics -Identity davidp@corp.contoso.com -IncludeReport "
                "| Format-List Status,Error,Report", "A user's status, error and report."),
        Example("Get-MigrationUserStatistics -Identity davidp@corp.contoso.com "
                "-IncludeSkippedItems | Select-Object -ExpandProperty SkippedItems | "
                "Format-List DateReceived, Subject", "The items that were skipped."),
        Example("Get-MigrationUser -BatchId IMAPBatch1 | Get-MigrationUserStatistics | "
                "Export-Csv stats.csv", "Every user's statistics to a CSV file."),
    )
    parameters = (
        identity("migration user", mandatory=True),
        Parameter("IncludeReport", T.SWITCH, help="Fill the Report property."),
        Parameter("IncludeSkippedItems", T.SWITCH, help="Fill the SkippedItems property."),
        Parameter("LimitSkippedItemsTo", T.INT, help="At most this many skipped items."),
        Parameter("Diagnostic", T.SWITCH, help="Fill the DiagnosticInfo property."),
        *unsupported("IncludeCopilotReport", "SkipSubscription", switch=True),
        *unsupported("DiagnosticArgument", "DiagnosticInfo"), *ON_PREMISES,
    )
    output_type = "Microsoft.Exchange.Data.Storage.Management.MigrationUserStatistics"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        info = ctx.engine.get_user_statistics(
            args["Identity"], include_report=args.switch("IncludeReport"),
            include_skipped_items=args.switch("IncludeSkippedItems"),
            skipped_limit=optional(args, "LimitSkippedItemsTo"),
            diagnostic=args.switch("Diagnostic"))
        if info.user.held_deletions_warning:
            ctx.write_warning(info.user.held_deletions_warning)
        return [user_statistics_record(info)]


class GetMigrationStatistics(Cmdlet):
    name = "Get-MigrationStatistics"
    synopsis = "Shows the counts of migration users over all batches."
    description = "TotalCount, ActiveCount, SyncedCount, FailedCount ... over every batch."
    examples = (Example("Get-MigrationStatistics", "The totals of all batches."),)
    parameters = (*unsupported("Diagnostic", switch=True),
                  *unsupported("DiagnosticArgument", "DiagnosticInfo"), *ON_PREMISES)
    output_type = "Microsoft.Exchange.Data.Storage.Management.MigrationStatistics"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return [statistics_record(ctx.engine.get_statistics())]


USER_CMDLETS: tuple[type[Cmdlet], ...] = (
    GetMigrationUser, SetMigrationUser, StartMigrationUser, StopMigrationUser,
    RemoveMigrationUser, GetMigrationUserStatistics, GetMigrationStatistics,
)
