"""Connection faults (DESIGN.md §6): cut the source or the target connection at many points of
a pass through a loopback TCP proxy. The pass must end as a *transient* fault (retried by the
runner, never a permanent failure and never an unhandled exception) — or well, when the cut hit
a folder worker, which reconnects and carries on — and then the target must be identical to the
source with every message counted once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from engine.errors import TransientError
from engine.folders import INBOX
from engine.imap.connection import ImapSettings, SimpleLogin, open_session
from engine.imap.source import ImapSource
from engine.mail import ExaminedStatus, ListedMessage, SourceFolder
from engine.model import IMAPSecurityMechanism
from engine.runner.jobs import OutcomeKind, SyncKind
from engine.store.sync_state import FolderRow
from engine.sync.apply import FolderApplier, FolderContext, ItemLimits
from engine.sync.model import FolderState, FolderStatus, KnownMessage, MessageState
from engine.sync.snapshot import snapshot_folder
from engine.targets.maildir import MaildirTarget
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.servers

CORPUS = generate(47, 24, max_size=48 * 1024)
BATCH = 5
CUTS = 9  # cut points spread over the bytes of one full pass, plus two in the greeting/login


@pytest.fixture
def proxied_source(dovecot: ImapServer) -> Iterator[tuple[ImapServer, TcpProxy, str]]:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    proxy = TcpProxy(dovecot.host, dovecot.port)
    try:
        yield replace(dovecot, port=proxy.port), proxy, user
    finally:
        proxy.close()


def cut_points(total: int) -> list[int]:
    return [40, 400, *(total * i // (CUTS + 1) for i in range(1, CUTS + 1))]


def cut_then_resume(env: SyncEnv, proxy: TcpProxy, at: int, kind: SyncKind) -> None:
    cuts = proxy.cuts
    proxy.cut_after(at)
    outcome = env.run(kind, workers=2, batch_count=BATCH)
    proxy.cut_after(None)
    assert proxy.cuts == cuts + 1, f"the cut at byte {at} did not happen"
    # a cut of a folder worker's connection costs only its batch: the worker reconnects and
    # the pass ends well; a cut of the pass's own connection ends the pass as transient
    assert outcome.kind in (OutcomeKind.transient, OutcomeKind.ok), f"cut at byte {at}: {outcome}"
    if outcome.kind is OutcomeKind.transient:
        resumed = env.run(kind, workers=2, batch_count=BATCH)
        assert resumed.kind is OutcomeKind.ok, f"cut at byte {at}: {resumed.message}"
    difference = env.compare()
    assert difference is None, f"cut at byte {at}:\n{difference}"
    with env.open_store() as store:
        states = store.messages.count_by_state(env.user_id)
        synced = store.statistics.get(env.user_id).synced_item_count
    assert states == {"copied": len(CORPUS)}, f"cut at byte {at}: {states}"
    assert synced == len(CORPUS), f"cut at byte {at}: {synced} synced"


def test_source_connection_cut_during_an_initial_pass(
        proxied_source: tuple[ImapServer, TcpProxy, str]) -> None:
    source, proxy, user = proxied_source
    counting = SyncEnv(source, user)
    try:
        assert counting.run(workers=2, batch_count=BATCH).kind is OutcomeKind.ok
    finally:
        counting.cleanup()
    total = proxy.downstream_bytes
    for at in cut_points(total):
        env = SyncEnv(source, user)
        try:
            cut_then_resume(env, proxy, at, SyncKind.initial)
        finally:
            env.cleanup()


def test_target_connection_cut_during_an_initial_pass(
        dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    proxy = TcpProxy(dovecot_target.host, dovecot_target.port)
    target = replace(dovecot_target, port=proxy.port)
    try:
        counting = SyncEnv(dovecot, user, target, dovecot_target.fresh_user())
        try:
            assert counting.run(workers=2, batch_count=BATCH).kind is OutcomeKind.ok
        finally:
            counting.cleanup()
        total = proxy.downstream_bytes
        points = cut_points(total)
        dovecot_target.add_users(len(points))
        for at in points:
            env = SyncEnv(dovecot, user, target, dovecot_target.fresh_user())
            try:
                cut_then_resume(env, proxy, at, SyncKind.initial)
            finally:
                env.cleanup()
    finally:
        proxy.close()


class _CutAfterListing(ImapSource):
    """A real source session whose proxy cuts the link right after the message listing."""

    proxy: TcpProxy

    def listing(self, folder: SourceFolder | str, *, fingerprints_from_uid: int = 1,
                status: ExaminedStatus | None = None) -> list[ListedMessage]:
        listed = super().listing(folder, fingerprints_from_uid=fingerprints_from_uid,
                                 status=status)
        self.proxy.cut_after(0)
        return listed


def test_source_cut_while_fetching_headers_of_known_uids_is_transient(
        proxied_source: tuple[ImapServer, TcpProxy, str]) -> None:
    """Rows forgotten below the recorded UIDNEXT make the snapshot fetch those headers after
    the listing; a connection lost there must be a TransientError like everywhere else."""
    source_server, proxy, user = proxied_source
    settings = ImapSettings(source_server.host, source_server.port, IMAPSecurityMechanism.NONE)
    session = open_session(settings, SimpleLogin(user, source_server.password),
                           enable=("CONDSTORE",))
    source = _CutAfterListing(session)
    source.proxy = proxy
    try:
        inbox = next(f for f in source.list_folders() if f.path == INBOX)
        status = source.select(inbox)
        first = source.listing(inbox)[0]
        assert first.fingerprint is not None
        proxy.cut_after(None)
        known = FolderState(inbox.name, FolderStatus(status.uidvalidity, status.uidnext),
                            (KnownMessage(first.uid, first.fingerprint.key, MessageState.COPIED,
                                          "1:1"),))
        with pytest.raises(TransientError):
            snapshot_folder(source, inbox, known, {first.uid: first.fingerprint.key})
        assert proxy.cuts == 1
    finally:
        source.close()


def test_source_cut_while_reading_headers_for_the_skip_report_is_transient(
        proxied_source: tuple[ImapServer, TcpProxy, str]) -> None:
    """The subject/date of a skipped item are only for the report, but a connection lost
    while reading them is a transient fault, not an empty report that lets the pass go on."""
    source_server, proxy, user = proxied_source
    env = SyncEnv(source_server, user)
    store = env.open_store()
    settings = ImapSettings(source_server.host, source_server.port, IMAPSecurityMechanism.NONE)
    source = ImapSource(open_session(settings, SimpleLogin(user, source_server.password)))
    try:
        inbox = next(f for f in source.list_folders() if f.path == INBOX)
        source.select(inbox)
        uid = source.listing(inbox)[0].uid
        row = store.folders.save(env.user_id, FolderRow("INBOX"))
        ctx = FolderContext(store, env.user_id, row, INBOX, MaildirTarget(env.maildir_root),
                            source, ItemLimits(None, None))
        applier = FolderApplier(ctx)
        assert applier._headers([uid, 999_999])[uid][0]  # a subject; the unknown UID is absent
        proxy.cut_after(0)
        with pytest.raises(TransientError):
            applier._headers([uid])
        assert proxy.cuts == 1
    finally:
        proxy.cut_after(None)
        source.close()
        store.close()
        env.cleanup()
