"""Resuming with a Message-ID that is not ASCII.

Before: a pass cut after the target stored a batch left pending rows; the resume looked them
up with ``SEARCH HEADER Message-ID <caf\\xe9@...>``, imapclient raised UnicodeEncodeError and
every resume failed as "Internal error". Now a non-ASCII Message-ID is never searched for: the
candidates above the batch's mark are matched by fingerprint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.imapio_support import CliMigration, append, count_messages, message
from tests.support.imap_proxy import CutAfterCompletion, ImapProxy
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def test_resume_after_a_cut_append_finds_the_copy_of_an_8bit_message_id(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    raws = [message(1), message(2, message_id=b"<caf\xe9-cr\xe8me@example.org>"), message(3)]
    append(dovecot, source_user, "INBOX", raws)
    with ImapProxy(dovecot_target.host, dovecot_target.port) as proxy:
        cut = proxy.add(CutAfterCompletion(command="APPEND", times=1))
        migration = CliMigration(tmp_path, dovecot, source_user, dovecot.port, dovecot_target,
                                 target_user, proxy.port)
        started = migration.start(wait_seconds=150)  # the retry comes after a 30 s backoff
    assert cut.hits == 1
    assert "batch: Synced" in started.stdout, started.text
    assert count_messages(dovecot_target, target_user) == len(raws)
    assert migration.counts() == (len(raws), 0)
