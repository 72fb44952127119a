"""Distinct target folders: no two source folders of one user land in one target folder.

:func:`engine.folders.map_folders` can send two source folders to the same target folder: a
``\\Sent`` folder and a literal "Sent" (or "Sent Items" on Exchange), or ``A_B`` and ``A.B`` on
a Maildir++ target (both ``.A_B``). Two folder workers would then append to one target folder
in parallel, and their rows would describe one folder twice (Maildir's ``dovecot-keywords``
could even lose an update). :func:`distinct_targets` gives every later folder a name of its own,
the last part suffixed `` (2)``, `` (3)``, ...; its subfolders follow it.

Stability: a folder that already has a state row keeps the target path stored there (the
executor records the chosen path in ``folder_states.target_name`` when it creates the row), and
those stored paths are claimed before any new folder is placed. New folders are placed by
depth, folders redirected to a special-use folder first, then by source name, so one listing
always gives the same names.

Two names collide when the target would spell them alike: the same raw name
(:func:`engine.folders.target_raw_name`), compared case-insensitively because Exchange and
some file systems do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from engine.folders import FolderPath, TargetNaming, target_raw_name


@dataclass(frozen=True)
class Placement:
    """One selectable source folder to place: its name, its own path, its mapped path, and
    the path its state row stores (None for a folder seen for the first time)."""

    name: str
    source_path: FolderPath
    mapped: FolderPath
    stored: FolderPath | None = None
    yields: bool = False  # placed after the others of its depth (Gmail's unlabeled mail)


def distinct_targets(folders: Sequence[Placement], naming: TargetNaming
                     ) -> dict[str, FolderPath]:
    """The target path of every folder, pairwise distinct as the target spells them (stored
    paths are kept as they are, even if an older pass let two of them collide)."""
    taken: set[str] = set()
    result: dict[str, FolderPath] = {}
    for folder in folders:
        if folder.stored is not None:
            result[folder.name] = folder.stored
            taken.add(_key(folder.stored, naming))
    moved: dict[FolderPath, FolderPath] = {}  # a mapped path -> where it went instead
    for folder in sorted((f for f in folders if f.stored is None), key=_order):
        path = _follow_parent(folder.mapped, moved)
        chosen = path
        number = 2
        while _key(chosen, naming) in taken:
            chosen = (*path[:-1], f"{path[-1]} ({number})")
            number += 1
        if chosen != folder.mapped:
            moved[folder.mapped] = chosen
        taken.add(_key(chosen, naming))
        result[folder.name] = chosen
    return result


def redirect_unlabeled(folders: Sequence[Placement], views: Collection[str],
                       all_mail: str | None, archive: FolderPath) -> list[Placement]:
    """A Gmail-shaped source's folders to place: its views left out, its unlabeled mail (All
    Mail) sent to the target's Archive folder. The redirect is one more mapping, so
    :func:`distinct_targets` decides collisions as for any folder: a label named ``Archive``
    (in any case) and All Mail never share one target folder. All Mail yields: the label keeps
    the name its users know, the unlabeled mail goes to ``Archive (2)``."""
    return [replace(f, mapped=archive, yields=True) if f.name == all_mail else f
            for f in folders if f.name not in views]


def _order(folder: Placement) -> tuple[int, bool, bool, str]:
    return (len(folder.mapped), folder.yields, folder.mapped == folder.source_path, folder.name)


def _follow_parent(path: FolderPath, moved: Mapping[FolderPath, FolderPath]) -> FolderPath:
    """A subfolder goes where its parent went."""
    for depth in range(len(path) - 1, 0, -1):
        parent = moved.get(path[:depth])
        if parent is not None:
            return parent + path[depth:]
    return path


def _key(path: FolderPath, naming: TargetNaming) -> str:
    return target_raw_name(path, naming).casefold()
