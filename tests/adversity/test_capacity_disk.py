"""A Maildir target on a disk that fills up (a real 256 KiB tmpfs, remounted larger later),
through the real ``imsh`` console script: the pass ends with a transient warning, ``tmp/``
holds no half-written file, and once there is room the retry brings every message.

Needs root (``mount -t tmpfs``); skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversity.capacity_support import (
    ADDRESS,
    fill_sized,
    pass_ends,
    report,
    user_line,
)
from tests.integration.test_incremental_flow import Flow, wait_for
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs",
                           str(mount)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def files(root: Path, sub: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name == sub]


def test_full_maildir_disk_leaves_no_tmp_files_and_the_retry_brings_everything(
        tmp_path: Path, small_disk: Path, dovecot: ImapServer) -> None:
    source_user = dovecot.fresh_user()
    fill_sized(dovecot, source_user, "INBOX", 12, 30 * 1024)  # 360 KiB onto 256 KiB
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, dovecot, source_user, dovecot, source_user)
    csv = work / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\n{ADDRESS},{source_user},"
                   f"{dovecot.password}\n", encoding="utf-8")
    flow.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -Maildir -Name Disk -Path "{small_disk}" | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Disk -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
""")  # noqa: E501
    wait_for(lambda: pass_ends(flow) > 0, 60, "the first pass")
    line = user_line(flow)
    assert "Failed" not in line and "skipped=0" in line, (line, report(flow))
    assert files(small_disk, "tmp") == []  # no half-written message left behind
    stored = len(files(small_disk, "cur"))
    assert 0 < stored < 12

    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    wait_for(lambda: pass_ends(flow) > 1, 90, "the retry")
    assert len(files(small_disk, "cur")) == 12, report(flow)
    assert files(small_disk, "tmp") == []
    assert "Synced skipped=0 error= " in user_line(flow) + " "
