"""Initial sync fidelity: real Dovecot, Cyrus and Courier sources, each into a real Dovecot
target (admin proxy login) and into a Maildir target; the referee (scripts/compare.py) must find
every folder, byte, flag, keyword and INTERNALDATE identical, and a second initial run must
change nothing on the target.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from engine.runner.jobs import CancelReason, CancelToken, OutcomeKind
from scripts.corpus import MIN_FULL_COUNT, ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

# The showcase (every special case, one 3 MB message) plus a random tail: 80 messages.
CORPUS = generate(41, MIN_FULL_COUNT + 50)


def source_login(server: ImapServer, user: str) -> tuple[str, str]:
    """The CSV UserName/Password: each server's administrator form where it has one."""
    if server.kind == "dovecot":
        return f"{user}*{server.admin_user}", str(server.admin_password)
    if server.kind == "cyrus":
        return f"authzid={user};authcid={server.admin_user}", str(server.admin_password)
    return user, server.password


@pytest.fixture(scope="module")
def loaded() -> dict[str, str]:
    """Source user per server kind, loaded once (sources are only read)."""
    return {}


def loaded_source(kind: str, request: pytest.FixtureRequest, cache: dict[str, str]
                  ) -> tuple[ImapServer, str]:
    server: ImapServer = request.getfixturevalue(kind)
    if kind not in cache:
        user = server.fresh_user()
        load_imap(ImapParams(server.host, server.port, user, server.password), CORPUS)
        cache[kind] = user
    return server, cache[kind]


@pytest.fixture
def env_factory() -> Iterator[list[SyncEnv]]:
    made: list[SyncEnv] = []
    yield made
    for env in made:
        env.cleanup()


def target_state(env: SyncEnv) -> object:
    """What a no-op run must leave unchanged: UIDNEXT per folder, or the Maildir's files."""
    if env.target is None:
        root = env.maildir_root
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                      if p.is_file() and "tmp" not in p.parts)
    assert env.target_user is not None
    client = env.target.login(env.target_user)
    try:
        names = [n for _flags, _sep, n in client.list_folders()]
        return {n: client.folder_status(n, [b"UIDNEXT", b"MESSAGES"]) for n in names}
    finally:
        client.logout()


@pytest.mark.parametrize("target_kind", ["dovecot", "maildir"])
@pytest.mark.parametrize("source_kind", ["dovecot", "cyrus", "courier"])
def test_initial_sync_is_identical(source_kind: str, target_kind: str,
                                   request: pytest.FixtureRequest, loaded: dict[str, str],
                                   env_factory: list[SyncEnv]) -> None:
    source, user = loaded_source(source_kind, request, loaded)
    target: ImapServer | None = None
    target_user = None
    if target_kind == "dovecot":
        target = request.getfixturevalue("dovecot_target")
        target_user = target.fresh_user()
    user_name, password = source_login(source, user)
    env = SyncEnv(source, user, target, target_user, user_name=user_name, password=password)
    env_factory.append(env)

    outcome = env.run()
    assert outcome.kind is OutcomeKind.ok, outcome.message
    difference = env.compare()
    assert difference is None, difference
    with env.open_store() as store:
        stats = store.statistics.get(env.user_id)
    assert stats.synced_item_count == len(CORPUS) == stats.total_items_in_source
    assert stats.bytes_transferred == stats.total_bytes > 3 * 1024 * 1024
    assert stats.percentage_complete == 100

    before = target_state(env)
    again = env.run()
    assert again.kind is OutcomeKind.ok, again.message
    assert target_state(env) == before
    with env.open_store() as store:
        assert store.statistics.get(env.user_id).synced_item_count == len(CORPUS)


def test_excluded_folders_and_large_items(dovecot: ImapServer, loaded: dict[str, str],
                                          request: pytest.FixtureRequest,
                                          env_factory: list[SyncEnv]) -> None:
    source, user = loaded_source("dovecot", request, loaded)
    env = SyncEnv(source, user)
    env_factory.append(env)
    with env.open_store() as store:
        batch = store.batches.get("B1")
        store.batches.update(replace(batch, exclude_folders=("Archive/*", "#JunkEmail#")))
    outcome = env.run(max_message_size=1024 * 1024)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    box = env.maildir_root / env.address.lower()
    assert not (box / ".Archive").exists() and not (box / ".Archive.2019").exists()
    assert not (box / ".Junk").exists() and (box / ".Sent").is_dir()
    with env.open_store() as store:
        skipped = store.statistics.skipped_items(env.user_id)
        stats = store.statistics.get(env.user_id)
    big = [s for s in skipped if s.kind == "large"]
    assert big and all(s.size and s.size > 1024 * 1024 for s in big)
    assert all(s.subject and s.folder for s in big)
    assert stats.skipped_item_count == len(big)
    inbox_files = os.listdir(box / "cur")
    assert all(int(name.split(",S=")[1].split(":")[0]) <= 1024 * 1024 for name in inbox_files)

    # LargeItemLimit: more large items than allowed fails the user with a clear text
    limited = SyncEnv(source, user)
    env_factory.append(limited)
    with limited.open_store() as store:
        batch = store.batches.get("B1")
        store.batches.update(replace(batch, large_item_limit=0))
    failed = limited.run(max_message_size=1024 * 1024)
    assert failed.kind is OutcomeKind.failed
    assert failed.message is not None and "LargeItemLimit" in failed.message


def test_bad_source_password_fails_with_exchange_text(dovecot: ImapServer,
                                                      env_factory: list[SyncEnv]) -> None:
    env = SyncEnv(dovecot, dovecot.fresh_user(), password="wrong")
    env_factory.append(env)
    outcome = env.run()
    assert outcome.kind is OutcomeKind.failed
    assert outcome.message == ("We had trouble signing in to this account. Confirm that "
                               "you're using the correct user name and password.")
    assert not Path(env.maildir_root).exists() or not any(env.maildir_root.iterdir())


def test_missing_target_mailbox_fails_with_exchange_text(dovecot: ImapServer,
                                                         dovecot_target: ImapServer,
                                                         env_factory: list[SyncEnv]) -> None:
    env = SyncEnv(dovecot, dovecot.fresh_user(), dovecot_target, "nobody-here")
    env_factory.append(env)
    outcome = env.run()
    assert outcome.kind is OutcomeKind.failed
    assert outcome.message == ("A recipient wasn't found for nobody-here on the target. Create "
                               "a recipient of the appropriate type for this migration on the "
                               "target and try again.")


def test_cancel_stops_between_batches_and_a_later_pass_completes(
        loaded: dict[str, str], request: pytest.FixtureRequest,
        env_factory: list[SyncEnv]) -> None:
    source, user = loaded_source("dovecot", request, loaded)
    env = SyncEnv(source, user)
    env_factory.append(env)
    token = CancelToken()

    def cancel_after_first_batch(step: str) -> None:
        if step == "after_record":
            token.cancel(CancelReason.stop_requested)

    stopped = env.run(token=token, hook=cancel_after_first_batch, batch_count=5)
    assert stopped.kind is OutcomeKind.stopped
    with env.open_store() as store:
        partial = store.statistics.get(env.user_id).synced_item_count
        assert store.messages.count_by_state(env.user_id).get("pending", 0) == 0
    assert 0 < partial < len(CORPUS)
    assert env.run().kind is OutcomeKind.ok
    difference = env.compare()
    assert difference is None, difference
