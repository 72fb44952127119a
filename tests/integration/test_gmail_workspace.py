"""Microsoft's ``New-MigrationEndpoint -Gmail`` example run by the real ``imsh`` console
script: a service account key (registered with the local token service's JWT-bearer grant,
tests/support/token_service.py) signs each user in to a Gmail-shaped Dovecot with XOAUTH2 as
the user itself (Dovecot's oauth2 passdb validates the tokens), and the labels arrive under
OneCopy (engine/gmail_oauth.py, engine/gmail_endpoint.py, docs/gmail.md)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversity.oauth_support import DOMAIN, start_oauth_dovecot
from tests.conftest import start_or_skip
from tests.integration.test_gmail_flow import ONE_COPY_LAYOUT
from tests.integration.test_incremental_flow import Flow, wait_for
from tests.support.gmail import fill_gmail, subjects_by_folder
from tests.support.servers import ImapServer
from tests.support.token_service import (
    TokenService,
    google_service_account_key,
    start_token_service,
)

pytestmark = [pytest.mark.servers, pytest.mark.slow]
SERVICE_ACCOUNT = "imsh-migration@contoso-proj.iam.gserviceaccount.com"
SECOND_ACCOUNT = "imsh-migration-2@contoso-proj.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def tokens() -> Iterator[TokenService]:
    service = start_token_service()
    yield service
    service.stop()
    shutil.rmtree(service.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def workspace(tokens: TokenService) -> ImapServer:
    return start_or_skip(lambda: start_oauth_dovecot(tokens, nusers=5,
                                                     extra_env={"SPECIAL_USE": "gmail"}))


def test_the_documented_gmail_endpoint_migrates_each_user_with_its_own_token(
    tmp_path: Path, tokens: TokenService, workspace: ImapServer,
    dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tokens.ca_file))
    # Gmail's IMAP is a relay on this host: the example's own words, nothing added to them
    monkeypatch.setenv("IMSH_GMAIL_IMAP", f"127.0.0.1:{workspace.port}")
    monkeypatch.setenv("IMSH_GMAIL_IMAP_SECURITY", "None")
    admin_user, ann = workspace.users[:2]
    work = tmp_path / "work"
    work.mkdir()
    (work / "key.json").write_bytes(google_service_account_key(tokens, SERVICE_ACCOUNT,
                                                               DOMAIN))
    flow = Flow(tmp_path / "state", work, workspace, ann, dovecot_target,
                dovecot_target.fresh_user())
    fill_gmail(workspace, ann)
    (work / "users.csv").write_text(
        "EmailAddress,UserName,TargetUserName,TargetPassword\n"
        f"{ann},{ann},{flow.target_user},{dovecot_target.password}\n", encoding="utf-8")
    out = flow.imsh("gmail", f"""
New-MigrationEndpoint -Gmail -ServiceAccountKeyFileData ([System.IO.File]::ReadAllBytes("key.json")) -EmailAddress {admin_user} -Name gmailEndpoint | Format-List Identity,EndpointType,RemoteServer,Port
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint gmailEndpoint -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
Get-MigrationUserStatistics {ann} | Format-List SyncedItemCount
""")  # noqa: E501
    assert "EndpointType : Gmail" in out, out
    assert f"Port         : {workspace.port}" in out, out
    assert "batch: Synced" in out, out
    assert "SyncedItemCount : 5" in out
    flow.wait_for_no_runner()
    assert subjects_by_folder(dovecot_target, flow.target_user) == ONE_COPY_LAYOUT
    subjects = {t.tenant for t in tokens.issued_to(SERVICE_ACCOUNT)}
    assert subjects == {admin_user, ann}  # verification as the admin, the sync as ann
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in flow.state.rglob("*")
                                          if p.is_file())


def last_success(flow: Flow, user: str) -> object:
    with flow.store() as store:
        return store.users.get(user).last_successful_sync_at


def workspace_flow(tmp_path: Path, tokens: TokenService, workspace: ImapServer,
                   target: ImapServer, user: str, account: str = SERVICE_ACCOUNT) -> Flow:
    work = tmp_path / "work"
    work.mkdir()
    (work / "key.json").write_bytes(google_service_account_key(tokens, account, DOMAIN))
    return Flow(tmp_path / "state", work, workspace, user, target, target.fresh_user())


def test_exchanges_gmail_csv_with_the_email_address_only_and_a_new_key_set_later(
    tmp_path: Path, tokens: TokenService, workspace: ImapServer,
    dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tokens.ca_file))
    admin_user, ann, second_admin = workspace.users[0], workspace.users[2], workspace.users[3]
    flow = workspace_flow(tmp_path, tokens, workspace, dovecot_target, ann)
    fill_gmail(workspace, ann)
    # Exchange's Google Workspace CSV: EmailAddress only; the default target (LocalMaildir)
    (flow.work / "users.csv").write_text(f"EmailAddress\n{ann}\n", encoding="utf-8")
    out = flow.imsh("gmail", f"""
New-MigrationEndpoint -Gmail -ServiceAccountKeyFileData ([System.IO.File]::ReadAllBytes("key.json")) -EmailAddress {admin_user} -Name gmailEndpoint -RemoteServer 127.0.0.1 -Port {workspace.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint gmailEndpoint -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
Get-MigrationUserStatistics {ann} | Format-List SyncedItemCount
""")  # noqa: E501
    assert "batch: Synced" in out, out
    assert "SyncedItemCount : 5" in out, out
    flow.wait_for_no_runner()
    assert {t.tenant for t in tokens.issued_to(SERVICE_ACCOUNT)} >= {admin_user, ann}

    # the key is replaced (and the admin changed): verified with the new key before it is kept
    (flow.work / "key2.json").write_bytes(google_service_account_key(tokens, SECOND_ACCOUNT,
                                                                     DOMAIN))
    out = flow.imsh("setkey", f"""
Set-MigrationEndpoint -Identity gmailEndpoint -ServiceAccountKeyFileData ([System.IO.File]::ReadAllBytes("key2.json")) -EmailAddress {second_admin}
Get-MigrationEndpoint gmailEndpoint | Format-List EndpointType
""")  # noqa: E501
    assert "EndpointType : Gmail" in out, out
    assert [t.tenant for t in tokens.issued_to(SECOND_ACCOUNT)] == [second_admin]
    before = last_success(flow, ann)
    flow.imsh("syncnow", "Set-MigrationBatch -Identity B1 -SyncNow\n")
    wait_for(lambda: last_success(flow, ann) != before, 60, "the pass with the new key")
    flow.wait_for_no_runner()  # that pass signed ann in with the new key
    assert {t.tenant for t in tokens.issued_to(SECOND_ACCOUNT)} == {second_admin, ann}
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in flow.state.rglob("*")
                                          if p.is_file())


def test_a_gmail_user_whose_token_the_server_refuses_fails_naming_domain_wide_delegation(
    tmp_path: Path, tokens: TokenService, workspace: ImapServer,
    dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Google grants the token (the address is in the delegated domain) but Gmail's IMAP
    # refuses it (IMAP off for the user, say): the introspection calls it inactive
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tokens.ca_file))
    ghost = workspace.users[4]  # this test's own user
    tokens.imap_refused.add(ghost)
    flow = workspace_flow(tmp_path, tokens, workspace, dovecot_target, ghost)
    (flow.work / "users.csv").write_text(f"EmailAddress\n{ghost}\n", encoding="utf-8")
    out = flow.imsh("gmail", f"""
New-MigrationEndpoint -Gmail -ServiceAccountKeyFileData ([System.IO.File]::ReadAllBytes("key.json")) -EmailAddress {workspace.users[0]} -Name gmailEndpoint -RemoteServer 127.0.0.1 -Port {workspace.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint gmailEndpoint -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
$b = Wait-MigrationBatch -Identity B1 -TimeoutSeconds 90 -ErrorAction SilentlyContinue
Get-MigrationUserStatistics -Identity {ghost} | ForEach-Object {{ Write-Output "status: $($_.Status) error: $($_.ErrorSummary)" }}
""")  # noqa: E501
    assert "status: Failed" in out, out
    flow.wait_for_no_runner()
    assert f"The service account '{SERVICE_ACCOUNT}' couldn't sign in to the mailbox " \
           f"'{ghost}'" in out, out
    assert "domain-wide delegation" in out and "https://mail.google.com/" in out, out
    assert "IMAP.AccessAsApp" not in out  # Exchange's advice is not Gmail's


def test_test_migration_server_availability_gmail_signs_in_with_the_service_account(
    tmp_path: Path, tokens: TokenService, workspace: ImapServer,
    dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exchange's -Gmail test before any endpoint exists: Success for a delegated key,
    Failed (an answer, not an error) for a key delegated for another domain."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tokens.ca_file))
    monkeypatch.setenv("IMSH_GMAIL_IMAP", f"127.0.0.1:{workspace.port}")
    monkeypatch.setenv("IMSH_GMAIL_IMAP_SECURITY", "None")
    admin_user = workspace.users[0]  # users[4] is refused by another test of this module

    def signed_in() -> int:
        return sum(1 for t in tokens.issued_to(SERVICE_ACCOUNT) if t.tenant == admin_user)
    before = signed_in()
    flow = workspace_flow(tmp_path, tokens, workspace, dovecot_target, admin_user)
    (flow.work / "other.json").write_bytes(google_service_account_key(
        tokens, "imsh-other@contoso-proj.iam.gserviceaccount.com", "fabrikam.test"))
    out = flow.imsh("availability", f"""
$r = Test-MigrationServerAvailability -Gmail -ServiceAccountKeyFileData ([System.IO.File]::ReadAllBytes("key.json")) -EmailAddress {admin_user}
Write-Output "good: $($r.Result)"
$r = Test-MigrationServerAvailability -Gmail -ServiceAccountKeyFileData ([System.IO.File]::ReadAllBytes("other.json")) -EmailAddress {admin_user}
Write-Output "other: $($r.Result) $($r.Message)"
""")  # noqa: E501
    assert "good: Success" in out, out
    assert "other: Failed " in out, out
    assert "PRIVATE KEY" not in out
    assert signed_in() > before  # a token was fetched for the user and used
