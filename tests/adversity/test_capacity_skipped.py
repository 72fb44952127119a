"""Skipped items come back, through the real ``imsh``: ``Set-MigrationUser
-ApproveSkippedItems`` (and ``Set-MigrationBatch -ApproveSkippedItems``) makes the next pass try
them again; and a message an older imsh skipped because a full target answered
``NO [OVERQUOTA]`` (a bad item "This mailbox is full ...", not on the target) comes back at the
next pass by itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import MAILBOX_FULL
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


def skip_last(flow: Flow, reason: str) -> None:
    """Turn the newest INBOX copy into a skipped item (bad, for ``reason``): what the old code
    made of a quota refusal when ``reason`` is MAILBOX_FULL."""
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
            store.statistics.add_skipped_item(user.id, "Inbox", "bad", reason, "m 5", None,
                                              row.size)
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
    skip_last(flow, "The server refused the message: NO [PARSE] bad header")
    run_pass(flow)
    assert count_messages(dovecot_target, target_user)["INBOX"] == 5  # a skip stays a skip
    assert "skipped=1" in user_line(flow)

    flow.imsh("approve", approve + "\n")
    run_pass(flow)
    assert count_messages(dovecot_target, target_user)["INBOX"] == 6
    assert "Synced skipped=0 error= " in user_line(flow) + " "
    assert flow.compare() is None


def test_message_an_older_imsh_skipped_for_a_full_target_comes_back_by_itself(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    fill(dovecot, source_user, "INBOX", 6)
    flow = migrate(tmp_path, dovecot, source_user, dovecot_target, target_user)
    skip_last(flow, MAILBOX_FULL)
    assert count_messages(dovecot_target, target_user)["INBOX"] == 5

    run_pass(flow)
    assert count_messages(dovecot_target, target_user)["INBOX"] == 6
    assert "Synced skipped=0 error= " in user_line(flow) + " "
    assert flow.compare() is None
