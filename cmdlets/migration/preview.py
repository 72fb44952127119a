"""The -WhatIf preview of New-MigrationBatch and Start-MigrationBatch (docs/proof.md).

Under ``-WhatIf`` both cmdlets first make every check the real command makes (a bad CSV, a
missing endpoint, a batch that cannot start fail exactly as without -WhatIf), then print
PowerShell's ``What if:`` line and output one ``MigrationUserPreview`` per user: folders,
items and bytes on the source, the items the migration would refuse (each named by folder,
subject and Message-ID in ``RefusedItems``, summed up in ``RefusedItemsText`` so that
``| Export-Csv`` gives a sizing sheet), and an estimated duration. Nothing is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmdlets.base import PSObject

if TYPE_CHECKING:  # the preview module loads the sync engine; only -WhatIf runs it
    from engine.service.preview import FolderSize, RefusedItem, UserPreview

_NS = "Microsoft.Exchange.Data.Storage.Management."


def preview_record(preview: UserPreview) -> PSObject:
    return PSObject({
        "Identity": preview.email_address,
        "FolderCount": len(preview.folders),
        "ItemCount": preview.messages,
        "TotalSizeBytes": preview.bytes,
        "RefusedItemCount": len(preview.refused),
        "RefusedItemsText": "; ".join(
            f"{r.folder}: {r.subject} ({r.size} bytes, {r.reason})" for r in preview.refused)
        or None,
        "EstimatedDuration": preview.estimated_duration,
        "ThroughputBytesPerSecond": round(preview.throughput),
        "ThroughputMeasured": preview.measured,
        "Error": preview.error,
        "Folders": [_folder(f) for f in preview.folders],
        "RefusedItems": [_refused(r) for r in preview.refused],
    }, (_NS + "MigrationUserPreview", "System.Object"),
        ("Identity", "ItemCount", "TotalSizeBytes", "RefusedItemCount", "EstimatedDuration"),
        "table")


def _folder(folder: FolderSize) -> PSObject:
    return PSObject({"Folder": folder.folder, "ItemCount": folder.messages,
                     "SizeBytes": folder.bytes},
                    (_NS + "MigrationFolderPreview", "System.Object"),
                    ("Folder", "ItemCount", "SizeBytes"), "table")


def _refused(item: RefusedItem) -> PSObject:
    return PSObject({"Folder": item.folder, "Subject": item.subject,
                     "MessageId": item.message_id, "Size": item.size, "Reason": item.reason},
                    (_NS + "MigrationRefusedItem", "System.Object"),
                    ("Folder", "Subject", "Size", "Reason"), "table")


def preview_records(previews: list[UserPreview]) -> list[Any]:
    return [preview_record(p) for p in previews]
