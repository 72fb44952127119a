"""Listing a source folder while the source changes under it.

Before: the listing read the folder by sequence numbers in windows of 5,000
(``FETCH 5001:10000``). An EXPUNGE that Dovecot reported between two windows (it may, after
any UID command) shifted the numbers, so a live message was never listed: it was not copied
in its pass (and on a later pass it looked deleted). Dovecot even answered the next window
with ``BAD Invalid messageset``: the user failed with nothing copied. Now the listing goes by
UID (bounded by the examined UIDNEXT: mail delivered meanwhile waits for the next pass).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.imapio_support import (
    CliMigration,
    append,
    count_messages,
    fill_folder,
    message,
    synced,
)
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
        started = migration.start(wait_seconds=240)
        assert rule.hits == 1
        assert "batch: Synced" in started.stdout, started.text
        assert count_messages(dovecot, user) == MESSAGES - 1
        copied = migration.maildir_message_ids()  # every live message, in this very pass
        assert copied == {f"<m{n}@example.org>" for n in range(2, MESSAGES + 1)}
        append(dovecot, user, "INBOX", [message(MESSAGES + 1)])
        status = migration.sync_now()
    assert synced(status), status.text
    assert migration.maildir_count() == MESSAGES
