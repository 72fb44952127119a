"""New-MigrationEndpoint -Gmail at the prompt: what it refuses and what it shows
(engine/gmail_endpoint.py; end to end: tests/integration/test_gmail_workspace.py)."""

from __future__ import annotations

import json

from engine.gmail_oauth import GMAIL_IMAP_HOST
from tests.cmdlets.conftest import Shell
from tests.cmdlets.test_exchange_parameters import open_store
from tests.support.token_service import client_certificate

KEY = json.dumps({"type": "service_account", "client_email": "m@p.iam.gserviceaccount.com",
                  "private_key": client_certificate()[1].decode(),
                  "token_uri": "https://127.0.0.1:9/google/token"})


def gmail(shell: Shell, key: str, extra: str = "-SkipVerification") -> tuple[str, str]:
    (shell.tmp / "key.json").write_text(key, encoding="utf-8")
    return shell.run(f'New-MigrationEndpoint -Gmail -Name G -ServiceAccountKeyFileData '
                     f'([System.IO.File]::ReadAllBytes("{shell.tmp / "key.json"}")) '
                     f'-EmailAddress admin@contoso.com {extra}')


def test_a_gmail_endpoint_shows_gmail_and_never_its_key(shell: Shell) -> None:
    out, err = gmail(shell, KEY)
    assert err == ""
    listed = shell.ok("Get-MigrationEndpoint G | Format-List EndpointType,RemoteServer,Port,"
                      "UserName")
    assert "EndpointType : Gmail" in listed and f"RemoteServer : {GMAIL_IMAP_HOST}" in listed
    assert "Port         : 993" in listed
    assert "PRIVATE KEY" not in out + listed
    with open_store(shell) as store:
        assert store.endpoints.get("G").password is not None  # sealed (engine/secrets.py)


def test_a_file_that_is_not_a_service_account_key_is_refused_without_a_traceback(
    shell: Shell
) -> None:
    _, err = gmail(shell, '{"type": "authorized_user"}')
    assert "service account's JSON key" in err and "Traceback" not in err
    with open_store(shell) as store:
        assert store.endpoints.find("G") is None


def test_a_gmail_endpoint_cannot_be_a_batch_target(shell: Shell) -> None:
    gmail(shell, KEY)
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    _, err = shell.run(f'New-MigrationBatch -Name B -SourceEndpoint Src -TargetEndpoint G '
                       f'-CSVData ([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}"))')
    assert "it can only be a source" in err


def test_gmail_without_its_key_says_what_is_missing(shell: Shell) -> None:
    _, err = shell.run("New-MigrationEndpoint -Gmail -Name G")
    assert "needs -ServiceAccountKeyFileData" in err and "Traceback" not in err


def test_set_migration_endpoint_replaces_a_gmail_key_and_refuses_it_elsewhere(
    shell: Shell
) -> None:
    gmail(shell, KEY)
    with open_store(shell) as store:
        before = store.endpoints.get("G").password
    other = json.dumps({**json.loads(KEY), "client_email": "n@p.iam.gserviceaccount.com"})
    (shell.tmp / "key2.json").write_text(other, encoding="utf-8")
    shell.ok(f'Set-MigrationEndpoint -Identity G -ServiceAccountKeyFileData '
             f'([System.IO.File]::ReadAllBytes("{shell.tmp / "key2.json"}")) '
             '-EmailAddress boss@contoso.com -SkipVerification')
    with open_store(shell) as store:
        row = store.endpoints.get("G")
    assert row.username == "boss@contoso.com"
    assert row.password is not None and before is not None
    assert "n@p.iam" in row.password.reveal() and "n@p.iam" not in before.reveal()
    (shell.tmp / "bad.json").write_text('{"type": "authorized_user"}', encoding="utf-8")
    _, err = shell.run(f'Set-MigrationEndpoint -Identity G -ServiceAccountKeyFileData '
                       f'([System.IO.File]::ReadAllBytes("{shell.tmp / "bad.json"}")) '
                       '-SkipVerification')
    assert "service account's JSON key" in err and "Traceback" not in err
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    _, err = shell.run("Set-MigrationEndpoint -Identity Src -EmailAddress a@contoso.com "
                       "-SkipVerification")
    assert "apply to Gmail endpoints only" in err and "Traceback" not in err
