"""Folder operations the incremental sync needs beyond the :class:`~engine.targets.base.Target`
contract: rename a target folder (with its subfolders) and delete one only when it is empty.

IMAP and Maildir are handled here through their public surface (``ImapTarget.session``/
``raw_name``, ``MaildirTarget.folder_dir``); a target that does them itself (the EWS target's
``rename_folder``/``delete_folder_if_empty``) is asked to. They change folders behind the
target object's caches, so the caller re-opens the target afterwards (:func:`reopen`). A
target of another kind reports ``False`` (not done) and the caller falls back to copying.
"""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from pathlib import Path

from engine.folders import INBOX, FolderPath, display_name
from engine.imap.connection import imap_errors, response_code
from engine.targets.base import Target, TargetMailbox
from engine.targets.imap import ImapTarget
from engine.targets.maildir import MaildirTarget


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
    if isinstance(target, ImapTarget):
        return _rename_imap(target, old, new)
    if isinstance(target, MaildirTarget):
        return _rename_maildir(target, old, new)
    return _delegate(target, "rename_folder", old, new)


def delete_folder_if_empty(target: Target, path: FolderPath) -> bool:
    """Delete ``path`` only when it holds no message and has no subfolder. True if gone."""
    if path == INBOX:
        return False
    if isinstance(target, ImapTarget):
        return _delete_imap(target, path)
    if isinstance(target, MaildirTarget):
        return _delete_maildir(target, path)
    return _delegate(target, "delete_folder_if_empty", path)


def _delegate(target: Target, operation: str, *args: FolderPath) -> bool:
    """A target that does the operation itself (EWS) is asked to; others report False."""
    method = getattr(target, operation, None)
    return bool(method(*args)) if callable(method) else False


# --- IMAP ----------------------------------------------------------------------------------------

def _imap_names(target: ImapTarget, pattern: str) -> set[str]:
    rows = target.session.client.list_folders("", pattern)
    return {(r[2].decode() if isinstance(r[2], bytes) else str(r[2])) for r in rows}


def _rename_imap(target: ImapTarget, old: FolderPath, new: FolderPath) -> bool:
    old_name, new_name = target.raw_name(old), target.raw_name(new)
    client = target.session.client
    with imap_errors(target.settings, f"rename the folder '{display_name(old)}'"):
        if client.folder_exists(new_name):
            return not client.folder_exists(old_name)
        if not client.folder_exists(old_name):
            return False
        client.rename_folder(old_name, new_name)
        client.subscribe_folder(new_name)
    return True


def _delete_imap(target: ImapTarget, path: FolderPath) -> bool:
    name = target.raw_name(path)
    client = target.session.client
    separator = target.naming.separator
    with imap_errors(target.settings, f"delete the folder '{display_name(path)}'"):
        if not client.folder_exists(name):
            return True
        if _imap_names(target, name + separator + "*"):
            return False
        if int(client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]) != 0:
            return False
        with suppress(Exception):  # Dovecot drops a session whose selected folder is deleted
            client.close_folder()
        try:
            client.unsubscribe_folder(name)
        except Exception as exc:  # not subscribed is fine
            if response_code(str(exc)) not in (None, "NONEXISTENT"):
                raise
        client.delete_folder(name)
    return True


# --- Maildir -------------------------------------------------------------------------------------

def _rename_maildir(target: MaildirTarget, old: FolderPath, new: FolderPath) -> bool:
    old_dir, new_dir = target.folder_dir(old), target.folder_dir(new)
    if (new_dir / "cur").is_dir():
        return not old_dir.exists()
    if not (old_dir / "cur").is_dir():
        return False
    children = sorted(p for p in old_dir.parent.iterdir()
                      if p.name.startswith(old_dir.name + "."))
    os.rename(old_dir, new_dir)
    for child in children:
        os.rename(child, new_dir.parent / (new_dir.name + child.name[len(old_dir.name):]))
    _fsync_dir(new_dir.parent)
    return True


def _delete_maildir(target: MaildirTarget, path: FolderPath) -> bool:
    directory = target.folder_dir(path)
    if not directory.exists():
        return True
    if any(p.name.startswith(directory.name + ".") for p in directory.parent.iterdir()):
        return False
    if any(_messages(directory / sub) for sub in ("cur", "new")):
        return False
    shutil.rmtree(directory)
    _fsync_dir(directory.parent)
    return True


def _messages(directory: Path) -> bool:
    try:
        return any(not name.startswith(".") for name in os.listdir(directory))
    except FileNotFoundError:
        return False


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
