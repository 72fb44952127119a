"""The deletion guard's verdict covers deletions that appear while the pass runs.

A pass judges its deletions once every folder is surveyed. A folder whose plan was too large
to keep from the survey (``plan_keep_budget``) is listed and planned again when it is applied;
if the source went empty in between, that new plan would delete copies the verdict never saw.
Fault injection: the step hook empties the source right after the pass's first append, with a
real Dovecot on both sides and the executor called as the runner calls it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from engine.sync import faults
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

COUNT = 160


@pytest.fixture
def env(dovecot: ImapServer, dovecot_target: ImapServer) -> Iterator[SyncEnv]:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password),
              generate(11, COUNT, max_size=8 * 1024))
    made = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    outcome = made.run()
    assert outcome.kind is OutcomeKind.ok, outcome.message
    yield made
    made.cleanup()


def _total(server: ImapServer, user: str) -> int:
    client = server.login(user)
    try:
        return sum(client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]
                   for flags, _sep, name in client.list_folders() if b"\\Noselect" not in flags)
    finally:
        client.logout()


class EmptySourceOnce:
    """After the first append of the pass, expunge every other source folder."""

    def __init__(self, server: ImapServer, user: str) -> None:
        self.server, self.user, self.done = server, user, False

    def __call__(self, step: str) -> None:
        if self.done or step != faults.AFTER_RECORD:
            return
        self.done = True
        client = self.server.login(self.user)
        try:
            for flags, _sep, name in client.list_folders():
                if b"\\Noselect" in flags or name == "INBOX":
                    continue
                client.select_folder(name)
                uids = client.search(["ALL"])
                if uids:
                    client.delete_messages(uids)
                    client.expunge()
        finally:
            client.logout()


def test_source_emptied_during_a_pass_deletes_nothing_the_verdict_did_not_see(
        env: SyncEnv) -> None:
    assert env.target is not None and env.target_user is not None
    client = env.source.login(env.source_user)
    try:
        client.append("INBOX", b"Subject: new\r\nMessage-ID: <race@x>\r\n\r\nnew\r\n")
    finally:
        client.logout()
    before = _total(env.target, env.target_user)
    hook = EmptySourceOnce(env.source, env.source_user)
    outcome = env.run(SyncKind.incremental, workers=1, plan_keep_budget=0, hook=hook)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    assert hook.done
    # Before the fix: every copy of the emptied folders was deleted in this very pass.
    assert _total(env.target, env.target_user) == before + 1
    # The next pass sees the deletions whole, and the guard holds them.
    outcome = env.run(SyncKind.incremental)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    assert _total(env.target, env.target_user) == before + 1
    with env.open_store() as store:
        assert store.messages.count_held(env.user_id) > 50


def test_folder_turned_noselect_with_a_plan_too_large_to_keep_holds_and_tells(
        env: SyncEnv) -> None:
    """A vanished folder whose survey plan was not kept is planned again when applied; one
    the source lists as \\Noselect must not be EXAMINEd then (that failed every pass, and the
    held-deletions warning was never written)."""
    import glob
    import os

    assert env.target is not None and env.target_user is not None
    client = env.source.login(env.source_user)
    try:
        folders = [(name, client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"])
                   for flags, _sep, name in client.list_folders()
                   if b"\\Noselect" not in flags and name != "INBOX"]
    finally:
        client.logout()
    name, count = max(folders, key=lambda f: f[1])
    home = env.source.dir / "mail" / env.source_user / "Maildir"
    maildir = home / name
    mode = maildir.stat().st_mode
    before = _total(env.target, env.target_user)
    os.chmod(maildir, 0)
    for index in glob.glob(str(home / "dovecot.list.index*")):
        os.remove(index)
    try:
        outcome = env.run(SyncKind.incremental, workers=1, plan_keep_budget=0)
    finally:
        os.chmod(maildir, mode)
        for index in glob.glob(str(home / "dovecot.list.index*")):
            os.remove(index)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    assert count > 0 and _total(env.target, env.target_user) == before
    with env.open_store() as store:
        assert store.messages.count_held(env.user_id) == count
        assert store.statistics.get(env.user_id).held_deletions_reason
