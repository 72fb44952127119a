"""Target folders that someone removed on the target (not through imsh) between passes.

The store still remembers copies in them; the next incremental pass must neither fail the user
nor conclude from that memory that the messages are still on the target.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from scripts.corpus import MIN_FULL_COUNT, ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

CORPUS = generate(48, MIN_FULL_COUNT, max_size=64 * 1024)


@pytest.fixture
def env(dovecot: ImapServer, dovecot_target: ImapServer) -> Iterator[SyncEnv]:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    made = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    assert made.run().kind is OutcomeKind.ok
    yield made
    made.cleanup()


def delete_on_target(env: SyncEnv, folder: str) -> None:
    assert env.target is not None and env.target_user is not None
    client = env.target.login(env.target_user)
    try:
        client.delete_folder(folder)
    finally:
        client.logout()


def test_folder_deleted_on_both_sides_does_not_fail_the_user(env: SyncEnv) -> None:
    client = env.source.login(env.source_user)
    try:
        client.select_folder("Notes & Ideas")
        assert client.search(["ALL"]), "the corpus must put messages in 'Notes & Ideas'"
        client.close_folder()
        client.delete_folder("Notes & Ideas")
    finally:
        client.logout()
    delete_on_target(env, "Notes & Ideas")
    outcome = env.run(SyncKind.incremental)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    assert env.compare() is None


def test_folder_renamed_on_the_source_and_deleted_on_the_target_is_copied_again(
        env: SyncEnv) -> None:
    """The target rename cannot happen (the folder is gone there); the report says the
    messages will be copied again, and they must be."""
    client = env.source.login(env.source_user)
    try:
        client.rename_folder("Réunions", "Meetings")
    finally:
        client.logout()
    delete_on_target(env, "Réunions")
    outcome = env.run(SyncKind.incremental)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    difference = env.compare()
    assert difference is None, difference
