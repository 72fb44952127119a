"""The IMAP target: append a migration user's messages to an IMAP server.

Login per user: by default SASL PLAIN proxy authorization (authzid = the target mailbox,
authcid/password = the endpoint's admin credentials); ``proxy="master-user"`` uses Dovecot's
``LOGIN "user*admin"`` form instead; a :class:`TargetMailbox` with its own login plan (CSV
``TargetUserName``/``TargetPassword``) logs in as that user. With an OAuth app (``bearer``,
engine/oauth.py: Exchange Online's app-only access) each mailbox is logged in to with SASL
XOAUTH2 as its address, with the app's token.

Appending (the expensive side of a migration, see reference/bench-baseline.md):

- the folder is SELECTed first (Dovecot then spends about a third less CPU per APPEND);
- ``MULTIAPPEND`` (RFC 3502) sends a whole batch as one command when offered; it is atomic,
  so a batch the server refuses is retried message by message to isolate the culprit;
- else, with ``LITERAL+``, APPENDs are pipelined (up to ``window`` commands in flight);
- else one APPEND at a time (synchronising literals).

imapclient has no pipelined APPEND and its ``multiappend`` cannot use non-synchronising
literals, so both are written here directly on imapclient's underlying imaplib connection:
tags come from imaplib's ``_new_tag`` (which registers them) and replies are collected with
``_get_tagged_response`` in order; nothing else is sent while commands are in flight.

Exchange Online (known by its greeting, "The Microsoft Exchange IMAP4 service") forgets a
``\\Flagged`` given at APPEND (imapsync FAQ.Office365), so there the flag is set again with one
``UID STORE +FLAGS.SILENT`` per batch on the new copies' APPENDUIDs before the batch's results
are returned (and recorded).

Each message gets its flags (``\\Recent`` removed), the keywords the folder accepts
(PERMANENTFLAGS with ``\\*``, or listed there; others are reported in
``TargetRef.dropped_keywords``) and its INTERNALDATE (dates before 1970-01-02 are clamped to it:
Cyrus and Courier reject earlier ones). Bare LF line ends are sent as CRLF (Cyrus refuses bare
newlines; IMAP servers serve CRLF anyway). APPENDUID (UIDPLUS) gives each message the item id
``"<uidvalidity>:<uid>"``; without UIDPLUS the id is None and only
:meth:`ImapTarget.find_existing` can recognise the copy. :meth:`ImapTarget.mark` returns
``"<uidvalidity>:<uidnext>"``: after a crash, copies of pending messages can only be at or
above it, and are matched by Message-ID (SEARCH HEADER), INTERNALDATE and header hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imapclient.datetime_util import datetime_to_INTERNALDATE
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from engine.errors import ErrorCategory, PermanentError
from engine.folders import (
    INBOX,
    FolderPath,
    TargetNaming,
    is_inbox,
    role_from_flags,
    source_path,
    target_raw_name,
    with_parents,
)
from engine.imap.connection import (
    MAILBOX_FULL,
    ImapSession,
    ImapSettings,
    LoginPlanLike,
    Password,
    SimpleLogin,
    imap_errors,
    is_throttled,
    open_session,
    response_code,
    server_error,
)
from engine.imap.source import FINGERPRINT_HEADERS, HEADER_ITEM, fetch, fingerprint_of, uid_set
from engine.oauth import OAuthApp, bearer_login
from engine.targets.base import (
    AppendResult,
    Lookup,
    OutgoingMessage,
    Rejected,
    TargetFolders,
    TargetMailbox,
    TargetRef,
    normalise_flags,
)

EARLIEST_DATE = datetime(1970, 1, 2, tzinfo=UTC)
DEFAULT_WINDOW = 64
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([0-9:,]+)\]", re.IGNORECASE)
_ATOM_SPECIALS = set('(){ %*"\\]') | {chr(c) for c in range(0x20)} | {"\x7f"}
_MODES = ("auto", "multiappend", "literal-plus", "sequential")


@dataclass(frozen=True)
class _Prepared:
    literal: bytes
    flag_list: bytes
    date: bytes | None
    dropped: tuple[str, ...]


@dataclass
class _Selected:
    name: str
    uidvalidity: int
    any_keyword: bool
    keywords: frozenset[str]


class ImapTarget:
    """Appends to an IMAP server, one migration user at a time."""

    def __init__(self, settings: ImapSettings, admin: LoginPlanLike | None = None, *,
                 proxy: str = "authzid", master_separator: str = "*",
                 append_mode: str = "auto", window: int = DEFAULT_WINDOW,
                 bearer: OAuthApp | None = None) -> None:
        if append_mode not in _MODES or proxy not in ("authzid", "master-user"):
            raise ValueError(f"append_mode {append_mode!r} / proxy {proxy!r}")
        self.settings = settings
        self.admin = admin
        self.bearer = bearer
        self.proxy = proxy
        self.master_separator = master_separator
        self.append_mode = append_mode
        self.window = max(1, window)
        self._session: ImapSession | None = None
        self._naming = TargetNaming(separator="/")
        self._existing: set[str] = set()
        self._selected: _Selected | None = None

    # --- session ---------------------------------------------------------------------------------

    @property
    def naming(self) -> TargetNaming:
        return self._naming

    @property
    def session(self) -> ImapSession:
        if self._session is None:
            raise PermanentError("No target mailbox is open.", error_id="TargetNotOpen")
        return self._session

    def _errors(self, action: str) -> Any:
        return imap_errors(self.settings, action)

    def login_plan(self, mailbox: TargetMailbox) -> LoginPlanLike:
        """The CSV's own target credentials, else the admin acting for the mailbox."""
        if mailbox.login is not None:
            return mailbox.login
        if self.bearer is not None:
            return bearer_login(self.bearer, mailbox.address)
        if self.admin is None:
            raise PermanentError(
                f"The target endpoint has no administrator credentials and no target "
                f"credentials were given for '{mailbox.address}'.",
                category=ErrorCategory.AuthenticationError, error_id="NoTargetCredentials")
        password: Password | str = self.admin.password
        if self.proxy == "master-user":
            return SimpleLogin(f"{mailbox.address}{self.master_separator}{self.admin.authcid}",
                               password)
        return SimpleLogin(self.admin.authcid, password, mailbox.address, "authenticate-plain")

    def open_user(self, mailbox: TargetMailbox) -> None:
        self.close()
        self._session = open_session(self.settings, self.login_plan(mailbox))
        self._refresh_folders()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = None
        self._selected = None
        self._existing = set()

    def _refresh_folders(self) -> None:
        session = self.session
        with self._errors("list the folders"):
            rows = session.client.list_folders("", "*")
        special: dict[str, FolderPath] = {}
        self._existing = set()
        for flags, _sep, raw in rows:
            name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            texts = [f.decode() if isinstance(f, bytes) else str(f) for f in flags]
            self._existing.add("INBOX" if is_inbox(name) else name)
            role = role_from_flags(texts)
            if role and role not in special:
                special[role] = source_path(name, session.separator, session.personal_prefix)
        self._naming = TargetNaming(separator=session.separator or "/",
                                    prefix=session.personal_prefix, special=special)

    def raw_name(self, path: FolderPath) -> str:
        return target_raw_name(path, self._naming)

    # --- folders ---------------------------------------------------------------------------------

    def ensure_folders(self, paths: Sequence[FolderPath]) -> TargetFolders:
        result = TargetFolders()
        client = self.session.client
        for path in with_parents(paths):
            name = self.raw_name(path)
            if name in self._existing:
                result.existing.append(path)
                continue
            with self._errors(f"create the folder '{'/'.join(path)}'"):
                try:
                    client.create_folder(name)
                    result.created.append(path)
                except IMAPClientError as exc:
                    if isinstance(exc, IMAPClientAbortError) or (
                            response_code(str(exc)) != "ALREADYEXISTS"):
                        raise
                    result.existing.append(path)
                if self.session.has("IMAP4REV1"):
                    client.subscribe_folder(name)
            self._existing.add(name)
        return result

    def _select(self, path: FolderPath) -> _Selected:
        name = self.raw_name(path)
        if self._selected is not None and self._selected.name == name:
            return self._selected
        self._selected = None  # a failed SELECT leaves no folder selected (RFC 3501 6.3.1)
        try:
            with self._errors(f"open the folder '{'/'.join(path)}'"):
                info = self.session.client.select_folder(name)
        except PermanentError as exc:
            if exc.error_id == "FolderNotFound" or self._listed(name):
                raise
            # Dovecot refuses SELECT of a missing folder without [NONEXISTENT]: LIST decides
            raise PermanentError(
                f"The folder '{'/'.join(path)}' does not exist on the target.",
                category=ErrorCategory.ObjectNotFound, error_id="FolderNotFound") from None
        permanent = {f.decode() if isinstance(f, bytes) else str(f)
                     for f in info.get(b"PERMANENTFLAGS", ())}
        self._selected = _Selected(name, int(info[b"UIDVALIDITY"]), "\\*" in permanent,
                                   frozenset(f for f in permanent if not f.startswith("\\")))
        return self._selected

    def _listed(self, name: str) -> bool:
        """Whether LIST shows ``name`` as a folder that exists (its wildcards match more,
        which only ever answers True: then the SELECT error stands as it was)."""
        with self._errors("list the folders"):
            rows = self.session.client.list_folders("", name)
        return any(b"\\nonexistent" not in {bytes(f).lower() for f in flags}
                   for flags, _sep, _name in rows)

    def mark(self, folder: FolderPath) -> str | None:
        selected = self._select(folder)
        with self._errors(f"read the state of '{'/'.join(folder)}'"):
            status = self.session.client.folder_status(selected.name, [b"UIDNEXT"])
        return f"{selected.uidvalidity}:{int(status[b'UIDNEXT'])}"

    def list_ids(self, folder: FolderPath) -> frozenset[str] | None:
        """``UID SEARCH ALL``: one round trip, a few bytes per message."""
        selected = self._select(folder)
        with self._errors(f"list the messages of '{'/'.join(folder)}'"):
            uids = self.session.client.search(["ALL"])
        return frozenset(f"{selected.uidvalidity}:{uid}" for uid in uids)

    # --- append ----------------------------------------------------------------------------------

    def append_batch(self, folder: FolderPath,
                     messages: Sequence[OutgoingMessage]) -> list[AppendResult]:
        results = self._append_batch(folder, messages)
        if results and _is_exchange(self.session):
            with self._errors(f"flag the new copies in '{'/'.join(folder)}'"):
                self._flag_again(results, messages)
        return results

    def _append_batch(self, folder: FolderPath,
                      messages: Sequence[OutgoingMessage]) -> list[AppendResult]:
        if not messages:
            return []
        selected = self._select(folder)
        prepared = [self._prepare(m, selected) for m in messages]
        mode = self._mode()
        with self._errors(f"append to '{'/'.join(folder)}'"):
            if mode == "multiappend" and len(prepared) > 1:
                results = self._multiappend(folder, selected, prepared)
                if results is not None:
                    return results
                mode = "literal-plus" if self.session.has("LITERAL+") else "sequential"
            if mode in ("literal-plus", "multiappend"):
                return self._pipelined(folder, selected, prepared)
            return [self._one(folder, selected, p) for p in prepared]

    def _flag_again(self, results: list[AppendResult],
                    messages: Sequence[OutgoingMessage]) -> None:
        """Exchange Online drops ``\\Flagged`` at APPEND: STORE it on the new copies."""
        uids = [int(r.item_id.split(":")[1]) for r, m in zip(results, messages, strict=True)
                if isinstance(r, TargetRef) and r.item_id
                and "\\flagged" in {f.lower() for f in m.flags}]
        if uids:
            self.session.client.add_flags(uids, [b"\\Flagged"], silent=True)

    def _mode(self) -> str:
        if self.append_mode != "auto":
            return self.append_mode
        if self.session.has("MULTIAPPEND"):
            return "multiappend"
        return "literal-plus" if self.session.has("LITERAL+") else "sequential"

    def _prepare(self, message: OutgoingMessage, selected: _Selected) -> _Prepared:
        allowed: list[str] = []
        dropped: list[str] = []
        for keyword in sorted(set(message.keywords)):
            ok = selected.any_keyword or keyword in selected.keywords
            (allowed if ok and _is_atom(keyword) else dropped).append(keyword)
        flag_list = " ".join([*normalise_flags(message.flags), *allowed]).encode()
        date = None
        if message.internaldate is not None:
            when = max(message.internaldate, EARLIEST_DATE)
            date = datetime_to_INTERNALDATE(when).encode()
        raw = message.raw
        if raw.count(b"\n") != raw.count(b"\r\n"):  # far cheaper than a regex search
            raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return _Prepared(raw, flag_list, date, tuple(dropped))

    def _append_args(self, p: _Prepared, plus: bool) -> bytes:
        parts = [b"(" + p.flag_list + b")"]
        if p.date is not None:
            parts.append(b'"' + p.date + b'"')
        parts.append(b"{%d%s}" % (len(p.literal), b"+" if plus else b""))
        return b" ".join(parts)

    def _quoted(self, name: str) -> bytes:
        quoted = self.session.client._normalise_folder(name)
        return quoted if isinstance(quoted, bytes) else quoted.encode()

    def _multiappend(self, folder: FolderPath, selected: _Selected,
                     prepared: list[_Prepared]) -> list[AppendResult] | None:
        """One MULTIAPPEND for the batch; None when refused (the caller isolates the culprit)."""
        imap = self.session.client._imap
        if not self.session.has("LITERAL+"):
            typ, data = self.session.client.multiappend(selected.name, [
                {"msg": p.literal, "flags": p.flag_list.decode().split(), **(
                    {"date": _parse_date(p.date)} if p.date else {})} for p in prepared])
        else:
            tag = imap._new_tag()
            chunks = [tag + b" APPEND " + self._quoted(selected.name)]
            for p in prepared:
                chunks += [b" ", self._append_args(p, True), b"\r\n", p.literal]
            chunks.append(b"\r\n")
            imap.send(b"".join(chunks))
            typ, data = imap._get_tagged_response(tag)
        reply = _reply(data)
        if typ != "OK":
            text = reply.decode("utf-8", "replace")
            if response_code(text) in ("OVERQUOTA", "TRYCREATE") or is_throttled(text):
                raise server_error(self.settings.host, "append", reply.decode("utf-8", "replace"))
            return None
        ids = _appended_ids(reply, len(prepared))
        return [TargetRef(folder, item_id, p.dropped) for item_id, p in zip(ids, prepared,
                                                                            strict=True)]

    def _pipelined(self, folder: FolderPath, selected: _Selected,
                   prepared: list[_Prepared]) -> list[AppendResult]:
        imap = self.session.client._imap
        head = b" APPEND " + self._quoted(selected.name) + b" "
        in_flight: list[bytes] = []
        replies: list[tuple[str, bytes]] = []
        try:
            for p in prepared:
                tag = imap._new_tag()
                imap.send(tag + head + self._append_args(p, True) + b"\r\n" + p.literal
                          + b"\r\n")
                in_flight.append(tag)
                if len(in_flight) >= self.window:
                    replies.append(_collect(imap, in_flight.pop(0)))
            for tag in in_flight:  # one by one: a lost session keeps the replies read so far
                replies.append(_collect(imap, tag))
        except (IMAPClientAbortError, OSError):
            # Exchange Online answers one APPEND "throttled" and drops the session: the
            # commands after it are lost, the hint must not be
            for _typ, reply in replies:
                if is_throttled(text := reply.decode("utf-8", "replace")):
                    raise server_error(self.settings.host, "append", text) from None
            raise
        return [self._result(folder, typ, data, p) for (typ, data), p in zip(replies, prepared,
                                                                             strict=True)]

    def _one(self, folder: FolderPath, selected: _Selected, p: _Prepared) -> AppendResult:
        """One APPEND with a synchronising literal (imaplib waits for the continuation)."""
        imap = self.session.client._imap
        date = '"' + p.date.decode() + '"' if p.date else None
        typ, data = imap.append(self._quoted(selected.name).decode(),
                                "(" + p.flag_list.decode() + ")", date, p.literal)
        imap.untagged_responses.clear()
        return self._result(folder, typ, _reply(data), p)

    def _result(self, folder: FolderPath, typ: str, reply: bytes, p: _Prepared) -> AppendResult:
        if typ == "OK":
            ids = _appended_ids(reply, 1)
            return TargetRef(folder, ids[0], p.dropped)
        text = reply.decode("utf-8", "replace")
        code = response_code(text)
        if code in ("TRYCREATE",) or is_throttled(text):  # throttled: the pass waits as told
            raise server_error(self.settings.host, "append", text)
        if code == "OVERQUOTA":
            return Rejected(folder, MAILBOX_FULL, permanent=True)
        transient = code in ("UNAVAILABLE", "INUSE", "LIMIT", "SERVERBUG")
        return Rejected(folder, f"The server refused the message: {text}", not transient)

    # --- lookup, flags, delete -------------------------------------------------------------------

    def find_existing(self, folder: FolderPath, lookup: Lookup) -> TargetRef | None:
        selected = self._select(folder)
        client = self.session.client
        with self._errors(f"search '{'/'.join(folder)}'"):
            direct = _split_id(lookup.item_id, selected.uidvalidity)
            unclaimed = lookup.item_id not in lookup.exclude_ids
            if direct is not None and unclaimed and fetch(client, str(direct), ["UID"]):
                return TargetRef(folder, lookup.item_id)
            uid = next(self._candidates(selected, lookup), None)
        return None if uid is None else TargetRef(folder, f"{selected.uidvalidity}:{uid}")

    def _candidates(self, selected: _Selected, lookup: Lookup) -> Iterator[int]:
        fingerprint = lookup.fingerprint
        if fingerprint is None:
            return
        criteria: list[str] = []
        floor = _split_id(lookup.mark, selected.uidvalidity) or 1
        criteria += ["UID", f"{floor}:*"]
        if fingerprint.message_id:
            criteria += ["HEADER", "Message-ID", fingerprint.message_id]
        client = self.session.client
        uids = [u for u in client.search(criteria) if u >= floor]
        if not uids:
            return
        rows = fetch(client, uid_set(uids), ["RFC822.SIZE", "INTERNALDATE", HEADER_ITEM])
        excluded = lookup.exclude_ids
        # newest first: a copy appended by the interrupted pass lies above any identical
        # message the mailbox held before, which must never be taken for imsh's own copy
        for uid in sorted(rows, reverse=True):
            row = rows[uid]
            header = next((v for k, v in row.items() if k.upper().startswith(b"BODY[HEADER")),
                          None)
            if header is None or f"{selected.uidvalidity}:{uid}" in excluded:
                continue
            found = fingerprint_of(header, int(row[b"RFC822.SIZE"]), row[b"INTERNALDATE"])
            if (found.header_hash == fingerprint.header_hash
                    and int(found.internaldate.timestamp())
                    == int(max(fingerprint.internaldate, EARLIEST_DATE).timestamp())):
                yield uid

    def set_flags(self, folder: FolderPath, ref: TargetRef, flags: Sequence[str],
                  keywords: Sequence[str] = ()) -> TargetRef:
        selected = self._select(folder)
        uid = _split_id(ref.item_id, selected.uidvalidity)
        if uid is None:
            raise PermanentError(f"The target reference '{ref.item_id}' is not valid in the "
                                 f"folder '{'/'.join(folder)}'.", error_id="StaleTargetReference")
        allowed = [k for k in keywords if (selected.any_keyword or k in selected.keywords)
                   and _is_atom(k)]
        dropped = tuple(k for k in keywords if k not in allowed)
        with self._errors(f"set flags in '{'/'.join(folder)}'"):
            self.session.client.set_flags([uid], [*normalise_flags(flags), *allowed],
                                          silent=True)
        return TargetRef(folder, ref.item_id, dropped)

    def delete(self, folder: FolderPath, refs: Sequence[TargetRef]) -> None:
        """Flag as \\Deleted and UID EXPUNGE just those (without UIDPLUS: flag only)."""
        selected = self._select(folder)
        uids = [u for u in (_split_id(r.item_id, selected.uidvalidity) for r in refs) if u]
        if not uids:
            return
        client = self.session.client
        with self._errors(f"delete messages in '{'/'.join(folder)}'"):
            client.add_flags(uids, [b"\\Deleted"], silent=True)
            if self.session.has("UIDPLUS"):
                client.uid_expunge(uids)


def _collect(imap: Any, tag: bytes) -> tuple[str, bytes]:
    typ, data = imap._get_tagged_response(tag)
    imap.untagged_responses.clear()  # EXISTS/RECENT/APPENDUID pile up otherwise
    return typ, _reply(data)


def _reply(data: Any) -> bytes:
    if data and isinstance(data[0], bytes):
        return data[0]
    return b""


def _appended_ids(reply: bytes, count: int) -> list[str | None]:
    match = _APPENDUID.search(reply)
    if match is None:
        return [None] * count
    validity = match.group(1).decode()
    uids = _expand(match.group(2).decode())
    if len(uids) != count:
        return [None] * count
    return [f"{validity}:{uid}" for uid in uids]


def _expand(uid_text: str) -> list[int]:
    uids: list[int] = []
    for part in uid_text.split(","):
        low, _, high = part.partition(":")
        a, b = int(low), int(high or low)
        uids.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
    return uids


def _split_id(item_id: str | None, uidvalidity: int) -> int | None:
    """The UID of ``"<uidvalidity>:<uid>"`` when its UIDVALIDITY is the folder's current one."""
    if not item_id:
        return None
    validity, _, uid = item_id.partition(":")
    if not (validity.isdigit() and uid.isdigit()) or int(validity) != uidvalidity:
        return None
    return int(uid)


def _is_atom(keyword: str) -> bool:
    return bool(keyword) and keyword.isascii() and not any(c in _ATOM_SPECIALS for c in keyword)


def _is_exchange(session: ImapSession) -> bool:
    """Exchange (Online or Server) names itself in its greeting."""
    welcome = getattr(session.client, "welcome", b"") or b""
    return b"Microsoft Exchange" in welcome


def _parse_date(date: bytes) -> datetime:
    return datetime.strptime(date.decode(), "%d-%b-%Y %H:%M:%S %z")


__all__ = ["FINGERPRINT_HEADERS", "INBOX", "ImapTarget"]
