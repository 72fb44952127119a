"""Skipped items tried again: ``-ApproveSkippedItems`` and a changed item limit.

Exchange's ``-ApproveSkippedItems`` "marks all of the skipped items that were discovered prior to
the current time as approved". imsh has no approval gate for skipped items (an IMAP migration
completes without one), so approving them means what an admin wants after raising a limit or
freeing the target: **try them again**. :func:`retry_skipped_items` drops the user's *skipped*
message rows and clears the skipped-item list and count, in one transaction; the next pass
plans those messages as new ones: they are copied, or skipped (and listed) again with the
reason that still holds. A changed ``-BadItemLimit``/``-LargeItemLimit`` on the batch does the
same for its users.

Items that older imsh versions skipped because the target was full (reason "This mailbox is
full ...": no longer a skip reason, capacity refusals are transient now) come back by
themselves: :func:`retry_capacity_skips`, called by the executor at the start of every pass,
tries the user's skipped items again when the list holds one of those.

Used by the service (cmdlets) and by the executor, so it lives above neither.
"""

from __future__ import annotations

from engine.errors import MAILBOX_FULL
from engine.store import Store


def retry_skipped_items(store: Store, user_id: int) -> int:
    """Make the user's skipped items new again for the next pass; how many rows were reset.
    Call inside ``store.transaction()`` when it must go with other writes."""
    with store.transaction():
        count = store.messages.forget_skipped(user_id)
        had = store.statistics.skipped_items(user_id, limit=1)
        store.statistics.clear_skipped_items(user_id)
        if count or had:
            store.statistics.add_report_entry(
                user_id, "info", f"The skipped items are tried again: {count} item(s) in the "
                "next synchronization.")
    return count


def retry_capacity_skips(store: Store, user_id: int) -> int:
    """Try the skipped items again when one of them was skipped for a full target."""
    if not any(item.reason.startswith(MAILBOX_FULL)
               for item in store.statistics.skipped_items(user_id)):
        return 0
    return retry_skipped_items(store, user_id)
