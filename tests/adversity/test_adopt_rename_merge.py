"""Step 7.6: the source renames a folder onto a name the target's user already has as a folder
of their own. The pass must merge into that folder by fingerprint (one copy of each message,
the user's messages untouched), remove the old copies and the old folder imsh created, and
never take the user's folder for one this migration created (which a later source deletion
could then remove)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.adopt_support import ADDRESS, fill, message, new_flow
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def test_rename_onto_the_users_own_folder_merges_and_leaves_it_theirs(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = new_flow(tmp_path, dovecot, dovecot_target)
    client = flow.source_client()
    try:
        fill(client, "Projects", 10)
    finally:
        client.logout()
    flow.migrate()
    client = flow.target_client()
    try:  # the user's own folder: two messages of theirs and a copy of one source message
        client.create_folder("Current")
        client.append("Current", message(1, "mine", "own"))
        client.append("Current", message(2, "mine", "own"))
        client.select_folder("Projects", readonly=True)
        fifth = client.fetch(client.search(["HEADER", "Message-ID", "<m5.Projects@example.org>"]),
                             ["BODY.PEEK[]", "INTERNALDATE"])
        client.close_folder()
        (row,) = fifth.values()
        client.append("Current", row[b"BODY[]"], (), row[b"INTERNALDATE"])
    finally:
        client.logout()

    client = flow.source_client()
    try:
        client.rename_folder("Projects", "Current")
    finally:
        client.logout()
    status, error = flow.sync_now()
    assert "Failed" not in status and error is None, (status, error)
    counts = flow.counts()
    assert counts.get("Current") == 12, counts  # 2 of the user's + 10, the fifth once
    assert "Projects" not in counts, counts  # the old copies are gone
    client = flow.target_client()
    try:
        assert not client.folder_exists("Projects")  # imsh created it, and it is empty
    finally:
        client.logout()
    with flow.store() as store:
        user = store.users.get(ADDRESS)
        rows = {f.source_name: f for f in store.folders.list(user.id)}
    assert "Projects" not in rows
    assert not rows["Current"].created_by_migration  # the user's folder stays theirs

    client = flow.source_client()
    try:
        client.delete_folder("Current")
    finally:
        client.logout()
    status, error = flow.sync_now()
    assert "Failed" not in status and error is None, (status, error)
    client = flow.target_client()
    try:
        assert client.folder_exists("Current")
        client.select_folder("Current", readonly=True)
        assert len(client.search(["ALL"])) == 2  # the user's own two, nothing else
    finally:
        client.logout()
