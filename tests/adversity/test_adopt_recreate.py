"""Step 7.3: an admin removes a batch and creates it again (the routine fix for a batch), or
the state directory is lost while the target keeps its mail. The initial sync then finds the
target folders full: it must adopt what is already there by fingerprint, so every message
ends up on the target exactly once (it used to double: 200 -> 400)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.adversity.adopt_support import fill, message, new_flow, total
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

# when the target's copies were filed by an earlier migration: the source's received time (a
# fingerprint includes it), not whatever second each APPEND happened to land in
RECEIVED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def mailbox(client: IMAPClient) -> None:
    """Three folders, flags, and three identical copies of one message in Work."""
    fill(client, "INBOX", 20)
    fill(client, "Archive", 30, flags=(b"\\Seen",))
    fill(client, "Projects", 10, tag="p")
    for _ in range(3):
        client.append("Projects", message(99, "same", "dup"), (b"\\Flagged",), RECEIVED)


def test_recreated_batch_keeps_one_copy_of_each_message(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = new_flow(tmp_path, dovecot, dovecot_target)
    client = flow.source_client()
    try:
        mailbox(client)
    finally:
        client.logout()
    flow.migrate()
    source = flow.counts("source")
    assert flow.counts() == source

    flow.remove_batch()
    flow.migrate()
    assert flow.counts() == source, (total(flow.counts()), total(source))
    difference = flow.compare()
    assert difference is None, difference


def test_lost_state_keeps_one_copy_of_each_message(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    flow = new_flow(tmp_path, dovecot, None)  # a Maildir target outside the state directory
    client = flow.source_client()
    try:
        mailbox(client)
    finally:
        client.logout()
    flow.migrate()
    source = flow.counts("source")
    assert flow.counts() == source

    flow.lose_state()
    flow.migrate()
    assert flow.counts() == source, (total(flow.counts()), total(source))
    difference = flow.compare()
    assert difference is None, difference


def test_users_own_messages_stay_and_identical_ones_are_adopted(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    """The target's user already filed two of three identical source messages, and one
    message of their own: the migration copies the third only, and no pass deletes the
    user's own message."""
    flow = new_flow(tmp_path, dovecot, dovecot_target)
    client = flow.source_client()
    try:
        fill(client, "Work", 4)
        for _ in range(3):
            client.append("Work", message(99, "same", "dup"), msg_time=RECEIVED)
    finally:
        client.logout()
    own = message(1, "mine", "own")
    client = flow.target_client()
    try:
        client.create_folder("Work")
        for _ in range(2):
            client.append("Work", message(99, "same", "dup"), msg_time=RECEIVED)
        client.append("Work", own)
    finally:
        client.logout()

    flow.migrate()
    assert flow.counts()["Work"] == 7 + 1
    status, error = flow.sync_now()
    assert "Failed" not in status and error is None, (status, error)
    client = flow.target_client()
    try:
        client.select_folder("Work", readonly=True)
        assert len(client.search(["ALL"])) == 8
        assert client.search(["HEADER", "Message-ID", "<own1.mine@example.org>"])
    finally:
        client.logout()
    with flow.store() as store:
        user = store.users.get("ann@contoso.com")
        kinds = store.messages.count_by_state(user.id)
    assert kinds == {"copied": 7}
