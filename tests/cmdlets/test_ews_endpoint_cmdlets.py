"""New-/Set-MigrationEndpoint -EWS and Test-MigrationServerAvailability -Endpoint through the
real session, against the local EWS test double (https, self-signed: the endpoints accept
untrusted certificates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cmdlets.conftest import Shell, credential
from tests.engine.service.ews_fixtures import ADMIN, ADMIN_PASSWORD, contacted, ews_https, hosts
from tests.support.ews_double import EwsDoubleServer

__all__ = ["ews_https"]  # fixture

SECRET = "Cl1ent-S3cret~value"
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def state_bytes(shell: Shell) -> bytes:
    files = sorted(Path(shell.tmp / "state").rglob("*"))
    return b"".join(path.read_bytes() for path in files if path.is_file())


def new_ews(server: EwsDoubleServer, extra: str = "") -> str:
    return (f"New-MigrationEndpoint -EWS -Name Exchange -Url '{server.url}' -Credentials $c "
            f"-Impersonation -AcceptUntrustedCertificates {extra}")


def test_create_verifies_and_shows_the_endpoint(shell: Shell, ews_https: EwsDoubleServer) -> None:
    shell.ok(credential("c", ADMIN, ADMIN_PASSWORD))
    with contacted() as events:
        out = shell.ok(new_ews(ews_https, "-Authentication Basic"))
    assert "Exchange" in out and "EWS" in out
    assert hosts(events) == {"127.0.0.1"}
    listed = shell.ok("Get-MigrationEndpoint Exchange | Format-List *")
    assert f"Url                           : {ews_https.url}" in listed
    assert "Impersonation                 : True" in listed
    assert "Password                      : ********" in listed
    assert ADMIN_PASSWORD not in listed
    assert shell.ok("(Get-MigrationEndpoint -Type EWS).Identity").strip() == "Exchange"


def test_bad_credentials_print_exchanges_error_and_store_nothing(
        shell: Shell, ews_https: EwsDoubleServer) -> None:
    shell.ok(credential("c", ADMIN, "wrong-password"))
    _, err = shell.run(new_ews(ews_https))
    assert err.startswith("New-MigrationEndpoint : ") and "(401) Unauthorized" in err
    assert "Traceback" not in err and "wrong-password" not in err
    assert shell.ok("(Get-MigrationEndpoint).Identity").split() == ["LocalMaildir"]


def test_skip_verification_sends_nothing(shell: Shell, ews_https: EwsDoubleServer) -> None:
    shell.ok(credential("c", ADMIN, "wrong-password"))
    since = len(ews_https.double.requests)
    with contacted() as events:
        shell.ok(new_ews(ews_https, "-SkipVerification"))
    assert ews_https.double.requests[since:] == [] and events == []
    result = shell.ok("Test-MigrationServerAvailability -Endpoint Exchange")
    assert "Failed" in result and "(401) Unauthorized" in result

    shell.ok(credential("c", ADMIN, ADMIN_PASSWORD))
    shell.ok("Set-MigrationEndpoint Exchange -Credentials $c")
    result = shell.ok("Test-MigrationServerAvailability -Endpoint Exchange")
    assert "Result      : Success" in result


def test_oauth_client_secret_is_sealed_and_masked(shell: Shell) -> None:
    shell.ok(f"$s = ConvertTo-SecureString '{SECRET}' -AsPlainText -Force")
    shell.ok("New-MigrationEndpoint -EWS -Name Online -Url "
             "https://outlook.office365.com/EWS/Exchange.asmx -Authentication OAuth "
             "-TenantId contoso.onmicrosoft.com -ClientId app-1234 -ClientSecret $s "
             "-Impersonation -SkipVerification -WarningAction SilentlyContinue")  # retirement
    listed = shell.ok("Get-MigrationEndpoint Online | Format-List *")
    assert "ClientId                      : app-1234" in listed
    assert "TenantId                      : contoso.onmicrosoft.com" in listed
    assert "ClientSecret                  : ********" in listed
    outputs = listed + shell.ok("Get-MigrationEndpoint Online | ConvertTo-Json")
    assert SECRET not in outputs
    assert SECRET.encode() not in state_bytes(shell)


@pytest.mark.parametrize(("line", "expected"), [
    ("New-MigrationEndpoint -EWS -Name X -Url https://mail.contoso.com/EWS/Exchange.asmx "
     "-SkipVerification", "needs -Credentials"),
    ("New-MigrationEndpoint -EWS -Name X -Url mail.contoso.com -Credentials $c",
     "must be an http:// or https:// address"),
    ("New-MigrationEndpoint -EWS -Name X -Url https://mail.contoso.com/EWS/Exchange.asmx "
     "-Authentication OAuth -ClientId app -SkipVerification", "needs -TenantId, -ClientSecret"),
    ("New-MigrationEndpoint -EWS -Name X -Url https://mail.contoso.com/EWS/Exchange.asmx "
     "-Credentials $c -Authentication Digest -SkipVerification", "is not supported by imsh"),
    ("Set-MigrationEndpoint LocalMaildir -Url https://mail.contoso.com/EWS/Exchange.asmx",
     "apply to EWS endpoints only"),
])
def test_invalid_ews_parameters_are_clear_errors(shell: Shell, line: str, expected: str) -> None:
    shell.ok(credential("c", ADMIN, ADMIN_PASSWORD))
    _, err = shell.run(line)
    assert expected in err and "Traceback" not in err, err
