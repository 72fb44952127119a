"""What an EWS target stores per message: the MAPI properties set at CreateItem and their values.

An uploaded message is ``t:Message`` with the exact MIME bytes (``t:MimeContent``) plus
properties that make it look received, not drafted (see reference/ews-target.md §1.2-1.4):

- ``PR_MESSAGE_FLAGS`` (0x0E07, Integer): ``MSGFLAG_READ`` for ``\\Seen``; ``MSGFLAG_UNSENT``
  only for a real ``\\Draft``, else ``MSGFLAG_UNMODIFIED`` (what received mail carries). Without
  it Exchange files the item as an unsent draft. It can only be set at creation.
- ``PR_MESSAGE_DELIVERY_TIME`` (0x0E06, SystemTime): the IMAP INTERNALDATE, in UTC; Outlook
  sorts mail folders by it (``DateTimeReceived``).
- ``PidTagFlagStatus`` (0x1090, Integer): 2 (flagged) for ``\\Flagged``, absent otherwise.
- ``PidTagLastVerbExecuted`` (0x1081) and ``PR_ICON_INDEX`` (0x1080): replied (102/261) for
  ``\\Answered``, else forwarded (104/262) for the ``$Forwarded`` keyword.
- ``item:Categories``: the IMAP keywords, except IMAP's own ``$`` keywords (``$MDNSent``,
  ``$Junk``...) and Thunderbird's junk markers, which would show up as meaningless categories.
- ``item:Importance`` and ``item:Sensitivity`` from the ``Importance``/``X-Priority`` and
  ``Sensitivity`` headers: exchangelib always sends both (default Normal), which would override
  what Exchange derives from the MIME.
- the source key, in imsh's named property (:data:`SOURCE_KEY_SET`, ``imsh-source-key``,
  String): how resume and deletion sync find a copy again (``FindItem`` restricted on it).

The property classes are registered once on :class:`exchangelib.Message` (exchangelib's
registry is class-global) by :func:`register_properties`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from typing import Any

from exchangelib import UTC as EWS_UTC
from exchangelib import EWSDateTime, ExtendedProperty, Message

from engine.mail import storable_flags

SOURCE_KEY_SET = "5f2c1a4e-8b7d-4c3e-9a61-0d4b2e7f3c58"
SOURCE_KEY_NAME = "imsh-source-key"

MSGFLAG_READ = 0x1
MSGFLAG_UNMODIFIED = 0x2
MSGFLAG_UNSENT = 0x8
FLAG_STATUS_FLAGGED = 2
VERB_REPLIED, ICON_REPLIED = 102, 261
VERB_FORWARDED, ICON_FORWARDED = 104, 262
FORWARDED_KEYWORD = "$forwarded"
_NOT_CATEGORIES = frozenset({"junk", "nonjunk", "notjunk"})


class SourceKeyProperty(ExtendedProperty):
    property_set_id = SOURCE_KEY_SET
    property_name = SOURCE_KEY_NAME
    property_type = "String"


class MessageFlagsProperty(ExtendedProperty):
    property_tag = 0x0E07
    property_type = "Integer"


class DeliveryTimeProperty(ExtendedProperty):
    property_tag = 0x0E06
    property_type = "SystemTime"


class FlagStatusProperty(ExtendedProperty):
    property_tag = 0x1090
    property_type = "Integer"


class LastVerbProperty(ExtendedProperty):
    property_tag = 0x1081
    property_type = "Integer"


class IconIndexProperty(ExtendedProperty):
    property_tag = 0x1080
    property_type = "Integer"


PROPERTIES: dict[str, type[ExtendedProperty]] = {
    "imsh_source_key": SourceKeyProperty,
    "imsh_message_flags": MessageFlagsProperty,
    "imsh_delivery_time": DeliveryTimeProperty,
    "imsh_flag_status": FlagStatusProperty,
    "imsh_last_verb": LastVerbProperty,
    "imsh_icon_index": IconIndexProperty,
}


def register_properties() -> None:
    """Register imsh's extended properties on Message (idempotent)."""
    known = {f.name for f in Message.FIELDS}
    for name, prop in PROPERTIES.items():
        if name not in known:
            Message.register(name, prop)


@dataclass(frozen=True)
class ItemState:
    """The mutable part of a stored message: read, flagged, replied/forwarded, categories."""

    is_read: bool
    flag_status: int | None
    last_verb: int | None
    icon_index: int | None
    categories: tuple[str, ...]
    dropped_keywords: tuple[str, ...]

    def fields(self) -> dict[str, Any]:
        return {
            "is_read": self.is_read,
            "categories": list(self.categories) or None,
            "imsh_flag_status": self.flag_status,
            "imsh_last_verb": self.last_verb,
            "imsh_icon_index": self.icon_index,
        }


def item_state(flags: Sequence[str], keywords: Sequence[str]) -> ItemState:
    """The EWS state of a message with these IMAP flags and keywords."""
    system = set(storable_flags(flags))
    lowered = {k.lower() for k in keywords}
    verb, icon = None, None
    if "\\Answered" in system:
        verb, icon = VERB_REPLIED, ICON_REPLIED
    elif FORWARDED_KEYWORD in lowered:
        verb, icon = VERB_FORWARDED, ICON_FORWARDED
    categories, dropped = split_keywords(keywords)
    return ItemState(
        is_read="\\Seen" in system,
        flag_status=FLAG_STATUS_FLAGGED if "\\Flagged" in system else None,
        last_verb=verb, icon_index=icon, categories=categories, dropped_keywords=dropped)


@dataclass(frozen=True)
class StateChange:
    """The fields a flag delta touches (``fields``: name -> new value, only those), whether it
    touches the categories (then the item's current ones are needed), and the keywords the
    target cannot store."""

    fields: dict[str, Any]
    add_categories: tuple[str, ...]
    remove_categories: tuple[str, ...]
    dropped_keywords: tuple[str, ...]

    def with_categories(self, current: Sequence[str]) -> dict[str, Any]:
        """Every field to write, the categories being ``current`` plus/minus the delta."""
        if not (self.add_categories or self.remove_categories):
            return dict(self.fields)
        gone = {c.casefold() for c in self.remove_categories}
        kept = [c for c in current if c.casefold() not in gone]
        have = {c.casefold() for c in kept}
        kept += [c for c in self.add_categories if c.casefold() not in have]
        return {**self.fields, "categories": kept or None}


def state_change(add: Sequence[str], remove: Sequence[str]) -> StateChange:
    """The EWS side of adding ``add`` and removing ``remove`` (flags and keywords mixed):
    ``is_read`` only when ``\\Seen`` changes, the flag only when ``\\Flagged`` does, the last
    verb only when ``\\Answered`` or ``$Forwarded`` does, categories by name."""
    system = set(storable_flags(add))
    gone = set(storable_flags(remove))
    keywords = [k for k in add if not k.startswith("\\")]
    gone_keywords = [k for k in remove if not k.startswith("\\")]
    fields: dict[str, Any] = {}
    if "\\Seen" in system | gone:
        fields["is_read"] = "\\Seen" in system
    if "\\Flagged" in system | gone:
        fields["imsh_flag_status"] = FLAG_STATUS_FLAGGED if "\\Flagged" in system else None
    forwarded = {k.lower() for k in keywords} & {FORWARDED_KEYWORD}
    if "\\Answered" in system | gone or FORWARDED_KEYWORD in {
            k.lower() for k in (*keywords, *gone_keywords)}:
        verb, icon = None, None
        if "\\Answered" in system:
            verb, icon = VERB_REPLIED, ICON_REPLIED
        elif forwarded:
            verb, icon = VERB_FORWARDED, ICON_FORWARDED
        fields["imsh_last_verb"], fields["imsh_icon_index"] = verb, icon
    categories, dropped = split_keywords(keywords)
    removed, _ = split_keywords(gone_keywords)
    return StateChange(fields, categories, removed, dropped)


def split_keywords(keywords: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(categories, dropped): ``$`` keywords and junk markers are not categories; ``$Forwarded``
    is stored as the last verb, so it is neither."""
    categories: list[str] = []
    dropped: list[str] = []
    for keyword in sorted(set(keywords)):
        lowered = keyword.lower()
        if lowered == FORWARDED_KEYWORD:
            continue
        if lowered.startswith("$") or lowered in _NOT_CATEGORIES or "," in keyword:
            dropped.append(keyword)
        else:
            categories.append(keyword)
    return tuple(categories), tuple(dropped)


def message_flags(flags: Sequence[str]) -> int:
    """``PR_MESSAGE_FLAGS`` at creation: read bit, and unsent only for real drafts."""
    system = set(storable_flags(flags))
    value = MSGFLAG_UNSENT if "\\Draft" in system else MSGFLAG_UNMODIFIED
    return value | (MSGFLAG_READ if "\\Seen" in system else 0)


def delivery_time(internaldate: datetime | None) -> EWSDateTime | None:
    """The INTERNALDATE instant as the UTC EWSDateTime exchangelib requires (naive = UTC)."""
    if internaldate is None:
        return None
    when = internaldate if internaldate.tzinfo else internaldate.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return EWSDateTime(when.year, when.month, when.day, when.hour, when.minute, when.second,
                       tzinfo=EWS_UTC)  # INTERNALDATE has whole seconds


_IMPORTANCE = {"high": "High", "low": "Low", "normal": "Normal"}
_PRIORITY = {"1": "High", "2": "High", "3": "Normal", "4": "Low", "5": "Low"}
_SENSITIVITY = {"personal": "Personal", "private": "Private",
                "company-confidential": "Confidential"}


def header_importance(raw: bytes) -> tuple[str, str]:
    """(importance, sensitivity) as the message's own headers state them (default Normal)."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    headers = BytesHeaderParser().parsebytes(raw[: end if end >= 0 else len(raw)])
    importance = _IMPORTANCE.get(str(headers.get("Importance", "")).strip().lower())
    if importance is None:
        priority = str(headers.get("X-Priority", "")).strip()[:1]
        importance = _PRIORITY.get(priority, "Normal")
    sensitivity = _SENSITIVITY.get(str(headers.get("Sensitivity", "")).strip().lower(), "Normal")
    return importance, sensitivity
