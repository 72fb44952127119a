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
tags come from :func:`engine.imap.wire.new_tag` (which registers them) and replies are collected
with :func:`engine.imap.wire.tagged_reply` in order; nothing else is sent while commands are in
flight.

Exchange (recognised from its greeting and its capabilities after login,
engine/targets/exchange.py, never asked of the admin) forgets a ``\\Flagged`` given at APPEND
(imapsync FAQ.Office365), so there the flag is set again with one ``UID STORE +FLAGS.SILENT``
per batch on the new copies' APPENDUIDs before the batch's results are returned (and
recorded). On Exchange, a special-use role that LIST does not mark goes to the folder with
Exchange's name for it when the mailbox has one, and the reserved top-level name ``Files`` is
stored as ``Files_`` (``TargetNaming.reserved``).

:meth:`ImapTarget.message_size_limit` is the largest message the pass copies here: the
endpoint's -MaxMessageSize in place of imsh's 35 MB default, lowered by the server's
``APPENDLIMIT`` (RFC 7889); the planner skips larger ones as large items.

Each message gets its flags (``\\Recent`` removed), the keywords the folder accepts
(PERMANENTFLAGS with ``\\*``, or listed there; others are reported in
``TargetRef.dropped_keywords``) and its INTERNALDATE (dates before 1970-01-02 are clamped to it:
Cyrus and Courier reject earlier ones). Bare LF line ends are sent as CRLF (Cyrus refuses bare
newlines), unless the message comes from a source known to serve CRLF only
(``OutgoingMessage.crlf``). APPENDUID (UIDPLUS) gives each message the item id
``"<uidvalidity>:<uid>"``. :meth:`ImapTarget.mark` returns ``"<uidvalidity>:<uidnext>"`` (one
STATUS per folder; after that one above the highest UID APPENDUID gave, without a round trip per
batch): after a crash, copies of pending messages can only be at or above it, and are matched by
Message-ID (SEARCH HEADER), INTERNALDATE and header hash.

**Without APPENDUID** (no UIDPLUS, or a server or proxy that drops the response code) the copy
is located right after the append: UIDNEXT is read before appending (until APPENDUID has been
seen on the session), and the appended messages are matched, in order, by header hash and
INTERNALDATE among the UIDs at or above it (:meth:`ImapTarget._locate`). A copy that still
cannot be named comes back with ``item_id`` None, and the applier leaves its row *pending*
(engine/sync/apply.py): the intent committed before the append stands, and the next pass looks
the copy up above the batch's mark before anything is appended again, exactly as after a crash
between append and record. An empty reference is never stored, so no copy is ever taken for
"gone from the target" (and appended again on every pass) only because its name was unknown.

UID sets in STORE, EXPUNGE, FETCH and SEARCH go through engine/imap/commands.py: ranges,
chunked under 8 KB per command, so deleting a folder of any size never exceeds the server's
line limit. A Message-ID that is not ASCII is never put into a SEARCH (candidates above the
mark are matched by fingerprint alone).

Refused APPENDs, by response code (RFC 5530; docs/sync-planner.md "Refusals"):

- ``OVERQUOTA``, ``INUSE``, ``UNAVAILABLE``, ``THROTTLED``: about the target's capacity, not
  the message: :func:`~engine.targets.base.capacity_refusal` (retried in a later pass; the
  executor appends nothing more now). A refused MULTIAPPEND stored nothing (it is atomic), so
  the batch is sent again message by message: the messages that still fit are stored.
- ``LIMIT``, ``SERVERBUG``, ``EXPUNGEISSUED``: transient for this message (retried later);
- ``TOOBIG`` (RFC 7889; Gmail says it with BAD), or "message size exceeds ..." in words: the
  message is too large for this server: a permanent refusal, reported as a large item;
- ``TRYCREATE``: the folder is gone (raised); anything else: the message is bad (permanent).

Flag changes are deltas (``UID STORE +FLAGS.SILENT`` / ``-FLAGS.SILENT``): a flag or keyword
the target's user set on the copy survives a change of another flag on the source.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imapclient.datetime_util import datetime_to_INTERNALDATE
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from engine.bytesize import byte_quantified_size
from engine.errors import MAILBOX_FULL, ErrorCategory, PermanentError
from engine.folders import (
    INBOX,
    FolderPath,
    TargetNaming,
    display_name,
    is_inbox,
    role_from_flags,
    source_path,
    target_raw_name,
    with_parents,
)
from engine.imap.commands import (
    add_flags,
    fetch,
    folder_uids,
    header_block,
    search_header,
    uid_expunge,
)
from engine.imap.connection import (
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
from engine.imap.source import HEADER_ITEM
from engine.imap.wire import new_tag, quoted_name, raw_connection, tagged_reply
from engine.limits import MessageSizeLimit, message_size_limit
from engine.mail import FINGERPRINT_HEADERS, fingerprint_of, header_hash, storable_flags
from engine.oauth import OAuthApp, bearer_login
from engine.targets.base import (
    AppendResult,
    Lookup,
    OutgoingMessage,
    Rejected,
    TargetFolders,
    TargetMailbox,
    TargetMessage,
    TargetRef,
    capacity_refusal,
    split_names,
)
from engine.targets.exchange import (
    RESERVED_FOLDER_NAMES,
    ExchangeKind,
    append_limit,
    detect,
    exchange_roles,
)

EARLIEST_DATE = datetime(1970, 1, 2, tzinfo=UTC)
DEFAULT_WINDOW = 64
LIST_CHUNK = 1000  # UIDs per FETCH when listing a folder's messages for adoption
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([0-9:,]+)\]", re.IGNORECASE)
_COPYUID = re.compile(rb"\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\]", re.IGNORECASE)
_ATOM_SPECIALS = set('(){ %*"\\]') | {chr(c) for c in range(0x20)} | {"\x7f"}
_MODES = ("auto", "multiappend", "literal-plus", "sequential")
CAPACITY_CODES = frozenset({"OVERQUOTA", "INUSE", "UNAVAILABLE", "THROTTLED"})
RETRY_CODES = frozenset({"LIMIT", "SERVERBUG", "EXPUNGEISSUED"})
_TOO_BIG = re.compile(r"(?:maximum )?message size exceed|message (?:is )?too (?:large|big)",
                      re.IGNORECASE)


@dataclass(frozen=True)
class _Prepared:
    literal: bytes
    flag_list: bytes
    date: bytes | None
    dropped: tuple[str, ...]
    instant: int | None  # the INTERNALDATE sent, as a Unix time

    def matches(self, row: dict[bytes, Any]) -> bool:
        """Whether a FETCH row (INTERNALDATE and header fields) is this message's copy."""
        header = header_block(row)
        if header is None or header_hash(header) != header_hash(self.literal):
            return False
        date = row.get(b"INTERNALDATE")
        return self.instant is None or (
            isinstance(date, datetime) and int(date.timestamp()) == self.instant)


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
                 bearer: OAuthApp | None = None, max_message_size: int | None = None) -> None:
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
        self._appenduid_seen = False
        # False on a lane's connection (engine/sync/lanes.py): copies APPENDUID did not name
        # stay pending, to be looked up later by one connection alone (resolve_pending)
        self.locate_unnamed = True
        # per (folder, UIDVALIDITY): one above the highest UID APPENDUID gave on this session
        self._floors: dict[tuple[str, int], int] = {}
        self.max_message_size = max_message_size  # the endpoint's -MaxMessageSize
        self.exchange: ExchangeKind | None = None  # what the open session's server is

    # --- session ---------------------------------------------------------------------------------

    @property
    def naming(self) -> TargetNaming:
        return self._naming

    @property
    def concurrent_appends(self) -> bool:
        """Several connections may append into one folder at once (engine/sync/lanes.py):
        the server names every copy with APPENDUID (UIDPLUS; Exchange's answers are not
        trusted for that). Copies it does not name are then left pending rather than looked
        up by their headers (:attr:`locate_unnamed`), where two connections could take the
        same message for their own. A Maildir target shares one keyword file per folder, so
        it has no such property: one writer per folder."""
        return self.session.has("UIDPLUS") and self.exchange is None

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
        self.exchange = _exchange_kind(self._session)
        self._refresh_folders()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = None
        self._selected = None
        self._existing = set()
        self._appenduid_seen = False
        self._floors = {}

    def _refresh_folders(self) -> None:
        session = self.session
        with self._errors("list the folders"):
            rows = session.client.list_folders("", "*")
        special: dict[str, FolderPath] = {}
        self._existing = set()
        listed: list[FolderPath] = []
        for flags, _sep, raw in rows:
            name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            texts = [f.decode() if isinstance(f, bytes) else str(f) for f in flags]
            if {t.lower() for t in texts} & {"\\noselect", "\\nonexistent"}:
                continue  # a level of the hierarchy, not a folder: CREATE may still be needed
            self._existing.add("INBOX" if is_inbox(name) else name)
            path = source_path(name, session.separator, session.personal_prefix)
            listed.append(path)
            role = role_from_flags(texts)
            if role and role not in special:
                special[role] = path
        if self.exchange is not None:  # unmarked: Exchange's folder, never a second "Sent"
            special = exchange_roles(special, listed)
        self._naming = TargetNaming(separator=session.separator or "/",
                                    prefix=session.personal_prefix, special=special,
                                    reserved=RESERVED_FOLDER_NAMES if self.exchange else
                                    frozenset())

    def raw_name(self, path: FolderPath) -> str:
        return target_raw_name(path, self._naming)

    def message_size_limit(self, default: int | None) -> MessageSizeLimit | None:
        """The largest message this target takes: the endpoint's -MaxMessageSize in place of
        imsh's ``default``, lowered by the open session's APPENDLIMIT (RFC 7889)."""
        server = append_limit(self._session.capabilities) if self._session else None
        return message_size_limit(default, self.max_message_size, server)

    # --- folders ---------------------------------------------------------------------------------

    def ensure_folders(self, paths: Sequence[FolderPath]) -> TargetFolders:
        """CREATE each path; superior levels are the server's to make (RFC 3501 6.3.3:
        Dovecot and Cyrus show them ``\\Noselect``). Only a server that refuses a child
        without its parent gets the parents created first, then the child again."""
        result = TargetFolders()
        for path in sorted(dict.fromkeys(paths), key=lambda p: (len(p), p)):
            try:
                self._create(path, result)
            except PermanentError:
                missing = [p for p in with_parents([path])[:-1]
                           if self.raw_name(p) not in self._existing]
                if not missing:
                    raise
                for parent in missing:
                    self._create(parent, result)
                self._create(path, result)
        return result

    def missing_folders(self, paths: Sequence[FolderPath]) -> list[FolderPath]:
        """From the LIST of :meth:`open_user`, kept up to date by :meth:`ensure_folders`."""
        _ = self.session  # raises when no mailbox is open
        return [p for p in paths if self.raw_name(p) not in self._existing]

    def _create(self, path: FolderPath, result: TargetFolders) -> None:
        name = self.raw_name(path)
        if name in self._existing:
            result.existing.append(path)
            return
        client = self.session.client
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
        """``"<uidvalidity>:<uid>"``: UIDNEXT by STATUS for the folder's first batch; after a
        batch APPENDUID named, one above the highest UID it gave, with no round trip. The
        server assigns every later UID above any it assigned before (RFC 9051 2.3.1.1), so
        either is a floor under where the next batch lands; the second is at most lower than
        UIDNEXT by what another client appended meanwhile, which only widens the lookup above
        the mark after a crash (matched by fingerprint, claimed copies excluded)."""
        selected = self._select(folder)
        key = (selected.name, selected.uidvalidity)
        floor = self._floors.get(key)
        if floor is None:
            floor = self._floors[key] = self._uidnext(folder, selected)
        return f"{selected.uidvalidity}:{floor}"

    def _uidnext(self, folder: FolderPath, selected: _Selected) -> int:
        with self._errors(f"read the state of '{'/'.join(folder)}'"):
            status = self.session.client.folder_status(selected.name, [b"UIDNEXT"])
        return int(status[b"UIDNEXT"])

    def count(self, folder: FolderPath) -> int | None:
        """``STATUS MESSAGES`` of the folder (after a SELECT, which tells a missing one)."""
        selected = self._select(folder)
        with self._errors(f"read the state of '{'/'.join(folder)}'"):
            status = self.session.client.folder_status(selected.name, [b"MESSAGES"])
        return int(status[b"MESSAGES"])

    def list_ids(self, folder: FolderPath) -> frozenset[str] | None:
        """The folder's UIDs below UIDNEXT: ``UID SEARCH RETURN (ALL)`` (ranges) with ESEARCH,
        else plain ``UID SEARCH`` in windows whose answers stay under imaplib's 1 MB line
        limit (one ``SEARCH ALL`` of a folder above ~100,000 messages exceeded it)."""
        selected = self._select(folder)
        uidnext = self._uidnext(folder, selected)
        with self._errors(f"list the messages of '{'/'.join(folder)}'"):
            uids = folder_uids(self.session.client, uidnext, esearch=self.session.has("ESEARCH"))
        return frozenset(f"{selected.uidvalidity}:{uid}" for uid in uids)

    # --- append ----------------------------------------------------------------------------------

    def append_batch(self, folder: FolderPath,
                     messages: Sequence[OutgoingMessage]) -> list[AppendResult]:
        results = self._append_batch(folder, messages)
        if results and self.exchange is not None:
            with self._errors(f"flag the new copies in '{'/'.join(folder)}'"):
                self._flag_again(results, messages)
        return results

    def _append_batch(self, folder: FolderPath,
                      messages: Sequence[OutgoingMessage]) -> list[AppendResult]:
        if not messages:
            return []
        selected = self._select(folder)
        prepared = [self._prepare(m, selected) for m in messages]
        floor = None
        if not self._appenduid_seen and self.locate_unnamed:  # the mark: a floor as good as STATUS
            floor = (self._floors.get((selected.name, selected.uidvalidity))
                     or self._uidnext(folder, selected))
        with self._errors(f"append to '{'/'.join(folder)}'"):
            results = self._append(folder, selected, prepared)
            if any(isinstance(r, TargetRef) and not r.item_id for r in results):
                if floor is not None:
                    results = self._locate(folder, selected, prepared, results, floor)
            elif any(isinstance(r, TargetRef) for r in results):
                self._appenduid_seen = True
        named = [uid for r in results if isinstance(r, TargetRef)
                 and (uid := _split_id(r.item_id, selected.uidvalidity)) is not None]
        if named:
            key = (selected.name, selected.uidvalidity)
            self._floors[key] = max(self._floors.get(key, 0), max(named) + 1)
        return results

    def _append(self, folder: FolderPath, selected: _Selected,
                prepared: list[_Prepared]) -> list[AppendResult]:
        mode = self._mode()
        if mode == "multiappend" and len(prepared) > 1:
            results = self._multiappend(folder, selected, prepared)
            if results is not None:
                return results
            mode = "literal-plus" if self.session.has("LITERAL+") else "sequential"
        if mode in ("literal-plus", "multiappend"):
            return self._pipelined(folder, selected, prepared)
        return [self._one(folder, selected, p) for p in prepared]

    def _locate(self, folder: FolderPath, selected: _Selected, prepared: Sequence[_Prepared],
                results: list[AppendResult], floor: int) -> list[AppendResult]:
        """Name the copies APPENDUID did not name: in append order, each takes the lowest
        UID at or above ``floor`` whose header hash and INTERNALDATE are its own and that no
        other result of the batch holds. Unmatched ones keep ``item_id`` None."""
        client = self.session.client
        uids = search_header(client, floor, "Message-ID", None)
        rows = fetch(client, uids, ["INTERNALDATE", HEADER_ITEM]) if uids else {}
        prefix = f"{selected.uidvalidity}:"
        taken = {int(r.item_id[len(prefix):]) for r in results
                 if isinstance(r, TargetRef) and r.item_id and r.item_id.startswith(prefix)}
        located: list[AppendResult] = []
        for result, p in zip(results, prepared, strict=True):
            if isinstance(result, TargetRef) and not result.item_id:
                uid = next((u for u in sorted(rows) if u not in taken and p.matches(rows[u])),
                           None)
                if uid is not None:
                    taken.add(uid)
                    result = TargetRef(folder, f"{prefix}{uid}", result.dropped_keywords)
            located.append(result)
        return located

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
        flag_list = " ".join([*storable_flags(message.flags), *allowed]).encode()
        date = None
        instant = None
        if message.internaldate is not None:
            when = max(message.internaldate, EARLIEST_DATE)
            date = datetime_to_INTERNALDATE(when).encode()
            instant = int(when.timestamp())
        raw = message.raw
        # two counts are far cheaper than a regex search (2.4 s per GB, though: skipped for a
        # source that serves CRLF only)
        if not message.crlf and raw.count(b"\n") != raw.count(b"\r\n"):
            raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return _Prepared(raw, flag_list, date, tuple(dropped), instant)

    def _append_args(self, p: _Prepared, plus: bool) -> bytes:
        parts = [b"(" + p.flag_list + b")"]
        if p.date is not None:
            parts.append(b'"' + p.date + b'"')
        parts.append(b"{%d%s}" % (len(p.literal), b"+" if plus else b""))
        return b" ".join(parts)

    def _quoted(self, name: str) -> bytes:
        return quoted_name(self.session.client, name)

    def _multiappend(self, folder: FolderPath, selected: _Selected,
                     prepared: list[_Prepared]) -> list[AppendResult] | None:
        """One MULTIAPPEND for the batch; None when refused (the caller isolates the culprit)."""
        imap = raw_connection(self.session.client)
        if not self.session.has("LITERAL+"):
            typ, data = self.session.client.multiappend(selected.name, [
                {"msg": p.literal, "flags": p.flag_list.decode().split(), **(
                    {"date": _parse_date(p.date)} if p.date else {})} for p in prepared])
        else:
            tag = new_tag(imap)
            chunks = [tag + b" APPEND " + self._quoted(selected.name)]
            for p in prepared:
                chunks += [b" ", self._append_args(p, True), b"\r\n", p.literal]
            chunks.append(b"\r\n")
            imap.send(b"".join(chunks))
            typ, data = tagged_reply(imap, tag)
        reply = _reply(data)
        if typ != "OK":
            text = reply.decode("utf-8", "replace")
            if response_code(text) == "TRYCREATE" or is_throttled(text):
                raise server_error(self.settings.host, "append", reply.decode("utf-8", "replace"))
            return None  # nothing was stored: one by one, the culprits (or the full) show
        ids = _appended_ids(reply, len(prepared))
        return [TargetRef(folder, item_id, p.dropped) for item_id, p in zip(ids, prepared,
                                                                            strict=True)]

    def _pipelined(self, folder: FolderPath, selected: _Selected,
                   prepared: list[_Prepared]) -> list[AppendResult]:
        imap = raw_connection(self.session.client)
        head = b" APPEND " + self._quoted(selected.name) + b" "
        in_flight: list[bytes] = []
        replies: list[tuple[str, bytes]] = []
        try:
            for p in prepared:
                tag = new_tag(imap)
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
        imap = raw_connection(self.session.client)
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
            return capacity_refusal(folder, f"{MAILBOX_FULL} The target said: {text}")
        if code in CAPACITY_CODES:
            return capacity_refusal(folder, f"The target server is busy: {text}")
        if code == "TOOBIG" or _TOO_BIG.search(text):  # RFC 7889, or said in words
            return Rejected(folder, f"The message is larger than the target server accepts: "
                            f"{byte_quantified_size(len(p.literal))}. The server said: {text}",
                            large=True)
        return Rejected(folder, f"The server refused the message: {text}",
                        permanent=code not in RETRY_CODES)

    # --- copies the target already holds -----------------------------------------------------

    def copy_within(self, source: FolderPath, item_ids: Sequence[str], folder: FolderPath
                    ) -> list[str | None]:
        """``UID COPY`` of the messages ``item_ids`` name in ``source`` into ``folder``
        (engine/sync/target_copy.py): the server copies bytes, flags and INTERNALDATE (RFC
        3501 6.4.7), nothing is sent again. One new item id per id, in order, from COPYUID
        (RFC 4315); ``None`` where the server did not name it (no UIDPLUS: the caller looks
        it up like an unnamed append) or the message is no longer in ``source``. Raises
        FolderNotFound when ``source`` is gone."""
        if not self.session.has("UIDPLUS") or self.exchange is not None:
            # unnamed copies would wait for a lookup; Exchange's COPY is untested here
            raise PermanentError("The target does not copy messages with COPYUID here.",
                                 error_id="CopyRefused")
        selected = self._select(source)
        uids = [_split_id(i, selected.uidvalidity) for i in item_ids]
        wanted = sorted({u for u in uids if u is not None})
        if not wanted:
            return [None] * len(item_ids)
        imap = raw_connection(self.session.client)
        with self._errors(f"copy messages into '{'/'.join(folder)}'"):
            imap.untagged_responses.pop("COPYUID", None)
            try:
                self.session.client.copy(wanted, self.raw_name(folder))
            except IMAPClientError as exc:
                if isinstance(exc, IMAPClientAbortError):
                    raise  # a lost connection, as anywhere else
                raise PermanentError(  # full, or anything: the caller appends instead
                    f"The target refused to copy messages into '{'/'.join(folder)}': {exc}",
                    error_id="CopyRefused") from None
        # imaplib files the tagged OK's [COPYUID v src dst] code under its name
        codes = imap.untagged_responses.pop("COPYUID", None) or [b""]
        code = codes[-1] if isinstance(codes[-1], bytes) else str(codes[-1]).encode()
        match = _COPYUID.search(b"[COPYUID " + code + b"]")
        if match is None:
            return [None] * len(item_ids)
        validity = match.group(1).decode()
        pairs = dict(zip(_expand(match.group(2).decode()), _expand(match.group(3).decode()),
                         strict=False))
        return [f"{validity}:{pairs[u]}" if u is not None and u in pairs else None
                for u in uids]

    # --- lookup, flags, delete -------------------------------------------------------------------

    def find_existing(self, folder: FolderPath, lookup: Lookup) -> TargetRef | None:
        selected = self._select(folder)
        client = self.session.client
        with self._errors(f"search '{'/'.join(folder)}'"):
            direct = _split_id(lookup.item_id, selected.uidvalidity)
            unclaimed = lookup.item_id not in lookup.exclude_ids
            if direct is not None and unclaimed and fetch(client, [direct], ["UID"]):
                return TargetRef(folder, lookup.item_id)
            uid = next(self._candidates(selected, lookup), None)
        return None if uid is None else TargetRef(folder, f"{selected.uidvalidity}:{uid}")

    def _candidates(self, selected: _Selected, lookup: Lookup) -> Iterator[int]:
        fingerprint = lookup.fingerprint
        if fingerprint is None:
            return
        floor = _split_id(lookup.mark, selected.uidvalidity) or 1
        client = self.session.client
        uids = search_header(client, floor, "Message-ID", fingerprint.message_id or None)
        if not uids:
            return
        rows = fetch(client, uids, ["RFC822.SIZE", "INTERNALDATE", HEADER_ITEM])
        excluded = lookup.exclude_ids
        # newest first: a copy appended by the interrupted pass lies above any identical
        # message the mailbox held before, which must never be taken for imsh's own copy
        for uid in sorted(rows, reverse=True):
            row = rows[uid]
            header = header_block(row)
            date = row.get(b"INTERNALDATE")
            if (header is None or not isinstance(date, datetime)
                    or f"{selected.uidvalidity}:{uid}" in excluded):
                continue
            found = fingerprint_of(header, int(row.get(b"RFC822.SIZE", 0)), date)
            if (found.header_hash == fingerprint.header_hash
                    and int(found.internaldate.timestamp())
                    == int(max(fingerprint.internaldate, EARLIEST_DATE).timestamp())):
                yield uid

    def list_messages(self, folder: FolderPath,
                      exclude_ids: Collection[str] = frozenset()) -> list[TargetMessage] | None:
        """The folder's UIDs (as :meth:`list_ids` finds them), then FLAGS, RFC822.SIZE,
        INTERNALDATE and the fingerprint's header fields of the UIDs not excluded,
        ``LIST_CHUNK`` UIDs per FETCH."""
        selected = self._select(folder)
        uidnext = self._uidnext(folder, selected)
        client = self.session.client
        found: list[TargetMessage] = []
        with self._errors(f"list the messages of '{'/'.join(folder)}'"):
            uids = [u for u in folder_uids(client, uidnext, esearch=self.session.has("ESEARCH"))
                    if f"{selected.uidvalidity}:{u}" not in exclude_ids]
            for start in range(0, len(uids), LIST_CHUNK):
                chunk = uids[start:start + LIST_CHUNK]
                rows = fetch(client, chunk,
                             ["FLAGS", "RFC822.SIZE", "INTERNALDATE", HEADER_ITEM])
                for uid in chunk:
                    row = rows.get(uid)
                    header = header_block(row)
                    if row is None or header is None or b"RFC822.SIZE" not in row:
                        continue  # vanished meanwhile, or the server would not say
                    fingerprint = fingerprint_of(header, int(row[b"RFC822.SIZE"]),
                                                 row[b"INTERNALDATE"])
                    flags = tuple(f.decode() if isinstance(f, bytes) else str(f)
                                  for f in row.get(b"FLAGS", ()))
                    found.append(TargetMessage(f"{selected.uidvalidity}:{uid}", fingerprint,
                                               tuple(f for f in flags
                                                     if f.lower() != "\\recent")))
        return found

    def change_flags(self, folder: FolderPath, ref: TargetRef, add: Sequence[str],
                     remove: Sequence[str]) -> TargetRef:
        """``UID STORE +FLAGS.SILENT`` of ``add``, ``-FLAGS.SILENT`` of ``remove``."""
        selected = self._select(folder)
        uid = _split_id(ref.item_id, selected.uidvalidity)
        if uid is None:
            raise PermanentError(f"The target reference '{ref.item_id}' is not valid in the "
                                 f"folder '{'/'.join(folder)}'.", error_id="StaleTargetReference")
        system, keywords = split_names(add)
        allowed = [k for k in keywords if (selected.any_keyword or k in selected.keywords)
                   and _is_atom(k)]
        dropped = tuple(k for k in keywords if k not in allowed)
        gone_system, gone_keywords = split_names(remove)
        minus = [*gone_system, *(k for k in gone_keywords if _is_atom(k))]
        client = self.session.client
        with self._errors(f"set flags in '{'/'.join(folder)}'"):
            if system or allowed:
                client.add_flags([uid], [*system, *allowed], silent=True)
            if minus:
                client.remove_flags([uid], minus, silent=True)
        return TargetRef(folder, ref.item_id, dropped)

    def delete(self, folder: FolderPath, refs: Sequence[TargetRef]) -> None:
        """Flag as \\Deleted and UID EXPUNGE just those (without UIDPLUS: flag only)."""
        selected = self._select(folder)
        uids = [u for u in (_split_id(r.item_id, selected.uidvalidity) for r in refs) if u]
        if not uids:
            return
        client = self.session.client
        with self._errors(f"delete messages in '{'/'.join(folder)}'"):
            add_flags(client, uids, [b"\\Deleted"])
            if self.session.has("UIDPLUS"):
                uid_expunge(client, uids)

    # --- folder changes --------------------------------------------------------------------------

    def rename_folder(self, old: FolderPath, new: FolderPath) -> bool:
        """RENAME ``old`` (the server moves its subfolders) to ``new`` and subscribe it. True when
        the server has ``new`` and not ``old``, also when an interrupted pass renamed it."""
        old_name, new_name = self.raw_name(old), self.raw_name(new)
        client = self.session.client
        with self._errors(f"rename the folder '{display_name(old)}'"):
            if client.folder_exists(new_name):
                return not client.folder_exists(old_name)
            if not client.folder_exists(old_name):
                return False
            client.rename_folder(old_name, new_name)
            client.subscribe_folder(new_name)
        return True

    def delete_folder_if_empty(self, path: FolderPath) -> bool:
        """DELETE ``path`` only when STATUS counts no message and LIST shows no subfolder."""
        name = self.raw_name(path)
        client = self.session.client
        with self._errors(f"delete the folder '{display_name(path)}'"):
            if not client.folder_exists(name):
                return True
            if client.list_folders("", name + self.naming.separator + "*"):
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


def _collect(imap: Any, tag: bytes) -> tuple[str, bytes]:
    typ, data = tagged_reply(imap, tag)
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


def _exchange_kind(session: ImapSession) -> ExchangeKind | None:
    """Exchange (Online or Server), from its greeting and its capabilities after login."""
    welcome = getattr(session.client, "welcome", b"") or b""
    return detect(welcome if isinstance(welcome, bytes) else b"", session.capabilities)


def _parse_date(date: bytes) -> datetime:
    return datetime.strptime(date.decode(), "%d-%b-%Y %H:%M:%S %z")


__all__ = ["FINGERPRINT_HEADERS", "INBOX", "ImapTarget"]
