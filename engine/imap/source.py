"""The IMAP source: list folders, examine one, list its messages, stream their bodies.

Read-only by construction: folders are opened with EXAMINE and bodies fetched with
``BODY.PEEK[]``, so the source's ``\\Seen`` and ``\\Recent`` state is never changed.

The listing carries each message's fingerprint (:class:`engine.mail.Fingerprint`, computed by
:func:`engine.mail.fingerprint_of` from the :data:`HEADER_ITEM` fields), the same function the
targets use on what they store.

**Listing by UID, never by sequence number.** :meth:`ImapSource.listing` first asks which UIDs
below the examined UIDNEXT the folder holds (:func:`engine.imap.commands.folder_uids`), then
fetches UID, FLAGS, RFC822.SIZE and INTERNALDATE in windows of :data:`LISTING_WINDOW` UIDs
(``UID FETCH`` of range sets). Sequence numbers shift under an EXPUNGE that the server reports
between two windows (it may, during any UID command): a listing by ``FETCH 5001:10000`` then
skipped a live message, the planner took it for deleted, its copy was deleted on the target and
copied again later, losing what the target's user did to it. A UID names one message for as
long as UIDVALIDITY holds, so an EXPUNGE mid-listing only removes the expunged message from the
answer, and mail arriving meanwhile (UIDs at or above the examined UIDNEXT) waits for the next
pass, whose UIDNEXT the recorded status still asks for.

**Incomplete answers.** A FETCH response without ``RFC822.SIZE`` or ``INTERNALDATE`` is asked
again, once, for just those UIDs; still incomplete, the listing fails with a
:class:`~engine.errors.TransientError` (the pass is retried later, nothing is planned from a
half-known folder: a message left out of a listing would look deleted). Unsolicited FETCH
responses (another session changed flags) carry no identity the listing can use and are
ignored (engine/imap/commands.py).

**A folder gone between LIST and EXAMINE** raises :class:`SourceFolderGone` (transient): the
folder is skipped for this pass and is *not* a folder the source deleted (the executor keeps
its copies; the next LIST decides).

Memory stays bounded: the listing holds one window of FETCH answers at a time, and
:meth:`ImapSource.fetch_bodies` fetches many messages per round trip but no more than
``max_batch_bytes`` of bodies at once (one larger message goes alone). A UID that vanished
between the listing and the fetch is simply not yielded; a UID the folder still holds but whose
FETCH answer twice came without ``BODY[]`` is yielded with ``None`` (the caller records a
skipped item with the reason; it is never silently dropped).

**Line ends.** :attr:`ImapSource.serves_crlf` says the server is known, from its greeting, to
serve every message with CRLF line ends whatever it stores: Dovecot and Courier-IMAP turn a bare
LF in a stored file into CRLF when serving it (both seen here on a Maildir file written with LF),
Cyrus refuses bare LF when mail is stored. Targets then skip their bare-LF check (2.4 s per GB
of mail). Any other greeting, a greeting changed by the admin or a proxy's own: the bytes are
checked as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from imapclient import imap_utf7
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from imapclient.response_parser import parse_response

from engine.errors import ErrorCategory, PermanentError, TransientError
from engine.folders import INBOX, is_inbox, role_from_flags, source_path
from engine.imap.commands import Row, fetch, folder_uids, header_block, parse_fetch
from engine.imap.connection import (
    ImapSession,
    ImapSettings,
    LoginPlanLike,
    imap_errors,
    open_session,
)
from engine.imap.uidsets import split_evenly
from engine.imap.wire import command, raw_connection, uid_command
from engine.mail import (
    FINGERPRINT_HEADERS,
    ExaminedStatus,
    ListedMessage,
    SourceFolder,
    fingerprint_of,
    split_flags,
)

HEADER_ITEM = f"BODY.PEEK[HEADER.FIELDS ({' '.join(FINGERPRINT_HEADERS)})]"
LISTING_WINDOW = 5000  # UIDs per listing FETCH
LISTING_ITEMS = ("UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE")
DEFAULT_BATCH_BYTES = 8 * 1024 * 1024
MAX_BATCH_MESSAGES = 500
GMAIL_MSGID_ITEM = "X-GM-MSGID"
GMAIL_LABELS_ITEM = "X-GM-LABELS"
_CRLF_SERVERS = re.compile(rb"\bDovecot\b|\bCourier-IMAP\b|\bCyrus IMAP\b")


def serves_crlf(greeting: bytes) -> bool:
    """Whether a server greeting this way serves CRLF line ends only (module docstring)."""
    return _CRLF_SERVERS.search(greeting) is not None


class SourceFolderGone(TransientError):
    """The folder was listed but cannot be examined any more: gone for this pass."""

    def __init__(self, host: str, name: str) -> None:
        super().__init__(f"The folder '{name}' disappeared from the server '{host}' during the "
                         "sync; it is skipped in this pass.",
                         category=ErrorCategory.ObjectNotFound, error_id="SourceFolderGone")
        self.folder = name


class ImapSource:
    """One migration user's mailbox on the source server, read-only."""

    def __init__(self, session: ImapSession, *, user_root: str | None = None) -> None:
        self.session = session
        self._root = _user_root(session, user_root)
        self._prefix = self._root + (session.separator or "") if self._root else (
            session.personal_prefix)
        self._selected: str | None = None
        self._sizes: dict[int, int] = {}
        welcome = getattr(session.client, "welcome", b"")
        self.serves_crlf = serves_crlf(welcome if isinstance(welcome, bytes) else b"")

    @classmethod
    def open(cls, settings: ImapSettings, plan: LoginPlanLike) -> ImapSource:
        """Connect and log in as the plan says; CONDSTORE is enabled when offered."""
        return cls(open_session(settings, plan, enable=("CONDSTORE",)), user_root=plan.user_root)

    def close(self) -> None:
        self.session.close()

    def _errors(self, action: str) -> Any:
        return imap_errors(self.session.settings, action)

    # --- folders ---------------------------------------------------------------------------------

    def list_folders(self) -> list[SourceFolder]:
        """The user's personal folders, INBOX first, parents before children."""
        with self._errors("list the folders"):
            rows = self.session.client.list_folders("", "*")
        folders = [f for f in (self._folder(row) for row in rows) if f is not None]
        folders.sort(key=lambda f: (f.path != INBOX, f.path))
        return folders

    def list_statuses(self) -> dict[str, ExaminedStatus] | None:
        """Every folder's counters from one ``LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT
        UIDVALIDITY HIGHESTMODSEQ))`` (RFC 5819), keyed by the name LIST shows (as
        :attr:`SourceFolder.name`); a folder the answer names in a form not read back here is
        simply missing. None when the server lacks LIST-STATUS or CONDSTORE (without
        HIGHESTMODSEQ the counters cannot show that a folder is unchanged) or refuses the
        command (NO, BAD); a lost connection still fails as any command's. An incremental pass
        EXAMINEs only the folders whose counters moved (engine/sync/executor.py)."""
        if not (self.session.has("LIST-STATUS") and self.session.has("CONDSTORE")):
            return None
        try:
            with self._errors("list the folders' status"):
                lines = command(self.session.client, "LIST", '""', '"*"', "RETURN",
                                "(STATUS (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ))",
                                answers=("LIST", "STATUS"))["STATUS"]
                parsed = parse_response(lines) if lines else ()
        except PermanentError:
            return None  # refused (NO, BAD): every folder is EXAMINEd, as without LIST-STATUS
        statuses: dict[str, ExaminedStatus] = {}
        for name, items in zip(parsed[::2], parsed[1::2], strict=False):
            if not isinstance(name, bytes) or not isinstance(items, tuple):
                continue  # a name read as a number, say: that folder is EXAMINEd as before
            values = dict(zip(items[::2], items[1::2], strict=False))
            try:
                statuses[name.decode("utf-8", "replace")] = ExaminedStatus(
                    int(values[b"UIDVALIDITY"]), int(values[b"UIDNEXT"]),
                    int(values[b"MESSAGES"]), int(values[b"HIGHESTMODSEQ"]))
            except (KeyError, TypeError, ValueError):
                continue
        return statuses

    def _folder(self, row: tuple[Sequence[bytes], bytes | None, bytes | str]
                ) -> SourceFolder | None:
        raw_flags, raw_sep, raw_name = row
        name = raw_name.decode("utf-8", "replace") if isinstance(raw_name, bytes) else str(raw_name)
        separator = raw_sep.decode() if isinstance(raw_sep, bytes) else raw_sep
        flags = tuple(f.decode() if isinstance(f, bytes) else str(f) for f in raw_flags)
        lowered = {f.lower() for f in flags}
        if "\\nonexistent" in lowered or not self._is_personal(name):
            return None
        path = INBOX if self._root and name == self._root else (
            source_path(name, separator, self._prefix))
        selectable = "\\noselect" not in lowered
        return SourceFolder(name, path, separator, flags, role_from_flags(flags), selectable)

    def _is_personal(self, name: str) -> bool:
        if self._root:
            return name == self._root or name.startswith(self._prefix)
        if is_inbox(name):
            return True
        if self._prefix:
            return name.upper().startswith(self._prefix.upper())
        return not any(name.startswith(p) for p in self.session.other_prefixes)

    # --- one folder ------------------------------------------------------------------------------

    def select(self, folder: SourceFolder | str) -> ExaminedStatus:
        """EXAMINE a folder (read-only) and report UIDVALIDITY, UIDNEXT, EXISTS, HIGHESTMODSEQ.

        Raises :class:`SourceFolderGone` when the server says the folder does not exist
        (``NO [NONEXISTENT]``, or a plain NO for a folder LIST no longer shows).
        """
        name = folder.name if isinstance(folder, SourceFolder) else folder
        client = self.session.client
        self._selected = None
        try:
            with self._errors(f"open the folder '{name}'"):
                info = client.select_folder(name, readonly=True)
                uidnext = info.get(b"UIDNEXT")
                if uidnext is None:  # Courier does not send it with SELECT
                    uidnext = client.folder_status(name, [b"UIDNEXT"])[b"UIDNEXT"]
        except PermanentError as exc:
            if exc.error_id == "FolderNotFound" or (
                    exc.error_id == "ServerRefused" and not self._still_listed(name)):
                raise SourceFolderGone(self.session.settings.host, name) from None
            raise
        self._selected = name
        self._sizes = {}
        modseq = info.get(b"HIGHESTMODSEQ")
        return ExaminedStatus(int(info[b"UIDVALIDITY"]), int(uidnext), int(info[b"EXISTS"]),
                            int(modseq) if modseq is not None else None)

    def _still_listed(self, name: str) -> bool:
        with self._errors("list the folders"):
            rows = self.session.client.list_folders("", name)
        return any(b"\\nonexistent" not in {bytes(f).lower() for f in flags}
                   for flags, _sep, _name in rows)

    def listing(self, folder: SourceFolder | str, *, fingerprints_from_uid: int = 1,
                status: ExaminedStatus | None = None) -> list[ListedMessage]:
        """UID, FLAGS, RFC822.SIZE, INTERNALDATE of every message below UIDNEXT, in UID order.

        Headers for the fingerprint are fetched only for UIDs >= ``fingerprints_from_uid``
        (pass the recorded UIDNEXT on an incremental sync to skip known messages' headers).
        ``status``: what :meth:`select` just returned for this folder (saves an EXAMINE).
        """
        messages = [m for window in self.listing_windows(
            folder, fingerprints_from_uid=fingerprints_from_uid, status=status) for m in window]
        self._sizes = {m.uid: m.size for m in messages}
        return messages

    def listing_windows(self, folder: SourceFolder | str, *, fingerprints_from_uid: int = 1,
                        status: ExaminedStatus | None = None) -> Iterator[list[ListedMessage]]:
        """:meth:`listing` one window of at most :data:`LISTING_WINDOW` UIDs at a time, in
        UID order (the UIDs below UIDNEXT are searched first, then each window is fetched
        when asked for): a caller that is done with a window before taking the next holds
        one window, not the folder. The folder must stay selected on this session between
        windows (select it again in between if need be: UIDs do not change)."""
        name = folder.name if isinstance(folder, SourceFolder) else folder
        if status is None or self._selected != name:
            status = self.select(folder)
        with self._errors(f"list the messages of '{name}'"):
            uids = folder_uids(self.session.client, status.uidnext,
                               esearch=self.session.has("ESEARCH"))
        for window in split_evenly(uids, LISTING_WINDOW):
            if self._selected != name:
                self.select(folder)
            listed = sorted(self._window(window, fingerprints_from_uid), key=lambda m: m.uid)
            self._sizes = {m.uid: m.size for m in listed}
            yield listed

    def new_messages(self, first_uid: int, status: ExaminedStatus) -> list[ListedMessage]:
        """The listing (with fingerprints) of the selected folder's messages from
        ``first_uid`` (the recorded UIDNEXT) up to the examined UIDNEXT, in UID order: the mail
        that arrived since the last pass. A sparse range is first asked which UIDs it holds."""
        if first_uid >= status.uidnext:
            return []
        if status.uidnext - first_uid > LISTING_WINDOW:
            with self._errors(f"list the messages of '{self._selected}'"):
                uids: Sequence[int] = [u for u in folder_uids(
                    self.session.client, status.uidnext, esearch=self.session.has("ESEARCH"),
                    first=first_uid) if u >= first_uid]
        else:
            uids = range(first_uid, status.uidnext)
        messages: list[ListedMessage] = []
        for window in split_evenly(list(uids), LISTING_WINDOW):
            messages.extend(self._window(window, first_uid))
        messages.sort(key=lambda m: m.uid)
        self._sizes = {m.uid: m.size for m in messages}
        return messages

    def changed_flags(self, below: int, modseq: int) -> dict[int, tuple[str, ...]]:
        """FLAGS of the selected folder's messages below ``below`` whose MODSEQ is above
        ``modseq`` (CONDSTORE: ``UID FETCH 1:<below-1> (UID FLAGS) (CHANGEDSINCE m)``),
        as raw flag names by UID."""
        if below <= 1:
            return {}
        client = self.session.client
        with self._errors(f"list the changed flags in '{self._selected}'"):
            data = uid_command(client, "FETCH", f"1:{below - 1}", "(UID FLAGS)",
                               f"(CHANGEDSINCE {int(modseq)})", answer="FETCH")
            raw_connection(client).untagged_responses.pop("EXPUNGE", None)
        result: dict[int, tuple[str, ...]] = {}
        for uid, row in parse_fetch(data):
            if uid < below and b"FLAGS" in row:
                result[uid] = tuple(f.decode("ascii", "replace") if isinstance(f, bytes)
                                    else str(f) for f in row[b"FLAGS"])
        return result

    def present_uids(self, below: int) -> list[int]:
        """Every UID of the selected folder below ``below``, ascending (UIDs only)."""
        with self._errors(f"list the messages of '{self._selected}'"):
            return folder_uids(self.session.client, below, esearch=self.session.has("ESEARCH"))

    def _window(self, uids: Sequence[int], headers_from: int) -> list[ListedMessage]:
        client = self.session.client
        with self._errors(f"list the messages of '{self._selected}'"):
            rows = fetch(client, uids, LISTING_ITEMS)
            incomplete = [uid for uid, row in rows.items() if not _complete(row)]
            if incomplete:  # asked once more: a glitch, or an unsolicited partial answer
                rows.update(fetch(client, incomplete, LISTING_ITEMS))
            wanted = [uid for uid in rows if uid >= headers_from]
            headers = fetch(client, wanted, [HEADER_ITEM]) if wanted else {}
        still = [uid for uid in incomplete if not _complete(rows.get(uid, {}))]
        if still:
            raise TransientError(
                f"The server '{self.session.settings.host}' left out the size or date of "
                f"{len(still)} messages in the folder '{self._selected}' (UID {still[0]}); the "
                "folder will be listed again in the next attempt.",
                category=ErrorCategory.ResourceUnavailable, error_id="IncompleteListing")
        return [_message(uid, row, header_block(headers.get(uid)))
                for uid, row in rows.items()]

    def fetch_bodies(self, uids: Sequence[int], max_batch_bytes: int = DEFAULT_BATCH_BYTES,
                     sizes: Mapping[int, int] | None = None
                     ) -> Iterator[tuple[int, bytes | None]]:
        """Yield ``(uid, raw bytes)`` for the given UIDs of the selected folder, in order.

        A UID the folder no longer holds is not yielded. A UID whose answer came without
        ``BODY[]`` is asked for once more; still without it (and still in the folder), it is
        yielded as ``(uid, None)``. Sizes come from ``sizes``, else from the last
        :meth:`listing`, else are fetched.
        """
        known = dict(self._sizes)
        known.update(sizes or {})
        missing = [u for u in uids if u not in known]
        if missing:
            known.update(self._fetch_sizes(missing))
        client = self.session.client
        for chunk in byte_chunks(uids, known, max_batch_bytes):
            with self._errors(f"read messages of '{self._selected}'"):
                rows = fetch(client, chunk, ["BODY.PEEK[]"])
                bodiless = [uid for uid in chunk if _body(rows.get(uid)) is None]
                if bodiless:
                    rows.update(fetch(client, bodiless, ["BODY.PEEK[]"]))
                    bodiless = [uid for uid in bodiless if _body(rows.get(uid)) is None]
                present = set(fetch(client, bodiless, ["UID"])) if bodiless else set()
            for uid in chunk:
                body = _body(rows.get(uid))
                if body is not None:
                    yield uid, body
                elif uid in present:
                    yield uid, None

    def header_blocks(self, uids: Sequence[int], *, action: str = "read message headers",
                      best_effort: bool = False) -> dict[int, bytes]:
        """The :data:`HEADER_ITEM` fields of ``uids`` in the selected folder (``b""`` for an
        answer without them; a UID the folder no longer holds is absent).

        ``best_effort``: a NO/BAD or garbled answer yields ``{}`` instead of failing (headers
        wanted only for a report); a lost connection still raises, like anywhere else.
        """
        with self._errors(action):
            try:
                rows = fetch(self.session.client, uids, [HEADER_ITEM])
            except IMAPClientError as exc:
                if not best_effort or isinstance(exc, IMAPClientAbortError):
                    raise
                return {}
        return {uid: header_block(row) or b"" for uid, row in rows.items()}

    def gmail_message_ids(self, uidnext: int) -> dict[int, str]:
        """Gmail's ``X-GM-MSGID`` of every message of the selected folder below ``uidnext``
        (X-GM-EXT-1; the caller checks the capability), as text."""
        with self._errors("read Gmail message ids"):
            rows = fetch(self.session.client, range(1, uidnext), [GMAIL_MSGID_ITEM])
        ids: dict[int, str] = {}
        for uid, row in rows.items():
            value = row.get(GMAIL_MSGID_ITEM.encode())
            if value is not None:
                ids[uid] = value.decode() if isinstance(value, bytes) else str(value)
        return ids

    def gmail_labels(self, uidnext: int) -> dict[int, tuple[str, tuple[str, ...]]]:
        """Gmail's ``X-GM-MSGID`` and ``X-GM-LABELS`` of every message of the selected folder
        below ``uidnext`` (``[Gmail]/All Mail``; X-GM-EXT-1, the caller checks), as
        ``uid -> (id, labels)``. System labels keep their backslash (``\\Inbox``,
        ``\\Sent``); user labels are decoded from modified UTF-7 like folder names."""
        with self._errors("read Gmail labels"):
            rows = fetch(self.session.client, range(1, uidnext),
                         [GMAIL_MSGID_ITEM, GMAIL_LABELS_ITEM])
        result: dict[int, tuple[str, tuple[str, ...]]] = {}
        for uid, row in rows.items():
            value = row.get(GMAIL_MSGID_ITEM.encode())
            if value is None:
                continue
            raw = row.get(GMAIL_LABELS_ITEM.encode()) or ()
            labels = raw if isinstance(raw, tuple | list) else (raw,)
            result[uid] = (value.decode() if isinstance(value, bytes) else str(value),
                           tuple(_label(label) for label in labels))
        return result

    def _fetch_sizes(self, uids: Sequence[int]) -> dict[int, int]:
        with self._errors(f"read message sizes of '{self._selected}'"):
            rows = fetch(self.session.client, uids, ["RFC822.SIZE"])
        return {uid: int(r[b"RFC822.SIZE"]) for uid, r in rows.items() if b"RFC822.SIZE" in r}


def byte_chunks(uids: Sequence[int], sizes: Mapping[int, int], max_bytes: int,
                max_count: int = MAX_BATCH_MESSAGES) -> Iterator[list[int]]:
    """Split UIDs into runs of at most ``max_bytes`` (by size) and ``max_count`` messages."""
    chunk: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if chunk and (total + size > max_bytes or len(chunk) >= max_count):
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk


def _user_root(session: ImapSession, user_root: str | None) -> str | None:
    """The UserRoot folder as a raw name (``/`` in it read as the separator); it is the INBOX.

    Exchange's UserRoot points at the user's tree in the admin's view (Courier virtual shared
    folders); everything below it is the user's mailbox, nothing else is.
    """
    if not user_root or not user_root.strip("/"):
        return None
    return user_root.strip("/").replace("/", session.separator or "/")


def _label(value: object) -> str:
    """One X-GM-LABELS entry as text: ``\\Inbox`` as it is, a user label decoded."""
    raw = bytes(value) if isinstance(value, bytes | bytearray) else str(value).encode("utf-8")
    if raw.startswith(b"\\"):
        return raw.decode("ascii", "replace")
    return imap_utf7.decode(raw)


def _complete(row: Row) -> bool:
    return b"RFC822.SIZE" in row and isinstance(row.get(b"INTERNALDATE"), datetime)


def _body(row: Row | None) -> bytes | None:
    body = row.get(b"BODY[]") if row else None
    return bytes(body) if isinstance(body, bytes | bytearray) else None


def _message(uid: int, row: Mapping[bytes, Any], headers: bytes | None) -> ListedMessage:
    flags, keywords = split_flags(row.get(b"FLAGS", ()))
    size = int(row[b"RFC822.SIZE"])
    date = _aware(row[b"INTERNALDATE"])
    fingerprint = fingerprint_of(headers, size, date) if headers is not None else None
    return ListedMessage(uid, flags, keywords, size, date, fingerprint)


def _aware(value: datetime) -> datetime:
    """INTERNALDATE as an aware UTC datetime (the instant is what counts, not the zone)."""
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
