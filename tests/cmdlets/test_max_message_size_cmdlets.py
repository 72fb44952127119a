"""-MaxMessageSize on IMAP endpoints through the real session (no server: -SkipVerification).

The limit an IMAP target applies: 35 MB by default (Exchange Online's), up to 150 MB when the
tenant raised its mailboxes' limit; shown as Exchange shows a ByteQuantifiedSize.
"""

from __future__ import annotations

from tests.cmdlets.conftest import Shell, credential

NEW = ("New-MigrationEndpoint -IMAP -Name EXO -RemoteServer 127.0.0.1 -Port 1 -Security None "
       "-Credentials $c -SkipVerification")


def limit(shell: Shell) -> str:
    return shell.ok("(Get-MigrationEndpoint EXO).MaxMessageSize").strip()


def test_the_default_is_shown_and_the_tenants_raised_limit_is_taken_in_any_spelling(
        shell: Shell) -> None:
    shell.ok(credential("c", "admin", "adminpw"))
    shell.ok(NEW + " | Out-Null")
    assert limit(shell) == "35 MB (36,700,160 bytes)"
    for given, shown in (("150MB", "150 MB (157,286,400 bytes)"),
                         ("'40 MB'", "40 MB (41,943,040 bytes)"),
                         ("'35 MB (36,700,160 bytes)'", "35 MB (36,700,160 bytes)"),
                         ("65536", "64 KB (65,536 bytes)")):
        shell.ok(f"Set-MigrationEndpoint -Identity EXO -MaxMessageSize {given}")
        assert limit(shell) == shown, given
    shell.ok("Set-MigrationEndpoint -Identity EXO -MaxConcurrentMigrations 50")
    assert limit(shell) == "64 KB (65,536 bytes)"  # other changes leave it alone
    shell.ok("Set-MigrationEndpoint -Identity EXO -MaxMessageSize $null")
    assert limit(shell) == "35 MB (36,700,160 bytes)"


def test_a_size_exchange_online_cannot_take_or_cannot_read_is_refused_and_nothing_changes(
        shell: Shell) -> None:
    shell.ok(credential("c", "admin", "adminpw"))
    shell.ok(NEW + " -MaxMessageSize 100MB | Out-Null")
    for given, words in (("200MB", "from 1 byte to 150 MB"), ("0", "from 1 byte to 150 MB"),
                         ("'lots'", "Cannot convert 'lots' to a size"),
                         ("'10 MB of mail'", "Cannot convert '10 MB of mail'")):
        _, err = shell.run(f"Set-MigrationEndpoint -Identity EXO -MaxMessageSize {given}")
        assert words in err and "MaxMessageSize,Set-MigrationEndpoint" in err, (given, err)
        assert "Traceback" not in err
    assert limit(shell) == "100 MB (104,857,600 bytes)"
    _, err = shell.run("New-MigrationEndpoint -Maildir -Name M -Path ./m -MaxMessageSize 1MB")
    assert "-MaxMessageSize applies to IMAP endpoints only." in err
    assert sorted(shell.ok("(Get-MigrationEndpoint).Identity").split()) == ["EXO", "LocalMaildir"]
