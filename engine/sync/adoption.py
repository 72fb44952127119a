"""When the executor looks at what a target folder already holds, so that the planner can adopt
it (:class:`engine.sync.model.Adopt`) instead of appending it again. Pure; no I/O.

Adoption is what keeps DESIGN.md §4's "one copy per message, whatever the local state says".
Listing a target folder's fingerprints costs a FETCH of header fields per message, so the
executor only does it when the plan would copy something and the state cannot vouch for the
target folder (:func:`wants_target_messages`):

- **the state says nothing**: no row of the folder holds a copy, yet the plan copies. That is
  the initial sync of a fresh batch (the target folder is usually missing or empty: one SELECT
  and SEARCH), of a re-created batch or after a lost state (the folder holds the earlier
  copies), and of a folder merged into one the target's user already had (a rename onto an
  existing folder, engine/sync/executor.py ``_renames``);
- **the target lost copies**: on a pass that listed the target (``present_on_target``), a
  copied row's reference is missing. One deleted copy, or all of them when the target's
  UIDVALIDITY changed (an index rebuild that kept the messages under new UIDs). Such a row
  whose source message is still there adopts its copy again; one whose source message is
  gone (incremental) has its copy found by fingerprint and deleted under its new reference.

What is never adopted: a target message some row already claims (``exclude_ids``), and a
message whose fingerprint no source message to copy has. Those are the target user's own
(filed by them, delivered to the target directly): no row is made for them, so no incremental
pass ever deletes them. An adopted message is from then on a copy like any other: it gets the
source's flags, and is deleted on the target when its source message is deleted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from engine.sync.model import Copy, FolderPlan, FolderState, Forget, MessageState, OnTarget
from engine.targets.base import TargetMessage


def wants_target_messages(plan: FolderPlan, known: FolderState | None,
                          present_on_target: Collection[str] | None) -> bool:
    """Whether to list the target folder's messages and plan again with them: the plan
    copies and the state says nothing or the target lost copies, or the plan forgets rows
    whose copies the target lost (it may still hold them under new references, to delete)."""
    copies = [m for m in known.messages if m.state is MessageState.COPIED and m.target_ref] \
        if known is not None else []
    lost = present_on_target is not None and any(
        m.target_ref not in present_on_target for m in copies)
    if plan.of_type(Copy):
        return not copies or lost
    return lost and any(f.target_ref for f in plan.of_type(Forget))


def claimed_refs(known: FolderState | None) -> frozenset[str]:
    """The target references the folder's rows hold: never adopted by another row."""
    if known is None:
        return frozenset()
    return frozenset(m.target_ref for m in known.messages if m.target_ref)


def on_target(messages: Sequence[TargetMessage]) -> tuple[OnTarget, ...]:
    """The planner's view of what a target listed (fingerprints as store keys)."""
    return tuple(OnTarget(m.item_id, m.fingerprint.key, frozenset(m.flags)) for m in messages)
