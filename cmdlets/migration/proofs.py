"""Test-MigrationUser and Test-MigrationBatch (imsh additions): prove what a migration copied.

Each user's proof is one ``MigrationUserProof`` record (a list view: a proof is read, not
scanned in a table): the verdict (``Result`` Identical or Different), the
``DataConsistencyScore`` it gives, the counts, and ``Folders``: one ``MigrationFolderProof``
per folder (shown as a table: ``(Test-MigrationUser u).Folders``, or ``-FolderTable`` to
output those rows directly). ``-Detailed`` fills ``Differences`` with one
``MigrationProofDifference`` per message or folder that differs (and per skipped message).

Users come from ``-Identity`` or the pipeline (``Get-MigrationUser -BatchId B |
Test-MigrationUser``). Reading changes nothing on either side (engine/service/proofs.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from cmdlets.migration.common import identity
from engine.service.proofs import FolderProof, UserProof
from engine.verify.model import Difference

_NS = "Microsoft.Exchange.Data.Storage.Management."
_SUMMARY = ("Identity", "Result", "DataConsistencyScore", "SourceItemCount", "TargetItemCount",
            "MissingItemCount", "SkippedItemCount")


def proof_record(proof: UserProof, detailed: bool) -> PSObject:
    row = proof.verdict
    return PSObject({
        "Identity": proof.email_address,
        "BatchId": proof.batch_name,
        "Result": "Failed" if row.error else proof.result,
        "DataConsistencyScore": str(row.score),
        "FolderCount": row.folders,
        "SourceItemCount": row.source_items,
        "TargetItemCount": row.target_items,
        "MissingItemCount": row.missing,
        "ChangedItemCount": row.changed,
        "ExtraItemCount": row.extra,
        "SkippedItemCount": row.skipped,
        "MissingFolderCount": row.folders_missing,
        "SourceSize": proof.source_bytes,
        "Duration": timedelta(seconds=round(proof.seconds)),
        "ProvedTime": row.proved_at.astimezone(),
        "ProvedTimeUTC": row.proved_at,
        "Error": row.error,
        "Source": proof.source,
        "Target": proof.target,
        "Folders": [folder_record(f) for f in proof.folders],
        "Differences": ([difference_record(d) for d in proof.differences] if detailed
                        else None),
    }, (_NS + "MigrationUserProof", "System.Object"), _SUMMARY, "list")


def folder_record(folder: FolderProof) -> PSObject:
    return PSObject({
        "Folder": folder.folder,
        "TargetFolder": folder.target_folder,
        "Result": folder.result,
        "SourceItems": folder.source_items,
        "TargetItems": folder.target_items,
        "Missing": folder.missing,
        "Altered": folder.altered,
        "Changed": folder.changed,
        "Extra": folder.extra,
        "Skipped": folder.skipped,
    }, (_NS + "MigrationFolderProof", "System.Object"),
        ("Folder", "Result", "SourceItems", "TargetItems", "Missing", "Altered", "Changed",
         "Extra", "Skipped"), "table")


def difference_record(diff: Difference) -> PSObject:
    return PSObject({
        "Kind": str(diff.kind),
        "Folder": diff.folder,
        "Message": diff.message,
        "Source": diff.source,
        "Target": diff.target,
    }, (_NS + "MigrationProofDifference", "System.Object"),
        ("Kind", "Folder", "Message", "Source", "Target"), "table")


def _output(proofs: Iterable[UserProof], args: BoundArguments) -> list[Any]:
    detailed = args.switch("Detailed")
    if args.switch("FolderTable"):
        return [folder_record(f) for p in proofs for f in p.folders]
    return [proof_record(p, detailed) for p in proofs]


_COMMON = (
    Parameter("Detailed", T.SWITCH, help="Fill Differences: every message that differs."),
    Parameter("FolderTable", T.SWITCH,
              help="Output the per-folder rows (MigrationFolderProof) instead."),
)


class TestMigrationUser(Cmdlet):
    name = "Test-MigrationUser"
    synopsis = "Proves that a user's target mailbox holds exactly the source's messages."
    description = (
        "imsh addition. Reads the user's source mailbox read-only (EXAMINE, BODY.PEEK) and its "
        "target mailbox, and compares them folder by folder: byte-identical content (a SHA-256 "
        "of each message), flags and keywords, and INTERNALDATE. Differences are typed "
        "Missing, Extra, Duplicated, Altered, Flags, Keywords, Dates, FolderMissing and "
        "FolderExtra; items the migration skipped count as Skipped, not Missing. The verdict "
        "and the DataConsistencyScore it gives are stored and shown by Get-MigrationUser and "
        "Get-MigrationUserStatistics. Safe while the batch is Synced. See docs/proof.md.")
    examples = (
        Example("Test-MigrationUser -Identity laura@contoso.com",
                "Proves one user's migration."),
        Example("Get-MigrationUser -BatchId IMAPBatch1 | Test-MigrationUser",
                "Proves every user of a batch from the pipeline."),
        Example("Test-MigrationUser laura@contoso.com -FolderTable",
                "The per-folder table."),
        Example("Test-MigrationUser laura@contoso.com -Detailed | "
                "Select-Object -ExpandProperty Differences", "Every message that differs."),
    )
    parameters = (identity("migration user (e-mail address)", mandatory=True), *_COMMON)
    output_type = _NS + "MigrationUserProof"
    __test__ = False  # not a pytest test class

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return _output([ctx.engine.prove_user(args["Identity"])], args)


class TestMigrationBatch(Cmdlet):
    name = "Test-MigrationBatch"
    synopsis = "Proves every user of a migration batch (see Test-MigrationUser)."
    description = (
        "imsh addition. Runs Test-MigrationUser for each user of the batch, one after the "
        "other; a user whose mailboxes cannot be read gets Result Failed (its score stays as "
        "it was), and the other users are still proven.")
    examples = (
        Example("Test-MigrationBatch -Identity IMAPBatch1",
                "Proves each user of the batch."),
        Example("Test-MigrationBatch IMAPBatch1 | Export-Csv proof.csv",
                "The proofs as a CSV file."),
    )
    parameters = (identity("migration batch", mandatory=True), *_COMMON)
    output_type = _NS + "MigrationUserProof"
    __test__ = False

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return _output(ctx.engine.prove_batch(args["Identity"]), args)


PROOF_CMDLETS: tuple[type[Cmdlet], ...] = (TestMigrationUser, TestMigrationBatch)
