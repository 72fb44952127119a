"""Shared pytest fixtures, one section per concern.

Real servers (tests/support/servers.py): session-scoped IMAP servers on 127.0.0.1 with
plenty of users, handed out so that tests never share a mailbox, and an SMTP sink.
A server this machine cannot run skips its tests, except under CI (environment
variable CI set), where it fails them: CI must never pass by skipping.  Every server
is stopped at session end, in parallel, whatever the tests' outcome.

Add new fixtures in a section of their own below.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from engine.store.pg import close_pools
from tests.support.ports import free_port
from tests.support.postgres import NoPostgres, PgCluster, start_cluster
from tests.support.servers import (
    ImapServer,
    MigrationPair,
    SkipServer,
    SmtpSink,
    start_courier,
    start_cyrus,
    start_dovecot,
    start_smtp,
    started_servers,
    stop_all,
)

# ---- on-demand runners exit when idle ------------------------------------------------

# The runner a shell launches waits for the next incremental pass by default (shell/launch.py);
# in the suite it would outlive every test that synced a batch. Tests that are about
# keep-alive turn it on for their own imsh processes (tests/integration/test_unattended_sync.py).
os.environ["IMSH_RUNNER_KEEP_ALIVE"] = "0"

# ---- real servers ------------------------------------------------------------------

# enough users that most test modules never create more (fresh_user() does when needed)
USERS_PER_SERVER = 20

T = TypeVar("T")


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def start_or_skip(start: Callable[[], T]) -> T:
    """Run a server start function; skip the test when the machine cannot (fail in CI)."""
    try:
        return start()
    except SkipServer as exc:
        if running_in_ci():
            pytest.fail(f"{exc} (CI is set, so this is a failure, not a skip)", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def dovecot() -> ImapServer:
    """The usual source: Dovecot, maildir, separator '/', master user admin/adminpw."""
    return start_or_skip(lambda: start_dovecot(nusers=USERS_PER_SERVER))


@pytest.fixture(scope="session")
def dovecot_target() -> ImapServer:
    """A second, independent Dovecot: the usual IMAP target."""
    return start_or_skip(lambda: start_dovecot(nusers=USERS_PER_SERVER))


@pytest.fixture(scope="session")
def dovecot_tls() -> ImapServer:
    """Dovecot that also listens with implicit TLS on `tls_port` (CA file: `cafile`)."""
    return start_or_skip(lambda: start_dovecot(nusers=USERS_PER_SERVER, tls=True))


@pytest.fixture(scope="session")
def cyrus() -> ImapServer:
    """Cyrus: separator '.', personal folders under 'INBOX.', admin may proxy."""
    return start_or_skip(lambda: start_cyrus(nusers=USERS_PER_SERVER))


@pytest.fixture(scope="session")
def courier() -> ImapServer:
    """Courier-IMAP: separator '.', personal folders under 'INBOX.', no admin login."""
    return start_or_skip(lambda: start_courier(nusers=USERS_PER_SERVER))


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """One SMTP sink for the session; filter `messages` by recipient or `clear()` first."""
    sink = start_smtp()
    yield sink
    sink.stop()


@pytest.fixture
def fresh_pair(dovecot: ImapServer, dovecot_target: ImapServer) -> MigrationPair:
    """A Dovecot source user and a Dovecot target user that no other test uses."""
    return MigrationPair(dovecot, dovecot.fresh_user(), dovecot_target, dovecot_target.fresh_user())


# ---- PostgreSQL (tests/support/postgres.py) -------------------------------------------


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL 15 cluster on a Unix socket, for the whole session."""

    def start() -> PgCluster:
        try:
            return start_cluster(free_port())
        except NoPostgres as exc:
            raise SkipServer(str(exc)) from exc

    cluster = start_or_skip(start)
    yield cluster
    close_pools()
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PgCluster) -> Iterator[str]:
    """The URL of a new, empty database on the session's cluster (one per test)."""
    yield postgres_cluster.fresh_database()
    close_pools()  # this process's connections to it (one pool per URL)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # session fixtures leave their servers running so that all stop here at once
    for failure in stop_all():
        print(f"\nwarning: {failure}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    servers = started_servers()
    if servers:
        timings = ", ".join(f"{s.kind} {s.start_seconds:.2f}s" for s in servers)
        terminalreporter.write_line(f"test servers started: {timings}")
