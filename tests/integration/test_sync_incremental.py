"""Incremental sync against real servers: after an initial sync, changes on the source (new
messages, flags and keywords, deletions, moves between folders, a new folder, a renamed folder)
reach the target in one pass; a second pass changes nothing on the target; a UIDVALIDITY reset
on the source re-matches messages instead of copying them again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from engine.runner.jobs import OutcomeKind, SyncKind
from scripts.corpus import MIN_FULL_COUNT, ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

CORPUS = generate(47, MIN_FULL_COUNT + 20, max_size=256 * 1024)


@pytest.fixture
def env(dovecot: ImapServer, dovecot_target: ImapServer) -> Iterator[SyncEnv]:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    made = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    outcome = made.run()
    assert outcome.kind is OutcomeKind.ok, outcome.message
    assert made.compare() is None
    yield made
    made.cleanup()


def target_counters(env: SyncEnv) -> dict[str, tuple[int, int, int]]:
    """Per target folder: UIDNEXT, MESSAGES, HIGHESTMODSEQ. Any APPEND, STORE or EXPUNGE
    moves at least one of them."""
    assert env.target is not None and env.target_user is not None
    client = env.target.login(env.target_user)
    try:
        result = {}
        for _flags, _sep, name in client.list_folders():
            status = client.folder_status(name, [b"UIDNEXT", b"MESSAGES", b"HIGHESTMODSEQ"])
            result[name] = (status[b"UIDNEXT"], status[b"MESSAGES"], status[b"HIGHESTMODSEQ"])
        return result
    finally:
        client.logout()


def source_client(env: SyncEnv) -> IMAPClient:
    return env.source.login(env.source_user)


def change_everything(client: IMAPClient) -> None:
    client.select_folder("INBOX")
    uids = sorted(client.search(["ALL"]))
    client.add_flags(uids[:3], ["\\Flagged", "$Label1", "Work"])
    client.remove_flags(uids[3:5], ["\\Seen", "$Forwarded"])
    client.move(uids[5:8], "Archive/2019")  # moved between folders
    client.delete_messages(uids[8:10])
    client.expunge()
    client.append("INBOX", b"From: a@example.org\r\nSubject: new one\r\n"
                  b"Message-ID: <new-1@example.org>\r\n\r\nfresh\r\n", ["\\Seen", "Work"])
    client.create_folder("Neu")
    client.append("Neu", b"Subject: in a new folder\r\nMessage-ID: <new-2@example.org>\r\n"
                  b"\r\nhello\r\n", [])
    client.rename_folder("Réunions", "Meetings")


def test_one_pass_brings_every_change_and_a_second_pass_changes_nothing(env: SyncEnv
                                                                        ) -> None:
    client = source_client(env)
    try:
        change_everything(client)
    finally:
        client.logout()
    moved_before = target_counters(env)
    outcome = env.run(SyncKind.incremental)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    difference = env.compare()
    assert difference is None, difference
    after = target_counters(env)
    assert "Meetings" in after and "Réunions" not in after  # renamed, not re-created
    assert after["Meetings"][0] == moved_before["Réunions"][0]  # nothing re-appended

    again = env.run(SyncKind.incremental)
    assert again.kind is OutcomeKind.ok, again.message
    assert target_counters(env) == after
    with env.open_store() as store:
        entries = [e for e in store.statistics.report_entries(env.user_id) if e.kind != "info"]
    assert entries == []


def test_deleted_source_folder_is_removed_on_the_target(env: SyncEnv) -> None:
    client = source_client(env)
    try:
        client.delete_folder("Empty")
        client.select_folder("Notes & Ideas")
        client.delete_messages(client.search(["ALL"]))
        client.expunge()
        client.close_folder()
        client.delete_folder("Notes & Ideas")
    finally:
        client.logout()
    assert env.run(SyncKind.incremental).kind is OutcomeKind.ok
    difference = env.compare()
    assert difference is None, difference
    assert "Empty" not in target_counters(env)


def test_uidvalidity_reset_rematches_without_copying(env: SyncEnv) -> None:
    client = source_client(env)
    try:
        client.select_folder("Archive/2020", readonly=True)
        uids = client.search(["ALL"])
        rows = client.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
        client.close_folder()
        client.delete_folder("Archive/2020")
        client.create_folder("Archive/2020")
        for uid in sorted(rows):
            row = rows[uid]
            client.append("Archive/2020", row[b"BODY[]"],
                          [f for f in row[b"FLAGS"] if f != b"\\Recent"], row[b"INTERNALDATE"])
    finally:
        client.logout()
    assert uids, "the corpus must put messages in Archive/2020"
    before = target_counters(env)
    assert env.run(SyncKind.incremental).kind is OutcomeKind.ok
    difference = env.compare()
    assert difference is None, difference
    assert target_counters(env)["Archive/2020"][:2] == before["Archive/2020"][:2]


def test_folders_planned_again_at_apply_time_give_the_same_result(env: SyncEnv) -> None:
    """With no plan kept between the survey and the apply phase, every changed folder is
    listed and planned again after the moves: same target, nothing re-appended."""
    client = source_client(env)
    try:
        change_everything(client)
    finally:
        client.logout()
    before = target_counters(env)
    outcome = env.run(SyncKind.incremental, plan_keep_budget=0)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    difference = env.compare()
    assert difference is None, difference
    after = target_counters(env)
    assert after["Meetings"][0] == before["Réunions"][0]  # renamed, nothing re-appended
    again = env.run(SyncKind.incremental, plan_keep_budget=0)
    assert again.kind is OutcomeKind.ok, again.message
    assert target_counters(env) == after
