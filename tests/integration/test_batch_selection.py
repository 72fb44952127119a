"""-IncludeFolders and -ContentFilter in real passes: the sync executor against Dovecot into a
Maildir, real SQLite. Filtered-out mail is not copied, not counted, and never makes a copy
look deleted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

MAIL = {  # folder -> received dates of its messages
    "INBOX": [datetime(2019, 6, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)],
    "Archive": [datetime(2018, 1, 1, tzinfo=UTC)],
    "Archive/2019": [datetime(2019, 12, 31, 23, 0, tzinfo=UTC),
                     datetime(2020, 1, 2, tzinfo=UTC)],
    "Projects": [datetime(2022, 5, 5, tzinfo=UTC)],
}


@pytest.fixture(scope="module")
def source(dovecot: ImapServer) -> tuple[ImapServer, str]:
    user = dovecot.fresh_user()
    client = dovecot.login(user)
    try:
        for folder, dates in MAIL.items():
            if folder != "INBOX":
                client.create_folder(folder)
            for n, when in enumerate(dates):
                body = (f"Subject: {folder} {n}\r\nMessage-ID: <{folder}.{n}@x>\r\n\r\n"
                        f"{when:%Y-%m-%d}\r\n").encode()
                client.append(folder, body, (), when)
    finally:
        client.logout()
    return dovecot, user


@pytest.fixture
def env(source: tuple[ImapServer, str]) -> Iterator[SyncEnv]:
    made = SyncEnv(*source)
    yield made
    made.cleanup()


def select(env: SyncEnv, **extra: object) -> None:
    with env.open_store() as store:
        batch = store.batches.get("B1")
        store.batches.update(replace(batch, extra={**batch.extra, **extra}))


def on_target(env: SyncEnv) -> dict[str, int]:
    box = env.maildir_root / env.address.lower()
    found = {}
    for folder in [box, *sorted(p for p in box.iterdir() if p.name.startswith("."))]:
        if (folder / "cur").is_dir():
            name = "INBOX" if folder == box else folder.name[1:].replace(".", "/")
            found[name] = len(os.listdir(folder / "cur")) + len(os.listdir(folder / "new"))
    return found


def test_include_folders_migrates_only_the_named_folders_and_subtrees(env: SyncEnv) -> None:
    select(env, include_folders=["Archive/*", "#Inbox#"])
    outcome = env.run()
    assert outcome.kind is OutcomeKind.ok, outcome.message
    copied = on_target(env)
    assert copied == {"INBOX": 2, "Archive": 1, "Archive/2019": 2}
    assert "Projects" not in copied and not Path(env.maildir_root, env.address.lower(),
                                                 ".Projects").exists()


def test_content_filter_copies_only_matching_mail_and_nothing_is_missing(
        env: SyncEnv, source: tuple[ImapServer, str]) -> None:
    select(env, content_filter="Received -ge '2020-01-01' -or Received -lt '1/1/2019'")
    outcome = env.run()
    assert outcome.kind is OutcomeKind.ok, outcome.message
    assert on_target(env) == {"INBOX": 1, "Archive": 1, "Archive/2019": 1, "Projects": 1}
    with env.open_store() as store:
        stats = store.statistics.get(env.user_id)
    assert (stats.synced_item_count, stats.total_items_in_source,
            stats.percentage_complete) == (4, 4, 100)

    # a later pass with a stricter filter (INBOX changed, so it is listed again) never deletes
    # what was copied, and copies the new mail that matches
    server, user = source
    client = server.login(user)
    try:
        client.append("INBOX", b"Subject: new\r\nMessage-ID: <new@x>\r\n\r\nx\r\n", (),
                      datetime(2023, 1, 1, tzinfo=UTC))
    finally:
        client.logout()
    select(env, content_filter="Received -gt '2022-01-01'")
    again = env.run(SyncKind.incremental)
    assert again.kind is OutcomeKind.ok, again.message
    assert on_target(env) == {"INBOX": 2, "Archive": 1, "Archive/2019": 1, "Projects": 1}
