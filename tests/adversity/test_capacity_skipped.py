"""Skipped items come back: ``Set-MigrationUser -ApproveSkippedItems`` (and
``Set-MigrationBatch -ApproveSkippedItems``) through the real ``imsh`` makes the next pass try
them again. The state is the one an older imsh left after a full target answered
``NO [OVERQUOTA]``: the message skipped as a bad item ("This mailbox is full ...") and not on
the target.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.imap.connection import MAILBOX_FULL
from engine.store.sync_state import PendingMessage
from tests.adversity.capacity_support import (
    ADDRESS,
    count_messages,
    fill,
    migrate,
    run_pass,
    user_line,
)
from tests.integration.test_incremental_flow import Flow
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def skip_last_as_mailbox_full(flow: Flow) -> None:
    """Turn the newest INBOX copy into what the old code made of a quota refusal."""
    client = flow.target.login(flow.target_user)
    try:
        client.select_folder("INBOX")
        client.delete_messages([max(client.search(["ALL"]))])
        client.expunge()
    finally:
        client.logout()
    with flow.store() as store:
        user = store.users.get(ADDRESS)
        folder = store.folders.get(user.id, "INBOX")
        row = max(store.messages.list(folder.id), key=lambda r: r.source_uid or 0)
        assert row.source_uid is not None
        with store.transaction():
            store.messages.forget(folder.id, [row.source_uid])
            store.messages.record_skipped(folder.id, [
                PendingMessage(row.source_uid, row.fingerprint, row.size, row.internaldate)])
            store.statistics.add_skipped_item(user.id, "Inbox", "bad", MAILBOX_FULL,
                                              "m 5", None, row.size)
            store.statistics.add_counts(user.id, synced=-1, skipped=1)


@pytest.mark.parametrize("approve", [
    "Set-MigrationUser -Identity ann@contoso.com -ApproveSkippedItems",
    "Set-MigrationBatch -Identity B1 -ApproveSkippedItems",
])
def test_approved_skipped_items_are_copied_in_the_next_pass(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, approve: str) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    fill(dovecot, source_user, "INBOX", 6)
    flow = migrate(tmp_path, dovecot, source_user, dovecot_target, target_user)
    skip_last_as_mailbox_full(flow)
    run_pass(flow)
    assert count_messages(dovecot_target, target_user)["INBOX"] == 5  # a skip stays a skip
    assert "skipped=1" in user_line(flow)

    flow.imsh("approve", approve + "\n")
    run_pass(flow)
    assert count_messages(dovecot_target, target_user)["INBOX"] == 6
    assert "Synced skipped=0 error= " in user_line(flow) + " "
    assert flow.compare() is None
