"""The EWS operations the test double answers (reference/ews-target.md §5.3, plus UpdateItem).

ConvertId (exchangelib's version probe), GetFolder, FindFolder, CreateFolder, CreateItem,
FindItem, GetItem, UpdateItem, DeleteItem (folder changes are in :mod:`.folder_changes`).
Each handler reads its request through :mod:`.shapes` (which refuses unexpected shapes) and
answers one response message per requested id or item, in request order. A request that
cannot be served as a whole raises :class:`Fault` (answered as a SOAP fault, e.g.
``ErrorNonExistentMailbox``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING

from lxml import etree

from tests.support.ews_double import shapes as sh
from tests.support.ews_double.soap import error, m, response, success, t
from tests.support.ews_double.store import (
    PR_MESSAGE_FLAGS,
    Mailbox,
    StoredFolder,
    StoredItem,
    new_id,
)

if TYPE_CHECKING:
    from tests.support.ews_double.server import EwsDouble

PR_MESSAGE_FLAGS_FIXED = "PR_MESSAGE_FLAGS can only be set when the item is created"


class Fault(Exception):
    """A request-level EWS error (answered as a SOAP fault with this response code)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass
class Call:
    """One request: the double, who signed in, and whom they impersonate."""

    double: EwsDouble
    user: str
    impersonating: str | None

    def mailbox(self, address: str | None = None) -> Mailbox:
        wanted = address or self.impersonating or self.double.own_address(self.user)
        found = self.double.mailboxes.get(wanted.lower())
        if found is None:
            raise Fault("ErrorNonExistentMailbox",
                        f"The SMTP address has no mailbox associated with it: {wanted}")
        if self.impersonating and wanted.lower() != self.impersonating.lower():
            raise Fault("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return found

    def folder(self, ref: tuple[str, str, str | None]) -> tuple[Mailbox, StoredFolder | None]:
        kind, value, address = ref
        if kind == "distinguished":
            mailbox = self.mailbox(address)
            return mailbox, mailbox.folders[mailbox.by_distinguished[value]] if (
                value in mailbox.by_distinguished) else None
        for mailbox in self.double.mailboxes.values():
            if value in mailbox.folders:
                self.mailbox(mailbox.address)  # access check
                return mailbox, mailbox.folders[value]
        return self.mailbox(), None

    def item(self, item_id: str) -> tuple[Mailbox, StoredItem | None]:
        for mailbox in self.double.mailboxes.values():
            if item_id in mailbox.items:
                self.mailbox(mailbox.address)
                return mailbox, mailbox.items[item_id]
        return self.mailbox(), None


Handler = Callable[[Call, etree._Element], etree._Element]


# --- folders -------------------------------------------------------------------------------------

def folder_xml(parent: etree._Element, mailbox: Mailbox, folder: StoredFolder) -> None:
    elem = etree.SubElement(parent, t("Folder"))
    etree.SubElement(elem, t("FolderId"), Id=folder.folder_id, ChangeKey=folder.change_key)
    if folder.parent_id:
        etree.SubElement(elem, t("ParentFolderId"), Id=folder.parent_id, ChangeKey="CK1")
    if folder.folder_class:
        etree.SubElement(elem, t("FolderClass")).text = folder.folder_class
    etree.SubElement(elem, t("DisplayName")).text = folder.name
    items = mailbox.items_in(folder.folder_id)
    etree.SubElement(elem, t("TotalCount")).text = str(len(items))
    etree.SubElement(elem, t("ChildFolderCount")).text = str(len(mailbox.children(
        folder.folder_id)))
    etree.SubElement(elem, t("UnreadCount")).text = str(sum(not i.is_read for i in items))
    if folder.distinguished:
        etree.SubElement(elem, t("DistinguishedFolderId")).text = folder.distinguished


def get_folder(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("FolderShape"), m("FolderIds")})
    sh.shape(sh.need(op, m("FolderShape")))
    outer, messages = response("GetFolder")
    for ref in sh.folder_refs(sh.need(op, m("FolderIds"))):
        mailbox, folder = call.folder(ref)
        if folder is None:
            error(messages, "GetFolder", "ErrorFolderNotFound",
                  "The specified folder could not be found in the store.")
            continue
        folder_xml(etree.SubElement(success(messages, "GetFolder"), m("Folders")), mailbox,
                   folder)
    return outer


def find_folder(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("FolderShape"), m("IndexedPageFolderView"), m("Restriction"),
                          m("ParentFolderIds")})
    traversal = sh.attr(op, "Traversal", {"Shallow", "Deep", "SoftDeleted"})
    sh.shape(sh.need(op, m("FolderShape")))
    offset, size = sh.paging(op, "IndexedPageFolderView")
    wanted = None
    restriction = sh.one(op, m("Restriction"), required=False)
    if restriction is not None:
        path, wanted = sh.restriction(restriction)
        sh.ensure(path == "folder:DisplayName", f"FindFolder restriction on {path}")
    outer, messages = response("FindFolder")
    for ref in sh.folder_refs(sh.need(op, m("ParentFolderIds"))):
        mailbox, parent = call.folder(ref)
        if parent is None:
            error(messages, "FindFolder", "ErrorFolderNotFound", "The folder was not found.")
            continue
        found = (mailbox.descendants(parent.folder_id) if traversal == "Deep"
                 else mailbox.children(parent.folder_id))
        if wanted is not None:
            found = [f for f in found if f.name.casefold() == wanted.casefold()]
        page = found[offset: offset + size]
        root = _root_folder(success(messages, "FindFolder"), offset, page, len(found))
        container = etree.SubElement(root, t("Folders"))
        for folder in page:
            folder_xml(container, mailbox, folder)
    return outer


def _root_folder(msg: etree._Element, offset: int, page: Sequence[object],
                 total: int) -> etree._Element:
    end = offset + len(page)
    return etree.SubElement(msg, m("RootFolder"), IndexedPagingOffset=str(end),
                            TotalItemsInView=str(total),
                            IncludesLastItemInRange="true" if end >= total else "false")


def create_folder(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("ParentFolderId"), m("Folders")})
    refs = sh.folder_refs(sh.need(op, m("ParentFolderId")))
    sh.ensure(len(refs) == 1, "CreateFolder needs exactly one parent")
    mailbox, parent = call.folder(refs[0])
    outer, messages = response("CreateFolder")
    folders = sh.need(op, m("Folders"))
    sh.only_children(folders, {t("Folder")})
    for spec in folders:
        sh.only_children(spec, {t("FolderClass"), t("DisplayName")})
        name = sh.need(spec, t("DisplayName")).text or ""
        folder_class = sh.one(spec, t("FolderClass"), required=False)
        if parent is None:
            error(messages, "CreateFolder", "ErrorParentFolderNotFound",
                  "The parent folder could not be found.")
        elif not name.strip() or mailbox.child_named(parent.folder_id, name) is not None:
            error(messages, "CreateFolder", "ErrorFolderExists",
                  "A folder with the specified name already exists.")
        else:
            made = mailbox.add_folder(parent.folder_id, name,
                                      folder_class.text or "" if folder_class is not None else "")
            container = etree.SubElement(success(messages, "CreateFolder"), m("Folders"))
            etree.SubElement(etree.SubElement(container, t("Folder")), t("FolderId"),
                             Id=made.folder_id, ChangeKey=made.change_key)
    return outer


# --- items ---------------------------------------------------------------------------------------

def create_item(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("SavedItemFolderId"), m("Items")})
    sh.attr(op, "MessageDisposition", {"SaveOnly"})
    sh.attr(op, "SendMeetingInvitations", {"SendToNone"}, required=False)
    refs = sh.folder_refs(sh.need(op, m("SavedItemFolderId")))
    sh.ensure(len(refs) == 1, "SavedItemFolderId needs exactly one folder")
    mailbox, folder = call.folder(refs[0])
    items = sh.need(op, m("Items"))
    sh.only_children(items, {t("Message")})
    outer, messages = response("CreateItem")
    for spec in items:
        fields = sh.message_fields(spec, creating=True)
        mime = fields["MimeContent"]
        assert isinstance(mime, bytes)
        rejection = call.double.rejection_for(mime)
        if folder is None:
            error(messages, "CreateItem", "ErrorFolderNotFound", "The folder was not found.")
        elif rejection is not None:
            error(messages, "CreateItem", rejection, "The item could not be saved.")
        else:
            item = _store(mailbox, folder, mime, fields)
            box = etree.SubElement(success(messages, "CreateItem"), m("Items"))
            etree.SubElement(etree.SubElement(box, t("Message")), t("ItemId"),
                             Id=item.item_id, ChangeKey=item.change_key)
    return outer


def _store(mailbox: Mailbox, folder: StoredFolder, mime: bytes,
           fields: dict[str, object]) -> StoredItem:
    extended = fields["ExtendedProperty"]
    categories = fields.get("Categories") or []
    assert isinstance(extended, dict) and isinstance(categories, list)
    item = StoredItem(new_id("I", mailbox.address), folder.folder_id, mime,
                      is_read=bool(fields.get("IsRead", False)), categories=list(categories),
                      extended=dict(extended),
                      importance=str(fields.get("Importance", "Normal")),
                      sensitivity=str(fields.get("Sensitivity", "Normal")))
    mailbox.items[item.item_id] = item
    return item


def find_item(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("ItemShape"), m("IndexedPageItemView"), m("Restriction"),
                          m("SortOrder"), m("ParentFolderIds")})
    sh.attr(op, "Traversal", {"Shallow", "SoftDeleted", "Associated"})
    props = sh.shape(sh.need(op, m("ItemShape")))
    offset, size = sh.paging(op, "IndexedPageItemView")
    restriction = sh.one(op, m("Restriction"), required=False)
    condition = sh.restriction(restriction) if restriction is not None else None
    outer, messages = response("FindItem")
    for ref in sh.folder_refs(sh.need(op, m("ParentFolderIds"))):
        mailbox, folder = call.folder(ref)
        if folder is None:
            error(messages, "FindItem", "ErrorFolderNotFound", "The folder was not found.")
            continue
        found = [i for i in mailbox.items_in(folder.folder_id)
                 if condition is None or _matches(i, *condition)]
        page = found[offset: offset + size]
        root = _root_folder(success(messages, "FindItem"), offset, page, len(found))
        container = etree.SubElement(root, t("Items"))
        for item in page:
            item_xml(container, item, props)
    return outer


def _matches(item: StoredItem, path: str, value: str) -> bool:
    if path == "message:InternetMessageId":
        header = BytesHeaderParser().parsebytes(item.mime).get("Message-ID", "")
        return str(header).strip() == value
    sh.ensure(path.startswith(("tag:", "name:")), f"FindItem restriction on {path}")
    return item.extended.get(path) == value


def item_xml(parent: etree._Element, item: StoredItem, props: list[etree._Element]) -> None:
    keys = {sh.field_path(p): p for p in props}
    elem = etree.SubElement(parent, t("Message"))
    if "item:MimeContent" in keys:
        etree.SubElement(elem, t("MimeContent"), CharacterSet="UTF-8").text = base64.b64encode(
            item.mime).decode()
    etree.SubElement(elem, t("ItemId"), Id=item.item_id, ChangeKey=item.change_key)
    if "item:ParentFolderId" in keys:
        etree.SubElement(elem, t("ParentFolderId"), Id=item.folder_id, ChangeKey="CK1")
    if "item:Categories" in keys and item.categories:
        box = etree.SubElement(elem, t("Categories"))
        for category in item.categories:
            etree.SubElement(box, t("String")).text = category
    for key, uri in keys.items():
        if key.startswith(("tag:", "name:")) and key in item.extended:
            prop = etree.SubElement(elem, t("ExtendedProperty"))
            etree.SubElement(prop, t("ExtendedFieldURI"), dict(uri.attrib))
            etree.SubElement(prop, t("Value")).text = item.extended[key]
    if "message:IsRead" in keys:
        etree.SubElement(elem, t("IsRead")).text = "true" if item.is_read else "false"


def get_item(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("ItemShape"), m("ItemIds")})
    props = sh.shape(sh.need(op, m("ItemShape")))
    outer, messages = response("GetItem")
    for item_id in sh.item_ids(sh.need(op, m("ItemIds"))):
        _, item = call.item(item_id)
        if item is None:
            error(messages, "GetItem", "ErrorItemNotFound",
                  "The specified object was not found in the store.")
            continue
        item_xml(etree.SubElement(success(messages, "GetItem"), m("Items")), item, props)
    return outer


def update_item(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("ItemChanges"), m("SavedItemFolderId")})
    sh.attr(op, "ConflictResolution", {"NeverOverwrite", "AutoResolve", "AlwaysOverwrite"})
    sh.attr(op, "MessageDisposition", {"SaveOnly"})
    suppress = sh.attr(op, "SuppressReadReceipts", {"true", "false"}, required=False)
    changes = sh.need(op, m("ItemChanges"))
    sh.only_children(changes, {t("ItemChange")})
    outer, messages = response("UpdateItem")
    for change in changes:
        sh.only_children(change, {t("ItemId"), t("Updates")})
        item_id = str(sh.attr(sh.need(change, t("ItemId")), "Id"))
        updates = list(_updates(sh.need(change, t("Updates"))))
        if any(key == "message:IsRead" for key, _ in updates):
            sh.ensure(suppress == "true", "IsRead set without SuppressReadReceipts=true would "
                                          "send read receipts")
        _, item = call.item(item_id)
        if item is None:
            error(messages, "UpdateItem", "ErrorItemNotFound",
                  "The specified object was not found in the store.")
            continue
        for key, value in updates:
            _apply(item, key, value)
        item.change_key = f"CK{int(item.change_key[2:]) + 1}"
        msg = success(messages, "UpdateItem")
        box = etree.SubElement(msg, m("Items"))
        etree.SubElement(etree.SubElement(box, t("Message")), t("ItemId"), Id=item.item_id,
                         ChangeKey=item.change_key)
        etree.SubElement(etree.SubElement(msg, m("ConflictResults")), t("Count")).text = "0"
    return outer


def _updates(elem: etree._Element) -> list[tuple[str, object]]:
    sh.only_children(elem, {t("SetItemField"), t("DeleteItemField"), t("AppendToItemField")})
    result: list[tuple[str, object]] = []
    for update in elem:
        paths = [c for c in update if c.tag in (t("FieldURI"), t("ExtendedFieldURI"))]
        sh.ensure(len(paths) == 1, f"{sh.local(update.tag)} needs exactly one property path")
        key = sh.field_path(paths[0])
        sh.ensure(key != PR_MESSAGE_FLAGS, PR_MESSAGE_FLAGS_FIXED)
        sh.ensure(update.tag != t("AppendToItemField"), "imsh never appends to fields")
        if update.tag == t("DeleteItemField"):
            result.append((key, None))
            continue
        fields = sh.message_fields(sh.need(update, t("Message")), creating=False)
        extended = fields.pop("ExtendedProperty")
        assert isinstance(extended, dict)
        values = list(fields.values()) + list(extended.values())
        sh.ensure(len(values) == 1, f"SetItemField for {key} must carry exactly that field")
        result.append((key, values[0]))
    return result


def _apply(item: StoredItem, key: str, value: object) -> None:
    if key == "message:IsRead":
        sh.ensure(value is not None, "IsRead cannot be deleted")
        item.is_read = bool(value)
    elif key == "item:Categories":
        item.categories = list(value) if isinstance(value, list) else []
    elif key.startswith(("tag:", "name:")):
        if value is None:
            item.extended.pop(key, None)
        else:
            item.extended[key] = str(value)
    else:
        raise sh.ShapeError(f"the double does not update {key}")


def delete_item(call: Call, op: etree._Element) -> etree._Element:
    sh.only_children(op, {m("ItemIds")})
    delete_type = sh.attr(op, "DeleteType", {"HardDelete", "SoftDelete", "MoveToDeletedItems"})
    sh.attr(op, "SendMeetingCancellations", {"SendToNone"}, required=False)
    sh.attr(op, "AffectedTaskOccurrences", {"AllOccurrences", "SpecifiedOccurrenceOnly"},
            required=False)
    sh.attr(op, "SuppressReadReceipts", {"true", "false"}, required=False)
    outer, messages = response("DeleteItem")
    for item_id in sh.item_ids(sh.need(op, m("ItemIds"))):
        mailbox, item = call.item(item_id)
        if item is None:
            error(messages, "DeleteItem", "ErrorItemNotFound",
                  "The specified object was not found in the store.")
            continue
        if delete_type == "MoveToDeletedItems":
            item.folder_id = mailbox.by_distinguished["deleteditems"]
        else:
            del mailbox.items[item_id]
            if delete_type == "SoftDelete":
                mailbox.recoverable.append(item)
        success(messages, "DeleteItem")
    return outer


def convert_id(call: Call, op: etree._Element) -> etree._Element:
    """exchangelib's version probe: only the response header matters to it."""
    sh.attr(op, "DestinationFormat")
    sources = sh.need(op, m("SourceIds"))
    outer, messages = response("ConvertId")
    for _ in sources:
        error(messages, "ConvertId", "ErrorInvalidIdMalformed", "Id is malformed.")
    return outer


HANDLERS: dict[str, Handler] = {
    "ConvertId": convert_id, "GetFolder": get_folder, "FindFolder": find_folder,
    "CreateFolder": create_folder, "CreateItem": create_item, "FindItem": find_item,
    "GetItem": get_item, "UpdateItem": update_item, "DeleteItem": delete_item,
}
