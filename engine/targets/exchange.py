"""Exchange behind an IMAP session: how imsh recognises it, and what it does differently there.

Pure functions on what the server said (its greeting and its CAPABILITY list); no I/O. The IMAP
target (engine/targets/imap.py) asks :func:`detect` once per session and never asks the admin.

**Detection.** Exchange names itself in its greeting, in two spellings seen from
outlook.office365.com (MailKit issues #1496 and #2016, 2023 and 2026)::

    * OK The Microsoft Exchange IMAP4 service is ready. [RgBSADAAUAAy...]
    * OK Microsoft Exchange IMAP4 service ready. <guid> (tcpproxy/15.21.0406.000
      BACKENDAUTHENTICATE) [...]

The bracketed blob is the serving host's name in base64 of UTF-16LE (``FR0P281CA0041.DEUP281.
PROD.OUTLOOK.COM``): a name under ``outlook.com`` means Exchange Online. Outlook.com's older
front end greeted ``Outlook.com IMAP4rev1 server version 17.4.0.0 ready``. A greeting can be
rewritten by a load balancer or a proxy in front of the server, so the capabilities count as
much: after login, Exchange Online lists ``CLIENTACCESSRULES``, ``CLIENTNETWORKPRESENCELOCATION``
and ``BACKENDAUTHENTICATE``, which no other IMAP server offers. Either kind of evidence is
enough. An Exchange greeting with no sign of the cloud is Exchange Server (on-premises).

**What changes on Exchange** (both kinds; reference/exchange-online-2026.md §B3):

- a special-use role that LIST does not mark goes to the folder with Exchange's own name for
  it (:func:`exchange_roles`, :data:`EXCHANGE_FOLDER_NAMES`, any case) when the mailbox has
  one: a source's ``\\Sent`` folder lands in "Sent Items", never in a new "Sent" folder next
  to it. A mailbox without that folder (a localized one, say) gets the usual English name, as
  on other servers;
- the top-level folder name ``Files`` is reserved (:data:`RESERVED_FOLDER_NAMES`); a source
  folder of that name is stored as ``Files_`` (the target's ``TargetNaming.reserved``, applied
  by :func:`engine.folders.target_raw_name`, so that imsh's own collision check sees it), with
  the same substitute
  character imsh uses for a separator inside a name (engine/folders.py), stable across passes;
- ``\\Flagged`` given at APPEND is forgotten and set again with STORE (engine/targets/imap.py).

**Message size.** RFC 7889's ``APPENDLIMIT=<n>`` capability is the server's own limit for
every mailbox; :func:`append_limit` reads it (an ``APPENDLIMIT`` without a value announces
per-mailbox limits, which imsh does not read: the endpoint's limit applies there).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum

from engine.folders import FolderPath


class ExchangeKind(StrEnum):
    """Which Exchange an IMAP session talks to."""

    ONLINE = "Exchange Online"
    SERVER = "Exchange Server"


# Only Exchange Online lists these (after login); they are about its client access rules and
# its front-end proxy.
ONLINE_CAPABILITIES = frozenset({"CLIENTACCESSRULES", "CLIENTNETWORKPRESENCELOCATION",
                                 "BACKENDAUTHENTICATE", "BACKENDAUTHENTICATE-IR"})
_EXCHANGE_GREETING = re.compile(rb"Microsoft Exchange (?:Server )?IMAP4", re.IGNORECASE)
_OUTLOOK_COM_GREETING = re.compile(rb"\bOutlook\.com IMAP4", re.IGNORECASE)
_HOST_BLOB = re.compile(rb"\[([A-Za-z0-9+/]{8,}={0,2})\]")

# Exchange's English folder names by role; "Junk E-mail" is the older spelling (Exchange 2010+
# mailboxes created before the rename keep it).
EXCHANGE_FOLDER_NAMES: Mapping[str, tuple[str, ...]] = {
    "Sent": ("Sent Items",), "Trash": ("Deleted Items",), "Junk": ("Junk Email", "Junk E-mail"),
    "Drafts": ("Drafts",), "Archive": ("Archive",),
}
RESERVED_FOLDER_NAMES = frozenset({"files"})  # casefolded; top level only


def detect(greeting: bytes | str | None, capabilities: Iterable[str]) -> ExchangeKind | None:
    """Exchange Online, Exchange Server, or None (not Exchange), from what the server said."""
    text = greeting.encode("utf-8", "replace") if isinstance(greeting, str) else greeting or b""
    caps = {c.upper() for c in capabilities}
    if caps & ONLINE_CAPABILITIES or _OUTLOOK_COM_GREETING.search(text):
        return ExchangeKind.ONLINE
    if not _EXCHANGE_GREETING.search(text):
        return None
    if b"tcpproxy/" in text.lower() or _serving_host(text).endswith(".outlook.com"):
        return ExchangeKind.ONLINE
    return ExchangeKind.SERVER


def _serving_host(greeting: bytes) -> str:
    """The host name Exchange puts in its greeting (base64 of UTF-16LE), lower case, or ""."""
    match = _HOST_BLOB.search(greeting)
    if match is None:
        return ""
    try:
        name = base64.b64decode(match.group(1), validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return name.lower() if name.isprintable() else ""


def exchange_roles(marked: Mapping[str, FolderPath], folders: Iterable[FolderPath]
                   ) -> dict[str, FolderPath]:
    """The role folders of an Exchange mailbox: those LIST marked (``marked``), and for each
    role it did not mark, the folder with Exchange's name for it, in any case, when the
    mailbox has one among ``folders``."""
    top: dict[str, FolderPath] = {}
    for path in folders:
        if len(path) == 1:
            top.setdefault(path[0].casefold(), path)
    roles = dict(marked)
    for role, names in EXCHANGE_FOLDER_NAMES.items():
        found = next((top[n.casefold()] for n in names if n.casefold() in top), None)
        if role not in roles and found is not None:
            roles[role] = found
    return roles


def append_limit(capabilities: Iterable[str]) -> int | None:
    """The server-wide ``APPENDLIMIT=<n>`` (RFC 7889) in bytes, if announced."""
    for capability in capabilities:
        name, _, value = capability.upper().partition("=")
        if name == "APPENDLIMIT" and value.isdigit():
            return int(value)
    return None


__all__ = ["EXCHANGE_FOLDER_NAMES", "ONLINE_CAPABILITIES", "RESERVED_FOLDER_NAMES",
           "ExchangeKind", "append_limit", "detect", "exchange_roles"]
