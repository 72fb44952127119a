"""What the executor checks on the target (docs/sync-planner.md, engine/targets/base.py):

- before each append batch it takes the target's *mark* (IMAP: UIDVALIDITY:UIDNEXT) and
  commits it with the pending rows; after a crash the lookup searches only above it, so an
  identical message the mailbox held before is never taken for imsh's own copy, and a message
  without Message-ID costs no whole-folder header fetch;
- on an incremental pass, a folder planned from a listing is compared with the item ids the
  target folder holds, so a copy someone deleted on the target is copied again.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from engine.sync import faults
from engine.sync.faults import SimulatedCrash
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

WHEN = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
CORPUS = generate(61, 20, max_size=16 * 1024)


def no_message_id(n: int) -> bytes:
    return (f"From: a@example.org\r\nSubject: same {n}\r\nDate: Thu, 4 Mar 2021 05:06:07 +0000"
            f"\r\n\r\nbody {n}\r\n").encode()


def crash_before_first_append(step: str) -> None:
    if step == faults.BEFORE_APPEND:
        raise SimulatedCrash(step)


def test_resume_searches_above_the_mark_only(dovecot: ImapServer,
                                             dovecot_target: ImapServer) -> None:
    # the twin on the target arrives after a first pass: a first pass into a folder adopts
    # identical messages the target already holds (engine/sync/adoption.py) instead of copying
    user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    source = dovecot.login(user)
    source.append("INBOX", no_message_id(9), msg_time=WHEN)
    source.logout()
    env = SyncEnv(dovecot, user, dovecot_target, target_user)
    try:
        assert env.run(workers=1).kind is OutcomeKind.ok
        source = dovecot.login(user)
        for n in range(3):
            source.append("INBOX", no_message_id(n), msg_time=WHEN)
        source.logout()
        target = dovecot_target.login(target_user)
        target.append("INBOX", no_message_id(0), msg_time=WHEN)  # the user's own twin
        target.logout()
        with pytest.raises(SimulatedCrash):
            env.run(SyncKind.incremental, workers=1, hook=crash_before_first_append)
        with env.open_store() as store:
            inbox = store.folders.get(env.user_id, "INBOX")
            marks = {m.target_mark for m in store.messages.list(inbox.id, "pending")}
        assert len(marks) == 1 and str(marks.pop()).endswith(":3")  # UIDNEXT after the 2
        assert env.run(SyncKind.incremental, workers=1).kind is OutcomeKind.ok
        target = dovecot_target.login(target_user)
        target.select_folder("INBOX", readonly=True)
        held = target.search(["ALL"])
        target.logout()
        assert len(held) == 5  # the first copy, the twin and three copies: no twin taken
        with env.open_store() as store:
            refs = {m.target_ref for m in store.messages.list(inbox.id)}
        assert len(refs) == 4 and not any(str(r).endswith(":2") for r in refs)
    finally:
        env.cleanup()


def delete_one_copy(env: SyncEnv) -> None:
    if env.target is None:
        cur = env.maildir_root / env.address.lower() / "cur"
        os.unlink(cur / sorted(os.listdir(cur))[0])
        return
    assert env.target_user is not None
    client = env.target.login(env.target_user)
    try:
        client.select_folder("INBOX")
        first = client.search(["ALL"])[0]
        client.delete_messages([first])
        client.expunge()
    finally:
        client.logout()


@pytest.mark.parametrize("kind", ["maildir", "imap"])
def test_a_copy_deleted_on_the_target_is_copied_again(
        kind: str, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    env = (SyncEnv(dovecot, user) if kind == "maildir"
           else SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user()))
    try:
        assert env.run().kind is OutcomeKind.ok
        delete_one_copy(env)
        source = dovecot.login(user)  # a change in the folder, so that it is listed again
        source.append("INBOX", no_message_id(99), msg_time=WHEN)
        source.logout()
        assert env.run(SyncKind.incremental).kind is OutcomeKind.ok
        assert env.compare() is None
        with env.open_store() as store:
            states = store.messages.count_by_state(env.user_id)
        assert states == {"copied": len(CORPUS) + 1}
    finally:
        env.cleanup()
