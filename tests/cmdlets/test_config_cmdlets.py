"""Get-/Set-MigrationConfig through the real session, including the SMTP settings."""

from __future__ import annotations

import json

from engine.model import IMAPSecurityMechanism
from engine.notify.settings import SmtpSettings
from engine.paths import resolve_state_paths
from engine.secrets import Credential, Secret
from engine.store import Store
from tests.cmdlets.conftest import Shell

PASSWORD = "M4iler-Secr3t"
CREDENTIAL = ("$cred = New-Object System.Management.Automation.PSCredential('mailer', "
              f"(ConvertTo-SecureString '{PASSWORD}' -AsPlainText -Force))")
SET_ALL = ("Set-MigrationConfig -SmtpServer smtp.contoso.com -SmtpPort 587 -SmtpSecurity tls "
           "-SmtpCredentials $cred -SmtpFrom migration@contoso.com")


def state_bytes(shell: Shell) -> bytes:
    files = sorted((shell.tmp / "state").rglob("*"))
    return b"".join(path.read_bytes() for path in files if path.is_file())


def stored_settings(shell: Shell) -> SmtpSettings | None:
    with Store.open(resolve_state_paths(shell.tmp / "state")) as store:
        return SmtpSettings.from_config(store.config)


def test_smtp_settings_are_stored_sealed_and_shown_without_the_password(shell: Shell) -> None:
    shell.ok(CREDENTIAL)
    shell.ok(SET_ALL)

    assert stored_settings(shell) == SmtpSettings(
        server="smtp.contoso.com", port=587, security=IMAPSecurityMechanism.Tls,
        credentials=Credential("mailer", Secret(PASSWORD)), sender="migration@contoso.com")
    listed = shell.ok("Get-MigrationConfig | Format-List *")
    shown = dict(line.split(" : ", 1) for line in listed.strip().splitlines())
    assert {k.strip(): v for k, v in shown.items() if k.startswith("Smtp")} == {
        "SmtpServer": "smtp.contoso.com", "SmtpPort": "587", "SmtpSecurity": "Tls",
        "SmtpCredentials": "mailer", "SmtpFrom": "migration@contoso.com"}
    as_json = json.loads(shell.ok("Get-MigrationConfig | ConvertTo-Json"))
    assert as_json["SmtpCredentials"] == "mailer"
    outputs = listed + json.dumps(as_json) + shell.ok("Get-MigrationConfig | ConvertTo-Csv")
    assert PASSWORD not in outputs
    assert PASSWORD.encode() not in state_bytes(shell)


def test_one_parameter_leaves_the_others_and_empty_values_remove(shell: Shell) -> None:
    shell.ok(CREDENTIAL)
    shell.ok(SET_ALL)
    shell.ok("Set-MigrationConfig -SmtpSecurity Ssl")
    assert shell.ok("(Get-MigrationConfig).SmtpServer").strip() == "smtp.contoso.com"
    shell.ok("Set-MigrationConfig -SmtpCredentials $null")
    assert shell.ok("(Get-MigrationConfig).SmtpCredentials").strip() == ""
    shell.ok("Set-MigrationConfig -SmtpServer ''")
    assert stored_settings(shell) is None


def test_invalid_smtp_values_are_refused_without_a_traceback(shell: Shell) -> None:
    shell.ok("Set-MigrationConfig -SmtpServer smtp.contoso.com")
    cases = {
        "Set-MigrationConfig -SmtpPort 70000":
            'The port number "70000" isn\'t valid. Enter a number from 1 through 65535.',
        "Set-MigrationConfig -SmtpFrom nobody":
            'The SMTP From address "nobody" isn\'t valid.',
        "Set-MigrationConfig -SmtpSecurity StartTls": "StartTls",
        "Set-MigrationConfig -SmtpServer 'smtp contoso com' -SmtpPort 25":
            'The SMTP server "smtp contoso com" isn\'t valid.',
        "Set-MigrationConfig -SmtpCredentials 'mailer'": "SmtpCredentials",
    }
    for line, expected in cases.items():
        _, err = shell.run(line)
        assert err.startswith("Set-MigrationConfig : ") and expected in err, (line, err)
        assert "Traceback" not in err
    assert stored_settings(shell) == SmtpSettings(server="smtp.contoso.com")


def test_help_lists_the_smtp_parameters(shell: Shell) -> None:
    out = shell.ok("Get-Help Set-MigrationConfig -Full")
    assert all(f"-Smtp{name}" in out for name in ("Server", "Port", "Security", "Credentials",
                                                    "From"))
