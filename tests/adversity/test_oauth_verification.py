"""Endpoint verification logs in the way the sync will, through the real ``imsh``.

An IMAP target endpoint's -Credentials are an administrator's acting for each mailbox (a
Dovecot master user, a Cyrus admin with SASL authzid), and an OAuth endpoint's app signs in to
each mailbox with XOAUTH2. Before, verification logged in as the bare administrator, which a
Dovecot master user cannot do: ``New-MigrationEndpoint -IMAP ... -Credentials $admin`` failed
unless ``-SkipVerification``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.oauth_support import add_domain_users
from tests.adversity.test_oauth_exchange_online import (
    SECRET,
    Admin,
    admin,  # noqa: F401  (fixture)
    exo,  # noqa: F401  (fixture)
    new_app,
    oauth_endpoint,
    tokens,  # noqa: F401  (fixture)
)
from tests.support.servers import ImapServer
from tests.support.token_service import TokenService

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def admin_target(server: ImapServer, name: str, password: str, extra: str = "") -> str:
    return (f"$c = New-Object System.Management.Automation.PSCredential('admin', "
            f"(ConvertTo-SecureString '{password}' -AsPlainText -Force))\n"
            f"New-MigrationEndpoint -IMAP -Name {name} -RemoteServer 127.0.0.1 "
            f"-Port {server.port} -Security None -Credentials $c {extra}")


def test_master_user_target_is_created_without_skip_verification(
    admin: Admin, dovecot_target: ImapServer  # noqa: F811
) -> None:
    out = admin.imsh(admin_target(dovecot_target, "Target", "adminpw") + " | Out-Null\n"
                     "Write-Output \"count: $(@(Get-MigrationEndpoint -Type IMAP).Count)\"")
    assert "count: 1" in out, out
    assert "WARNING: Only the connection, TLS and the offered mechanisms" in out, out
    assert "AUTH=PLAIN" in out


def test_test_mailbox_verifies_the_proxy_login_and_refuses_a_wrong_admin_password(
    admin: Admin, dovecot_target: ImapServer  # noqa: F811
) -> None:
    user = dovecot_target.fresh_user()
    wrong = admin.imsh(admin_target(dovecot_target, "Bad", "not-adminpw", f"-TestMailbox {user}"),
                       ok=False)
    assert "We had trouble signing in to this account" in wrong, wrong
    out = admin.imsh(admin_target(dovecot_target, "Good", "adminpw", f"-TestMailbox {user}")
                     + " | Out-Null\n"
                     f"$r = Test-MigrationServerAvailability -Endpoint Good -TestMailbox {user}\n"
                     "Write-Output \"result: $($r.Result) $($r.ConnectionSettings)\"\n"
                     "Write-Output \"names: $((Get-MigrationEndpoint).Identity -join ',')\"")
    # Warning only because the test server is not encrypted (Security None)
    assert f"result: Warning IMAP 127.0.0.1:{dovecot_target.port}" in out, out
    assert f"TestMailbox={user}" in out
    assert "names: Good" in out and "Bad" not in out.split("names:")[1]
    assert "WARNING" not in out


def test_oauth_endpoint_verification_signs_in_to_the_test_mailbox(
    admin: Admin, tokens: TokenService, exo: ImapServer  # noqa: F811
) -> None:
    client_id = new_app(tokens)
    mailbox = add_domain_users(exo, 1)[0]
    # a mailbox outside the tenant: the token is good, the sign-in is refused
    refused = admin.imsh(oauth_endpoint("EXO", exo, tokens, client_id,
                                        extra="-TestMailbox someone@fabrikam.test"), ok=False)
    assert f"The application '{client_id}' couldn't sign in to the mailbox " \
           "'someone@fabrikam.test'" in refused, refused
    assert "OAuthTokenRefused,New-MigrationEndpoint" in refused
    out = admin.imsh(oauth_endpoint("EXO", exo, tokens, client_id,
                                    extra=f"-TestMailbox {mailbox}") + " | Out-Null\n"
                     f"$r = Test-MigrationServerAvailability -Endpoint EXO -TestMailbox {mailbox}\n"
                     "Write-Output \"result: $($r.Result) $($r.ConnectionSettings)\"\n"
                     "$r = Test-MigrationServerAvailability -Endpoint EXO\n"
                     "Write-Output \"bare: $($r.Result): $($r.Message)\"")
    # Warning only because the test server is not encrypted (Security None)
    assert "result: Warning" in out and "Authentication=OAuth" in out, out
    assert "bare: Warning: The connection to the server '127.0.0.1' is not encrypted" in out
    assert "The application got a token and the server offers XOAUTH2; no mailbox was " \
           "signed in to." in out
    assert SECRET not in out


def test_wrong_client_secret_is_refused_at_creation_with_the_identity_platform_reason(
    admin: Admin, tokens: TokenService, exo: ImapServer, tmp_path: Path  # noqa: F811
) -> None:
    client_id = new_app(tokens)
    out = admin.imsh(oauth_endpoint("EXO", exo, tokens, client_id, secret="not-the-secret"),
                     ok=False)
    assert f"The application '{client_id}' couldn't sign in to the tenant" in out, out
    assert "AADSTS7000215" in out and "Trace ID" not in out
    assert "Traceback" not in out
    listed = admin.imsh("Write-Output \"n: $(@(Get-MigrationEndpoint -Type IMAP).Count)\"")
    assert "n: 0" in listed


def test_an_ews_endpoint_in_exchange_online_warns_of_its_retirement(
    admin: Admin,  # noqa: F811
) -> None:
    out = admin.imsh(
        "New-MigrationEndpoint -EWS -Name Online -Url "
        "https://outlook.office365.com/EWS/Exchange.asmx -Authentication OAuth -TenantId t "
        "-ClientId c -ClientSecret (ConvertTo-SecureString 'x' -AsPlainText -Force) "
        "-SkipVerification | Out-Null\n"
        "New-MigrationEndpoint -EWS -Name OnPrem -Url https://mail.contoso.com/EWS/Exchange.asmx "
        "-Authentication OAuth -TenantId t -ClientId c -ClientSecret "
        "(ConvertTo-SecureString 'x' -AsPlainText -Force) -SkipVerification | Out-Null\n")
    assert out.count("WARNING: This EWS endpoint is in Exchange Online") == 1, out
    assert "1 April 2027" in out and "-Authentication OAuth" in out


def test_a_rotated_client_secret_is_set_verified_and_used(
    admin: Admin, tokens: TokenService, exo: ImapServer  # noqa: F811
) -> None:
    client_id = new_app(tokens)
    mailbox = add_domain_users(exo, 1)[0]
    admin.imsh(oauth_endpoint("EXO", exo, tokens, client_id, extra=f"-TestMailbox {mailbox}"))
    tokens.apps[client_id].secret = "the-new-secret-value"  # the old one expired
    stale = admin.imsh(f"$r = Test-MigrationServerAvailability -Endpoint EXO -TestMailbox "
                       f"{mailbox}\nWrite-Output \"$($r.Result): $($r.Message)\"")
    assert "Failed: The application" in stale and "AADSTS7000215" in stale, stale
    out = admin.imsh(
        "Set-MigrationEndpoint -Identity EXO -ClientSecret (ConvertTo-SecureString "
        f"'the-new-secret-value' -AsPlainText -Force) -TestMailbox {mailbox}\n"
        f"$r = Test-MigrationServerAvailability -Endpoint EXO -TestMailbox {mailbox}\n"
        "Write-Output \"now: $($r.Result)\"")
    assert "now: Warning" in out and "AADSTS" not in out, out  # Warning: plain test server
    assert "the-new-secret-value" not in out


@pytest.mark.parametrize(("missing", "flags"), [
    ("-ClientId", "-TenantId t -ClientSecret (ConvertTo-SecureString 'x' -AsPlainText -Force)"),
    ("-TenantId", "-ClientId c -CertificateFile nowhere.pem"),
])
def test_an_incomplete_imap_oauth_endpoint_is_refused_with_its_own_error_id(
    admin: Admin, missing: str, flags: str  # noqa: F811
) -> None:
    # before, IMAP reused the EWS endpoint's id (EwsOAuthIncomplete)
    if "CertificateFile" in flags:
        flags = flags.replace("nowhere.pem", str(write_certificate(admin.work)))
    out = admin.imsh("New-MigrationEndpoint -IMAP -Name EXO -RemoteServer 127.0.0.1 -Port 1 "
                     f"-Security None -Authentication OAuth {flags} -SkipVerification",
                     ok=False)
    assert f"-Authentication OAuth needs {missing}." in out, out
    assert "FullyQualifiedErrorId : ImapOAuthIncomplete,New-MigrationEndpoint" in out, out
    assert "Ews" not in out


def write_certificate(work: Path) -> Path:
    from tests.support.token_service import client_certificate

    certificate, key = client_certificate()
    pem = work / "app.pem"
    pem.write_bytes(key + certificate)
    return pem
