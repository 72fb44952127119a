"""The first, light phase of a pass: what the executor keeps of each folder's plan while it
goes through the mailbox one folder at a time (memory bounded by the largest folder).

Per folder the executor lists, plans (:func:`engine.sync.planner.plan_folder`) and hands the
plan to :meth:`Survey.add`, then drops the listing and the rows. The survey keeps:

- the folder's status (for the folder row and the moves) and its totals (statistics);
- the move candidates: deletes that carry a target reference and copies whose fingerprint a
  copied row of another folder holds (the executor asks the store), never from a folder whose
  UIDVALIDITY changed (:func:`engine.sync.moves.plan_moves`' rule): the messages that left one
  folder and may have arrived in another;
- the plan itself while it is small (``keep_budget`` actions over all folders); a folder
  whose plan was not kept is listed and planned again when it is applied, after the moves (so
  the moved messages no longer show as deletes and copies);
- ``windowed``: the large folders an initial pass copies window by window
  (:meth:`add_windowed`): surveyed from their sizes alone, never planned whole, no plan kept.

Everything here is pure; the executor does the I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from engine.sync.model import (
    Copy,
    DeleteOnTarget,
    FolderPlan,
    FolderSnapshot,
    FolderStatus,
    MoveOnTarget,
)
from engine.sync.moves import plan_moves

DEFAULT_KEEP_BUDGET = 5000  # plan actions kept between the phases, over all folders


@dataclass
class Survey:
    """What one pass remembers between surveying and applying its folders."""

    keep_budget: int = DEFAULT_KEEP_BUDGET
    statuses: dict[str, FolderStatus] = field(default_factory=dict)
    new: set[str] = field(default_factory=set)
    kept: dict[str, FolderPlan] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)  # bytes to copy: largest first
    candidates: dict[str, FolderPlan] = field(default_factory=dict)
    windowed: set[str] = field(default_factory=set)
    items: int = 0
    size: int = 0

    def count(self, snapshot: FolderSnapshot, known_bytes: int) -> None:
        """Add a listed folder to the totals (a folder not listed counts as the store has it)."""
        if snapshot.messages is None:
            self.items += snapshot.status.messages or 0
            self.size += known_bytes
        else:
            self.items += len(snapshot.messages)
            self.size += sum(m.size for m in snapshot.messages)

    def add(self, plan: FolderPlan, movable_copies: Collection[str] | None = None,
            movable_deletes: Collection[str] | None = None) -> None:
        """Remember ``plan`` as far as the budget allows. ``movable_copies``: the fingerprints
        of its copies that may be moves (None: none are; the initial phase has no deletes);
        ``movable_deletes``: the same for its deletes (None: all of them may be)."""
        if plan.status is not None:
            self.statuses[plan.folder] = plan.status
            if plan.is_new:
                self.new.add(plan.folder)
        self.weights[plan.folder] = sum(a.size for a in plan.of_type(Copy))
        if len(plan.actions) <= self.keep_budget:
            self.keep_budget -= len(plan.actions)
            self.kept[plan.folder] = plan
        if plan.uidvalidity_changed:
            return
        movable = movable_copies or ()
        light = tuple(
            [d for d in plan.of_type(DeleteOnTarget) if d.target_ref is not None
             and (movable_deletes is None or d.fingerprint in movable_deletes)]
            + [c for c in plan.of_type(Copy) if not c.recopy and c.fingerprint in movable])
        if light:
            self.candidates[plan.folder] = FolderPlan(plan.folder, light)

    def add_windowed(self, status: FolderStatus, name: str, items: int, size: int,
                     weight: int) -> None:
        """A new folder to be copied window by window: its totals and weight (the bytes it
        will copy), no plan: it is listed and planned one window at a time when applied."""
        self.statuses[name] = status
        self.new.add(name)
        self.windowed.add(name)
        self.weights[name] = weight
        self.items += items
        self.size += size

    def copy_prints(self) -> set[str]:
        """Fingerprints of every copy candidate so far (a vanished folder's deletes can only
        pair with these)."""
        return {c.fingerprint for p in self.candidates.values() for c in p.of_type(Copy)}

    def moves(self) -> list[MoveOnTarget]:
        """Pair the candidates as :func:`engine.sync.planner.plan_account` would, and drop
        the paired actions from the kept plans."""
        moves, _ = plan_moves([self.candidates[name] for name in sorted(self.candidates)])
        for name, plan in self.kept.items():
            self.kept[name] = without_moves(plan, moves)
        return moves


def without_moves(plan: FolderPlan, moves: Sequence[MoveOnTarget]) -> FolderPlan:
    """``plan`` without the deletes and copies that ``moves`` carry out."""
    gone = {(m.from_uid, m.target_ref) for m in moves if m.from_folder == plan.folder}
    arrived = {m.to_uid for m in moves if m.to_folder == plan.folder}
    if not gone and not arrived:
        return plan
    actions = tuple(
        a for a in plan.actions
        if not (isinstance(a, DeleteOnTarget) and (a.source_uid, a.target_ref) in gone)
        and not (isinstance(a, Copy) and not a.recopy and a.uid in arrived))
    return replace(plan, actions=actions)
