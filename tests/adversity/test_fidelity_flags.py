"""Flag changes arrive as deltas, through the real ``imsh`` console script: the target's user
flags a copy (or gives it a keyword/category) on the target; a different flag changes on the
source; after the next pass the source's change is there and the target user's own flag too.
Before, the whole flag set was overwritten (IMAP ``STORE FLAGS``, Maildir rename, EWS
AlwaysOverwrite of read state, flag and categories) and the target user's flag was wiped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import exchangelib
import pytest

from tests.adversity.capacity_support import ADDRESS, fill, migrate, run_pass
from tests.integration.ewsenv import EWS_ADMIN, EWS_ADMIN_PASSWORD, new_double
from tests.integration.test_incremental_flow import Flow
from tests.support.ews_double import EwsDoubleServer
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def answer_first_on_source(server: ImapServer, user: str) -> None:
    """The source's user replies to the oldest INBOX message and marks another unread."""
    client = server.login(user)
    try:
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))
        client.add_flags([uids[0]], [b"\\Answered"])
        client.remove_flags([uids[1]], [b"\\Seen"])
    finally:
        client.logout()


def test_target_users_own_flag_survives_a_source_flag_change_imap(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    fill(dovecot, source_user, "INBOX", 3)
    flow = migrate(tmp_path, dovecot, source_user, dovecot_target, target_user)
    client = dovecot_target.login(target_user)
    try:
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))
        client.add_flags(uids[:2], [b"\\Flagged", b"$Important"])  # the target's user
    finally:
        client.logout()
    answer_first_on_source(dovecot, source_user)

    run_pass(flow)
    client = dovecot_target.login(target_user)
    try:
        client.select_folder("INBOX", readonly=True)
        rows = client.fetch(client.search(["ALL"]), ["FLAGS"])
        flags = [set(rows[uid][b"FLAGS"]) for uid in sorted(rows)]
    finally:
        client.logout()
    assert flags[0] >= {b"\\Answered", b"\\Seen", b"\\Flagged", b"$Important"}, flags
    assert b"\\Seen" not in flags[1] and flags[1] >= {b"\\Flagged", b"$Important"}, flags


def test_target_users_own_flag_survives_a_source_flag_change_maildir(
        tmp_path: Path, dovecot: ImapServer) -> None:
    source_user = dovecot.fresh_user()
    fill(dovecot, source_user, "INBOX", 3)
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, dovecot, source_user, dovecot, source_user)
    (work / "users.csv").write_text(f"EmailAddress,UserName,Password\n{ADDRESS},{source_user},"
                                    f"{dovecot.password}\n", encoding="utf-8")
    tree = tmp_path / "maildir"
    out = flow.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -Maildir -Name Disk -Path "{tree}" | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Disk -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
""")  # noqa: E501
    assert "initial: Synced" in out
    flow.wait_for_no_runner()
    cur = tree / ADDRESS / "cur"
    files = sorted(cur.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    for path in sorted(cur.iterdir())[:3]:  # the target's user flags every copy (F, and P)
        head, info = path.name.split(":2,")
        path.rename(cur / f"{head}:2,{''.join(sorted(set(info) | {'F', 'P'}))}")
    assert len(files) == 3
    answer_first_on_source(dovecot, source_user)

    run_pass(flow)
    infos = sorted(p.name.split(":2,")[1] for p in cur.iterdir())
    assert all("F" in i and "P" in i for i in infos), infos  # the target user's letters stay
    assert sorted("R" in i for i in infos) == [False, False, True], infos
    assert sorted("S" in i for i in infos) == [False, True, True], infos


@pytest.fixture
def ews() -> Iterator[EwsDoubleServer]:
    with EwsDoubleServer(new_double()) as running:
        running.double.add_mailbox(ADDRESS)
        yield running
    exchangelib.close_connections()


def test_target_users_own_category_survives_a_source_flag_change_ews(
        tmp_path: Path, dovecot: ImapServer, ews: EwsDoubleServer) -> None:
    source_user = dovecot.fresh_user()
    fill(dovecot, source_user, "INBOX", 3)
    client = dovecot.login(source_user)
    try:
        client.select_folder("INBOX")
        client.add_flags(sorted(client.search(["ALL"]))[:1], [b"Blue"])  # a source category
    finally:
        client.logout()
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, dovecot, source_user, dovecot, source_user)
    (work / "users.csv").write_text(f"EmailAddress,UserName,Password\n{ADDRESS},{source_user},"
                                    f"{dovecot.password}\n", encoding="utf-8")
    out = flow.imsh("migrate", f"""
$cred = New-Object System.Management.Automation.PSCredential('{EWS_ADMIN}', (ConvertTo-SecureString '{EWS_ADMIN_PASSWORD}' -AsPlainText -Force))
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -EWS -Name Exchange -Url '{ews.url}' -Credentials $cred -Impersonation -Authentication Basic | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Exchange -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
""")  # noqa: E501
    assert "initial: Synced" in out
    flow.wait_for_no_runner()
    items = sorted(ews.double.items(ADDRESS, ("Inbox",)), key=lambda i: i.mime)
    assert [i.categories for i in items] == [["Blue"], [], []]
    for item in items:  # the mailbox's user categorises every copy
        item.categories.append("Red")
    answer_first_on_source(dovecot, source_user)
    client = dovecot.login(source_user)
    try:
        client.select_folder("INBOX")
        client.add_flags(sorted(client.search(["ALL"]))[2:], [b"Green"])
    finally:
        client.logout()

    run_pass(flow)
    items = sorted(ews.double.items(ADDRESS, ("Inbox",)), key=lambda i: i.mime)
    assert [i.categories for i in items] == [["Blue", "Red"], ["Red"], ["Red", "Green"]]
    assert [i.is_read for i in items] == [True, False, True]
    assert ews.double.violations == []
