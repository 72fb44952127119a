"""Deleting a big folder on an IMAP target: UID sets go as ranges, chunked under 8 KB.

Before: the 13,000 copies of an emptied source folder went into one ``UID STORE`` with 13,000
comma-joined UIDs (about 67 KB); Dovecot answered ``BAD Too long argument`` and the user
failed every incremental pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.imapio_support import (
    ADDRESS,
    CliMigration,
    count_messages,
    fill_folder,
    synced,
)
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

BIG = 13_000


def test_emptying_a_13000_message_folder_deletes_every_copy(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    fill_folder(dovecot, source_user, "Big", BIG)
    migration = CliMigration(tmp_path, dovecot, source_user, dovecot.port, dovecot_target,
                             target_user, dovecot_target.port)
    started = migration.start(wait_seconds=400)
    assert "batch: Synced" in started.stdout, started.text
    assert count_messages(dovecot_target, target_user, "Big") == BIG

    client = dovecot.login(source_user)  # the user empties the folder on the source
    try:
        client.select_folder("Big")
        client.add_flags("1:*", [b"\\Deleted"], silent=True)
        client.expunge()
    finally:
        client.logout()
    status = migration.sync_now(wait_seconds=300)
    assert synced(status), status.text
    # a whole folder emptied: the deletion guard holds it until the admin approves
    assert count_messages(dovecot_target, target_user, "Big") == BIG
    approved = migration.imsh("approve", "Set-MigrationUser -Identity "
                              f"{ADDRESS} -ApproveDeletions\n")
    assert approved.returncode == 0, approved.text
    migration.wait_for_no_runner(timeout=300)
    status = migration.sync_now(wait_seconds=300)
    assert synced(status), status.text
    assert count_messages(dovecot_target, target_user, "Big") == 0
