"""Folder changes the incremental sync asks of a target: rename a folder (with its
subfolders), delete one only when it is empty (:meth:`~engine.targets.base.Target.rename_folder`,
:meth:`~engine.targets.base.Target.delete_folder_if_empty`).

The rules common to every target live here: a rename to the same path is done, INBOX is never
renamed or deleted. A target changes folders behind its own caches, so the caller re-opens it
afterwards (:func:`reopen`). A target that cannot rename reports ``False`` and the caller falls
back to copying.
"""

from __future__ import annotations

from engine.folders import INBOX, FolderPath
from engine.targets.base import Target, TargetMailbox


def reopen(target: Target, mailbox: TargetMailbox) -> None:
    """Drop the target's caches (selected folder, folder indexes) by opening the user anew."""
    target.close()
    target.open_user(mailbox)


def rename_folder(target: Target, old: FolderPath, new: FolderPath) -> bool:
    """Rename ``old`` (and its subfolders) to ``new``. True when the target now has ``new``
    and not ``old`` (also when an earlier, interrupted pass already renamed it)."""
    if old == new:
        return True
    if INBOX in (old, new):
        return False
    return target.rename_folder(old, new)


def delete_folder_if_empty(target: Target, path: FolderPath) -> bool:
    """Delete ``path`` only when it holds no message and has no subfolder. True if gone."""
    if path == INBOX:
        return False
    return target.delete_folder_if_empty(path)
