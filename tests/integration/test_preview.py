# ruff: noqa: E501  (the admin scripts below keep each cmdlet on one line)
"""-WhatIf that checks first, and the preview: the real ``imsh`` against a real Dovecot source.

A defective CSV fails under -WhatIf exactly as without it, and nothing is created; a good one
shows, per user, what would move, naming the planted over-size item and its folder, and
``| Export-Csv`` writes the sizing sheet. Start-MigrationBatch -WhatIf previews and starts
nothing."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.limits import MAX_MESSAGE_SIZE_BYTES
from scripts.corpus import ImapParams, generate, load_imap
from tests.support.gmail import EXAMPLE, fill_gmail
from tests.support.servers import ImapServer, start_dovecot

pytestmark = pytest.mark.servers


def run_script(tmp: Path, script: str) -> subprocess.CompletedProcess[str]:
    path = tmp / "script.imsh"
    path.write_text(script, encoding="utf-8")
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    return subprocess.run([*argv, "--state", str(tmp / "state"), str(path)], cwd=tmp,
                          env={**os.environ, "IMSH_HOME": ""}, capture_output=True, text=True,
                          timeout=180, check=False)


DEFECTS = [
    ("misspelt.csv", "EmailAdress,UserName,Password\na@contoso.com,a,pw\n",
     'Column "EmailAdress" isn\'t a known column of an IMAP migration CSV file'),
    ("semicolons.csv", "EmailAddress;UserName;Password\na@contoso.com;a;pw\n",
     "The CSV file separates its columns with semicolons; an IMAP migration CSV file is "
     "comma-separated"),
    ("excel-semicolons.csv", '"EmailAddress";"UserName";"Password"\r\n"a@contoso.com";"a";"pw"\r\n',
     "The CSV file separates its columns with semicolons; an IMAP migration CSV file is "
     "comma-separated"),
    ("short.csv", "EmailAddress,UserName,Password\na@contoso.com,a,pw\nb@contoso.com,b\n",
     "Row 2 has the wrong number of columns. Expected number: 3. Actual number: 2."),
]


def test_whatif_fails_on_a_bad_csv_as_the_real_command_does(tmp_path: Path,
                                                           dovecot: ImapServer) -> None:
    lines = [f"New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null"]
    for name, text, _message in DEFECTS:
        (tmp_path / name).write_text(text, encoding="utf-8")
        for whatif in ("", " -WhatIf"):
            lines.append(f'New-MigrationBatch -Name B -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{tmp_path / name}")){whatif}')
    lines.append('Write-Output "batches: $(@(Get-MigrationBatch).Count)"')
    result = run_script(tmp_path, "\n".join(lines) + "\n")
    assert "What if:" not in result.stdout, result.stdout
    assert "batches: 0" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("New-MigrationBatch :")]
    assert len(errors) == 2 * len(DEFECTS), result.stderr
    for index, (_name, _text, message) in enumerate(DEFECTS):
        plain, whatif = errors[2 * index], errors[2 * index + 1]
        assert message in plain and plain == whatif, (plain, whatif)
    assert "Traceback" not in result.stderr


def test_the_preview_names_the_oversize_item_and_writes_a_sizing_sheet(
        tmp_path: Path, dovecot: ImapServer) -> None:
    small, big = dovecot.fresh_user(), dovecot.fresh_user()
    corpus = generate(73, 12, max_size=16 * 1024)
    for user in (small, big):
        load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), corpus)
    client = dovecot.login(big)
    try:
        client.create_folder("Archive/Scans")
        body = b"x" * (MAX_MESSAGE_SIZE_BYTES + 1024)
        client.append("Archive/Scans", b"Message-ID: <huge-scan@example.org>\r\n"
                      b"Subject: Scanned contracts 2019\r\n\r\n" + body, (b"\\Seen",),
                      datetime(2019, 5, 1, tzinfo=UTC))
    finally:
        client.logout()
    users = tmp_path / "users.csv"
    users.write_text("EmailAddress,UserName,Password\n" + "".join(
        f"{u}@contoso.com,{u},{dovecot.password}\n" for u in (small, big)), encoding="utf-8")
    sheet = tmp_path / "sizing.csv"
    result = run_script(tmp_path, f"""
$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationBatch -Name Wave1 -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{users}")) -WhatIf | Export-Csv -Path "{sheet}" -NoTypeInformation
Write-Output "batches after preview: $(@(Get-MigrationBatch).Count)"
New-MigrationBatch -Name Wave1 -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{users}")) | Out-Null
$p = Start-MigrationBatch -Identity Wave1 -WhatIf
$p.RefusedItems | Format-Table Folder,Subject,Size
Write-Output "status after start preview: $((Get-MigrationBatch Wave1).Status)"
""")
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert 'What if: Performing the operation "Create migration batch" on target "Wave1".' in out
    assert 'What if: Performing the operation "Start migration batch" on target "Wave1".' in out
    assert "batches after preview: 0" in out
    assert "status after start preview: Created" in out
    refused_row = next(line for line in out.splitlines() if "Scanned contracts 2019" in line)
    assert "Archive/Scans" in refused_row
    rows = {r["Identity"]: r for r in csv.DictReader(sheet.read_text(encoding="utf-8-sig").splitlines())}
    assert set(rows) == {f"{small}@contoso.com", f"{big}@contoso.com"}
    plain, heavy = rows[f"{small}@contoso.com"], rows[f"{big}@contoso.com"]
    assert int(plain["ItemCount"]) == len(corpus) and plain["RefusedItemCount"] == "0"
    assert int(heavy["ItemCount"]) == len(corpus) + 1 and heavy["RefusedItemCount"] == "1"
    assert "Archive/Scans: Scanned contracts 2019" in heavy["RefusedItemsText"]
    assert int(heavy["TotalSizeBytes"]) > MAX_MESSAGE_SIZE_BYTES
    assert heavy["ThroughputMeasured"] == "False" and heavy["EstimatedDuration"]


def _sizing(tmp_path: Path, server: ImapServer, user: str, options: str) -> dict[str, str]:
    """The -WhatIf sizing sheet's one row for ``user`` in a batch made with ``options``."""
    users = tmp_path / "users.csv"
    users.write_text(f"EmailAddress,UserName,Password\n{user}@contoso.com,{user},{server.password}\n",
                     encoding="utf-8")
    sheet = tmp_path / "sizing.csv"
    result = run_script(tmp_path, f"""
$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {server.port} -Security None | Out-Null
New-MigrationBatch -Name Wave1 -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{users}")) {options} -WhatIf | Export-Csv -Path "{sheet}" -NoTypeInformation
""")
    assert result.returncode == 0, result.stderr + result.stdout
    (row,) = csv.DictReader(sheet.read_text(encoding="utf-8-sig").splitlines())
    return row


def test_the_preview_counts_only_the_included_folders_mail_the_content_filter_keeps(
        tmp_path: Path, dovecot: ImapServer) -> None:
    user = dovecot.fresh_user()
    wanted: list[bytes] = []
    client = dovecot.login(user)
    try:
        for folder in ("Projects/A", "Other"):
            client.create_folder(folder)
        for index, (folder, year) in enumerate([("INBOX", 2019), ("INBOX", 2021),
                                                ("Projects/A", 2019), ("Projects/A", 2022),
                                                ("Other", 2021), ("Other", 2023)]):
            raw = (f"Message-ID: <m{index}@example.org>\r\nSubject: item {index}\r\n\r\n"
                   f"{'body ' * (10 + 40 * index)}\r\n").encode()
            client.append(folder, raw, (b"\\Seen",), datetime(year, 6, 1, tzinfo=UTC))
            if folder != "Other" and year > 2020:
                wanted.append(raw)
    finally:
        client.logout()
    row = _sizing(tmp_path, dovecot, user, "-IncludeFolders '#Inbox#','Projects/*' "
                  "-ContentFilter \"Received -gt '2020-01-01'\"")
    assert int(row["ItemCount"]) == 2
    assert int(row["TotalSizeBytes"]) == sum(len(raw) for raw in wanted)


# tests/support/gmail.py's EXAMPLE: five messages; a and b carry two labels each
@pytest.mark.parametrize(("policy", "twice"), [("", ()), ("-GmailLabelPolicy EveryLabel", ("a", "b"))])
def test_the_gmail_preview_counts_each_message_as_the_label_policy_copies_it(
        tmp_path: Path, policy: str, twice: tuple[str, ...]) -> None:
    gmail = start_dovecot(nusers=1, special_use="gmail")
    try:
        user = gmail.fresh_user()
        fill_gmail(gmail, user)
        row = _sizing(tmp_path, gmail, user, policy)
    finally:
        gmail.stop()
    sizes = {m.subject: len(m.raw()) for m in EXAMPLE}
    assert int(row["ItemCount"]) == len(sizes) + len(twice)  # Starred, Important: views
    assert int(row["TotalSizeBytes"]) == sum(sizes.values()) + sum(sizes[s] for s in twice)
