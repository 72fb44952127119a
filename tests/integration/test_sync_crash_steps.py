"""Crash safety, step by step: stop the executor after each side-effecting step in turn (the
step hook raises SimulatedCrash at step N, as a kill at that instant would), resume with a
fresh ``sync_user`` call, and the referee must find the target identical to the source: zero
lost and zero duplicated messages, and the counters count every message exactly once.
"""

from __future__ import annotations

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from engine.sync.faults import CrashAtStep, SimulatedCrash
from scripts.corpus import MIN_FULL_COUNT, ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

CORPUS = generate(43, MIN_FULL_COUNT, max_size=64 * 1024)  # every special case, small
BATCH = 6  # small append batches: more steps, and crashes in the middle of a folder


@pytest.fixture(scope="module")
def source(dovecot: ImapServer) -> tuple[ImapServer, str]:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    return dovecot, user


def count_steps(server: ImapServer, user: str) -> int:
    env = SyncEnv(server, user)
    try:
        counter = CrashAtStep()
        assert env.run(workers=1, batch_count=BATCH, hook=counter).kind is OutcomeKind.ok
        assert {"before_append", "after_append", "after_record"} <= set(counter.steps)
        return counter.count
    finally:
        env.cleanup()


def crash_then_resume(env: SyncEnv, at: int) -> None:
    hook = CrashAtStep(at)
    with pytest.raises(SimulatedCrash):
        env.run(workers=1, batch_count=BATCH, hook=hook)
    resumed = env.run(workers=1, batch_count=BATCH)
    assert resumed.kind is OutcomeKind.ok, resumed.message
    difference = env.compare()
    assert difference is None, f"crash at step {at} ({hook.steps[-1]}):\n{difference}"
    with env.open_store() as store:
        stats = store.statistics.get(env.user_id)
        states = store.messages.count_by_state(env.user_id)
    assert stats.synced_item_count == len(CORPUS), f"step {at}"
    assert states == {"copied": len(CORPUS)}, f"step {at}: {states}"


def test_crash_after_every_step_into_maildir(source: tuple[ImapServer, str]) -> None:
    server, user = source
    total = count_steps(server, user)
    assert total > 20
    for at in range(1, total + 1):
        env = SyncEnv(server, user)
        try:
            crash_then_resume(env, at)
        finally:
            env.cleanup()


def test_crash_after_every_step_into_dovecot(source: tuple[ImapServer, str],
                                             dovecot_target: ImapServer) -> None:
    server, user = source
    total = count_steps(server, user)
    dovecot_target.add_users(total)  # in one go: each addition waits for the next second
    for at in range(1, total + 1):
        env = SyncEnv(server, user, dovecot_target, dovecot_target.fresh_user())
        try:
            crash_then_resume(env, at)
        finally:
            env.cleanup()


def test_crash_after_every_step_of_an_incremental_pass(dovecot: ImapServer) -> None:
    """New, re-flagged, deleted and moved messages in one incremental pass, crashed at each
    step in turn (fresh source and target each time), then resumed."""
    small = generate(44, 12)
    total = None
    at = 0
    dovecot.add_users(20)
    while total is None or at < total:
        at += 1
        user = dovecot.fresh_user()
        load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), small)
        env = SyncEnv(dovecot, user)
        try:
            assert env.run().kind is OutcomeKind.ok
            change_source(dovecot, user)
            hook = CrashAtStep(at)
            try:
                env.run(SyncKind.incremental, workers=1, hook=hook)
                total = hook.count  # no crash: ``at`` is past the last step
                continue
            except SimulatedCrash:
                pass
            resumed = env.run(SyncKind.incremental, workers=1)
            assert resumed.kind is OutcomeKind.ok, resumed.message
            difference = env.compare()
            assert difference is None, f"step {at} ({hook.steps[-1]}):\n{difference}"
        finally:
            env.cleanup()
    assert total is not None and total > 5


def change_source(server: ImapServer, user: str) -> None:
    """Flags and keywords changed, one message deleted, one moved, one new."""
    client = server.login(user)
    try:
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))
        client.add_flags(uids[:2], ["\\Flagged", "$Work"])
        client.remove_flags(uids[:2], ["\\Seen"])
        client.move(uids[2:3], "Archive")
        client.delete_messages(uids[3:4])
        client.expunge()
        client.append("INBOX", b"Subject: late\r\nMessage-ID: <late@x>\r\n\r\nhello\r\n",
                      ["\\Seen"])
    finally:
        client.logout()
