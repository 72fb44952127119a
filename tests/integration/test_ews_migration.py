"""A batch with an EWS target endpoint, synced by the real executor from a real Dovecot into
the local EWS test double (tests/support/ews_double; never a real Exchange server).

The referee (scripts/compare.py) compares the source with the double's stored items, read
back as an IMAP client would see them (tests/support/ews_double/view.py): exact MIME bytes,
read state, flag, replied/forwarded, draft state, categories from keywords and the received
date as the INTERNALDATE instant, folder by folder (special-use folders matched to Inbox, Sent
Items, Drafts, Deleted Items and Junk Email), as multisets, so a duplicate is a difference.
Every test also asserts that the double saw no request of a shape EWS does not allow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

import exchangelib
import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from engine.sync.faults import CrashAtStep, SimulatedCrash
from engine.targets.ews_items import SOURCE_KEY_NAME, SOURCE_KEY_SET
from scripts.corpus import MIN_FULL_COUNT, Corpus, ImapParams, generate, load_imap
from tests.integration.ewsenv import EwsSyncEnv, new_double
from tests.support.ews_double import EwsDoubleServer
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

CORPUS = generate(61, MIN_FULL_COUNT + 10, max_size=64 * 1024)
WRITES = ("CreateItem", "UpdateItem", "DeleteItem", "CreateFolder")
# source special-use folder -> the Exchange well-known folder it must land in
WELL_KNOWN = {("INBOX",): ("INBOX",), ("Sent",): ("Sent Items",), ("Drafts",): ("Drafts",),
              ("Trash",): ("Deleted Items",), ("Junk",): ("Junk Email",)}


@pytest.fixture(scope="module")
def ews() -> Iterator[EwsDoubleServer]:
    with EwsDoubleServer(new_double()) as running:
        yield running
    exchangelib.close_connections()


@pytest.fixture(autouse=True)
def no_violations(ews: EwsDoubleServer) -> Iterator[None]:
    before = len(ews.double.violations)
    yield
    ews.double._throttle = None
    ews.double._reject = None
    assert ews.double.violations[before:] == []


def loaded_user(server: ImapServer, corpus: Corpus = CORPUS) -> str:
    user = server.fresh_user()
    load_imap(ImapParams(server.host, server.port, user, server.password), corpus)
    return user


def writes_since(ews: EwsDoubleServer, since: int) -> Counter[str]:
    return Counter(r.operation for r in ews.double.requests[since:]
                   if r.operation in WRITES)


def change_source(server: ImapServer, user: str) -> None:
    """A new message, flag and keyword changes, a deletion and a move, on the source."""
    client = server.login(user)
    try:
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))
        client.add_flags(uids[:2], ["\\Flagged", "Work"])
        client.remove_flags(uids[:2], ["\\Seen"])
        client.add_flags(uids[2:3], ["\\Seen", "\\Answered"])
        client.move(uids[3:4], server.folder("Archive"))
        client.delete_messages(uids[4:5])
        client.expunge()
        client.append("INBOX", b"Subject: late\r\nMessage-ID: <late@example.org>\r\n\r\n"
                      b"hello\r\n", ["\\Seen", "Later"])
    finally:
        client.logout()


def test_initial_and_incremental_sync_into_the_ews_double(
        dovecot: ImapServer, ews: EwsDoubleServer) -> None:
    env = EwsSyncEnv(dovecot, loaded_user(dovecot), ews=ews)
    try:
        outcome = env.run()
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert env.compare() is None
        check_placement(env)

        change_source(dovecot, env.source_user)
        since = len(ews.double.requests)
        outcome = env.run(SyncKind.incremental)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert env.compare() is None
        writes = writes_since(ews, since)
        assert writes["CreateItem"] >= 2 and writes["UpdateItem"] >= 1, writes
        assert writes["DeleteItem"] >= 1, writes
        mailbox = ews.double.mailboxes[env.address]
        assert len(mailbox.recoverable) == 2  # deleted + moved away: soft deletes
        late = [i for i in env.target_view().mailbox.items.values() if b"<late@" in i.mime]
        assert len(late) == 1 and late[0].categories == ["Later"]

        since = len(ews.double.requests)
        outcome = env.run(SyncKind.incremental)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert writes_since(ews, since) == Counter()
    finally:
        env.cleanup()


def check_placement(env: EwsSyncEnv) -> None:
    """Special-use folders land in the well-known ones; nothing twice; drafts only in drafts;
    keywords become categories."""
    counts = CORPUS.folder_counts()
    for source_path, target_path in WELL_KNOWN.items():
        assert len(env.double.items(env.address, target_path)) == counts[source_path]
    view = env.target_view()
    paths = [f.path for f in view.folders()]
    assert not {("Sent",), ("Trash",), ("Junk",)} & set(paths)
    assert len({tuple(x.casefold() for x in p) for p in paths}) == len(paths)
    stored = list(view.mailbox.items.values())
    assert len(stored) == len(CORPUS)
    assert len({i.named(SOURCE_KEY_SET, SOURCE_KEY_NAME) for i in stored}) == len(stored)
    assert all(i.is_draft for i in env.double.items(env.address, ("Drafts",)))
    assert not any(i.is_draft for i in env.double.items(env.address, ("INBOX",)))
    important = [i for i in stored if "Important" in i.categories]
    assert important and all(not any(c.startswith("$") for c in i.categories) for i in stored)


# --- kill and resume -----------------------------------------------------------------------------

CRASH_BATCH = 6  # small CreateItem batches: more steps, crashes in the middle of a folder
CRASH_CORPUS = generate(62, MIN_FULL_COUNT, max_size=32 * 1024)  # every special case, small
SMALL_CORPUS = generate(63, 12)


def crash_then_resume(env: EwsSyncEnv, at: int, kind: SyncKind = SyncKind.initial,
                      expected: int = len(CRASH_CORPUS)) -> str:
    """Crash at step ``at`` (as a kill would), resume; the step's name, or "" if no crash."""
    hook = CrashAtStep(at)
    try:
        env.run(kind, workers=1, batch_count=CRASH_BATCH, hook=hook)
        return ""
    except SimulatedCrash:
        pass
    resumed = env.run(kind, workers=1, batch_count=CRASH_BATCH)
    step = f"step {at} ({hook.steps[-1]})"
    assert resumed.kind is OutcomeKind.ok, f"{step}: {resumed.message}"
    difference = env.compare()
    assert difference is None, f"{step}:\n{difference}"
    with env.open_store() as store:
        stats = store.statistics.get(env.user_id)
        states = store.messages.count_by_state(env.user_id)
    live = {state: n for state, n in states.items() if state != "deleted"}  # tombstones
    assert live == {"copied": expected}, f"{step}: {states}"
    if kind is SyncKind.initial:
        assert stats.synced_item_count == expected, step
    return hook.steps[-1]


@pytest.mark.slow
def test_crash_after_every_step_of_an_initial_pass_then_resume(
        dovecot: ImapServer, ews: EwsDoubleServer) -> None:
    user = loaded_user(dovecot, CRASH_CORPUS)
    counter = CrashAtStep()
    first = EwsSyncEnv(dovecot, user, ews=ews, target_user="count@example.org")
    try:
        assert first.run(workers=1, batch_count=CRASH_BATCH, hook=counter).kind is OutcomeKind.ok
    finally:
        first.cleanup()
    assert {"before_append", "after_append", "after_record"} <= set(counter.steps)
    for at in range(1, counter.count + 1):
        env = EwsSyncEnv(dovecot, user, ews=ews, target_user=f"crash{at}@example.org")
        try:
            assert crash_then_resume(env, at) == counter.steps[at - 1]
        finally:
            env.cleanup()


@pytest.mark.slow
def test_crash_after_every_step_of_an_incremental_pass_then_resume(
        dovecot: ImapServer, ews: EwsDoubleServer) -> None:
    """New, re-flagged, deleted and moved messages (CreateItem, UpdateItem, DeleteItem) in one
    incremental pass, crashed at each step in turn (fresh source and target each time)."""
    dovecot.add_users(25)  # in one go: each addition waits for the next second
    total: int | None = None
    crashed: set[str] = set()
    at = 0
    while total is None or at < total:
        at += 1
        user = loaded_user(dovecot, SMALL_CORPUS)
        env = EwsSyncEnv(dovecot, user, ews=ews, target_user=f"incremental{at}@example.org")
        try:
            assert env.run().kind is OutcomeKind.ok
            change_source(dovecot, user)
            step = crash_then_resume(env, at, SyncKind.incremental,
                                     expected=len(SMALL_CORPUS))  # -1 deleted, +1 new
            if not step:
                total = at
            crashed.add(step)
        finally:
            env.cleanup()
    assert total is not None and total > 5
    assert {"before_append", "after_append", "after_flags", "after_delete"} <= crashed


# --- EWS errors ----------------------------------------------------------------------------------

def test_bad_ews_credentials_fail_the_user_and_store_nothing(
        dovecot: ImapServer, ews: EwsDoubleServer) -> None:
    env = EwsSyncEnv(dovecot, loaded_user(dovecot, SMALL_CORPUS), ews=ews,
                     ews_password="not-the-password")
    try:
        since = len(ews.double.requests)
        outcome = env.run()
        assert outcome.kind is OutcomeKind.failed, outcome
        assert outcome.message and "not-the-password" not in outcome.message
        assert writes_since(ews, since) == Counter()
        with env.open_store() as store:
            assert store.messages.count_by_state(env.user_id) == {}
    finally:
        env.cleanup()


def test_bad_ews_credentials_fail_with_the_401_text(dovecot: ImapServer,
                                                     ews: EwsDoubleServer) -> None:
    env = EwsSyncEnv(dovecot, loaded_user(dovecot, SMALL_CORPUS), ews=ews,
                     ews_password="not-the-password")
    try:
        outcome = env.run()
        assert outcome.kind is OutcomeKind.failed and outcome.message
        assert "(401) Unauthorized" in outcome.message, outcome.message
    finally:
        env.cleanup()


def test_server_busy_is_honoured_and_the_pass_completes(dovecot: ImapServer,
                                                        ews: EwsDoubleServer) -> None:
    env = EwsSyncEnv(dovecot, loaded_user(dovecot, SMALL_CORPUS), ews=ews)
    try:
        since = len(ews.double.requests)
        ews.double.throttle(3, 200, {"CreateItem"})
        outcome = env.run(workers=1)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert env.compare() is None
        creates = [r.at for r in ews.double.requests[since:] if r.operation == "CreateItem"]
        # three busy answers, each followed by a wait of at least the 200 ms asked for
        assert len(creates) >= 4
        assert all(later - earlier >= 0.19 for earlier, later in pairwise(creates[:4]))
        assert ews.double.busy("CreateItem") is None  # every busy answer was used up
    finally:
        env.cleanup()


def test_a_rejected_item_is_a_skipped_item_not_a_failure(dovecot: ImapServer,
                                                         ews: EwsDoubleServer) -> None:
    user = loaded_user(dovecot, SMALL_CORPUS)
    client = dovecot.login(user)
    try:
        client.append("INBOX", REFUSED, ["\\Seen"])
    finally:
        client.logout()
    env = EwsSyncEnv(dovecot, user, ews=ews)
    try:
        ews.double.reject_items_containing(b"X-Refuse-Me: yes")
        outcome = env.run()
        assert outcome.kind is OutcomeKind.ok, outcome.message
        with env.open_store() as store:
            skipped = store.statistics.skipped_items(env.user_id)
            stats = store.statistics.get(env.user_id)
        assert [(s.kind, s.folder, s.subject) for s in skipped] == [
            ("bad", "INBOX", "refused by the target")]
        assert "ErrorItemSave" in skipped[0].reason
        assert (stats.synced_item_count, stats.skipped_item_count) == (len(SMALL_CORPUS), 1)
        inbox = ews.double.items(env.address, ("INBOX",))
        assert not any(b"X-Refuse-Me" in i.mime for i in inbox)
        assert len(inbox) == SMALL_CORPUS.folder_counts()[("INBOX",)]

        ews.double._reject = None
        since = len(ews.double.requests)
        assert env.run(SyncKind.incremental).kind is OutcomeKind.ok
        assert writes_since(ews, since) == Counter()  # a skipped item is not retried
    finally:
        env.cleanup()


REFUSED = (b"From: a@example.org\r\nSubject: refused by the target\r\n"
           b"Message-ID: <refused@example.org>\r\nX-Refuse-Me: yes\r\n\r\nbody\r\n")


def test_a_renamed_and_a_deleted_source_folder_follow_on_the_target(
        dovecot: ImapServer, ews: EwsDoubleServer) -> None:
    user = loaded_user(dovecot, CRASH_CORPUS)
    env = EwsSyncEnv(dovecot, user, ews=ews)
    try:
        assert env.run().kind is OutcomeKind.ok
        client = dovecot.login(user)
        try:
            client.rename_folder(dovecot.folder("Notes & Ideas"), dovecot.folder("Ideas"))
            client.delete_folder(dovecot.folder("Projects", "Alpha", "Specs"))
        finally:
            client.logout()
        since = len(ews.double.requests)
        outcome = env.run(SyncKind.incremental)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert env.compare() is None
        assert writes_since(ews, since)["CreateItem"] == 0  # renamed, not copied again
    finally:
        env.cleanup()
