"""Set-MigrationUser -BadItemLimit/-LargeItemLimit override the batch's, in a real pass (the
sync executor against Dovecot into a Maildir, real SQLite), through the service function
Set-MigrationUser calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from engine.runner.jobs import OutcomeKind
from engine.service.user_settings import UserSettingChanges, apply_settings
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

LIMIT = 64 * 1024  # a "large item" here: more than the target's maximum message size


@pytest.fixture(scope="module")
def source(dovecot: ImapServer) -> tuple[ImapServer, str]:
    user = dovecot.fresh_user()
    client = dovecot.login(user)
    try:
        for n in range(3):
            client.append("INBOX", f"Subject: small {n}\r\nMessage-ID: <s{n}@x>\r\n\r\nhi\r\n"
                          .encode())
        client.append("INBOX", b"Subject: big\r\nMessage-ID: <big@x>\r\n\r\n"
                      + b"x" * (LIMIT * 2) + b"\r\n")
    finally:
        client.logout()
    return dovecot, user


@pytest.fixture
def env(source: tuple[ImapServer, str]) -> Iterator[SyncEnv]:
    made = SyncEnv(*source)
    yield made
    made.cleanup()


def set_batch_limit(env: SyncEnv, large: int | None) -> None:
    with env.open_store() as store:
        store.batches.update(replace(store.batches.get("B1"), large_item_limit=large))


def set_user_limit(env: SyncEnv, large: int | None) -> None:
    with env.open_store() as store:
        apply_settings(store, store.users.get_by_id(env.user_id),
                       UserSettingChanges(large_item_limit=large))


def test_a_user_allowed_unlimited_large_items_passes_where_its_batch_would_fail(
        env: SyncEnv) -> None:
    set_batch_limit(env, 0)
    set_user_limit(env, None)  # Unlimited
    outcome = env.run(max_message_size=LIMIT)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    with env.open_store() as store:
        stats = store.statistics.get(env.user_id)
    assert (stats.synced_item_count, stats.skipped_item_count) == (3, 1)


def test_a_user_limit_of_zero_fails_the_user_though_its_batch_allows_any(env: SyncEnv) -> None:
    set_user_limit(env, 0)
    outcome = env.run(max_message_size=LIMIT)
    assert outcome.kind is OutcomeKind.failed
    assert outcome.message is not None and "LargeItemLimit" in outcome.message


def test_raising_the_users_limit_retries_its_skipped_items(env: SyncEnv) -> None:
    set_user_limit(env, 5)
    assert env.run(max_message_size=LIMIT).kind is OutcomeKind.ok
    with env.open_store() as store:
        assert store.statistics.get(env.user_id).skipped_item_count == 1
    set_user_limit(env, 10)  # changed: the skipped item is tried again in the next pass
    with env.open_store() as store:
        assert store.statistics.get(env.user_id).skipped_item_count == 0
