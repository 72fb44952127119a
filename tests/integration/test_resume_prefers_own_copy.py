"""Resuming after a crash between APPEND and its record must claim the copy imsh appended, not
an identical message the target mailbox already held before the migration (a pre-staged copy,
an earlier tool's run): claiming the older one leaves imsh's own copy as an unrecorded
duplicate, and a later source deletion would delete a message this migration never copied.

(The first pass into a folder adopts identical messages the target holds instead of copying,
engine/sync/adoption.py; so the twin here arrives on both sides after that pass, when the
folder's rows vouch for the target and only new mail is copied.)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from engine.sync import faults
from engine.sync.faults import SimulatedCrash
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

MESSAGE = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: staged twice\r\n"
           b"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\nMessage-ID: <staged@example.org>\r\n"
           b"\r\nbody\r\n")
FIRST = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: first\r\n"
         b"Message-ID: <first@example.org>\r\n\r\nbody\r\n")
WHEN = datetime(2023, 1, 2, 10, 0, tzinfo=UTC)


def crash_after_append(step: str) -> None:
    if step == faults.AFTER_APPEND:
        raise SimulatedCrash(step)


def test_resume_claims_the_copy_it_appended(dovecot: ImapServer,
                                            dovecot_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    client = dovecot.login(source_user)
    try:
        client.append("INBOX", FIRST, [], WHEN)
    finally:
        client.logout()
    env = SyncEnv(dovecot, source_user, dovecot_target, target_user)
    try:
        assert env.run(workers=1).kind is OutcomeKind.ok
        for server, user in ((dovecot, source_user), (dovecot_target, target_user)):
            client = server.login(user)
            try:
                client.append("INBOX", MESSAGE, [b"\\Seen"], WHEN)
            finally:
                client.logout()
        with pytest.raises(SimulatedCrash):
            env.run(SyncKind.incremental, workers=1, hook=crash_after_append)
        assert env.run(SyncKind.incremental, workers=1).kind is OutcomeKind.ok
        client = dovecot_target.login(target_user)
        try:
            status = client.select_folder("INBOX")
            uids = sorted(client.search(["ALL"]))
        finally:
            client.logout()
        assert len(uids) == 3  # the first copy, the pre-existing twin and imsh's copy
        with env.open_store() as store:
            inbox = store.folders.get(env.user_id, "INBOX")
            rows = store.messages.list(inbox.id)
        validity = status[b'UIDVALIDITY']
        assert [r.target_ref for r in rows] == [f"{validity}:{uids[0]}", f"{validity}:{uids[-1]}"]
    finally:
        env.cleanup()
