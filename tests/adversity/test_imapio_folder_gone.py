"""A source folder deleted between LIST and EXAMINE.

Before: EXAMINE's ``NO [NONEXISTENT]`` was a permanent error and the user was Failed until
restarted. Now the folder is skipped for this pass ("gone for now"): the pass succeeds, and its
copies are not deleted in that pass (a folder the source listed but could not examine is not a
folder the source deleted; the next LIST decides).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.imapio_support import CliMigration, append, count_messages, message, synced
from tests.support.imap_proxy import BeforeCommand, ImapProxy
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def test_folder_deleted_between_list_and_examine_is_skipped_and_its_copies_kept(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    append(dovecot, source_user, "INBOX", [message(n) for n in range(1, 4)])
    append(dovecot, source_user, "Projects", [message(n) for n in range(10, 14)])

    def delete_projects() -> None:
        client = dovecot.login(source_user)
        try:
            client.delete_folder("Projects")
        finally:
            client.logout()

    with ImapProxy(dovecot.host, dovecot.port) as proxy:
        migration = CliMigration(tmp_path, dovecot, source_user, proxy.port, dovecot_target,
                                 target_user, dovecot_target.port)
        started = migration.start()
        assert "batch: Synced" in started.stdout, started.text
        assert count_messages(dovecot_target, target_user, "Projects") == 4
        append(dovecot, source_user, "INBOX", [message(4)])  # something to do in the pass
        # and in Projects: a folder whose LIST-STATUS counters did not move is not examined
        # at all (engine/sync/executor.py, _unchanged), so there would be no EXAMINE to race
        append(dovecot, source_user, "Projects", [message(14)])
        rule = proxy.add(BeforeCommand(command='EXAMINE "Projects"', times=1,
                                       action=delete_projects))
        status = migration.sync_now()
    assert rule.hits == 1
    assert synced(status), status.text
    assert count_messages(dovecot_target, target_user) == 4
    assert count_messages(dovecot_target, target_user, "Projects") == 4  # kept in this pass
