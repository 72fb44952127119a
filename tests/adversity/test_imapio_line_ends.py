"""Line ends: a source that serves bare LF, and the sources trusted to serve CRLF only.

imsh checks every body for bare LF (Cyrus refuses it) only when the source server is not known
from its greeting to serve CRLF (engine/imap/source.py ``serves_crlf``): a server that serves
LF, behind a greeting that names no known server, must still land in Cyrus whole, with CRLF.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.imap.source import serves_crlf
from tests.adversity.imapio_support import ADDRESS, CliMigration, append, message
from tests.support.imap_proxy import BareLineFeeds, ImapProxy
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

MESSAGES = 12


def test_mail_a_source_serves_with_bare_lf_lands_in_cyrus_whole(
        tmp_path: Path, dovecot: ImapServer, cyrus: ImapServer) -> None:
    user = dovecot.fresh_user()
    sent = [message(n, size=200) for n in range(1, MESSAGES + 1)]
    append(dovecot, user, "INBOX", sent)
    target_user = cyrus.fresh_user()
    with ImapProxy(dovecot.host, dovecot.port) as proxy:
        rule = proxy.add(BareLineFeeds())
        migration = CliMigration(tmp_path, dovecot, user, proxy.port, target=cyrus,
                                 target_user=target_user, target_port=cyrus.port)
        started = migration.start()
    assert rule.hits >= MESSAGES  # every body went through with LF line ends
    assert "batch: Synced" in started.stdout, started.text
    client = cyrus.login(target_user)
    try:
        client.select_folder("INBOX", readonly=True)
        stored = sorted(r[b"BODY[]"] for r in client.fetch(client.search("ALL"),
                                                           ["BODY.PEEK[]"]).values())
    finally:
        client.logout()
    assert stored == sorted(sent), ADDRESS


@pytest.mark.parametrize(("greeting", "trusted"), [
    (b"* OK [CAPABILITY IMAP4rev1 LITERAL+] Dovecot (Debian) ready.", True),
    (b"* OK [CAPABILITY IMAP4rev1 UIDPLUS] Courier-IMAP ready. Copyright 1998-2019", True),
    (b"* OK [CAPABILITY IMAP4rev1] cyrustest Cyrus IMAP 3.6.1-Debian server ready", True),
    (b"* OK [CAPABILITY IMAP4rev1] mail proxy ready.", False),
    (b"* OK The Microsoft Exchange IMAP4 service is ready.", False),
    (b"* OK Gimap ready for requests from 192.0.2.1", False),
    (b"* OK IMAP4rev1 Service Ready", False),
    (b"", False),
])
def test_only_servers_seen_serving_crlf_skip_the_line_end_check(greeting: bytes,
                                                                trusted: bool) -> None:
    assert serves_crlf(greeting) is trusted
