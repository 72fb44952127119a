"""-GmailLabelPolicy on New-/Set-MigrationBatch (engine/sync/gmail_labels.py, docs/gmail.md)."""

from __future__ import annotations

from engine.sync.gmail_labels import POLICY_KEY
from tests.cmdlets.conftest import Shell
from tests.cmdlets.test_exchange_parameters import open_store

NEW = ('New-MigrationBatch -Name {name} -SourceEndpoint Src -CSVData '
       '([System.IO.File]::ReadAllBytes("{csv}")) {extra}')


def new_batch(shell: Shell, name: str, extra: str) -> tuple[str, str]:
    return shell.run(NEW.format(name=name, csv=shell.tmp / "users.csv", extra=extra))


def test_the_admin_picks_every_label_per_batch_and_can_change_it(shell: Shell) -> None:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    _, err = new_batch(shell, "G1", "-GmailLabelPolicy everylabel")
    assert err == ""
    with open_store(shell) as store:
        assert store.batches.get("G1").extra[POLICY_KEY] == "EveryLabel"
    shell.ok("Set-MigrationBatch G1 -GmailLabelPolicy OneCopy")
    with open_store(shell) as store:
        assert store.batches.get("G1").extra[POLICY_KEY] == "OneCopy"


def test_an_unknown_label_policy_is_refused_and_no_batch_is_made(shell: Shell) -> None:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    _, err = new_batch(shell, "G2", "-GmailLabelPolicy AllOfThem")
    assert "does not belong to the set" in err and "OneCopy,EveryLabel" in err
    assert "Traceback" not in err
    with open_store(shell) as store:
        assert store.batches.find("G2") is None
