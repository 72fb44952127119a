"""A runner that lost its user's lease writes nothing more: the sync-state writes are fenced.

The runner cancels a job whose lease it finds lost, but the job only notices at its next batch
boundary; meanwhile another runner may take the user over. So ``record_pending`` (before an
append) and ``record_copied`` (after it) check, in the same transaction, that the job's owner
still holds the lease with at least ``min_left`` to run. Here the lease is taken over between
two append batches (the step hook does it, at an instant a stalled runner could be in): the
first runner must append nothing more, and the second must end with every message once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.runner.jobs import CancelReason, CancelToken, OutcomeKind
from engine.runner.passes import user_resource
from engine.store.leases import LeaseFence
from engine.sync import faults
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

CORPUS = generate(53, 30, max_size=16 * 1024)
BATCH = 4
TTL = timedelta(seconds=60)


@pytest.fixture(scope="module")
def source(dovecot: ImapServer) -> tuple[ImapServer, str]:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    return dovecot, user


class TakeOverAfterFirstBatch:
    """Step hook: after the first recorded batch, runner B takes the lease from runner A."""

    def __init__(self, env: SyncEnv) -> None:
        self.env = env
        self.taken = False
        self.appends_after = 0
        self.token_b: int | None = None

    def __call__(self, step: str) -> None:
        if self.taken and step == faults.AFTER_APPEND:
            self.appends_after += 1
        if step == faults.AFTER_RECORD and not self.taken:
            with self.env.open_store() as store:
                resource = user_resource(self.env.user_id)
                assert store.leases.release(resource, "runner-a")
                self.token_b = store.leases.claim(resource, "runner-b", TTL)
                assert self.token_b is not None
            self.taken = True


def fence(env: SyncEnv, owner: str, token: int | None) -> LeaseFence:
    assert token is not None
    return LeaseFence(user_resource(env.user_id), owner, token, TTL / 3)


def test_a_runner_whose_lease_was_taken_appends_and_records_nothing_more(
        source: tuple[ImapServer, str]) -> None:
    env = SyncEnv(*source)
    try:
        with env.open_store() as store:
            token_a = store.leases.claim(user_resource(env.user_id), "runner-a", TTL)
        hook = TakeOverAfterFirstBatch(env)
        token = CancelToken()
        outcome = env.run(token=token, fence=fence(env, "runner-a", token_a), workers=1,
                          batch_count=BATCH, hook=hook)
        assert outcome.kind is OutcomeKind.stopped and token.reason is CancelReason.lease_lost
        assert hook.taken and hook.appends_after == 0
        with env.open_store() as store:
            assert store.messages.count_by_state(env.user_id) == {"copied": BATCH}

        assert hook.token_b is not None and token_a is not None and hook.token_b > token_a
        resumed = env.run(fence=fence(env, "runner-b", hook.token_b), workers=2,
                          batch_count=BATCH)
        assert resumed.kind is OutcomeKind.ok, resumed.message
        assert env.compare() is None
        with env.open_store() as store:
            assert store.messages.count_by_state(env.user_id) == {"copied": len(CORPUS)}
            assert store.statistics.get(env.user_id).synced_item_count == len(CORPUS)
    finally:
        env.cleanup()


def test_no_append_starts_on_a_lease_about_to_expire(source: tuple[ImapServer, str]) -> None:
    env = SyncEnv(*source)
    try:
        with env.open_store() as store:
            token_a = store.leases.claim(user_resource(env.user_id), "runner-a",
                                         timedelta(seconds=5))
        hook = faults.CrashAtStep()
        outcome = env.run(fence=fence(env, "runner-a", token_a), workers=1, batch_count=BATCH,
                          hook=hook)
        assert outcome.kind is OutcomeKind.stopped
        assert faults.BEFORE_APPEND not in hook.steps
        with env.open_store() as store:
            assert store.messages.count_by_state(env.user_id) == {}
    finally:
        env.cleanup()
