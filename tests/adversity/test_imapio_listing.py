"""Listing a source folder while the source changes under it.

Before: the listing read the folder by sequence numbers in windows of 5,000
(``FETCH 5001:10000``). An EXPUNGE that Dovecot reported between two windows (it may, after
any UID command) shifted the numbers, so a live message was never listed: it was not copied
in its pass (and on a later pass it looked deleted). Now the listing goes by UID.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.imapio_support import CliMigration, count_messages, fill_folder
from tests.support.imap_proxy import ImapProxy, InjectAfterFetch
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

MESSAGES = 5_100  # more than one listing window of 5,000


def test_expunge_during_the_listing_loses_no_live_message(
        tmp_path: Path, dovecot: ImapServer) -> None:
    user = dovecot.fresh_user()
    fill_folder(dovecot, user, "INBOX", MESSAGES)

    def expunge_first() -> None:  # another session of the user deletes UID 1, for real
        client = dovecot.login(user)
        try:
            client.select_folder("INBOX")
            client.delete_messages([1])
            client.expunge()
        finally:
            client.logout()

    with ImapProxy(dovecot.host, dovecot.port) as proxy:
        rule = proxy.add(InjectAfterFetch(command="RFC822.SIZE INTERNALDATE", after=10,
                                          times=1, action=expunge_first))
        migration = CliMigration(tmp_path, dovecot, user, proxy.port)
        started = migration.start(wait_seconds=300)
    assert rule.hits == 1
    assert "batch: Synced" in started.stdout, started.text
    live = count_messages(dovecot, user)
    assert live == MESSAGES - 1
    assert migration.maildir_count() == live
