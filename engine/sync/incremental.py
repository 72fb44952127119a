"""Incremental passes in O(changes): which listing a folder needs, and the planner's inputs
built from only what changed. Pure: no clock, no I/O (the executor and engine/sync/snapshot.py
do the reading).

:func:`choose_listing` compares the folder's counters now (EXAMINE: UIDVALIDITY, UIDNEXT,
HIGHESTMODSEQ, EXISTS; or LIST-STATUS's, for the folders the executor then does not examine)
with what the last completed pass recorded and with the store's
:class:`~engine.store.sync_state.FolderTally` (its rows counted in one SQL query, never loaded):

==========================================================  ==================================
situation                                                   listing
==========================================================  ==================================
never completed, UIDVALIDITY changed, a row pending or      ``FULL`` (today's listing: every
detached (held deletions are detached), no CONDSTORE on     UID, FLAGS, SIZE, INTERNALDATE;
either side, HIGHESTMODSEQ or UIDNEXT went backwards, a row  the target's ids too)
at or above the recorded UIDNEXT, no copy with a target
reference yet, or the caller needs the whole folder (a
content filter, Gmail labels)
UIDNEXT, HIGHESTMODSEQ equal and EXISTS equals the live     ``NONE``: nothing is listed and
rows                                                        no row is read
otherwise (CONDSTORE)                                       ``CHANGES``
==========================================================  ==================================

``CHANGES`` reads: ``UID FETCH <recorded UIDNEXT>:<UIDNEXT-1> (UID FLAGS RFC822.SIZE
INTERNALDATE)`` plus the fingerprint headers of those new messages, and ``UID FETCH
1:<recorded UIDNEXT-1> (UID FLAGS) (CHANGEDSINCE <recorded HIGHESTMODSEQ>)`` for flag changes.
Expunges are found by counting (:func:`expunges_possible`): every UID below the recorded
UIDNEXT that the folder still holds has a live row (a completed pass recorded each message it
listed: copied or skipped; a refused copy keeps the folder's old UIDNEXT), so the folder's
EXISTS is ``attached rows - vanished + new``; only when it is not ``attached + new`` does the
executor ask ``UID SEARCH ALL`` below the recorded UIDNEXT (UIDs only, ESEARCH ranges where
offered) and compare with the rows' UIDs (:func:`vanished_uids`). A UID there without a row
breaks the premise: the folder is listed whole.

:func:`changes_inputs` then builds a :class:`~engine.sync.model.FolderSnapshot` of just the new
and re-flagged messages and a :class:`~engine.sync.model.FolderState` of just the rows of the
re-flagged and vanished UIDs. Planned with :func:`engine.sync.planner.plan_folder`, these give
the plan the whole folder would: every other message pairs with its row by UID and fingerprint
(its fingerprint is the row's, a UID names one message while UIDVALIDITY holds) with equal
flags (nothing changed since the recorded HIGHESTMODSEQ, and the recorded status is saved only
once the folder's plan was carried out), so it contributes no action; the fingerprint pairing
that turns an expunged-and-refiled message into a ``Rematch`` sees the same unpaired messages
and rows (the new ones and the vanished ones: with no detached row, those are all there are).

The target folder is never searched whole on a ``CHANGES`` pass unless the plan deletes,
forgets or re-keys something: then the executor lists its ids, and a missing copy of one of
those rows sends the folder to the full listing. What stands in for the full listing's
``present_on_target`` otherwise is one count (``Target.count``: IMAP ``STATUS MESSAGES``, a
Maildir's directory listing): a target folder holding fewer messages than the folder's copies
lost some (deleted on the target, or the folder itself), and the folder is listed whole, so
they are copied again as before. Copies lost while the target's user filed as many messages of
their own into that folder are not noticed until the next full listing (a UIDVALIDITY change,
a detached or pending row, or a source without CONDSTORE).

**Why not QRESYNC (VANISHED).** QRESYNC would name the expunged UIDs (``VANISHED (EARLIER)``)
in the same FETCH. The count check makes the common case (nothing expunged) cost nothing, and
the rare case one ``UID SEARCH`` whose ESEARCH answer is a few ranges for a folder with a few
holes: close to what VANISHED sends. Against that: ``ENABLE QRESYNC`` changes every EXPUNGE
of the session into a VANISHED response, which imapclient does not parse (it keeps raw
untagged lines, and engine/imap/commands.py relies on dropping EXPUNGE responses by name), and
Dovecot, Cyrus and Courier differ in how long they keep expunge history (Dovecot may answer
with a wider set than asked). So imsh uses CONDSTORE alone; servers without it (Courier) keep
the full listing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from enum import StrEnum

from engine.mail import Flags, parse_flags
from engine.store.sync_state import FolderTally, MessageRow
from engine.sync.model import (
    Action,
    DeleteOnTarget,
    Detach,
    FolderSnapshot,
    FolderState,
    FolderStatus,
    Forget,
    KnownMessage,
    MessageState,
    Rematch,
    SourceMessage,
)


class Listing(StrEnum):
    """How much of a source folder a pass reads (see the module docstring)."""

    NONE = "none"
    CHANGES = "changes"
    FULL = "full"


def choose_listing(now: FolderStatus, recorded: FolderStatus | None, tally: FolderTally, *,
                   changedsince: bool = True, whole_folder: bool = False) -> Listing:
    """Which listing the folder needs; ``recorded`` is None (or without UIDNEXT) until a pass
    over it completed. ``now.messages``: EXISTS; ``changedsince``: the source advertises
    CONDSTORE (a server may report HIGHESTMODSEQ without it); ``whole_folder``: the caller
    must see every message."""
    if recorded is None or not recorded.uidnext or now.uidvalidity != recorded.uidvalidity:
        return Listing.FULL
    if tally.pending or tally.detached:
        return Listing.FULL
    if now.highestmodseq is None or recorded.highestmodseq is None:
        return Listing.FULL
    if (now.uidnext == recorded.uidnext and now.highestmodseq == recorded.highestmodseq
            and now.messages == tally.live):
        return Listing.NONE
    if whole_folder or not changedsince or tally.copies_with_ref == 0:
        return Listing.FULL
    if (now.highestmodseq < recorded.highestmodseq or now.uidnext < recorded.uidnext
            or tally.max_uid >= recorded.uidnext or now.messages is None):
        return Listing.FULL
    return Listing.CHANGES


def expunges_possible(exists: int, tally: FolderTally, new: int) -> bool:
    """Whether messages below the recorded UIDNEXT may have vanished: EXISTS is not the
    attached rows plus the ``new`` messages listed at or above it."""
    return exists != tally.attached + new


def vanished_uids(known: Iterable[int], present: Collection[int]) -> tuple[list[int], list[int]]:
    """(row UIDs the folder no longer holds, UIDs the folder holds without a row), ascending;
    both below the recorded UIDNEXT."""
    known_set = set(known)
    present_set = set(present)
    return sorted(known_set - present_set), sorted(present_set - known_set)


def changes_inputs(name: str, now: FolderStatus, recorded: FolderState,
                   new: Sequence[SourceMessage], changed_flags: Mapping[int, Flags],
                   rows: Mapping[int, MessageRow], vanished: Collection[int]
                   ) -> tuple[FolderSnapshot, FolderState] | None:
    """The planner's inputs for only what changed (``recorded``: the folder's state without
    messages; ``rows``: the rows of the re-flagged and vanished UIDs by UID). None when a
    re-flagged UID has no row (the folder must be listed whole)."""
    if any(uid not in rows for uid in changed_flags):
        return None
    flagged = [SourceMessage(uid, rows[uid].fingerprint, rows[uid].size, flags,
                             rows[uid].internaldate)
               for uid, flags in sorted(changed_flags.items()) if uid not in vanished]
    messages = tuple(sorted((*flagged, *new), key=lambda m: m.uid))
    wanted = set(changed_flags) | set(vanished)
    known = tuple(KnownMessage(row.source_uid, row.fingerprint, row.state, row.target_ref,
                               parse_flags(row.flags), row.hold)
                  for uid, row in sorted(rows.items()) if uid in wanted)
    state = FolderState(recorded.name, recorded.status, known,
                        created_by_migration=recorded.created_by_migration, hold=recorded.hold)
    return FolderSnapshot(name, now, messages), state


_TOUCHES_ROWS = (DeleteOnTarget, Forget, Detach, Rematch)


def touches_target_rows(actions: Iterable[Action]) -> bool:
    """Whether a plan deletes, forgets or re-keys something: only then is the target folder
    searched on a ``CHANGES`` pass."""
    return any(isinstance(a, _TOUCHES_ROWS) for a in actions)


def lost_copies(known: FolderState, present: Collection[str]) -> bool:
    """Whether a copied row among ``known`` names a copy the target no longer holds."""
    return any(m.target_ref is not None and m.target_ref not in present
               for m in known.messages if m.state is MessageState.COPIED)
