"""A full target mailbox (Dovecot's quota plugin answering ``NO [OVERQUOTA]``; the EWS test
double answering ``ErrorQuotaExceeded``) through the real
``imsh`` console script: a capacity refusal is a transient fault, never a verdict on the
message, and no move deletes the old copy before its new copy is recorded.

Each test migrates a small mailbox, sets the target user's quota to what the target holds
(plus a little), changes the source, runs passes, raises the quota, and counts what the target
holds in the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import exchangelib
import pytest

from tests.adversity.capacity_support import (
    ADDRESS,
    count_messages,
    fill,
    migrate,
    pass_ends,
    report,
    run_pass,
    set_quota,
    user_line,
)
from tests.conftest import start_or_skip
from tests.integration.ewsenv import EWS_ADMIN, EWS_ADMIN_PASSWORD, new_double
from tests.integration.test_incremental_flow import Flow, wait_for
from tests.support.ews_double import EwsDoubleServer
from tests.support.servers import ImapServer, start_dovecot

pytestmark = [pytest.mark.servers, pytest.mark.slow]


@pytest.fixture
def quick_retries() -> Iterator[None]:
    """The runner retries after 2 s instead of 30 s (IMSH_RETRY_BASE, docs/service.md): the
    same retries, without waiting out the default backoff. Only for the tests that change
    nothing while the backoff runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMSH_RETRY_BASE", "2")
        yield


@pytest.fixture(scope="module")
def quota_target() -> Iterator[ImapServer]:
    """A Dovecot target with the quota plugin (no user has a limit until set_quota)."""
    server = start_or_skip(lambda: start_dovecot(nusers=6, quota=True))
    yield server
    server.stop()


@pytest.mark.usefixtures("quick_retries")
def test_full_target_gets_every_message_once_the_quota_is_raised(
        tmp_path: Path, dovecot: ImapServer, quota_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), quota_target.fresh_user()
    fill(dovecot, source_user, "INBOX", 36)
    flow = migrate(tmp_path, dovecot, source_user, quota_target, target_user)
    assert count_messages(quota_target, target_user)["INBOX"] == 36
    set_quota(quota_target, target_user, 39)
    fill(dovecot, source_user, "INBOX", 5, tag="late")  # 41 on the source, room for 39

    run_pass(flow)
    line = user_line(flow)
    assert "status=Failed" not in line and "skipped=0" in line, line
    assert count_messages(quota_target, target_user)["INBOX"] == 39

    set_quota(quota_target, target_user, None)
    run_pass(flow, timeout=90)  # the retry the backoff scheduled
    run_pass(flow)
    assert count_messages(quota_target, target_user)["INBOX"] == 41
    line = user_line(flow)
    assert "Synced skipped=0 error= " in line + " ", line
    assert flow.compare() is None


@pytest.mark.usefixtures("quick_retries")
def test_message_refused_by_a_full_target_is_no_skipped_item(
        tmp_path: Path, dovecot: ImapServer, quota_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), quota_target.fresh_user()
    fill(dovecot, source_user, "INBOX", 8)
    flow = migrate(tmp_path, dovecot, source_user, quota_target, target_user)
    set_quota(quota_target, target_user, 8)
    fill(dovecot, source_user, "INBOX", 1, tag="late")

    run_pass(flow)
    line = user_line(flow)
    assert "skipped=0" in line and "Failed" not in line, line
    assert "mailbox is full" in line.lower() or "Syncing" in line, line

    set_quota(quota_target, target_user, None)
    run_pass(flow, timeout=90)
    run_pass(flow)
    assert count_messages(quota_target, target_user)["INBOX"] == 9
    assert "Synced skipped=0 error= " in user_line(flow) + " "


@pytest.mark.usefixtures("quick_retries")
def test_move_into_a_full_target_keeps_the_old_copy(
        tmp_path: Path, dovecot: ImapServer, quota_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), quota_target.fresh_user()
    fill(dovecot, source_user, "INBOX", 10)
    fill(dovecot, source_user, "Archive", 2, tag="old")
    flow = migrate(tmp_path, dovecot, source_user, quota_target, target_user)
    set_quota(quota_target, target_user, 12)  # full: a move's new copy cannot be stored
    client = dovecot.login(source_user)
    try:
        client.select_folder("INBOX")
        client.move(sorted(client.search(["ALL"]))[:1], "Archive")  # one APPEND, refused
    finally:
        client.logout()

    run_pass(flow)
    held = count_messages(quota_target, target_user)
    assert sum(held.values()) == 12, held  # nothing deleted while its new copy is missing

    set_quota(quota_target, target_user, None)
    run_pass(flow, timeout=90)
    run_pass(flow)
    assert count_messages(quota_target, target_user) == count_messages(dovecot, source_user)
    assert flow.compare() is None


@pytest.fixture
def ews() -> Iterator[EwsDoubleServer]:
    with EwsDoubleServer(new_double()) as running:
        running.double.add_mailbox(ADDRESS)
        yield running
    exchangelib.close_connections()


def test_full_exchange_mailbox_gets_the_refused_message_later(
        tmp_path: Path, dovecot: ImapServer, ews: EwsDoubleServer) -> None:
    source_user = dovecot.fresh_user()
    fill(dovecot, source_user, "INBOX", 4)
    ews.double.reject_items_containing(b"Subject: m 3", "ErrorQuotaExceeded")
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, dovecot, source_user, dovecot, source_user)
    (work / "users.csv").write_text(f"EmailAddress,UserName,Password\n{ADDRESS},{source_user},"
                                    f"{dovecot.password}\n", encoding="utf-8")
    flow.imsh("migrate", f"""
$cred = New-Object System.Management.Automation.PSCredential('{EWS_ADMIN}', (ConvertTo-SecureString '{EWS_ADMIN_PASSWORD}' -AsPlainText -Force))
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -EWS -Name Exchange -Url '{ews.url}' -Credentials $cred -Impersonation -Authentication Basic | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Exchange -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
""")  # noqa: E501
    wait_for(lambda: pass_ends(flow) > 0, 60, "the first pass")
    line = user_line(flow)
    assert "skipped=0" in line and "Failed" not in line, (line, report(flow))
    assert len(ews.double.items(ADDRESS, ("Inbox",))) == 3

    ews.double.reject_items_containing(b"<nothing is refused now>")
    wait_for(lambda: pass_ends(flow) > 1, 90, "the retry")
    assert len(ews.double.items(ADDRESS, ("Inbox",))) == 4, report(flow)
    assert "Synced skipped=0 error= " in user_line(flow) + " "
    flow.wait_for_no_runner()
