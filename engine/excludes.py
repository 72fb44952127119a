"""``-ExcludeFolders`` of New-MigrationBatch: parsing the patterns and matching source folders.

Exchange's rules (reference/ms-cmdlets.md §A6, §B6), as imsh applies them:

* Names are "relative to the IMAP root on the source mail server" and "aren't case-sensitive".
  imsh matches them against a folder's *logical path*: its name components below the personal
  namespace prefix (``INBOX.`` on Cyrus and Courier), as the source module lists them. A pattern
  may separate levels with ``/`` or with the source server's own hierarchy separator.
* ``Name`` excludes exactly that folder; ``Name/*`` excludes that folder and every folder below
  it (its subtree).
* ``#WellKnown#`` (and ``#WellKnown#/*``) names a well-known folder whatever its name or
  language. On IMAP a well-known folder is found by its SPECIAL-USE attribute (RFC 6154), and
  ``INBOX`` is the Inbox. Well-known names with no IMAP counterpart (Calendar, Contacts, ...)
  match nothing. ``#Root#/*`` is the whole mailbox.
* ``\\#Name\\#`` is a personal folder literally named ``#Name#``.
* "Wildcard characters can't be used in folder names": a ``*`` or ``%`` anywhere but in the
  trailing ``/*`` is refused (imsh's wording), rather than silently matching nothing.
* Exchange documents no folder that is excluded by default, so imsh excludes none
  (:data:`DEFAULT_EXCLUDED_FOLDERS` is empty).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from engine.errors import ValidationError

FolderPath = tuple[str, ...]
"""A logical folder path: its name components from the top, e.g. ``("Archive", "2019")``."""

DEFAULT_EXCLUDED_FOLDERS: tuple[str, ...] = ()


class WellKnownFolder(StrEnum):
    """The well-known folder names ``#Name#`` may use (REF New-MigrationBatch -ExcludeFolders)."""

    Root = "Root"
    Inbox = "Inbox"
    SentItems = "SentItems"
    Outbox = "Outbox"
    DeletedItems = "DeletedItems"
    Calendar = "Calendar"
    Contacts = "Contacts"
    Drafts = "Drafts"
    Journal = "Journal"
    Tasks = "Tasks"
    Notes = "Notes"
    AllItems = "AllItems"
    JunkEmail = "JunkEmail"
    Archive = "Archive"


SPECIAL_USE_FOLDERS: dict[str, WellKnownFolder] = {
    "\\sent": WellKnownFolder.SentItems,
    "\\trash": WellKnownFolder.DeletedItems,
    "\\junk": WellKnownFolder.JunkEmail,
    "\\drafts": WellKnownFolder.Drafts,
    "\\archive": WellKnownFolder.Archive,
    "\\all": WellKnownFolder.AllItems,
}
"""RFC 6154 attribute (casefolded) -> the well-known folder it marks."""


@dataclass(frozen=True)
class FolderPattern:
    """One parsed ``-ExcludeFolders`` value."""

    text: str  # as the administrator wrote it
    name: str  # the personal folder path, or "" when well_known is set
    well_known: WellKnownFolder | None = None
    subtree: bool = False


@dataclass(frozen=True)
class ExcludeCandidate:
    """What the patterns see of a listed source folder (:class:`engine.mail.SourceFolder`): its
    logical path and SPECIAL-USE attributes."""

    path: FolderPath
    special_use: frozenset[str] = field(default_factory=frozenset)


_WELL_KNOWN = re.compile(r"#([^#/]+)#")


def parse_exclude_folders(values: Iterable[str]) -> tuple[FolderPattern, ...]:
    """Parse and validate ``-ExcludeFolders`` values; blank values are refused."""
    return tuple(_parse_pattern(value) for value in values)


def _parse_pattern(text: str) -> FolderPattern:
    body = text.strip().strip("/")
    subtree = body.endswith("/*") or body == "*"
    if subtree:
        body = body[:-1].rstrip("/")
    if "*" in body or "%" in body:
        raise ValidationError(
            f'The folder name "{text}" isn\'t valid: wildcard characters can\'t be used in '
            'folder names. Use "Name/*" to exclude a folder and the folders below it.',
            error_id="InvalidExcludeFolder",
        )
    if not body:
        raise ValidationError(
            f'The folder name "{text}" isn\'t valid: it names no folder.',
            error_id="InvalidExcludeFolder",
        )
    well_known = _WELL_KNOWN.fullmatch(body)
    if well_known:
        return FolderPattern(text, "", _well_known(text, well_known.group(1)), subtree)
    return FolderPattern(text, body.replace("\\#", "#"), None, subtree)


def _well_known(text: str, name: str) -> WellKnownFolder:
    for member in WellKnownFolder:
        if member.value.casefold() == name.casefold():
            return member
    names = ", ".join(member.value for member in WellKnownFolder)
    raise ValidationError(
        f'The folder name "{text}" isn\'t valid: "{name}" isn\'t a well-known folder. '
        f"Well-known folders are: {names}. Write \\#{name}\\# for a folder with that name.",
        error_id="InvalidExcludeFolder",
    )


def well_known_paths(folders: Iterable[ExcludeCandidate]) -> dict[WellKnownFolder, FolderPath]:
    """Where each well-known folder is in this mailbox (first folder marked wins)."""
    found: dict[WellKnownFolder, FolderPath] = {WellKnownFolder.Root: ()}
    for folder in folders:
        if len(folder.path) == 1 and folder.path[0].casefold() == "inbox":
            found.setdefault(WellKnownFolder.Inbox, folder.path)
        for attribute in folder.special_use:
            kind = SPECIAL_USE_FOLDERS.get(attribute.casefold())
            if kind is not None:
                found.setdefault(kind, folder.path)
    return found


def _pattern_path(
    pattern: FolderPattern,
    separator: str,
    well_known: Mapping[WellKnownFolder, FolderPath],
) -> FolderPath | None:
    if pattern.well_known is not None:
        return well_known.get(pattern.well_known)
    parts = [pattern.name]
    for sep in {"/", separator}:
        parts = [piece for part in parts for piece in part.split(sep)]
    return tuple(parts)


def _key(path: FolderPath) -> FolderPath:
    return tuple(part.casefold() for part in path)


def is_excluded(
    path: FolderPath,
    patterns: Collection[FolderPattern],
    *,
    separator: str = "/",
    well_known: Mapping[WellKnownFolder, FolderPath] | None = None,
) -> bool:
    """Whether the folder at ``path`` is excluded by any of ``patterns``."""
    known = well_known if well_known is not None else {WellKnownFolder.Root: ()}
    wanted = _key(path)
    for pattern in patterns:
        target = _pattern_path(pattern, separator, known)
        if target is None:
            continue
        target = _key(target)
        if wanted == target or (pattern.subtree and wanted[: len(target)] == target):
            return True
    return False


def filter_folders(
    folders: Iterable[ExcludeCandidate],
    patterns: Collection[FolderPattern],
    *,
    separator: str = "/",
) -> list[ExcludeCandidate]:
    """The folders to migrate: ``folders`` minus the excluded ones, order kept."""
    listed = list(folders)
    known = well_known_paths(listed)
    return [
        folder
        for folder in listed
        if not is_excluded(folder.path, patterns, separator=separator, well_known=known)
    ]


def keep_included(
    folders: Iterable[ExcludeCandidate],
    patterns: Collection[FolderPattern],
    *,
    separator: str = "/",
) -> list[ExcludeCandidate]:
    """``-IncludeFolders``, the inverse of the exclusions: only the folders a pattern names
    (``Name``, ``Name/*`` with its subtree, ``#WellKnown#``), order kept; no patterns: all.
    The same syntax and matching as :func:`is_excluded`; exclusions still apply on top."""
    listed = list(folders)
    if not patterns:
        return listed
    known = well_known_paths(listed)
    return [folder for folder in listed
            if is_excluded(folder.path, patterns, separator=separator, well_known=known)]
