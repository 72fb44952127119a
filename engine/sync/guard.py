"""The deletion guard: whether an incremental pass may delete what it planned to delete.

DESIGN.md §4: being slow to delete is always acceptable; deleting wrongly never is. A source
that *looks* empty (an endpoint re-pointed at the wrong server, a mailbox emptied by a storage
fault, a folder the server suddenly lists as ``\\Noselect``) makes the planner plan the
deletion of every copy, and each plan is right on its own terms. The guard looks at the whole
pass once every folder is planned, before anything is deleted, and decides: **delete** or
**hold**. Held deletions are not carried out: the copies stay on the target, their rows are
detached and marked held (:class:`engine.sync.model.HoldDeletion`), the pass copies what is new
and updates flags as usual, and the administrator is told. Only an explicit approval
(``Set-MigrationUser -Identity u -ApproveDeletions``) marks the held rows *approved*; the next
pass deletes exactly those. A source that is fixed instead shows the messages again, the held
rows are matched by fingerprint, and nothing is left to delete.

The rules (``GuardPolicy``; all counts are copies this migration made, moves excluded: a
message that left one folder and arrived in another is not a deletion):

=====================================  =========================================================
rule                                   holds when
=====================================  =========================================================
share of the mailbox                   more than 10 % of the user's copies **and** more than 50
whole folder                           a folder holding more than 50 copies would lose all of
                                       them (its messages vanished, or the folder itself)
emptied mailbox                        every copy of a user with more than 10 copies would go
different mailbox                      INBOX's UIDVALIDITY changed and INBOX now holds fewer
                                       messages than the copies made from it
most folders gone                      more than half of the folders synced before are gone
                                       (at least 2 of them)
folder turned unselectable             a folder holding copies is now listed ``\\Noselect`` or
                                       ``\\NonExistent``, or could not be examined
=====================================  =========================================================

Deletions the administrator approved count for none of these and always go ahead. Everything
here is pure: the executor gathers the facts (:class:`DeletionTally`), asks :func:`judge`, and
applies the verdict with :func:`hold_plan`. A folder whose plan was too large to keep from
the survey is planned again when it is applied; should that plan delete more than the survey
counted (the source changed meanwhile), its deletions wait for the next pass
(:func:`defer_deletions`), so no deletion ever escapes the verdict.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from engine.sync.model import (
    Action,
    DeleteFolderIfEmpty,
    DeleteOnTarget,
    Detach,
    FolderPlan,
    FolderState,
    Forget,
    ForgetFolder,
    Hold,
    HoldDeletion,
    MessageState,
    MoveOnTarget,
)

INBOX = "INBOX"


@dataclass(frozen=True)
class GuardPolicy:
    """The thresholds of the rules above (docs/sync-planner.md, "The deletion guard")."""

    share: float = 0.10  # of the user's copies ...
    count: int = 50  # ... and more than this many
    folder: int = 50  # a whole folder holding more than this many copies
    emptied: int = 10  # every copy of a mailbox with more than this many
    folders_gone_share: float = 0.5  # more than this share of the known folders gone ...
    folders_gone_min: int = 2  # ... and at least this many


DEFAULT_POLICY = GuardPolicy()


@dataclass(frozen=True)
class InboxChange:
    """INBOX as the store knew it and as the source shows it now."""

    old_uidvalidity: int
    new_uidvalidity: int
    copies: int  # copies made from INBOX (rows in state copied)
    messages: int  # messages INBOX holds now


@dataclass
class DeletionTally:
    """The facts of one pass, gathered folder by folder as the executor plans them."""

    copies: int = 0  # every copy of the user before the pass
    known_folders: int = 0
    folder_copies: dict[str, int] = field(default_factory=dict)
    deletions: dict[str, int] = field(default_factory=dict)  # not approved, moves included
    vanished: set[str] = field(default_factory=set)
    unselectable: set[str] = field(default_factory=set)
    inbox: InboxChange | None = None

    def add_plan(self, plan: FolderPlan, known: FolderState | None, *,
                 vanished: bool = False, copies: int | None = None) -> None:
        """Count one folder's planned deletions and the copies it holds (``copies``: that
        count from the store, when ``known`` does not hold every row)."""
        if copies is not None:
            self.folder_copies[plan.folder] = copies
        elif known is not None:
            self.folder_copies[plan.folder] = copies_of(known)
        count = sum(1 for d in plan.of_type(DeleteOnTarget) if not d.approved)
        if count:
            self.deletions[plan.folder] = count
        if vanished:
            self.vanished.add(plan.folder)

    def without_moves(self, moves: Collection[MoveOnTarget]) -> DeletionTally:
        """The tally with the deletions that are moves taken out (they delete nothing)."""
        left = dict(self.deletions)
        for move in moves:
            if left.get(move.from_folder, 0) > 0:
                left[move.from_folder] -= 1
        return replace(self, deletions={k: v for k, v in left.items() if v > 0})


@dataclass(frozen=True)
class Verdict:
    """The guard's decision for one pass: ``hold`` with the reasons, in the admin's words."""

    hold: bool
    reasons: tuple[str, ...] = ()
    deletions: int = 0  # the deletions planned (not approved, moves excluded)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


DELETE = Verdict(False)


def copies_of(known: FolderState) -> int:
    return sum(1 for m in known.messages if m.state is MessageState.COPIED)


def judge(tally: DeletionTally, policy: GuardPolicy = DEFAULT_POLICY) -> Verdict:
    """Delete or hold, by the rules in the module docstring."""
    total = sum(tally.deletions.values())
    reasons: list[str] = []
    copies = tally.copies
    if total > policy.count and total > copies * policy.share:
        reasons.append(f"the pass would delete {total} of the {copies} messages copied to "
                       "the target")
    elif copies > policy.emptied and total >= copies:
        reasons.append(f"the pass would delete every one of the {copies} messages copied to "
                       "the target")
    for name in sorted(tally.folder_copies):
        held = tally.folder_copies[name]
        if held > policy.folder and tally.deletions.get(name, 0) >= held:
            what = "is gone from the source" if name in tally.vanished else "looks empty"
            reasons.append(f"the source folder '{name}' {what}: all {held} of its copies "
                           "would be deleted")
    inbox = tally.inbox
    if (inbox is not None and inbox.old_uidvalidity != inbox.new_uidvalidity
            and inbox.messages < inbox.copies):
        reasons.append(f"the source's INBOX is not the one synced before (UIDVALIDITY "
                       f"{inbox.old_uidvalidity} is now {inbox.new_uidvalidity}, and it holds "
                       f"{inbox.messages} messages against {inbox.copies} copied)")
    gone = len(tally.vanished)
    if (gone >= policy.folders_gone_min and tally.known_folders
            and gone > tally.known_folders * policy.folders_gone_share):
        reasons.append(f"{gone} of the {tally.known_folders} folders synced before are gone "
                       "from the source")
    for name in sorted(tally.unselectable):
        if tally.folder_copies.get(name, 0) > 0:
            reasons.append(f"the source folder '{name}' can no longer be opened (the server "
                           "lists it as not selectable)")
    if not reasons or (total == 0 and not tally.vanished):
        return Verdict(False, (), total)
    return Verdict(True, tuple(reasons), total)


def hold_plan(plan: FolderPlan, verdict: Verdict,
              folder_hold: Hold | None = None) -> tuple[FolderPlan, bool]:
    """``plan`` as the verdict allows it, and whether the removal of its (vanished) folder was
    held. A deletion becomes a :class:`HoldDeletion` when the verdict holds, or when an
    earlier pass held it and nobody approved it since (only an approval releases a hold);
    an approved one goes ahead. A vanished folder is kept (its removal and its state) while
    any deletion in it is held, while its own removal is held, or when the verdict holds and
    its removal was not approved."""
    actions: list[Action] = []
    held = False
    rows = _forgotten_rows(plan)
    for action in plan.actions:
        if isinstance(action, DeleteOnTarget) and not action.approved and (
                verdict.hold or action.hold is Hold.HELD):
            row = rows.pop((action.fingerprint, action.target_ref), None) \
                if action.source_uid is None else None
            if row is not None:  # a copy found under a new reference: hold the row itself
                actions = [a for a in actions if a is not row]
                actions.append(HoldDeletion(row.source_uid, row.target_ref, row.fingerprint))
            else:
                actions.append(HoldDeletion(action.source_uid, action.target_ref,
                                            action.fingerprint))
            held = True
        else:
            actions.append(action)
    if not removes_folder(plan):
        return (replace(plan, actions=tuple(actions)) if held else plan), False
    keep = (held or folder_hold is Hold.HELD
            or (verdict.hold and folder_hold is not Hold.APPROVED))
    if keep:
        actions = [a for a in actions if not isinstance(a, DeleteFolderIfEmpty | ForgetFolder)]
    return replace(plan, actions=tuple(actions)), keep


def _forgotten_rows(plan: FolderPlan) -> dict[tuple[str, str | None], Forget]:
    """The planner's pair for a copy found under a new target reference (the target's
    UIDVALIDITY changed): ``Forget(row)`` then ``DeleteOnTarget(None, new_ref)``. Holding or
    deferring that deletion must keep the row (with its mark), not forget it: keyed by
    (fingerprint, new reference), the Forget that precedes each such deletion."""
    found: dict[tuple[str, str | None], Forget] = {}
    last: dict[str, Forget] = {}
    for action in plan.actions:
        if isinstance(action, Forget):
            last[action.fingerprint] = action
        elif (isinstance(action, DeleteOnTarget) and action.source_uid is None
              and action.fingerprint in last):
            found[(action.fingerprint, action.target_ref)] = last.pop(action.fingerprint)
    return found


def deletions_in(plan: FolderPlan) -> int:
    """The plan's deletions that the guard judges (approved ones go ahead anyway)."""
    return sum(1 for d in plan.of_type(DeleteOnTarget) if not d.approved)


def defer_deletions(plan: FolderPlan) -> FolderPlan:
    """A folder planned again at apply time (its survey plan was too large to keep) that now
    deletes more than the survey counted: the verdict did not see these, so none of its
    deletions happen in this pass. Each becomes a :class:`Detach` (the copy stays; its row
    gives up its source UID, which a new message may take after a UIDVALIDITY change), and
    the next pass plans and judges them again."""
    rows = _forgotten_rows(plan)
    keep = {id(row) for row in rows.values()}  # their Forget stays out: the row is kept
    actions: list[Action] = []
    for action in plan.actions:
        if isinstance(action, DeleteOnTarget) and not action.approved:
            if action.source_uid is not None:
                actions.append(Detach(action.source_uid, action.target_ref,
                                      action.fingerprint))
        elif not (isinstance(action, Forget) and id(action) in keep):
            actions.append(action)
    return replace(plan, actions=tuple(actions))


def removes_folder(plan: FolderPlan) -> bool:
    """The plan deletes its folder on the target or forgets it (a vanished folder)."""
    return any(isinstance(a, DeleteFolderIfEmpty | ForgetFolder) for a in plan.actions)


def inbox_change(name: str, old_uidvalidity: int | None, new_uidvalidity: int,
                 copies: int, messages: int | None) -> InboxChange | None:
    """The facts about INBOX for :class:`DeletionTally` (None for any other folder)."""
    if name.upper() != INBOX or old_uidvalidity is None or messages is None:
        return None
    return InboxChange(old_uidvalidity, new_uidvalidity, copies, messages)

