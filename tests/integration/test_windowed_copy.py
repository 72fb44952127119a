"""The initial copy of a large new folder goes window by window (engine/sync/executor.py,
``_apply_windows``): the runner's memory follows one window, not the folder. Against real
Dovecots, with windows made small: every message arrives once, the folder is never listed
whole, a pass stopped between windows resumes without a duplicate, and a target folder that
already holds the mail is adopted (planned whole) instead of copied again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import engine.imap.source as source_module
from engine.imap.source import ImapSource
from engine.runner.jobs import OutcomeKind, SyncKind
from engine.sync import faults
from engine.sync.apply import FolderApplier
from engine.sync.budget import BodyBudget
from engine.sync.faults import CrashAtStep, SimulatedCrash
from engine.sync.sessions import ExtraWorkers
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

WINDOW = 7  # UIDs per listing window here (production: 5,000)
WINDOW_FROM = 20  # a folder above this many messages is windowed here (production: 5,000)
WHEN = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def mail(n: int) -> bytes:
    return (f"From: a{n}@example.org\r\nTo: b@example.org\r\nSubject: message {n}\r\n"
            f"Message-ID: <m{n}@example.org>\r\n\r\nbody {n}\r\n").encode()


def fill(server: ImapServer, user: str, folder: str, bodies: list[bytes]) -> None:
    client = server.login(user)
    try:
        if folder != "INBOX":
            client.create_folder(folder)
        for n, body in enumerate(bodies):
            flags = [b"\\Seen"] if n % 3 else [b"\\Flagged", b"Work"]
            client.append(folder, body, flags, WHEN + timedelta(minutes=n))
    finally:
        client.logout()


def inbox() -> list[bytes]:
    """52 messages; message 2 also arrives as the 45th (identical bytes, another window)."""
    bodies = [mail(n) for n in range(51)]
    bodies.insert(44, mail(2))
    return bodies


@pytest.fixture
def env(dovecot: ImapServer, dovecot_target: ImapServer,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncEnv]:
    monkeypatch.setattr(source_module, "LISTING_WINDOW", WINDOW)
    user = dovecot.fresh_user()
    fill(dovecot, user, "INBOX", inbox())
    fill(dovecot, user, "Small", [mail(100 + n) for n in range(5)])
    made = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    yield made
    made.cleanup()


def target_count(env: SyncEnv, folder: str = "INBOX") -> int:
    assert env.target is not None and env.target_user is not None
    client = env.target.login(env.target_user)
    try:
        return int(client.select_folder(folder, readonly=True)[b"EXISTS"])
    finally:
        client.logout()


def test_a_large_new_folder_is_copied_one_window_at_a_time_every_message_once(
        env: SyncEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    whole: list[str] = []
    windows: list[int] = []
    listing, listing_windows = ImapSource.listing, ImapSource.listing_windows

    def record_listing(self: ImapSource, folder: object, **kw: object) -> object:
        whole.append(getattr(folder, "name", folder))
        return listing(self, folder, **kw)  # type: ignore[arg-type]

    def record_windows(self: ImapSource, folder: object, **kw: object) -> Iterator[object]:
        for window in listing_windows(self, folder, **kw):  # type: ignore[arg-type]
            windows.append(len(window))
            yield window

    monkeypatch.setattr(ImapSource, "listing", record_listing)
    monkeypatch.setattr(ImapSource, "listing_windows", record_windows)
    outcome = env.run(window_from=WINDOW_FROM, workers=1)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    assert "INBOX" not in whole  # never listed whole, neither surveyed nor applied
    assert max(windows) <= WINDOW
    assert env.compare() is None  # as multisets: the twin twice, nothing else doubled
    assert target_count(env) == 52
    with env.open_store() as store:
        row = store.folders.get(env.user_id, "INBOX")
        assert row.source_uidnext == 53  # the status is saved once the last window is done
        assert store.messages.tally(row.id).copies == 52
        stats = store.statistics.get(env.user_id)
        assert stats.total_items_in_source == 57
    again = env.run(SyncKind.incremental, window_from=WINDOW_FROM, workers=1)
    assert again.kind is OutcomeKind.ok, again.message
    assert target_count(env) == 52 and env.compare() is None


def test_a_pass_stopped_between_windows_resumes_without_a_duplicate(env: SyncEnv) -> None:
    counter = CrashAtStep()
    assert env.run(window_from=WINDOW_FROM, workers=1, hook=counter,
                   batch_count=5).kind is OutcomeKind.ok
    records = [n for n, step in enumerate(counter.steps, 1) if step == faults.AFTER_RECORD]
    env.cleanup()
    for at in (records[3], records[5] - 1):  # after a committed batch; between append and record
        fresh = SyncEnv(env.source, env.source_user, env.target, env.target.fresh_user()
                        if env.target else None)
        try:
            with pytest.raises(SimulatedCrash):
                fresh.run(window_from=WINDOW_FROM, workers=1, batch_count=5,
                          hook=CrashAtStep(at))
            with fresh.open_store() as store:
                row = store.folders.get(fresh.user_id, "INBOX")
                assert row.source_uidnext is None  # stopped between windows: no status yet
            outcome = fresh.run(window_from=WINDOW_FROM, workers=1, batch_count=5)
            assert outcome.kind is OutcomeKind.ok, outcome.message
            assert target_count(fresh) == 52, at
            assert fresh.compare() is None, at
        finally:
            fresh.cleanup()


def test_a_target_folder_already_holding_the_mail_is_adopted_not_copied_again(
        env: SyncEnv) -> None:
    assert env.target is not None and env.target_user is not None
    fill(env.target, env.target_user, "INBOX", inbox()[:30])  # an earlier tool's run
    outcome = env.run(window_from=WINDOW_FROM, workers=1)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    assert target_count(env) == 52
    assert env.compare() is None


def record_appenders(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the threads that append copy batches, filled in as they do."""
    appenders: set[str] = set()
    copy_batch = FolderApplier._copy_batch

    def record(self: FolderApplier, batch: object) -> None:
        appenders.add(threading.current_thread().name)
        copy_batch(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(FolderApplier, "_copy_batch", record)
    return appenders


def test_a_large_folder_alone_is_copied_over_several_connections_every_message_once(
        dovecot: ImapServer, dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """A mailbox whose mail is all in one big folder: the idle folder workers copy its
    windows too (engine/sync/lanes.py), each on its own connections, and still every message
    arrives once, with its flags and date."""
    monkeypatch.setattr(source_module, "LISTING_WINDOW", WINDOW)
    user = dovecot.fresh_user()
    fill(dovecot, user, "INBOX", inbox())
    env = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    appenders = record_appenders(monkeypatch)
    try:
        outcome = env.run(window_from=WINDOW_FROM, workers=3, batch_count=3)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert len(appenders) >= 2 and all(n.startswith("imsh-lane") for n in appenders), \
            appenders
        assert target_count(env) == 52 and env.compare() is None
        with env.open_store() as store:
            row = store.folders.get(env.user_id, "INBOX")
            assert row.source_uidnext == 53
            assert store.messages.tally(row.id).copies == 52
        again = env.run(SyncKind.incremental, window_from=WINDOW_FROM, workers=3)
        assert again.kind is OutcomeKind.ok, again.message
        assert target_count(env) == 52 and env.compare() is None
    finally:
        env.cleanup()


def test_a_large_folder_when_the_process_has_no_worker_to_spare_is_copied_by_its_own(
        dovecot: ImapServer, dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """Other passes of the runner hold every extra folder worker (engine/sync/sessions.py):
    this pass copies with its first worker alone instead of opening more sessions, every
    message once, and leaves the pool as it found it."""
    monkeypatch.setattr(source_module, "LISTING_WINDOW", WINDOW)
    user = dovecot.fresh_user()
    fill(dovecot, user, "INBOX", inbox())
    env = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    appenders = record_appenders(monkeypatch)
    pool = ExtraWorkers(3)
    taken = pool.take(3)  # by the other passes
    try:
        outcome = env.run(window_from=WINDOW_FROM, workers=3, batch_count=3,
                          extra_workers=pool)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert appenders and not any(n.startswith("imsh-lane") for n in appenders), appenders
        assert target_count(env) == 52 and env.compare() is None
        assert pool.free == 0
        pool.give(taken)
        again = env.run(SyncKind.incremental, window_from=WINDOW_FROM, workers=3,
                        extra_workers=pool)
        assert again.kind is OutcomeKind.ok and pool.free == 3
    finally:
        env.cleanup()


@pytest.mark.parametrize("crash_at", [4, 9])
def test_a_crash_while_lanes_copy_one_folder_resumes_without_a_duplicate(
        dovecot: ImapServer, dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch,
        crash_at: int) -> None:
    """One lane crashes after an append (before or after its record): the others stop at
    their next batch, and the next pass finds the pending copies on the target instead of
    appending them again."""
    monkeypatch.setattr(source_module, "LISTING_WINDOW", WINDOW)
    user = dovecot.fresh_user()
    fill(dovecot, user, "INBOX", inbox())
    env = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    try:
        appends = 0
        lock = threading.Lock()

        def crash(step: str) -> None:
            nonlocal appends
            if step == faults.AFTER_APPEND:
                with lock:
                    appends += 1
                    if appends == crash_at:
                        raise SimulatedCrash(step)

        with pytest.raises(SimulatedCrash):
            env.run(window_from=WINDOW_FROM, workers=3, batch_count=3, hook=crash)
        assert 0 < target_count(env) < 52
        outcome = env.run(window_from=WINDOW_FROM, workers=3, batch_count=3)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert target_count(env) == 52 and env.compare() is None
    finally:
        env.cleanup()


def test_a_large_folder_into_maildir_is_copied_by_one_writer_keywords_intact(
        dovecot: ImapServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Maildir folder has one keyword file, which two writers would overwrite in turn
    (a copy tagged Work would then read as another keyword): no lanes for Maildir."""
    monkeypatch.setattr(source_module, "LISTING_WINDOW", WINDOW)
    user = dovecot.fresh_user()
    fill(dovecot, user, "INBOX", inbox())
    env = SyncEnv(dovecot, user)
    appenders = record_appenders(monkeypatch)
    try:
        outcome = env.run(window_from=WINDOW_FROM, workers=3, batch_count=3)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert not any(name.startswith("imsh-lane") for name in appenders), appenders
        assert env.compare() is None  # flags and keywords included
    finally:
        env.cleanup()


def test_lanes_within_a_tiny_body_budget_still_copy_every_message_once(
        dovecot: ImapServer, dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """The process's bodies in flight are capped (engine/sync/budget.py): with room for
    about one small batch, lanes and read-ahead wait their turn, and nothing is lost."""
    monkeypatch.setattr(source_module, "LISTING_WINDOW", WINDOW)
    user = dovecot.fresh_user()
    fill(dovecot, user, "INBOX", inbox())
    env = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    budget = BodyBudget(400)  # a message here is about 130 bytes
    try:
        outcome = env.run(window_from=WINDOW_FROM, workers=3, batch_count=3, budget=budget)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert target_count(env) == 52 and env.compare() is None
        assert budget.held == 0  # every batch gave its bytes back
    finally:
        env.cleanup()
