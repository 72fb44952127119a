"""Test-MigrationUser into an EWS target: a real Dovecot source synced by the real executor into
the EWS test double; the proof reads the items back over EWS (MIME, read state, flag, verbs,
categories, delivery time) and finds what is planted in the double's store."""

from __future__ import annotations

import io
from collections.abc import Iterator

import exchangelib
import pytest

from engine.runner.jobs import OutcomeKind
from scripts.corpus import MIN_FULL_COUNT, ImapParams, generate, load_imap
from shell.wiring import build_session
from tests.integration.ewsenv import EwsSyncEnv, new_double
from tests.support.ews_double import EwsDoubleServer
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

CORPUS = generate(67, MIN_FULL_COUNT, max_size=64 * 1024)


@pytest.fixture(scope="module")
def ews() -> Iterator[EwsDoubleServer]:
    with EwsDoubleServer(new_double()) as running:
        yield running
    exchangelib.close_connections()


def proof_of(env: EwsSyncEnv) -> object:
    out, err = io.StringIO(), io.StringIO()
    session = build_session(str(env.paths.root), interactive=False, stdout=out, stderr=err)
    try:
        session.run(f"$p = Test-MigrationUser -Identity {env.address} -Detailed")
        assert err.getvalue() == "", err.getvalue()
        return session.variables.get("p")
    finally:
        session.close()


def test_an_ews_migration_proves_perfect_and_a_changed_item_is_found(
        dovecot: ImapServer, ews: EwsDoubleServer) -> None:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    env = EwsSyncEnv(dovecot, user, ews=ews)
    try:
        outcome = env.run()
        assert outcome.kind is OutcomeKind.ok, outcome.message
        proof = proof_of(env)
        assert proof.get("Result") == "Identical", [  # type: ignore[attr-defined]
            (d.get("Kind"), d.get("Folder"), d.get("Source"), d.get("Target"))
            for d in proof.get("Differences")]  # type: ignore[attr-defined]
        assert proof.get("DataConsistencyScore") == "Perfect"  # type: ignore[attr-defined]
        assert proof.get("SourceItemCount") == len(CORPUS)  # type: ignore[attr-defined]

        mailbox = ews.double.mailboxes[env.address.lower()]
        with ews.double.lock:
            inbox = mailbox.by_distinguished["inbox"]
            first, second = sorted(mailbox.items_in(inbox), key=lambda i: i.item_id)[:2]
            first.is_read = not first.is_read
            del mailbox.items[second.item_id]
        before = len(ews.double.requests)
        proof = proof_of(env)
        found = {(d.get("Kind"), d.get("Folder"))
                 for d in proof.get("Differences")}  # type: ignore[attr-defined]
        assert found == {("Flags", "INBOX"), ("Missing", "INBOX")}, found
        assert ews.double.violations == []  # every request had a shape EWS allows
        operations = {r.operation for r in ews.double.requests[before:]}
        assert operations and not operations & {"CreateItem", "UpdateItem", "DeleteItem",
                                                 "CreateFolder"}, operations  # read-only
    finally:
        env.cleanup()
