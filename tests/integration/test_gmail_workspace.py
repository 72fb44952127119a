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
from tests.integration.test_incremental_flow import Flow
from tests.support.gmail import fill_gmail, subjects_by_folder
from tests.support.servers import ImapServer
from tests.support.token_service import (
    TokenService,
    google_service_account_key,
    start_token_service,
)

pytestmark = [pytest.mark.servers, pytest.mark.slow]
SERVICE_ACCOUNT = "imsh-migration@contoso-proj.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def tokens() -> Iterator[TokenService]:
    service = start_token_service()
    yield service
    service.stop()
    shutil.rmtree(service.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def workspace(tokens: TokenService) -> ImapServer:
    return start_or_skip(lambda: start_oauth_dovecot(tokens, nusers=2,
                                                     extra_env={"SPECIAL_USE": "gmail"}))


def test_the_documented_gmail_endpoint_migrates_each_user_with_its_own_token(
    tmp_path: Path, tokens: TokenService, workspace: ImapServer,
    dovecot_target: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tokens.ca_file))
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
New-MigrationEndpoint -Gmail -ServiceAccountKeyFileData ([System.IO.File]::ReadAllBytes("key.json")) -EmailAddress {admin_user} -Name gmailEndpoint -RemoteServer 127.0.0.1 -Port {workspace.port} -Security None | Format-List Identity,EndpointType
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint gmailEndpoint -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
Get-MigrationUserStatistics {ann} | Format-List SyncedItemCount
""")  # noqa: E501
    assert "EndpointType : Gmail" in out, out
    assert "batch: Synced" in out, out
    assert "SyncedItemCount : 5" in out
    flow.wait_for_no_runner()
    assert subjects_by_folder(dovecot_target, flow.target_user) == ONE_COPY_LAYOUT
    subjects = {t.tenant for t in tokens.issued_to(SERVICE_ACCOUNT)}
    assert subjects == {admin_user, ann}  # verification as the admin, the sync as ann
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in flow.state.rglob("*")
                                          if p.is_file())
