"""Notification mail end to end: ``.imsh`` scripts configure SMTP with Set-MigrationConfig and
create a batch with ``-NotificationEmails``; the runner the shell launches migrates real Dovecot
mailboxes and sends its mail to a real SMTP server (aiosmtpd on loopback): "has finished" with
the counts and the per-user CSV when the initial sync is over, and the completion mail after
Complete-MigrationBatch.

One of the two users has a wrong password, so the counts and the attachment show one mailbox
migrated and one failed.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.test_incremental_flow import Flow
from tests.support.servers import ImapServer
from tests.support.smtp import SmtpSink

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CORPUS = generate(29, 9, max_size=8 * 1024)
GOOD, BAD = "ann@contoso.com", "bob@contoso.com"


def mail_to(sink: SmtpSink, recipient: str, count: int, timeout: float = 30.0
            ) -> list[EmailMessage]:
    """The messages for ``recipient`` once there are ``count`` (the sink serves the session)."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [m.message() for m in sink.messages if recipient in m.rcpt_tos]
        if len(mine) >= count:
            return mine
        if time.monotonic() > deadline:
            pytest.fail(f"{len(mine)} of {count} mails to {recipient} within {timeout} s")
        time.sleep(0.2)


def attachment_rows(message: EmailMessage) -> dict[str, dict[str, str]]:
    [part] = [p for p in message.iter_attachments()]
    assert part.get_filename() == "MigrationStatistics.csv"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode("utf-8")
    assert text.startswith('"EmailAddress","Status","ItemsSynced","ItemsSkipped","ErrorMessage"')
    return {row["EmailAddress"]: row for row in csv.DictReader(io.StringIO(text))}


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_the_runner_mails_when_initial_sync_finishes_and_on_completion(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, smtp_sink: SmtpSink
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, dovecot, dovecot.fresh_user(), dovecot_target,
                dovecot_target.fresh_user())
    load_imap(ImapParams(dovecot.host, dovecot.port, flow.source_user, dovecot.password), CORPUS)
    bob_source, bob_target = dovecot.fresh_user(), dovecot_target.fresh_user()
    admin = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    users = work / "users.csv"
    users.write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"{GOOD},{flow.source_user},{dovecot.password},{flow.target_user},pw\n"
        f"{BAD},{bob_source},wrong-password,{bob_target},pw\n", encoding="utf-8")

    out = flow.imsh("notify", f"""
Set-MigrationConfig -SmtpServer {smtp_sink.host} -SmtpPort {smtp_sink.port} -SmtpSecurity None -SmtpFrom imsh@migration.test | Out-Null
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name Wave1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{users}")) -NotificationEmails {admin} -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity Wave1 -TimeoutSeconds 90).Status)"
""")  # noqa: E501
    assert "initial: SyncedWithErrors" in out

    [finished] = mail_to(smtp_sink, admin, 1)
    assert finished["Subject"] == 'E-mail migration batch "Wave1" has finished - with errors'
    assert finished["From"] == "imsh@migration.test" and finished["To"] == admin
    text = body(finished)
    assert "Mailboxes in the batch: 2" in text
    assert "Mailboxes migrated successfully: 1" in text
    assert "Mailboxes that couldn't be migrated: 1" in text
    assert f"Items synced: {CORPUS.count}" in text
    rows = attachment_rows(finished)
    assert (rows[GOOD]["Status"], rows[GOOD]["ItemsSynced"]) == ("Synced",
                                                                 str(CORPUS.count))
    assert rows[BAD]["Status"] == "Failed" and rows[BAD]["ErrorMessage"]
    assert "wrong-password" not in finished.as_string()

    out = flow.imsh("complete", """
Complete-MigrationBatch -Identity Wave1 -Confirm:$false
Write-Output "final: $((Wait-MigrationBatch -Identity Wave1 -TimeoutSeconds 60).Status)"
""")
    assert "final: CompletedWithErrors" in out
    finished_again, completed = mail_to(smtp_sink, admin, 2)
    assert finished_again["Message-ID"] == finished["Message-ID"]
    assert completed["Subject"] == (
        'E-mail migration batch "Wave1" has been completed - with errors')
    assert "Status: CompletedWithErrors" in body(completed)
    rows = attachment_rows(completed)
    assert rows[GOOD]["Status"] == "Completed" and rows[BAD]["Status"] == "Failed"
    flow.wait_for_no_runner()
    assert len([m for m in smtp_sink.messages if admin in m.rcpt_tos]) == 2  # each mail once
