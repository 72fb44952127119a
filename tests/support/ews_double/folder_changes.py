"""Folder changes the EWS test double answers: UpdateFolder (display name only), MoveFolder and
DeleteFolder, for the incremental sync's folder rename and delete-if-empty.

As Exchange does: distinguished folders can be neither renamed, moved nor deleted; a name that
a sibling already has (compared without case) is ``ErrorFolderExists``; DeleteFolder takes
the folder's items and subfolders with it (``SoftDelete``: its items go to the mailbox's
Recoverable Items list).
"""

from __future__ import annotations

from lxml import etree

from tests.support.ews_double import shapes as sh
from tests.support.ews_double.operations import Call, Handler
from tests.support.ews_double.soap import error, m, response, success, t
from tests.support.ews_double.store import Mailbox, StoredFolder


def _bump(folder: StoredFolder) -> None:
    folder.change_key = f"CK{int(folder.change_key[2:]) + 1}"


def _folder_answer(msg: etree._Element, folder: StoredFolder) -> None:
    box = etree.SubElement(msg, m("Folders"))
    etree.SubElement(etree.SubElement(box, t("Folder")), t("FolderId"), Id=folder.folder_id,
                     ChangeKey=folder.change_key)


def update_folder(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("FolderChanges")})
    changes = sh.need(op, m("FolderChanges"))
    sh.only_children(changes, {t("FolderChange")})
    outer, messages = response("UpdateFolder")
    for change in changes:
        sh.only_children(change, {t("FolderId"), t("Updates")})
        mailbox, folder = call.folder(sh.folder_ref(sh.need(change, t("FolderId"))))
        name = _new_name(sh.need(change, t("Updates")))
        if folder is None:
            error(messages, "UpdateFolder", "ErrorFolderNotFound", "The folder was not found.")
        elif folder.distinguished:
            error(messages, "UpdateFolder", "ErrorCannotRenameOrDeleteDefaultFolders",
                  "Default folders cannot be renamed or deleted.")
        elif _clash(mailbox, folder.parent_id, name, folder):
            error(messages, "UpdateFolder", "ErrorFolderExists",
                  "A folder with the specified name already exists.")
        else:
            folder.name = name
            _bump(folder)
            _folder_answer(success(messages, "UpdateFolder"), folder)
    return outer


def _new_name(updates: etree._Element) -> str:
    sh.only_children(updates, {t("SetFolderField")})
    sh.ensure(len(updates) == 1, "the double only renames folders (one SetFolderField)")
    update = updates[0]
    sh.only_children(update, {t("FieldURI"), t("Folder")})
    sh.ensure(sh.field_path(sh.need(update, t("FieldURI"))) == "folder:DisplayName",
              "the double only updates folder:DisplayName")
    folder = sh.need(update, t("Folder"))
    sh.only_children(folder, {t("DisplayName")})
    name = sh.need(folder, t("DisplayName")).text or ""
    sh.ensure(bool(name.strip()), "a folder's DisplayName cannot be empty")
    return name


def _clash(mailbox: Mailbox, parent_id: str | None, name: str, moving: StoredFolder) -> bool:
    if parent_id is None:
        return False
    other = mailbox.child_named(parent_id, name)
    return other is not None and other.folder_id != moving.folder_id


def move_folder(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("ToFolderId"), m("FolderIds")})
    targets = sh.folder_refs(sh.need(op, m("ToFolderId")))
    sh.ensure(len(targets) == 1, "MoveFolder needs exactly one ToFolderId")
    _, parent = call.folder(targets[0])
    outer, messages = response("MoveFolder")
    for ref in sh.folder_refs(sh.need(op, m("FolderIds"))):
        mailbox, folder = call.folder(ref)
        if folder is None or parent is None:
            error(messages, "MoveFolder", "ErrorFolderNotFound", "The folder was not found.")
        elif folder.distinguished:
            error(messages, "MoveFolder", "ErrorMoveDistinguishedFolder",
                  "Distinguished folders cannot be moved.")
        elif parent.folder_id == folder.folder_id or parent in mailbox.descendants(
                folder.folder_id):
            error(messages, "MoveFolder", "ErrorMoveCopyFailed",
                  "A folder cannot be moved into itself.")
        elif _clash(mailbox, parent.folder_id, folder.name, folder):
            error(messages, "MoveFolder", "ErrorFolderExists",
                  "A folder with the specified name already exists.")
        else:
            folder.parent_id = parent.folder_id
            _bump(folder)
            _folder_answer(success(messages, "MoveFolder"), folder)
    return outer


def delete_folder(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("FolderIds")})
    delete_type = sh.attr(op, "DeleteType", {"HardDelete", "SoftDelete", "MoveToDeletedItems"})
    outer, messages = response("DeleteFolder")
    for ref in sh.folder_refs(sh.need(op, m("FolderIds"))):
        mailbox, folder = call.folder(ref)
        if folder is None:
            error(messages, "DeleteFolder", "ErrorFolderNotFound", "The folder was not found.")
        elif folder.distinguished:
            error(messages, "DeleteFolder", "ErrorDeleteDistinguishedFolder",
                  "Distinguished folders cannot be deleted.")
        else:
            _delete(mailbox, folder, delete_type)
            success(messages, "DeleteFolder")
    return outer


def _delete(mailbox: Mailbox, folder: StoredFolder, delete_type: str | None) -> None:
    if delete_type == "MoveToDeletedItems":
        folder.parent_id = mailbox.by_distinguished["deleteditems"]
        _bump(folder)
        return
    for gone in [folder, *mailbox.descendants(folder.folder_id)]:
        for item in mailbox.items_in(gone.folder_id):
            del mailbox.items[item.item_id]
            if delete_type == "SoftDelete":
                mailbox.recoverable.append(item)
        del mailbox.folders[gone.folder_id]


HANDLERS: dict[str, Handler] = {
    "UpdateFolder": update_folder, "MoveFolder": move_folder, "DeleteFolder": delete_folder,
}
