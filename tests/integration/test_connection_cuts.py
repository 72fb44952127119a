"""Connection faults (DESIGN.md §6): cut the source or the target connection at many points of
a pass through a loopback TCP proxy. The pass must end as a *transient* fault (retried by the
runner, never a permanent failure and never an unhandled exception), and the next pass must
leave the target identical to the source with every message counted once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
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
    assert outcome.kind is OutcomeKind.transient, f"cut at byte {at}: {outcome}"
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
