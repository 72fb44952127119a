"""Request shapes the EWS test double insists on (the EWS schema, messages.xsd/types.xsd).

Every reader here checks what it reads: element names and namespaces, required attributes and
their allowed values, the order of ``t:Message`` children (the XSD sequence of ItemType then
MessageType), extended property URIs (tag or named, with a valid PropertyType, and the right
type for the MAPI tags imsh sets), and that read-only properties are not written. A mismatch
raises :class:`ShapeError`, which the server records as a violation and answers with an
``ErrorSchemaValidation`` fault, so the test fails loudly.
"""

from __future__ import annotations

import base64
import binascii
import re

from lxml import etree

from tests.support.ews_double.soap import M, S, T, local, m, s, t
from tests.support.ews_double.store import DISTINGUISHED, named_key

API_VERSIONS = {"Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1",
                "Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2016"}
PROPERTY_TYPES = {"ApplicationTime", "Binary", "Boolean", "CLSID", "Currency", "Double",
                  "Float", "Integer", "Long", "Short", "SystemTime", "String", "StringArray",
                  "IntegerArray", "BinaryArray", "LongArray", "ShortArray", "SystemTimeArray",
                  "CLSIDArray", "DoubleArray", "FloatArray", "CurrencyArray",
                  "ApplicationTimeArray"}
KNOWN_TAG_TYPES = {0x0E07: "Integer", 0x0E06: "SystemTime", 0x1090: "Integer",
                   0x1081: "Integer", 0x1080: "Integer", 0x0039: "SystemTime"}
BASE_SHAPES = {"IdOnly", "Default", "AllProperties"}
ITEM_ORDER = [
    "MimeContent", "ItemId", "ParentFolderId", "ItemClass", "Subject", "Sensitivity", "Body",
    "Attachments", "DateTimeReceived", "Size", "Categories", "Importance", "InReplyTo",
    "IsSubmitted", "IsDraft", "IsFromMe", "IsResend", "IsUnmodified", "InternetMessageHeaders",
    "DateTimeSent", "DateTimeCreated", "ResponseObjects", "ReminderDueBy", "ReminderIsSet",
    "ReminderNextTime", "ReminderMinutesBeforeStart", "DisplayCc", "DisplayTo",
    "HasAttachments", "ExtendedProperty", "Culture", "EffectiveRights", "LastModifiedName",
    "LastModifiedTime", "IsAssociated", "WebClientReadFormQueryString",
    "WebClientEditFormQueryString", "ConversationId", "UniqueBody", "Flag",
    # MessageType
    "Sender", "ToRecipients", "CcRecipients", "BccRecipients", "IsReadReceiptRequested",
    "IsDeliveryReceiptRequested", "ConversationIndex", "ConversationTopic", "From",
    "InternetMessageId", "IsRead", "IsResponseRequested", "References", "ReplyTo",
    "ReceivedBy", "ReceivedRepresenting",
]
READ_ONLY = {"ItemId", "ParentFolderId", "DateTimeReceived", "Size", "IsSubmitted", "IsDraft",
             "IsFromMe", "IsResend", "IsUnmodified", "DateTimeSent", "DateTimeCreated",
             "DisplayCc", "DisplayTo", "HasAttachments", "EffectiveRights",
             "LastModifiedName", "LastModifiedTime", "ConversationId"}
BOOLEAN = {"true", "false", "1", "0"}
ENUMS = {"Sensitivity": {"Normal", "Personal", "Private", "Confidential"},
         "Importance": {"Low", "Normal", "High"}}
FIELD_URIS = {"item:MimeContent", "item:ParentFolderId", "item:Categories", "message:IsRead",
              "item:ItemClass", "item:Subject", "message:InternetMessageId",
              "item:Importance", "item:Sensitivity", "folder:DisplayName",
              "folder:FolderClass", "folder:ParentFolderId", "folder:TotalCount",
              "folder:ChildFolderCount", "folder:UnreadCount", "folder:FolderId",
              "folder:DistinguishedFolderId", "folder:PermissionSet", "folder:EffectiveRights",
              "item:ItemId", "item:DateTimeReceived", "item:Size"}
_SYSTEM_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class ShapeError(Exception):
    """The request does not have the shape Exchange requires."""


def ensure(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)


def one(parent: etree._Element, tag: str, *, required: bool = True) -> etree._Element | None:
    found = parent.findall(tag)
    ensure(len(found) <= 1, f"{local(parent.tag)} has {len(found)} {local(tag)} elements")
    ensure(bool(found) or not required, f"{local(parent.tag)} lacks {etree.QName(tag).text}")
    return found[0] if found else None


def need(parent: etree._Element, tag: str) -> etree._Element:
    found = one(parent, tag)
    assert found is not None
    return found


def only_children(elem: etree._Element, allowed: set[str]) -> None:
    for child in elem:
        if isinstance(child.tag, str):
            ensure(child.tag in allowed,
                   f"unexpected {etree.QName(child.tag).text} in {local(elem.tag)}")


def attr(elem: etree._Element, name: str, allowed: set[str] | None = None, *,
         required: bool = True) -> str | None:
    value = elem.get(name)
    ensure(value is not None or not required, f"{local(elem.tag)} lacks attribute {name}")
    ensure(value is None or allowed is None or value in allowed,
           f"{local(elem.tag)} {name}={value!r} is not one of {sorted(allowed or ())}")
    return value


def boolean(elem: etree._Element) -> bool:
    text = (elem.text or "").strip()
    ensure(text in BOOLEAN, f"{local(elem.tag)} is not a boolean: {text!r}")
    return text in ("true", "1")


# --- envelope ------------------------------------------------------------------------------------

def envelope(body: bytes) -> tuple[etree._Element | None, etree._Element]:
    """(SOAP header, the operation element) of a request."""
    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError as exc:
        raise ShapeError(f"request is not XML: {exc}") from None
    ensure(root.tag == s("Envelope"), f"root is {root.tag}, not soap:Envelope")
    only_children(root, {s("Header"), s("Body")})
    header = one(root, s("Header"), required=False)
    if header is not None:
        only_children(header, {t("RequestServerVersion"), t("ExchangeImpersonation"),
                               t("TimeZoneContext")})
        attr(need(header, t("RequestServerVersion")), "Version", API_VERSIONS)
    body_elem = need(root, s("Body"))
    operations = [c for c in body_elem if isinstance(c.tag, str)]
    ensure(len(operations) == 1, f"soap:Body holds {len(operations)} operations")
    ensure(etree.QName(operations[0]).namespace == M,
           f"operation {operations[0].tag} is not in the messages namespace")
    return header, operations[0]


def impersonated(header: etree._Element | None) -> str | None:
    if header is None:
        return None
    imp = one(header, t("ExchangeImpersonation"), required=False)
    if imp is None:
        return None
    sid = need(imp, t("ConnectingSID"))
    only_children(sid, {t("PrimarySmtpAddress"), t("SmtpAddress"), t("PrincipalName"),
                        t("SID")})
    address = sid.find(t("PrimarySmtpAddress"))
    ensure(address is not None and bool(address.text), "ConnectingSID lacks PrimarySmtpAddress")
    assert address is not None
    return str(address.text)


# --- ids and paths -------------------------------------------------------------------------------

def folder_ref(elem: etree._Element) -> tuple[str, str, str | None]:
    """("id", FolderId, None) or ("distinguished", name, mailbox address or None)."""
    if elem.tag == t("FolderId"):
        return "id", str(attr(elem, "Id")), None
    ensure(elem.tag == t("DistinguishedFolderId"), f"{elem.tag} is not a folder id")
    name = str(attr(elem, "Id"))
    ensure(name in DISTINGUISHED or name in _OTHER_DISTINGUISHED,
           f"DistinguishedFolderId Id={name!r} is not a distinguished folder")
    mailbox = one(elem, t("Mailbox"), required=False)
    address = None
    if mailbox is not None:
        email = need(mailbox, t("EmailAddress"))
        address = str(email.text)
    return "distinguished", name, address


def folder_refs(parent: etree._Element) -> list[tuple[str, str, str | None]]:
    refs = [folder_ref(c) for c in parent if isinstance(c.tag, str)]
    ensure(bool(refs), f"{local(parent.tag)} holds no folder ids")
    return refs


def item_ids(parent: etree._Element) -> list[str]:
    only_children(parent, {t("ItemId")})
    ids = [str(attr(c, "Id")) for c in parent if isinstance(c.tag, str)]
    ensure(bool(ids), f"{local(parent.tag)} holds no ItemId")
    return ids


def extended_key(uri: etree._Element) -> str:
    """The double's key for an ExtendedFieldURI, after checking its attributes."""
    ensure(uri.tag == t("ExtendedFieldURI"), f"{uri.tag} is not an ExtendedFieldURI")
    ptype = attr(uri, "PropertyType", PROPERTY_TYPES)
    tag = uri.get("PropertyTag")
    set_id, dist_set = uri.get("PropertySetId"), uri.get("DistinguishedPropertySetId")
    name, prop_id = uri.get("PropertyName"), uri.get("PropertyId")
    if tag is not None:
        ensure(set_id is None and dist_set is None and name is None and prop_id is None,
               "PropertyTag cannot be combined with a property set, name or id")
        number = int(tag, 16) if tag.lower().startswith("0x") else int(tag)
        expected = KNOWN_TAG_TYPES.get(number)
        ensure(expected is None or expected == ptype,
               f"property 0x{number:04x} must be {expected}, not {ptype}")
        return f"tag:0x{number:04x}"
    ensure((set_id is None) != (dist_set is None), "a named property needs exactly one set")
    ensure((name is None) != (prop_id is None), "a named property needs a name or an id")
    key = named_key(set_id or str(dist_set), name or str(prop_id))
    return key


def field_path(elem: etree._Element) -> str:
    """A path element (FieldURI or ExtendedFieldURI) as a key."""
    if elem.tag == t("FieldURI"):
        return str(attr(elem, "FieldURI", FIELD_URIS))
    return extended_key(elem)


def shape(elem: etree._Element) -> list[etree._Element]:
    """Checks an ItemShape/FolderShape; returns the additional property paths."""
    only_children(elem, {t("BaseShape"), t("AdditionalProperties"), t("IncludeMimeContent"),
                         t("BodyType"), t("FilterHtmlContent"), t("ConvertHtmlCodePageToUTF8")})
    base = need(elem, t("BaseShape"))
    ensure((base.text or "") in BASE_SHAPES, f"BaseShape {base.text!r}")
    extra = one(elem, t("AdditionalProperties"), required=False)
    paths = [] if extra is None else [c for c in extra if isinstance(c.tag, str)]
    for path in paths:
        field_path(path)
    return paths


def restriction(elem: etree._Element) -> tuple[str, str]:
    """(path key, constant) of an ``IsEqualTo`` restriction, the only kind imsh sends."""
    only_children(elem, {t("IsEqualTo")})
    equal = need(elem, t("IsEqualTo"))
    paths = [c for c in equal if c.tag in (t("FieldURI"), t("ExtendedFieldURI"))]
    ensure(len(paths) == 1, "IsEqualTo needs exactly one property path")
    constant = need(need(equal, t("FieldURIOrConstant")), t("Constant"))
    return field_path(paths[0]), str(attr(constant, "Value"))


def paging(elem: etree._Element, view: str) -> tuple[int, int]:
    page = need(elem, m(view))
    size = int(str(attr(page, "MaxEntriesReturned", required=False) or 1000))
    offset = int(str(attr(page, "Offset")))
    attr(page, "BasePoint", {"Beginning", "End"})
    return offset, size


# --- items ---------------------------------------------------------------------------------------

def message_fields(msg: etree._Element, *, creating: bool) -> dict[str, object]:
    """The fields of a ``t:Message`` (CreateItem, or SetItemField's value)."""
    ensure(msg.tag == t("Message"), f"{msg.tag} is not t:Message")
    fields: dict[str, object] = {}
    extended: dict[str, str] = {}
    last = -1
    for child in msg:
        if not isinstance(child.tag, str):
            continue
        ensure(etree.QName(child).namespace == T, f"{child.tag} is not in the types namespace")
        name = local(child.tag)
        ensure(name in ITEM_ORDER, f"t:Message has unknown child {name}")
        position = ITEM_ORDER.index(name)
        ensure(position >= last, f"t:Message child {name} is out of schema order")
        last = position
        ensure(name not in READ_ONLY, f"{name} is read-only and cannot be set")
        if name == "ExtendedProperty":
            key, value = extended_property(child)
            ensure(key not in extended, f"extended property {key} given twice")
            extended[key] = value
        else:
            fields[name] = _value(name, child)
    if creating:
        ensure("MimeContent" in fields, "CreateItem t:Message lacks MimeContent")
    fields["ExtendedProperty"] = extended
    return fields


def extended_property(elem: etree._Element) -> tuple[str, str]:
    uri = need(elem, t("ExtendedFieldURI"))
    key = extended_key(uri)
    value = need(elem, t("Value")).text or ""
    ptype = uri.get("PropertyType")
    if ptype == "Integer":
        ensure(re.fullmatch(r"-?\d+", value) is not None, f"{key} Integer value {value!r}")
    if ptype == "SystemTime":
        ensure(_SYSTEM_TIME.match(value) is not None, f"{key} SystemTime value {value!r}")
    return key, value


def _value(name: str, elem: etree._Element) -> object:
    if name == "MimeContent":
        try:
            return base64.b64decode(elem.text or "", validate=True)
        except binascii.Error:
            raise ShapeError("MimeContent is not base64") from None
    if name == "Categories":
        only_children(elem, {t("String")})
        return [str(c.text or "") for c in elem if isinstance(c.tag, str)]
    if name in ENUMS:
        ensure((elem.text or "") in ENUMS[name], f"{name} {elem.text!r}")
        return elem.text
    if name.startswith("Is") or name == "ReminderIsSet":
        return boolean(elem)
    return elem.text


_OTHER_DISTINGUISHED = {
    "calendar", "contacts", "journal", "notes", "tasks", "publicfoldersroot",
    "searchfolders", "voicemail", "recoverableitemsroot", "recoverableitemsdeletions",
    "recoverableitemsversions", "recoverableitemspurges", "archiveroot",
    "archivemsgfolderroot", "archivedeleteditems", "archiveinbox",
    "archiverecoverableitemsroot", "archiverecoverableitemsdeletions",
    "archiverecoverableitemsversions", "archiverecoverableitemspurges", "syncissues",
    "conflicts", "localfailures", "serverfailures", "recipientcache", "quickcontacts",
    "conversationhistory", "adminauditlogs", "todosearch", "mycontacts", "directory",
    "imcontactlist", "peopleconnect", "favorites", "conversationsettings", "allitems",
    "allcategorizeditems", "allcontacts", "allpersonmetadata", "allphotos", "alltodotasks",
    "approvalmailbox", "birthdays", "companycontacts", "deferredaction", "documentcenter",
    "externalcontacts", "fromfavoritesenders", "globaladdresslist", "lastnamewhiteboard",
    "orgcontacts", "peoplecentricconversationbuckets", "peoplecentricsettings",
    "personmetadata", "recoverableitemsdiscoveryholds", "recoverableitemsmigratedmessages",
    "scheduled", "sharedrecipientfolder", "swssubscriptions", "temporarysaves",
    "userclassificationconfigurationsettings", "teamchat", "teamchathistory", "yammerdata",
    "yammerfeeds", "yammerinbound", "yammeroutbound", "yammerroot", "workingset",
    "filesfolder",
}

__all__ = ["M", "S", "ShapeError", "T"]
