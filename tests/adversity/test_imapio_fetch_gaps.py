"""FETCH answers that leave something out, or that nobody asked for.

Before: a listing answer without RFC822.SIZE or INTERNALDATE, or an unsolicited FETCH for a
message outside the window, raised KeyError ("Internal error") and the user failed on every
pass; an unsolicited FLAGS update was taken for the listed message's flags; a body FETCH
answered without BODY[] silently dropped the message (not copied, not counted, not reported).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.imapio_support import CliMigration, append, count_messages, message
from tests.support.imap_proxy import ImapProxy, InjectAfterFetch, StripFetchItems
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

MESSAGES = 20
LISTING = "RFC822.SIZE INTERNALDATE"  # the listing's FETCH asks for both


def loaded(server: ImapServer) -> str:
    user = server.fresh_user()
    append(server, user, "INBOX", [message(n) for n in range(1, MESSAGES + 1)])
    return user


@pytest.mark.parametrize("item", ["RFC822.SIZE", "INTERNALDATE"])
def test_listing_answer_without_an_item_once_still_copies_everything(
        item: str, tmp_path: Path, dovecot: ImapServer) -> None:
    user = loaded(dovecot)
    with ImapProxy(dovecot.host, dovecot.port) as proxy:
        rule = proxy.add(StripFetchItems(command=LISTING, items=(item,), uids=frozenset({3}),
                                         times=1))
        migration = CliMigration(tmp_path, dovecot, user, proxy.port)
        started = migration.start()
    assert rule.hits == 1
    assert "batch: Synced" in started.stdout, started.text
    assert migration.maildir_count() == MESSAGES
    assert migration.counts() == (MESSAGES, 0)


def test_unsolicited_fetch_for_new_mail_during_the_listing_is_ignored(
        tmp_path: Path, dovecot: ImapServer) -> None:
    user = loaded(dovecot)
    with ImapProxy(dovecot.host, dovecot.port) as proxy:
        rule = proxy.add(InjectAfterFetch(
            command=LISTING, after=5, times=1,
            lines=(f"* {MESSAGES + 1} EXISTS",
                   f"* {MESSAGES + 1} FETCH (UID {MESSAGES + 1} FLAGS (\\Seen) MODSEQ (99))")))
        migration = CliMigration(tmp_path, dovecot, user, proxy.port)
        started = migration.start()
    assert rule.hits == 1
    assert "batch: Synced" in started.stdout, started.text
    assert migration.maildir_count() == MESSAGES


def test_unsolicited_flag_update_is_not_taken_for_another_message(
        tmp_path: Path, dovecot: ImapServer) -> None:
    user = loaded(dovecot)
    with ImapProxy(dovecot.host, dovecot.port) as proxy:
        # message 2 was listed unread; then an update without UID claims \Seen for number 2
        proxy.add(InjectAfterFetch(command=LISTING, after=5, times=1,
                                   lines=("* 2 FETCH (FLAGS (\\Seen \\Flagged))",)))
        migration = CliMigration(tmp_path, dovecot, user, proxy.port)
        started = migration.start()
    assert "batch: Synced" in started.stdout, started.text
    root = migration.state / "maildir"
    names = [p.name for p in root.rglob("*") if p.parent.name == "cur"]
    assert len(names) == MESSAGES
    assert not any("F" in name.rpartition(":2,")[2] for name in names)  # nothing flagged


def test_body_missing_once_is_fetched_again(tmp_path: Path, dovecot: ImapServer) -> None:
    user = loaded(dovecot)
    with ImapProxy(dovecot.host, dovecot.port) as proxy:
        rule = proxy.add(StripFetchItems(command="BODY.PEEK[]", items=("BODY[]",),
                                         uids=frozenset({3}), times=1))
        migration = CliMigration(tmp_path, dovecot, user, proxy.port)
        started = migration.start()
    assert rule.hits == 1
    assert "batch: Synced" in started.stdout, started.text
    assert migration.maildir_count() == MESSAGES
    assert migration.counts() == (MESSAGES, 0)


def test_message_always_served_without_body_is_reported_as_skipped(
        tmp_path: Path, dovecot: ImapServer) -> None:
    user = loaded(dovecot)
    with ImapProxy(dovecot.host, dovecot.port) as proxy:
        proxy.add(StripFetchItems(command="BODY.PEEK[]", items=("BODY[]",),
                                  uids=frozenset({3})))
        migration = CliMigration(tmp_path, dovecot, user, proxy.port)
        started = migration.start()
    assert "batch: Synced" in started.stdout, started.text
    assert count_messages(dovecot, user) == MESSAGES
    assert migration.maildir_count() == MESSAGES - 1
    assert migration.counts() == (MESSAGES - 1, 1)
    reasons = migration.skipped_reasons()
    assert len(reasons) == 1 and "without the message body" in reasons[0]
