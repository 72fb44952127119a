"""The pure sync planner: compares what the source shows with what the store remembers and
returns the actions of one pass. Same inputs, same plan; no clock, no randomness, no I/O.

:func:`needs_listing` says whether a folder must be listed at all; :func:`plan_folder` plans one
folder; :func:`plan_account` plans a whole mailbox (renames and moves across folders included).
docs/sync-planner.md has the decision table; the rules that carry the invariants:

- rows in state *pending* are resolved on the target first, and nothing else happens in that
  folder until they are (the executor plans the folder again afterwards);
- a message is matched by UID while UIDVALIDITY holds, then by fingerprint as a multiset, so a
  UIDVALIDITY change (or a message re-filed in the same folder) re-keys rows instead of copying;
- only the incremental phase deletes, and only copies this migration made (rows it holds);
  whether a pass's deletions are carried out is the deletion guard's verdict
  (engine/sync/guard.py), decided over the whole mailbox once every folder is planned: the
  planner only carries each row's mark from an earlier hold (``DeleteOnTarget.hold``);
- ``present_on_target`` (target refs the executor saw on the target) overrides the store: a
  copy the target no longer holds is neither "already copied" nor something to delete;
- ``on_target`` (messages the target folder holds that no row claims, when the executor
  looked) is matched by fingerprint as a multiset against what would be copied: a match is
  adopted (``Adopt``), never appended again, so a re-created batch, a lost state or a target
  index rebuild ends with one copy per message. Unmatched target messages are the target
  user's own: no row, so no pass ever deletes them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from engine.sync.matching import pair_multiset
from engine.sync.model import (
    AccountPlan,
    Action,
    Adopt,
    Copy,
    DeleteFolderIfEmpty,
    DeleteOnTarget,
    Detach,
    FolderPlan,
    FolderSnapshot,
    FolderState,
    FolderStatus,
    Forget,
    ForgetFolder,
    KnownMessage,
    Limits,
    MessageState,
    OnTarget,
    Rematch,
    ResolvePending,
    Skip,
    SkipReason,
    SourceMessage,
    SyncKind,
    UpdateFlags,
)
from engine.sync.moves import detect_renames, plan_moves

_NO_LIMITS = Limits()


def needs_listing(status: FolderStatus, known: FolderState | None) -> bool:
    """Whether the folder's message listing must be fetched to plan it.

    Not needed only when UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ (CONDSTORE) all equal what the
    last completed pass recorded, the message count (when given) equals the rows the store
    holds, and no row is pending or detached. Without CONDSTORE a flag change leaves no trace
    in STATUS, so the listing is always needed.
    """
    if known is None:
        return True
    was = known.status
    if (status.uidvalidity, status.uidnext) != (was.uidvalidity, was.uidnext):
        return True
    if status.highestmodseq is None or status.highestmodseq != was.highestmodseq:
        return True
    rows = _live_rows(known)
    if any(row.state is MessageState.PENDING or row.detached for row in rows):
        return True
    return status.messages is not None and status.messages != len(rows)


def plan_folder(
    source: FolderSnapshot | None,
    known: FolderState | None,
    *,
    phase: SyncKind,
    limits: Limits = _NO_LIMITS,
    excluded: bool = False,
    present_on_target: Collection[str] | None = None,
    on_target: Sequence[OnTarget] = (),
) -> FolderPlan:
    """Plan one folder. ``source`` is ``None`` when the source no longer lists the folder (pass
    that only after a successful LIST); ``known`` is ``None`` for a folder never synced.
    ``present_on_target``: the target refs the target folder holds now, if the executor looked.
    ``on_target``: the target folder's messages no row claims, if the executor looked.
    """
    name = _folder_name(source, known)
    if excluded:
        return FolderPlan(name)
    rows = _live_rows(known) if known is not None else ()
    pending = [row for row in rows if row.state is MessageState.PENDING]
    if pending:
        return FolderPlan(name, tuple(_resolve(row) for row in pending))
    if source is None:
        assert known is not None
        return _plan_vanished_folder(known, rows, phase, present_on_target, on_target)
    if source.messages is None:
        if needs_listing(source.status, known):
            raise ValueError(f"folder {name!r} changed since the last pass: list its messages")
        return FolderPlan(name, (), source.status)
    _check_unique_uids(name, source.messages, rows)
    same_validity = known is not None and known.status.uidvalidity == source.status.uidvalidity
    actions = _plan_messages(source.messages, rows, phase, limits, present_on_target, same_validity,
                             on_target)
    return FolderPlan(
        name,
        actions,
        source.status,
        is_new=known is None,
        uidvalidity_changed=known is not None and not same_validity,
    )


def plan_account(
    sources: Iterable[FolderSnapshot],
    known: Iterable[FolderState],
    *,
    phase: SyncKind,
    limits: Limits = _NO_LIMITS,
    excluded: Collection[str] = frozenset(),
    present_on_target: Mapping[str, Collection[str]] | None = None,
    on_target: Mapping[str, Sequence[OnTarget]] | None = None,
) -> AccountPlan:
    """Plan one pass over a mailbox: every source folder listed now and every folder the store
    remembers. ``excluded`` names source folders (as the source spells them) to leave alone;
    ``present_on_target`` maps folder names, as the store knows them (before any rename), to
    the target refs seen in the matching target folder; ``on_target`` likewise to the target
    messages no row claims (engine/sync/adoption.py says when the executor looks)."""
    by_source = {snapshot.name: snapshot for snapshot in sources}
    by_known = {state.name: state for state in known}
    vanished = [s for n, s in by_known.items() if n not in by_source and n not in excluded]
    appeared = [s for n, s in by_source.items() if n not in by_known and n not in excluded]
    renames = detect_renames(vanished, appeared)
    present = dict(present_on_target or {})
    held = dict(on_target or {})
    for rename in renames:
        by_known[rename.new_name] = replace(by_known.pop(rename.old_name), name=rename.new_name)
        if rename.old_name in present:
            present[rename.new_name] = present.pop(rename.old_name)
        if rename.old_name in held:
            held[rename.new_name] = held.pop(rename.old_name)
    plans = [
        plan_folder(
            by_source.get(name),
            by_known.get(name),
            phase=phase,
            limits=limits,
            excluded=name in excluded,
            present_on_target=present.get(name),
            on_target=held.get(name, ()),
        )
        for name in sorted(by_source.keys() | by_known.keys())
    ]
    moves, plans = plan_moves(plans)
    return AccountPlan(tuple(renames), tuple(moves), _execution_order(plans, by_source))


# --- one folder --------------------------------------------------------------------------------


def _plan_messages(
    listing: Sequence[SourceMessage],
    rows: Sequence[KnownMessage],
    phase: SyncKind,
    limits: Limits,
    present_on_target: Collection[str] | None,
    same_validity: bool,
    on_target: Sequence[OnTarget] = (),
) -> tuple[Action, ...]:
    lost = {id(row) for row in rows if _copy_is_gone(row, present_on_target)}
    pairs, unpaired_messages, unpaired_rows = _match(listing, rows, same_validity, lost)
    copies = [_copy(message, recopy=True) for message, row in pairs if id(row) in lost]
    copies += [_copy(m) for m in unpaired_messages if not limits.too_large(m.size)]
    adopted, copies, unmatched = _adopt(sorted(copies, key=lambda copy: copy.uid), on_target)
    found = _found_elsewhere(unpaired_rows, lost, phase, unmatched)
    actions: list[Action] = []
    for row in unpaired_rows:
        gone = _plan_gone_row(row, phase, id(row) in lost)
        if gone is not None:
            actions.append(gone)
        if id(row) in found:  # its copy is still there, under a reference the target chose
            actions.append(DeleteOnTarget(None, found[id(row)], row.fingerprint, row.flags,
                                          hold=row.hold))
    actions += [
        Rematch(row.source_uid, message.uid, row.target_ref, row.fingerprint)
        for message, row in pairs
        if row.source_uid != message.uid
    ]
    actions += [
        _update_flags(message, row)
        for message, row in pairs
        if id(row) not in lost and row.state is MessageState.COPIED and row.flags != message.flags
    ]
    actions += [_skip(m) for m in unpaired_messages if limits.too_large(m.size)]
    return (*actions, *adopted, *copies)


def _adopt(copies: Sequence[Copy], on_target: Sequence[OnTarget]
           ) -> tuple[list[Adopt], list[Copy], list[OnTarget]]:
    """Pair the copies with the target's unclaimed messages by fingerprint, as multisets (in
    UID order on the source, in the order given on the target): 3 identical source messages
    and 2 on the target adopt 2 and copy 1. Returns (adopted, still to copy, unmatched)."""
    if not on_target or not copies:
        return [], list(copies), list(on_target)
    pairs, left, unmatched = pair_multiset(copies, on_target, lambda c: c.fingerprint,
                                           lambda t: t.fingerprint)
    adopted = [Adopt(c.uid, c.fingerprint, c.size, t.ref, c.flags, t.flags, c.internaldate,
                     recopy=c.recopy) for c, t in pairs]
    return adopted, left, unmatched


def _found_elsewhere(rows: Sequence[KnownMessage], lost: Collection[int], phase: SyncKind,
                     unmatched: Sequence[OnTarget]) -> dict[int, str]:
    """Incremental: copied rows to delete whose reference the target no longer knows, paired
    by fingerprint with the unclaimed target messages no source message adopted (the target's
    UIDVALIDITY changed): id(row) -> the copy's reference now. The row is forgotten and the
    copy deleted under that reference, so it does not stay behind as the user's own."""
    if phase is not SyncKind.incremental or not unmatched:
        return {}
    gone = [row for row in rows if id(row) in lost and row.state is MessageState.COPIED]
    pairs, _, _ = pair_multiset(gone, unmatched, lambda r: r.fingerprint, lambda t: t.fingerprint)
    return {id(row): held.ref for row, held in pairs}


def _match(
    messages: Sequence[SourceMessage],
    rows: Sequence[KnownMessage],
    same_validity: bool,
    lost: Collection[int],
) -> tuple[list[tuple[SourceMessage, KnownMessage]], list[SourceMessage], list[KnownMessage]]:
    """Pair source messages with rows: by UID (and equal fingerprint) while UIDVALIDITY holds,
    then by fingerprint as a multiset; rows whose copy is gone from the target pair last, and
    only by UID, so a copy the target still holds is always preferred."""
    left = sorted(messages, key=lambda m: m.uid)
    ordered_rows = sorted(rows, key=_row_order)
    held = [row for row in ordered_rows if id(row) not in lost]
    gone = [row for row in ordered_rows if id(row) in lost]
    pairs: list[tuple[SourceMessage, KnownMessage]] = []
    if same_validity:
        pairs, left, held = pair_multiset(left, held, _message_uid_key, _row_uid_key)
    by_print, left, held = pair_multiset(
        left, held, lambda m: m.fingerprint, lambda r: r.fingerprint
    )
    by_uid: list[tuple[SourceMessage, KnownMessage]] = []
    if same_validity:
        by_uid, left, gone = pair_multiset(left, gone, _message_uid_key, _row_uid_key)
    return pairs + by_print + by_uid, left, sorted(held + gone, key=_row_order)


def _plan_gone_row(row: KnownMessage, phase: SyncKind, lost: bool) -> Action | None:
    """A row whose source message is gone: delete its copy (incremental), keep it for later
    (initial: detach it from the UID), or drop it when the target holds no copy."""
    if row.state is not MessageState.COPIED or lost:
        return Forget(row.source_uid, row.target_ref, row.fingerprint)
    if phase is SyncKind.incremental:
        return DeleteOnTarget(row.source_uid, row.target_ref, row.fingerprint, row.flags,
                              hold=row.hold)
    if row.source_uid is not None:
        return Detach(row.source_uid, row.target_ref, row.fingerprint)
    return None


def _plan_vanished_folder(
    known: FolderState,
    rows: Sequence[KnownMessage],
    phase: SyncKind,
    present_on_target: Collection[str] | None,
    on_target: Sequence[OnTarget] = (),
) -> FolderPlan:
    """The source folder is gone. Only an incremental pass acts: it deletes the copies (found
    by fingerprint when the target changed their references), the target folder if this
    migration created it and the target shows it empty, and the state."""
    if phase is SyncKind.initial:
        return FolderPlan(known.name)
    ordered = sorted(rows, key=_row_order)
    lost = {id(row) for row in ordered if _copy_is_gone(row, present_on_target)}
    found = _found_elsewhere(ordered, lost, phase, on_target)
    actions: list[Action] = []
    for row in ordered:
        action = _plan_gone_row(row, phase, id(row) in lost)
        if action is not None:
            actions.append(action)
        if id(row) in found:
            actions.append(DeleteOnTarget(None, found[id(row)], row.fingerprint, row.flags,
                                          hold=row.hold))
    if known.created_by_migration:
        actions.append(DeleteFolderIfEmpty(known.name))
    actions.append(ForgetFolder(known.name))
    return FolderPlan(known.name, tuple(actions))


# --- small helpers -----------------------------------------------------------------------------


def _folder_name(source: FolderSnapshot | None, known: FolderState | None) -> str:
    if source is not None:
        return source.name
    if known is not None:
        return known.name
    raise ValueError("plan_folder needs a source snapshot or a known folder state")


def _live_rows(known: FolderState) -> tuple[KnownMessage, ...]:
    return tuple(row for row in known.messages if row.state is not MessageState.DELETED)


def _check_unique_uids(
    name: str, messages: Sequence[SourceMessage], rows: Sequence[KnownMessage]
) -> None:
    uids = [m.uid for m in messages]
    if len(set(uids)) != len(uids):
        raise ValueError(f"source listing of {name!r} repeats a UID")
    row_uids = [row.source_uid for row in rows if row.source_uid is not None]
    if len(set(row_uids)) != len(row_uids):
        raise ValueError(f"known state of {name!r} repeats a source UID")


def _copy_is_gone(row: KnownMessage, present_on_target: Collection[str] | None) -> bool:
    return (
        present_on_target is not None
        and row.state is MessageState.COPIED
        and row.target_ref is not None
        and row.target_ref not in present_on_target
    )


def _row_order(row: KnownMessage) -> tuple[int, int, str]:
    if row.source_uid is None:
        return (1, 0, row.target_ref or "")
    return (0, row.source_uid, row.target_ref or "")


def _message_uid_key(message: SourceMessage) -> tuple[int | None, str]:
    return (message.uid, message.fingerprint)


def _row_uid_key(row: KnownMessage) -> tuple[int | None, str]:
    return (row.source_uid, row.fingerprint)


def _resolve(row: KnownMessage) -> ResolvePending:
    if row.source_uid is None:
        raise ValueError("a pending row must keep its source UID")
    return ResolvePending(row.source_uid, row.fingerprint, row.flags)


def _copy(message: SourceMessage, *, recopy: bool = False) -> Copy:
    return Copy(
        message.uid,
        message.fingerprint,
        message.size,
        message.flags,
        message.internaldate,
        recopy=recopy,
    )


def _skip(message: SourceMessage) -> Skip:
    return Skip(message.uid, message.fingerprint, message.size, SkipReason.TOO_LARGE)


def _update_flags(message: SourceMessage, row: KnownMessage) -> UpdateFlags:
    return UpdateFlags(
        source_uid=message.uid,
        target_ref=row.target_ref,
        fingerprint=row.fingerprint,
        add=message.flags - row.flags,
        remove=row.flags - message.flags,
        flags=message.flags,
    )


def _execution_order(
    plans: Sequence[FolderPlan], by_source: Mapping[str, FolderSnapshot]
) -> tuple[FolderPlan, ...]:
    """Folders the source lists first (by name), then vanished ones deepest first, so a parent
    is only considered for deletion after its children. (Moves run before all of them.)"""
    listed = [p for p in plans if p.folder in by_source]
    vanished = sorted(
        (p for p in plans if p.folder not in by_source), key=lambda p: (-len(p.folder), p.folder)
    )
    return tuple(listed + vanished)
