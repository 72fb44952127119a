"""``\\Noselect`` parents stay non-selectable, through the real ``imsh`` console script: the
source has ``Archive/2019`` and ``Archive`` is only a ``\\Noselect`` level of the hierarchy.
The target must end with the same selectable folders, compared exactly by scripts/compare.py
(a selectable, empty ``Archive`` on the target is a difference, "folder extra in B")."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.compare import ImapSource, ImapSpec, MaildirSource, compare
from tests.adversity.capacity_support import ADDRESS, fill, migrate
from tests.integration.test_incremental_flow import Flow
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def source_with_noselect_parent(server: ImapServer) -> str:
    user = server.fresh_user()
    fill(server, user, "INBOX", 2)
    fill(server, user, "Archive/2019", 3, tag="old")  # creates only Archive/2019
    client = server.login(user)
    try:
        listed = {name: set(flags) for flags, _sep, name in client.list_folders()}
    finally:
        client.logout()
    assert b"\\Noselect" in listed["Archive"]
    return user


def test_noselect_parent_stays_noselect_on_an_imap_target(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    source_user, target_user = source_with_noselect_parent(dovecot), dovecot_target.fresh_user()
    flow = migrate(tmp_path, dovecot, source_user, dovecot_target, target_user)
    client = dovecot_target.login(target_user)
    try:
        listed = {name: set(flags) for flags, _sep, name in client.list_folders()}
    finally:
        client.logout()
    assert "Archive/2019" in listed
    assert b"\\Noselect" in listed.get("Archive", {b"\\Noselect"}), listed
    difference = flow.compare()
    assert difference is None, difference


def test_noselect_parent_is_no_folder_in_a_maildir_target(
        tmp_path: Path, dovecot: ImapServer) -> None:
    source_user = source_with_noselect_parent(dovecot)
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
    mailbox = tree / ADDRESS
    assert (mailbox / ".Archive.2019" / "cur").is_dir()
    assert not (mailbox / ".Archive").exists()
    a = ImapSource(ImapSpec(dovecot.host, dovecot.port, source_user, dovecot.password))
    b = MaildirSource(mailbox)
    try:
        report = compare(a, b)
    finally:
        a.close()
        b.close()
    assert report.identical, report.format()


def test_comparer_counts_a_selectable_parent_as_a_difference(dovecot: ImapServer) -> None:
    """scripts/compare.py compares the selectable folders exactly: a ``\\Noselect`` level
    is no folder, a selectable empty ``Archive`` on one side only is one difference."""
    strict = source_with_noselect_parent(dovecot)
    loose = dovecot.fresh_user()
    fill(dovecot, loose, "INBOX", 2)
    fill(dovecot, loose, "Archive", 0)
    fill(dovecot, loose, "Archive/2019", 3, tag="old")

    def spec(user: str) -> ImapSource:
        return ImapSource(ImapSpec(dovecot.host, dovecot.port, user, dovecot.password))

    a, b = spec(strict), spec(loose)
    try:
        there, back = compare(a, b, date_tolerance=60), compare(b, a, date_tolerance=60)
    finally:
        a.close()
        b.close()
    assert there.folders_extra == [("Archive",)] and there.differences == 1, there.format()
    assert back.folders_missing == [("Archive",)] and back.differences == 1, back.format()
