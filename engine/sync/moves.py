"""Cross-folder decisions: a message that left one folder and arrived in another is a move on
the target, and a folder that vanished while an identical one appeared is a rename.

Both are pure and look only at plans and snapshots; fingerprints are compared as multisets.

Moves are only paired between folders whose UIDVALIDITY held (and folders that vanished), so a
move never re-keys a row onto a UID another row of the same folder still holds; a message
re-filed across a UIDVALIDITY change is deleted and copied instead, which is correct, only
slower. A copy that the store holds without a target ref cannot be moved and is not paired.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from engine.sync.model import (
    Copy,
    DeleteOnTarget,
    FolderPlan,
    FolderSnapshot,
    FolderState,
    MessageState,
    MoveOnTarget,
    RenameOnTarget,
)


def plan_moves(plans: Sequence[FolderPlan]) -> tuple[list[MoveOnTarget], list[FolderPlan]]:
    """Replace each DeleteOnTarget in one folder and Copy of the same fingerprint in another by
    one MoveOnTarget. Returns the moves and the plans without the replaced actions."""
    deletes: dict[str, list[tuple[str, DeleteOnTarget]]] = defaultdict(list)
    for plan in plans:
        if not plan.uidvalidity_changed:
            for delete in plan.of_type(DeleteOnTarget):
                if delete.target_ref is not None:
                    deletes[delete.fingerprint].append((plan.folder, delete))
    moves: list[MoveOnTarget] = []
    used: set[int] = set()
    for plan in plans:
        if plan.uidvalidity_changed:
            continue
        for copy in plan.of_type(Copy):
            if copy.recopy:
                continue  # its row still holds the UID; the move would re-key onto it
            found = _take(deletes.get(copy.fingerprint, []), plan.folder)
            if found is not None:
                from_folder, delete = found
                moves.append(_move(from_folder, delete, plan.folder, copy))
                used.update((id(delete), id(copy)))
    return moves, [_without(plan, used) for plan in plans]


def detect_renames(
    vanished: Sequence[FolderState], appeared: Sequence[FolderSnapshot]
) -> list[RenameOnTarget]:
    """Pair a folder the source no longer lists with a new one that has the same UIDVALIDITY
    and mostly the same (UID, fingerprint) pairs: at least half of the remembered messages,
    none contradicted. Only target folders this migration created are renamed, and an
    ambiguous match (a tie) is no rename."""
    return choose_renames(
        (score, state.name, snapshot.name)
        for state in vanished
        if state.created_by_migration
        for snapshot in appeared
        if (score := rename_score(state, snapshot)) > 0
    )


def choose_renames(scored: Iterable[tuple[int, str, str]]) -> list[RenameOnTarget]:
    """The renames among ``(score, old name, new name)`` candidates (scores > 0, see
    :func:`rename_score`): each side's best, unless that best is a tie. The executor scores
    one pair at a time, so it never holds more than two folders for this."""
    candidates = list(scored)
    best_old: dict[str, int] = {}
    best_new: dict[str, int] = {}
    for score, old, new in candidates:
        best_old[old] = max(best_old.get(old, 0), score)
        best_new[new] = max(best_new.get(new, 0), score)
    ties_old = Counter((old, score) for score, old, _ in candidates)
    ties_new = Counter((new, score) for score, _, new in candidates)
    return [
        RenameOnTarget(old, new)
        for score, old, new in sorted(candidates, key=lambda c: (c[1], c[2]))
        if score == best_old[old] == best_new[new]
        and ties_old[(old, score)] == 1
        and ties_new[(new, score)] == 1
    ]


def rename_score(state: FolderState, snapshot: FolderSnapshot) -> int:
    """How many remembered messages the snapshot shows unchanged; 0 when it is no rename."""
    if snapshot.messages is None or snapshot.status.uidvalidity != state.status.uidvalidity:
        return 0
    remembered = {
        row.source_uid: row.fingerprint
        for row in state.messages
        if row.source_uid is not None and row.state is not MessageState.DELETED
    }
    listing = {message.uid: message.fingerprint for message in snapshot.messages}
    common = sum(1 for uid, print_ in remembered.items() if listing.get(uid) == print_)
    contradicted = any(uid in listing and listing[uid] != p for uid, p in remembered.items())
    if contradicted or common * 2 < len(remembered):
        return 0
    return common


def _take(
    waiting: list[tuple[str, DeleteOnTarget]], to_folder: str
) -> tuple[str, DeleteOnTarget] | None:
    for index, (folder, _) in enumerate(waiting):
        if folder != to_folder:
            return waiting.pop(index)
    return None


def _move(from_folder: str, delete: DeleteOnTarget, to_folder: str, copy: Copy) -> MoveOnTarget:
    return MoveOnTarget(
        from_folder=from_folder,
        from_uid=delete.source_uid,
        target_ref=delete.target_ref,
        to_folder=to_folder,
        to_uid=copy.uid,
        fingerprint=copy.fingerprint,
        size=copy.size,
        flags=copy.flags,
        old_flags=delete.flags,
        internaldate=copy.internaldate,
    )


def _without(plan: FolderPlan, used: set[int]) -> FolderPlan:
    if not any(id(action) in used for action in plan.actions):
        return plan
    return replace(plan, actions=tuple(a for a in plan.actions if id(a) not in used))
