"""Folder names: modified UTF-7, hierarchy paths, and the source -> target folder mapping.

Pure functions only (no I/O). The words:

- a *raw name* is what an IMAP server puts on the wire: modified UTF-7 (RFC 3501 §5.1.3), the
  server's hierarchy separator, and its personal-namespace prefix (``INBOX.`` on Cyrus/Courier).
- a *folder path* (:data:`FolderPath`) is the logical name: a tuple of decoded Unicode parts
  without prefix or separator, ``("INBOX",)`` for the inbox (always spelled that way, whatever
  case the server used), ``("Archive", "2019")`` for a subfolder.
- a *role* is a special-use attribute (RFC 6154) without the backslash: ``Sent``, ``Drafts``,
  ``Trash``, ``Junk``, ``Archive``.

Mapping a source folder to the target (:func:`map_folders`) keeps the path, except that the first
source folder of each role lands in the target's folder for that role (the target's own special
folder when it has one, else the well-known English name), together with its subfolders.

A path part that contains the target's separator (a ``/`` in a name on a ``.`` server, or either on
a Maildir++ tree) cannot be represented: the character is replaced by ``_``
(:data:`SEPARATOR_SUBSTITUTE`), as imapsync and dsync do. That is lossy on purpose and stable.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.errors import ValidationError

FolderPath = tuple[str, ...]
INBOX: FolderPath = ("INBOX",)
ROLES = ("Sent", "Drafts", "Trash", "Junk", "Archive")
WELL_KNOWN_NAMES: Mapping[str, str] = {role: role for role in ROLES}
SEPARATOR_SUBSTITUTE = "_"

# Names that mean a role on servers without SPECIAL-USE (Courier, old Cyrus), top level only.
_ROLE_BY_NAME: Mapping[str, str] = {
    "sent": "Sent", "sent items": "Sent", "sent messages": "Sent", "sent mail": "Sent",
    "drafts": "Drafts", "draft": "Drafts",
    "trash": "Trash", "deleted items": "Trash", "deleted messages": "Trash", "bin": "Trash",
    "junk": "Junk", "spam": "Junk", "junk email": "Junk", "junk e-mail": "Junk",
    "archive": "Archive", "archives": "Archive",
}


# --- modified UTF-7 -----------------------------------------------------------------------------

def encode_mutf7(name: str) -> str:
    """Encode a Unicode folder name part (or whole name) to modified UTF-7."""
    out: list[str] = []
    pending: list[str] = []
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            if pending:
                out.append(_b64_run("".join(pending)))
                pending = []
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    if pending:
        out.append(_b64_run("".join(pending)))
    return "".join(out)


def _b64_run(text: str) -> str:
    raw = text.encode("utf-16-be", "surrogatepass")
    return "&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-"


def decode_mutf7(name: str, *, strict: bool = False) -> str:
    """Decode modified UTF-7. Malformed input is returned unchanged unless ``strict``."""
    try:
        return _decode_mutf7(name)
    except ValueError as exc:
        if strict:
            raise ValidationError(f"The folder name '{name}' is not valid modified UTF-7.") from exc
        return name


def _decode_mutf7(name: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(name):
        ch = name[i]
        if not 0x20 <= ord(ch) <= 0x7E:
            raise ValueError("non-ASCII character in modified UTF-7")
        if ch != "&":
            out.append(ch)
            i += 1
            continue
        end = name.find("-", i + 1)
        if end < 0:
            raise ValueError("unterminated base64 run")
        run = name[i + 1 : end]
        out.append("&" if run == "" else _decode_b64_run(run))
        i = end + 1
    return "".join(out)


def _decode_b64_run(run: str) -> str:
    b64 = run.replace(",", "/")
    raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
    if len(raw) % 2:
        raise ValueError("odd number of bytes in a UTF-16 run")
    return raw.decode("utf-16-be", "surrogatepass")


# --- raw names <-> paths -------------------------------------------------------------------------

def is_inbox(part: str) -> bool:
    """INBOX is case-insensitive (RFC 3501 §5.1)."""
    return part.upper() == "INBOX"


def source_path(raw_name: str, separator: str | None, personal_prefix: str = "") -> FolderPath:
    """The logical path of a raw source name: decode, drop the personal prefix, split."""
    name = raw_name
    if is_inbox(name):
        return INBOX
    if personal_prefix and name.upper().startswith(personal_prefix.upper()):
        name = name[len(personal_prefix) :]
    parts = name.split(separator) if separator else [name]
    decoded = tuple(decode_mutf7(p) for p in parts)
    if is_inbox(decoded[0]):
        decoded = INBOX + decoded[1:]
    return decoded


@dataclass(frozen=True)
class TargetNaming:
    """How one target spells folder names.

    ``special`` maps a role to the target folder that has it (discovered on the target, or the
    well-known name). ``forbidden`` lists characters that cannot appear inside a path part.
    ``reserved``: casefolded top-level names the target keeps for itself (Exchange's ``Files``);
    such a name is stored with :data:`SEPARATOR_SUBSTITUTE` appended (``Files_``).
    """

    separator: str
    prefix: str = ""
    special: Mapping[str, FolderPath] = field(default_factory=dict)
    forbidden: str = ""
    reserved: frozenset[str] = frozenset()

    def role_path(self, role: str) -> FolderPath:
        return self.special.get(role, (WELL_KNOWN_NAMES[role],))


def clean_part(part: str, naming: TargetNaming) -> str:
    """Replace characters the target cannot hold inside one path part."""
    bad = set(naming.separator + naming.forbidden)
    cleaned = "".join(SEPARATOR_SUBSTITUTE if ch in bad else ch for ch in part)
    return cleaned or SEPARATOR_SUBSTITUTE


def target_raw_name(path: FolderPath, naming: TargetNaming) -> str:
    """The raw (wire) name of a target path: encoded parts joined, prefixed unless INBOX."""
    if not path:
        raise ValidationError("A folder path cannot be empty.")
    if path == INBOX:
        return "INBOX"
    if path[0].casefold() in naming.reserved:
        path = (path[0] + SEPARATOR_SUBSTITUTE, *path[1:])
    encoded = naming.separator.join(encode_mutf7(clean_part(p, naming)) for p in path)
    if is_inbox(path[0]):
        return "INBOX" + encoded[len(path[0]) :]
    return naming.prefix + encoded


def parents(path: FolderPath) -> list[FolderPath]:
    """The ancestors of a path, outermost first (``("A","B","C")`` -> ``[("A",), ("A","B")]``)."""
    return [path[:i] for i in range(1, len(path))]


def with_parents(paths: Iterable[FolderPath]) -> list[FolderPath]:
    """All paths plus their ancestors, parents before children, without duplicates."""
    seen: dict[FolderPath, None] = {}
    for path in paths:
        for p in [*parents(path), path]:
            seen.setdefault(p, None)
    return sorted(seen, key=lambda p: (len(p), p))


# --- special-use mapping -------------------------------------------------------------------------

def role_from_flags(flags: Iterable[str]) -> str | None:
    """The special-use role among LIST attributes (``\\Sent`` -> ``Sent``), if any."""
    for flag in flags:
        name = flag.lstrip("\\").capitalize()
        if name in ROLES:
            return name
    return None


def guess_role(path: FolderPath) -> str | None:
    """A role from a top-level name, for servers that do not announce SPECIAL-USE."""
    if len(path) != 1:
        return None
    return _ROLE_BY_NAME.get(path[0].casefold())


@dataclass(frozen=True)
class SourceFolderName:
    """What the mapping needs of a source folder: its path and announced role."""

    path: FolderPath
    role: str | None = None


def map_folders(
    folders: Iterable[SourceFolderName], naming: TargetNaming, *, guess: bool = True
) -> dict[FolderPath, FolderPath]:
    """Map every source path to its target path.

    The first folder per role (announced, else guessed from the name when ``guess`` and no
    folder announces that role) is redirected to the target's folder for the role; its
    subfolders follow. Other folders keep their path. INBOX stays INBOX.
    """
    folders = list(folders)
    announced = {f.role for f in folders if f.role}
    redirect: dict[FolderPath, FolderPath] = {}
    taken: set[str] = set()
    for f in sorted(folders, key=lambda f: (len(f.path), f.path)):
        role = f.role or (guess_role(f.path) if guess else None)
        if role is None or role in taken or f.path == INBOX:
            continue
        if f.role is None and role in announced:
            continue
        taken.add(role)
        redirect[f.path] = naming.role_path(role)
    return {f.path: _redirected(f.path, redirect) for f in folders}


def _redirected(path: FolderPath, redirect: Mapping[FolderPath, FolderPath]) -> FolderPath:
    for i in range(len(path), 0, -1):
        target = redirect.get(path[:i])
        if target is not None:
            return target + path[i:]
    return path


def display_name(path: FolderPath) -> str:
    """A path for people and reports: parts joined with ``/``."""
    return "/".join(path)
