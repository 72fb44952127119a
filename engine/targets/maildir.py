"""The Maildir++ target: one tree per mailbox under ``ROOT/<email address>/``.

Layout (what Dovecot reads with ``mail_location = maildir:ROOT/%u``):

- INBOX is the tree's root; folder ``A/B`` is the directory ``.A.B`` with ``cur``, ``new``,
  ``tmp`` and an empty ``maildirfolder`` file. Parts are modified UTF-7; a ``.`` or ``/``
  inside a part becomes ``_`` (see :mod:`engine.folders`). Parents are not created: Maildir++
  holds ``.A.B`` without ``.A``, and Dovecot lists ``A`` as ``\\Noselect``, as the source
  had it; a parent the source can select is asked for like any other folder.
- Messages go to ``cur/`` named ``<unique>:2,<flags>``: flags are the letters D F P R S T
  (\\Draft \\Flagged - \\Answered \\Seen \\Deleted) in ASCII order, then one lowercase letter
  per keyword, mapped in the folder's ``dovecot-keywords`` file (lines ``N keyword``, N = 0..25
  for a..z; Dovecot's format). A folder holds at most 26 keywords this way: further ones are
  reported as dropped, never silently lost.
- The file's mtime is the INTERNALDATE (Maildir keeps the instant, not the zone).

Unique names are ``<sec>.M<usec>P<pid>Q<n>K<key>.<host>,S=<size>``: the usual time.pid.host
form, plus ``K`` + 20 hex digits of SHA-256 of the message's ``source_key``. That stable key is
what makes resume deterministic: :meth:`MaildirTarget.find_existing` looks a pending message up
by the key in the names (an in-memory index per folder, built from one directory listing and
rebuilt once on a miss), so no separate index file can disagree with the directory.
``item_id`` is the unique name without the ``:2,`` info (flag changes keep it).

Atomicity and durability: each message is written to ``tmp/``, fsynced, given its mtime, and
only then renamed into ``cur/``, so ``cur/`` never shows a half-written message. The ``cur/``
directory is fsynced once per batch, before the references are returned. The keyword file is
replaced (write + fsync + rename) before any message using a new letter appears in ``cur/``.
``fsync=False`` skips the fsyncs (tests, throwaway trees); atomicity is unchanged.

Full disks and failed writes: a message whose write fails leaves nothing behind (its ``tmp/``
file is removed at once). ``ENOSPC``/``EDQUOT`` (disk full, filesystem quota) are capacity
refusals (:func:`~engine.targets.base.capacity_refusal`) for that message and the rest of the
batch: the messages written before stay, the others are retried in a later pass; other write
errors fail as before. As the Maildir specification asks, :meth:`MaildirTarget.open_user`
removes files in the tree's ``tmp/`` directories not touched for 36 hours (left by a crash);
"touched" counts the ctime too, since a delivery sets its file's mtime to the INTERNALDATE
before the rename, while another folder worker may be opening the same tree.

Flag changes (:meth:`MaildirTarget.change_flags`) re-read the file's current info letters and
add/remove only the changed ones, so letters another client set on the file stay.

Modes: every directory imsh creates (the endpoint root included) is 0700, every file 0600
(messages, ``maildirfolder``, ``dovecot-keywords``), so a tree outside the state directory
does not show folder names, keywords or mail to other local users. Existing directories keep
their mode.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import re
import shutil
import socket
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import CapacityError, ErrorCategory, PermanentError, ValidationError
from engine.folders import INBOX, FolderPath, TargetNaming, target_raw_name
from engine.mail import fingerprint_of, storable_flags
from engine.targets.base import (
    AppendResult,
    Lookup,
    OutgoingMessage,
    TargetFolders,
    TargetMailbox,
    TargetMessage,
    TargetRef,
    capacity_refusal,
    split_names,
)

FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
                "\\Deleted": "T"}
LETTER_FLAGS = {letter: flag for flag, letter in FLAG_LETTERS.items()}
KEYWORDS_FILE = "dovecot-keywords"
MAX_KEYWORDS = 26
# private whatever the umask: folder names, keywords and mail are the user's business
DIR_MODE = 0o700
FILE_MODE = 0o600
INFO = ":2,"
HEADER_READ = 16 * 1024
HEADER_LIMIT = 1024 * 1024  # a header block larger than this is hashed as far as read
STALE_TMP_SECONDS = 36 * 3600  # the Maildir specification's "not accessed in 36 hours"
_FULL = (errno.ENOSPC, errno.EDQUOT)
_KEY = re.compile(r"K([0-9a-f]{20})\.")
_counter = itertools.count(1)
_HOST = socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"


def source_key_hash(source_key: str) -> str:
    return hashlib.sha256(source_key.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class StoredMessage:
    """A message as the Maildir holds it (for verification and tests)."""

    raw: bytes
    flags: tuple[str, ...]
    keywords: tuple[str, ...]
    internaldate: datetime


class _Folder:
    """One Maildir folder directory and its indexes (filled lazily)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keywords: list[str] | None = None
        self.files: dict[str, str] | None = None  # item_id -> "cur/<file>" or "new/<file>"
        self.keys: dict[str, str] = {}  # source-key hash -> item_id

    def load_keywords(self) -> list[str]:
        if self.keywords is None:
            self.keywords = _read_keywords(self.path / KEYWORDS_FILE)
        return self.keywords

    def index(self, *, refresh: bool = False) -> dict[str, str]:
        if self.files is None or refresh:
            self.files, self.keys = {}, {}
            for sub in ("cur", "new"):
                for name in os.listdir(self.path / sub):
                    if not name.startswith("."):
                        self._remember(name.split(INFO, 1)[0], f"{sub}/{name}")
        return self.files

    def _remember(self, item_id: str, relative: str) -> None:
        assert self.files is not None
        self.files[item_id] = relative
        found = _KEY.search(item_id)
        if found:
            self.keys[found.group(1)] = item_id

    def add(self, item_id: str, relative: str) -> None:
        if self.files is not None:
            self._remember(item_id, relative)

    def locate(self, item_id: str) -> str | None:
        found = self.index().get(item_id)
        if found is None or not (self.path / found).exists():
            found = self.index(refresh=True).get(item_id)
        return found


class MaildirTarget:
    """Writes Maildir++ trees, one per migration user, below ``root``."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._user_dir: Path | None = None
        self._folders: dict[FolderPath, _Folder] = {}

    @property
    def naming(self) -> TargetNaming:
        return TargetNaming(separator=".", forbidden="/")

    def open_user(self, mailbox: TargetMailbox) -> None:
        self.close()
        user_dir = self.root / mailbox_dir_name(mailbox.address)
        try:
            _make_maildir(user_dir)
        except OSError as exc:
            raise _full_or_write_error(user_dir, exc) from None
        self._user_dir = user_dir
        remove_stale_tmp(user_dir, time.time() - STALE_TMP_SECONDS)

    def close(self) -> None:
        self._user_dir = None
        self._folders = {}

    # --- folders ---------------------------------------------------------------------------------

    def folder_dir(self, path: FolderPath) -> Path:
        if self._user_dir is None:
            raise PermanentError("No target mailbox is open.", error_id="TargetNotOpen")
        if path == INBOX:
            return self._user_dir
        return self._user_dir / ("." + target_raw_name(path, self.naming))

    def _folder(self, path: FolderPath) -> _Folder:
        folder = self._folders.get(path)
        if folder is None:
            directory = self.folder_dir(path)
            if not (directory / "cur").is_dir():
                raise PermanentError(
                    f"The folder '{'/'.join(path)}' does not exist in {self._user_dir}.",
                    category=ErrorCategory.ObjectNotFound, error_id="FolderNotFound")
            folder = self._folders[path] = _Folder(directory)
        return folder

    def ensure_folders(self, paths: Sequence[FolderPath]) -> TargetFolders:
        result = TargetFolders()
        for path in dict.fromkeys(paths):  # no parents: ".A.B" needs no ".A" (Maildir++)
            directory = self.folder_dir(path)
            existed = (directory / "cur").is_dir()
            try:
                _make_maildir(directory, subfolder=path != INBOX)
            except OSError as exc:
                raise _full_or_write_error(directory, exc) from None
            (result.existing if existed else result.created).append(path)
        if result.created and self.fsync and self._user_dir is not None:
            _fsync_dir(self._user_dir)
        return result

    def missing_folders(self, paths: Sequence[FolderPath]) -> list[FolderPath]:
        return [p for p in paths if not (self.folder_dir(p) / "cur").is_dir()]

    # --- messages --------------------------------------------------------------------------------

    def mark(self, folder: FolderPath) -> str | None:
        return None  # the source key in the file name is enough to find a message again

    def count(self, folder: FolderPath) -> int | None:
        """The files in ``cur/`` and ``new/`` (names only, no index built)."""
        directory = self._folder(folder).path
        return sum(1 for sub in ("cur", "new") for name in os.listdir(directory / sub)
                   if not name.startswith("."))

    def list_ids(self, folder: FolderPath) -> frozenset[str] | None:
        """One listing of ``cur/`` and ``new/`` (which also refreshes the lookup index)."""
        return frozenset(self._folder(folder).index(refresh=True))

    def append_batch(self, folder: FolderPath,
                     messages: Sequence[OutgoingMessage]) -> list[AppendResult]:
        target = self._folder(folder)
        try:
            letters = [self._keyword_letters(target, m.keywords) for m in messages]
        except OSError as exc:
            if exc.errno not in _FULL:
                raise _write_error(target.path, exc) from None
            return [capacity_refusal(folder, _disk_full_text(target.path, exc))] * len(messages)
        results: list[AppendResult] = []
        try:
            for message, (kw_letters, dropped) in zip(messages, letters, strict=True):
                try:
                    item_id = self._deliver(target, message, kw_letters)
                except OSError as exc:
                    if exc.errno not in _FULL:
                        raise
                    refusal = capacity_refusal(folder, _disk_full_text(target.path, exc))
                    results += [refusal] * (len(messages) - len(results))
                    break
                results.append(TargetRef(folder, item_id, dropped))
            if self.fsync:
                _fsync_dir(target.path / "cur")
        except OSError as exc:
            raise _write_error(target.path, exc) from None
        return results

    def _keyword_letters(self, folder: _Folder, keywords: Sequence[str]
                         ) -> tuple[str, tuple[str, ...]]:
        known = folder.load_keywords()
        added = False
        letters: list[str] = []
        dropped: list[str] = []
        for keyword in sorted(set(keywords)):
            if keyword not in known:
                if len(known) >= MAX_KEYWORDS:
                    dropped.append(keyword)
                    continue
                known.append(keyword)
                added = True
            letters.append(chr(ord("a") + known.index(keyword)))
        if added:
            _write_keywords(folder.path / KEYWORDS_FILE, known, fsync=self.fsync)
        return "".join(sorted(letters)), tuple(dropped)

    def _deliver(self, folder: _Folder, message: OutgoingMessage, keyword_letters: str) -> str:
        item_id = unique_name(message)
        tmp = folder.path / "tmp" / item_id
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            try:
                _write_all(fd, message.raw)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if message.internaldate is not None:
                stamp = message.internaldate.timestamp()
                os.utime(tmp, (stamp, stamp))
            name = item_id + INFO + flag_letters(message.flags) + keyword_letters
            os.rename(tmp, folder.path / "cur" / name)
        except BaseException:
            _unlink_quietly(tmp)  # a half-written file never stays in tmp/
            raise
        folder.add(item_id, f"cur/{name}")
        return item_id

    def find_existing(self, folder: FolderPath, lookup: Lookup) -> TargetRef | None:
        target = self._folder(folder)
        if lookup.item_id and lookup.item_id not in lookup.exclude_ids and target.locate(
                lookup.item_id):
            return TargetRef(folder, lookup.item_id)
        if lookup.source_key:
            key = source_key_hash(lookup.source_key)
            for refresh in (False, True):
                target.index(refresh=refresh)
                item_id = target.keys.get(key)
                if item_id is not None and item_id not in lookup.exclude_ids:
                    return TargetRef(folder, item_id)
        return None

    def list_messages(self, folder: FolderPath,
                      exclude_ids: Collection[str] = frozenset()) -> list[TargetMessage] | None:
        """Every file of ``cur/`` and ``new/`` but ``exclude_ids``: its header block read up to
        the blank line, its size and mtime (the INTERNALDATE), its flags from the name."""
        target = self._folder(folder)
        known = target.load_keywords()
        found: list[TargetMessage] = []
        for item_id, relative in sorted(target.index(refresh=True).items()):
            if item_id in exclude_ids:
                continue
            path = target.path / relative
            try:
                header, size, mtime = _header_block(path)
            except FileNotFoundError:
                continue  # removed meanwhile
            except OSError as exc:
                raise _write_error(target.path, exc) from None
            info = relative.split(INFO, 1)[1] if INFO in relative else ""
            flags, keywords = _info_flags(info, known)
            found.append(TargetMessage(item_id, fingerprint_of(header, size, mtime),
                                       (*flags, *keywords)))
        return found

    def change_flags(self, folder: FolderPath, ref: TargetRef, add: Sequence[str],
                     remove: Sequence[str]) -> TargetRef:
        """Rename the file with its current info letters plus ``add``, minus ``remove``."""
        target = self._folder(folder)
        current = target.locate(ref.item_id or "")
        if current is None or ref.item_id is None:
            raise PermanentError(f"The message '{ref.item_id}' is no longer in the folder "
                                 f"'{'/'.join(folder)}'.", category=ErrorCategory.ObjectNotFound,
                                 error_id="MessageNotFound")
        system, keywords = split_names(add)
        gone_system, gone_keywords = split_names(remove)
        try:
            kw_letters, dropped = self._keyword_letters(target, keywords)
        except OSError as exc:
            raise _full_or_write_error(target.path, exc) from None
        known = target.load_keywords()
        gone = {FLAG_LETTERS[f] for f in gone_system} | {
            chr(ord("a") + known.index(k)) for k in gone_keywords if k in known}
        letters = set(current.split(INFO, 1)[1] if INFO in current else "")
        letters = (letters - gone) | set(flag_letters(system)) | set(kw_letters)
        name = ref.item_id + INFO + "".join(sorted(letters))
        try:
            os.rename(target.path / current, target.path / "cur" / name)
        except OSError as exc:
            raise _write_error(target.path, exc) from None
        target.add(ref.item_id, f"cur/{name}")
        return TargetRef(folder, ref.item_id, dropped)

    def delete(self, folder: FolderPath, refs: Sequence[TargetRef]) -> None:
        target = self._folder(folder)
        for ref in refs:
            current = target.locate(ref.item_id) if ref.item_id else None
            if current is None:
                continue
            try:
                os.unlink(target.path / current)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _write_error(target.path, exc) from None
            assert target.files is not None
            target.files.pop(ref.item_id or "", None)

    def read_message(self, folder: FolderPath, ref: TargetRef) -> StoredMessage:
        """The stored bytes, flags, keywords and INTERNALDATE of one message."""
        target = self._folder(folder)
        current = target.locate(ref.item_id or "")
        if current is None:
            raise PermanentError(f"The message '{ref.item_id}' was not found.",
                                 category=ErrorCategory.ObjectNotFound,
                                 error_id="MessageNotFound")
        path = target.path / current
        info = current.split(INFO, 1)[1] if INFO in current else ""
        flags, keywords = _info_flags(info, target.load_keywords())
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return StoredMessage(path.read_bytes(), flags, keywords, mtime)

    # --- folder changes --------------------------------------------------------------------------

    def rename_folder(self, old: FolderPath, new: FolderPath) -> bool:
        """Rename ``old``'s directory and its subfolders' (``.old.child``) to ``new``'s, then
        fsync the parent. True when ``new`` exists and ``old`` does not, also after a crash."""
        old_dir, new_dir = self.folder_dir(old), self.folder_dir(new)
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

    def delete_folder_if_empty(self, path: FolderPath) -> bool:
        """Remove ``path``'s directory only when ``cur``/``new`` hold no message and it has no
        subfolder. True if gone."""
        directory = self.folder_dir(path)
        if not directory.exists():
            return True
        if any(p.name.startswith(directory.name + ".") for p in directory.parent.iterdir()):
            return False
        if any(_holds_messages(directory / sub) for sub in ("cur", "new")):
            return False
        shutil.rmtree(directory)
        _fsync_dir(directory.parent)
        return True


def _holds_messages(directory: Path) -> bool:
    try:
        return any(not name.startswith(".") for name in os.listdir(directory))
    except FileNotFoundError:
        return False


def _info_flags(info: str, known: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The flags and keywords a file name's info part (after ``:2,``) stands for."""
    flags = tuple(sorted(LETTER_FLAGS[c] for c in info if c in LETTER_FLAGS))
    keywords = tuple(sorted(known[ord(c) - ord("a")] for c in info
                            if "a" <= c <= "z" and ord(c) - ord("a") < len(known)))
    return flags, keywords


def _header_block(path: Path) -> tuple[bytes, int, datetime]:
    """The message's header block (up to and with the blank line, at most ``HEADER_LIMIT``
    bytes), its size and its mtime as an aware UTC time."""
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        block = b""
        while len(block) < HEADER_LIMIT:
            chunk = handle.read(HEADER_READ)
            if not chunk:
                break
            block += chunk
            if b"\n\n" in block or b"\r\n\r\n" in block:
                break
    return block, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)


def mailbox_dir_name(address: str) -> str:
    """The tree's directory name: the address in lower case, checked to be one path part."""
    name = address.strip().lower()
    if not name or name in (".", "..") or "/" in name or "\0" in name or name.startswith("."):
        raise ValidationError(f"'{address}' cannot name a Maildir mailbox directory.")
    return name


def unique_name(message: OutgoingMessage) -> str:
    now = time.time()
    seconds, micros = int(now), int((now % 1) * 1_000_000)
    key = f"K{source_key_hash(message.source_key)}" if message.source_key else ""
    return (f"{seconds}.M{micros}P{os.getpid()}Q{next(_counter)}{key}.{_HOST}"
            f",S={len(message.raw)}")


def flag_letters(flags: Sequence[str]) -> str:
    return "".join(sorted(FLAG_LETTERS[f] for f in storable_flags(flags)))


def _make_maildir(directory: Path, *, subfolder: bool = False) -> None:
    for sub in ("cur", "new", "tmp"):
        _make_private_dirs(directory / sub)
    if subfolder:
        os.close(os.open(directory / "maildirfolder", os.O_WRONLY | os.O_CREAT, FILE_MODE))


def _make_private_dirs(directory: Path) -> None:
    """``mkdir -p`` with every directory it creates at DIR_MODE (existing ones are left
    alone): pathlib's ``parents=True`` would create the parents with the umask's mode."""
    missing: list[Path] = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        try:
            path.mkdir(DIR_MODE)
        except FileExistsError:
            if not path.is_dir():
                raise


def _read_keywords(path: Path) -> list[str]:
    """``dovecot-keywords`` as a list indexed by letter number (gaps become '')."""
    slots: dict[int, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        number, _, keyword = line.partition(" ")
        if number.isdigit() and int(number) < MAX_KEYWORDS and keyword:
            slots[int(number)] = keyword
    return [slots.get(i, "") for i in range(max(slots) + 1)] if slots else []


def _write_keywords(path: Path, keywords: list[str], *, fsync: bool) -> None:
    text = "".join(f"{i} {k}\n" for i, k in enumerate(keywords) if k)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        if fsync:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_tmp(user_dir: Path, older_than: float) -> int:
    """Remove files in the ``tmp/`` directories of a Maildir++ tree not changed (mtime and
    ctime) since ``older_than`` (a time.time() value); returns how many went. Errors are
    ignored: this is housekeeping, never a reason to fail a pass."""
    removed = 0
    try:
        folders = [user_dir, *(user_dir / n for n in os.listdir(user_dir) if n.startswith("."))]
    except OSError:
        return 0
    for folder in folders:
        try:
            entries = list(os.scandir(folder / "tmp"))
        except OSError:
            continue
        for entry in entries:
            try:
                # ctime, not mtime: a delivery in progress has already set its file's mtime
                # to the INTERNALDATE (years ago) before the rename into cur/
                info = entry.stat(follow_symlinks=False)
                if entry.is_file(follow_symlinks=False) and max(
                        info.st_mtime, info.st_ctime) < older_than:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue
    return removed


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _disk_full_text(path: Path, exc: OSError) -> str:
    what = "quota" if exc.errno == errno.EDQUOT else "disk"
    return (f"The target {what} is full: cannot write the Maildir at '{path}' "
            f"({exc.strerror or exc}).")


def _full_or_write_error(path: Path, exc: OSError) -> CapacityError | PermanentError:
    if exc.errno in _FULL:
        return CapacityError(_disk_full_text(path, exc), error_id="TargetDiskFull")
    return _write_error(path, exc)


def _write_error(path: Path, exc: OSError) -> PermanentError:
    return PermanentError(f"Cannot write the Maildir at '{path}': {exc.strerror or exc}.",
                          category=ErrorCategory.WriteError, error_id="MaildirWriteFailed")
