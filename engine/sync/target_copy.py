"""Copies the target already holds: made on the target (IMAP ``UID COPY``), no bytes sent again.

On a Gmail-shaped source one message shows up in many folders; under ``-GmailLabelPolicy
EveryLabel`` a label added after the first pass means a copy in one more folder, and a label
removed from a message that then has none moves its copy to ``Archive``. The message's bytes
are on the target already, in another folder's copy. :func:`copy_within` makes the new copy
from that one, on the target (:meth:`engine.targets.imap.ImapTarget.copy_within`), instead of
fetching the body from the source and appending it again. Targets without ``copy_within``
(Maildir, EWS) and copies no other folder holds take the ordinary way (the caller appends
what this returns).

Which copy is "the same message" is the store's: a copied row of another folder of the user
with the same fingerprint and a target reference (:meth:`engine.store.sync_state.
MessageStates.copies_elsewhere`); the executor offers it for Gmail-shaped sources only.

Crash-safety is the append's (engine/sync/apply.py): the ``pending`` rows, with the target's
mark, are committed before the COPY; the new ids are recorded after it. A crash in between
leaves pending rows that the next pass looks up on the target by fingerprint (the copy has
the very bytes of the message), so nothing is copied twice. A copy the server did not name
(no COPYUID) stays pending and is looked up the same way. A holder that is gone (its folder
deleted or its message expunged on the target) names nothing, and a COPY the target refuses
(full: RFC 3501 says a failed COPY copies nothing) copies nothing: those messages are
forgotten and appended instead, with the append's rules for refusals (a full target makes them
wait; a move keeps its old copy until the new one is recorded). The copy's flags are set to
the source's afterwards where the holder's recorded flags differ.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import PermanentError
from engine.folders import FolderPath
from engine.mail import flags_text
from engine.store.sync_state import CopiedMessage, PendingMessage
from engine.sync import faults
from engine.sync.model import Copy
from engine.targets.base import TargetRef

if TYPE_CHECKING:  # apply.py calls this module
    from engine.sync.apply import FolderContext


@dataclass(frozen=True)
class Holder:
    """A copy of the message on the target, in another folder: where, its id, its flags."""

    path: FolderPath
    item_id: str
    flags: str  # as recorded (flags_text)


Holders = Callable[[Sequence[str]], Mapping[str, Holder]]  # fingerprints -> a holder each


def split(copies: Sequence[Copy], holders: Mapping[str, Holder], here: FolderPath
          ) -> tuple[dict[FolderPath, list[tuple[Copy, Holder]]], list[Copy]]:
    """The copies that another folder's copy can make, grouped by that folder, and the rest."""
    within: defaultdict[FolderPath, list[tuple[Copy, Holder]]] = defaultdict(list)
    rest: list[Copy] = []
    for copy in copies:
        holder = holders.get(copy.fingerprint)
        if holder is None or holder.path == here:
            rest.append(copy)
        else:
            within[holder.path].append((copy, holder))
    return dict(within), rest


def flag_delta(wanted: str, held: str) -> tuple[list[str], list[str]]:
    """Flags to add and to remove so a copy carrying ``held`` carries ``wanted``."""
    want, have = set(wanted.split()), set(held.split())
    return sorted(want - have), sorted(have - want)


def copy_within(ctx: FolderContext, copies: Sequence[Copy], holders: Holders) -> list[Copy]:
    """Make ``copies`` on the target from copies it holds; return those left to append."""
    target_copy = getattr(ctx.target, "copy_within", None)
    if not callable(target_copy) or not copies:
        return list(copies)
    groups, rest = split(copies, holders([c.fingerprint for c in copies]), ctx.target_path)
    for path, pairs in groups.items():
        rest.extend(_copy_group(ctx, target_copy, path, pairs))
    return sorted(rest, key=lambda c: c.uid)


def _copy_group(ctx: FolderContext, target_copy: Callable[..., list[str | None]],
                path: FolderPath, pairs: Sequence[tuple[Copy, Holder]]) -> list[Copy]:
    mark = ctx.target.mark(ctx.target_path)
    with ctx.store.transaction():
        ctx.fence(ctx.store)  # the COPY below must finish while the lease is ours
        ctx.store.messages.record_pending(ctx.folder_id, [
            PendingMessage(c.uid, c.fingerprint, c.size, c.internaldate, flags_text(c.flags),
                           mark) for c, _ in pairs])
    ctx.hook(faults.BEFORE_APPEND)
    try:
        ids = target_copy(path, [h.item_id for _, h in pairs], ctx.target_path)
    except PermanentError as exc:
        if exc.error_id not in ("FolderNotFound", "CopyRefused"):
            raise
        # the holder's folder is gone, or the target said NO (full, ...): nothing was copied;
        # the ordinary append takes these, with its rules for refusals (capacity waits)
        with ctx.store.transaction():
            ctx.store.messages.forget(ctx.folder_id, [c.uid for c, _ in pairs])
        return [c for c, _ in pairs]
    ctx.hook(faults.AFTER_APPEND)
    named = [(c, h, i) for (c, h), i in zip(pairs, ids, strict=True) if i is not None]
    for c, h, item_id in named:
        add, remove = flag_delta(flags_text(c.flags), h.flags)
        if add or remove:
            ctx.target.change_flags(ctx.target_path, TargetRef(ctx.target_path, item_id),
                                    add, remove)
    present = _still_held(ctx, path, [h for (_c, h), i in zip(pairs, ids, strict=True)
                                      if i is None])
    retry = [c for (c, h), i in zip(pairs, ids, strict=True)
             if i is None and h.item_id not in present]
    with ctx.store.transaction():
        ctx.fence(ctx.store)
        ctx.store.messages.record_copied(ctx.folder_id, [
            CopiedMessage(c.uid, item_id, None, flags_text(c.flags)) for c, _h, item_id in named])
        ctx.store.messages.forget(ctx.folder_id, [c.uid for c in retry])
        if named:  # copied, though no byte travelled
            ctx.store.statistics.add_counts(ctx.user_id, synced=len(named))
    ctx.hook(faults.AFTER_RECORD)
    return retry  # a copy the server made without naming it stays pending (looked up later)


def _still_held(ctx: FolderContext, path: FolderPath, holders: Sequence[Holder]) -> set[str]:
    """Of ``holders`` that COPY did not name, those whose message the target still holds
    (then the copy was made unnamed: it stays pending); the others are appended instead."""
    if not holders:
        return set()
    try:
        ids = ctx.target.list_ids(path)
    except PermanentError as exc:
        if exc.error_id != "FolderNotFound":
            raise
        return set()
    if ids is None:
        return {h.item_id for h in holders}  # cannot tell: assume copied, look up later
    return {h.item_id for h in holders if h.item_id in ids}
