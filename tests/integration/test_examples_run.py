"""The examples admins copy, run for real by the ``imsh`` console script against a throwaway
Dovecot (with TLS): README's "What an admin types" as written, and every Get-Help example of
the migration cmdlets, one after another in one state directory.

Only what must differ on this machine is replaced: the example host names become 127.0.0.1
with Dovecot's ports, ``/srv/`` becomes the work directory (where the example CSV files are
written), and ``$cred``/``$tenant``/``$app``/``$secret`` are defined first. An example may meet
a runtime refusal that follows from the ones before it (a batch already removed, an EWS server
that is not there); none may fail to parse, name an unknown cmdlet or parameter, miss a
mandatory parameter, or print a traceback. The examples that sign in to Microsoft Entra
(``-Authentication OAuth``) would need the Internet; they are left to the static check
(tests/shell/test_examples_check.py), as are the general-purpose cmdlets' examples.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cmdlets.catalog import MIGRATION_CMDLETS
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# errors that mean the example itself is wrong, whatever state it meets
WRONG_EXAMPLE = ("NamedParameterNotFound", "AmbiguousParameter", "MissingArgument",
                 "MissingMandatoryParameter", "CommandNotFoundException", "ParseException",
                 "ParameterBindingFailed", "ParameterArgumentTransformationError",
                 "ParameterArgumentValidationError", "PositionalParameterNotFound",
                 "InputObjectNotBound", "CannotConvertArgument", "InvalidArgument,")


def run_imsh(state: Path, work: Path, server: ImapServer, script: str
             ) -> subprocess.CompletedProcess[str]:
    path = work / "examples.imsh"
    path.write_text(script, encoding="utf-8")
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    env = {**os.environ, "SSL_CERT_FILE": str(server.cafile), "IMSH_HOME": "",
           "PYTHONPATH": str(ROOT),
           # Gmail's IMAP is this server (the -Gmail examples sign in nowhere else)
           "IMSH_GMAIL_IMAP": f"127.0.0.1:{server.port}", "IMSH_GMAIL_IMAP_SECURITY": "None"}
    env.pop("IMSH_SERVICE_SYNCER", None)
    return subprocess.run([*argv, "--state", str(state), str(path)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def service_account_key() -> bytes:
    """A Google service account key as the console downloads it, whose token_uri nothing
    answers: a -Gmail example runs and is told it could not sign in."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({"type": "service_account", "project_id": "imsh-example",
                       "private_key_id": "0" * 40, "private_key": pem,
                       "client_email": "migration@imsh-example.iam.gserviceaccount.com",
                       "client_id": "1" * 21, "token_uri": "https://127.0.0.1:9/token"}).encode()


def localised(code: str, server: ImapServer, work: Path) -> str:
    """The example with this machine's server and directories."""
    assert server.tls_port is not None
    code = re.sub(r"-Port 993\b", f"-Port {server.tls_port}", code)
    code = re.sub(r"-Port 143\b", f"-Port {server.port}", code)
    for host in ("imap.contoso.com", "imap.example.org"):
        code = code.replace(host, "127.0.0.1")
    code = code.replace("https://mail.contoso.com/", "https://127.0.0.1:9/")  # nothing listens
    return code.replace("/srv/", f"{work}/")


def readme_admin_block() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## What an admin types")
    block = text[text.index("```powershell", start) + len("```powershell"):]
    return block[:block.index("```")].strip()


def test_readme_admin_example_migrates_a_mailbox_and_exports_the_results(
        tmp_path: Path, dovecot_tls: ImapServer) -> None:
    work = tmp_path / "work"
    work.mkdir()
    user = dovecot_tls.fresh_user()
    (work / "wave1.csv").write_text(f"EmailAddress,UserName,Password\n{user}@contoso.com,"
                                    f"{user},{dovecot_tls.password}\n", encoding="utf-8")
    result = run_imsh(tmp_path / "state", work, dovecot_tls,
                      "$ErrorActionPreference = 'Stop'\n"
                      + localised(readme_admin_block(), dovecot_tls, work) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    with open(work / "wave1-results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["Identity"], r["Status"], r["Error"]) for r in rows] == [
        (f"{user}@contoso.com", "Synced", "")]
    assert int(rows[0]["SyncedItemCount"]) >= 0


_LAST = ("Stop-", "Complete-", "Remove-")  # after everything that needs what they end


def help_examples() -> list[tuple[str, str]]:
    """In the catalog's order, except that stopping, completing and removing come last."""
    examples = [(cls.name, example.code) for cls in MIGRATION_CMDLETS
                for example in cls.examples if "OAuth" not in example.code]
    return sorted(examples, key=lambda pair: next(
        (n + 1 for n, verb in enumerate(_LAST) if pair[1].startswith(verb)), 0))


# How far the runner got when an example comes is a race (a batch started seconds before may be
# Starting, Syncing, Synced or, after "Remove-MigrationBatch -Force", gone), so a refusal for the
# state of anything, or the existence of a batch or user, is this run's, whichever one it is;
# every other refusal (an endpoint no example creates, say) must be one of EXPECTED_REFUSALS.
def raced(category: str, error_id: str) -> bool:
    return category == "InvalidOperation" or error_id.startswith(
        ("BatchNotFound,", "MigrationUserNotFound,"))


def error_records(stderr: str) -> list[tuple[str, str]]:
    """(category, FullyQualifiedErrorId) of each error record PowerShell-style on stderr."""
    records, category = [], ""
    for line in stderr.splitlines():
        field = line.strip()
        if field.startswith("+ CategoryInfo"):
            category = field.split(":", 1)[1].strip().split(":", 1)[0].strip()
        elif field.startswith("+ FullyQualifiedErrorId"):
            records.append((category, field.split(":", 1)[1].strip()))
            category = ""
    return records


# The refusals the examples meet here, each for a reason of this run (what the examples
# before it did, or that it comes seconds after a start), not of the example: Exchange's own
# state rules, each with its error id.
EXPECTED_REFUSALS = {
    "ConnectionFailed,New-MigrationEndpoint",   # the EWS example: no Exchange at 127.0.0.1:9
    "EndpointNotFound,Set-MigrationEndpoint",   # ... so there is no endpoint "Exchange" to set
    "CsvUserInOtherBatch,New-MigrationBatch",   # IMAPBatch2 takes the users IMAPBatch1 has
    "BatchAlreadyExists,New-MigrationBatch",    # IMAPBatch1 after IMAPbatch1: one name
    "CannotSyncNow,Set-MigrationBatch",         # -SyncNow before the batch reached Synced
    "NoHeldDeletions,Set-MigrationUser",        # -ApproveDeletions with nothing held
    "UserCannotBeStopped,Stop-MigrationUser",   # laura has no pass to stop at that moment
    "CannotBeCompleted,Complete-MigrationBatch",  # Complete before Synced
    "CannotBeRemoved,Remove-MigrationBatch",    # removed while its users are being synced
    "EndpointInUse,Remove-MigrationEndpoint",   # IMAPEndpoint still has batches
    "MigrationUserNotFound,Remove-MigrationUser",  # TonySmith left with his batch
    # the retry example: no user has failed here, so $Failed is $null and -Users refuses it,
    # word for word as PowerShell does with Exchange's own example
    "ParameterArgumentValidationErrorNullNotAllowed,New-MigrationBatch",
    "MigrationUserNotFound,Get-MigrationUser",  # -MailboxGuid: the example's GUID is nobody's here
}


def test_every_migration_get_help_example_runs_as_a_command(
        tmp_path: Path, dovecot_tls: ImapServer) -> None:
    work = tmp_path / "work"
    work.mkdir()
    def csv_file(name: str, *addresses: str) -> None:
        rows = "".join(f"{a},{dovecot_tls.fresh_user()},{dovecot_tls.password}\n"
                       for a in addresses)
        (work / name).write_text("EmailAddress,UserName,Password\n" + rows, encoding="utf-8")

    # the addresses and files the examples name
    csv_file("IMAPmigration_1.csv", "TonySmith@contoso.com", "laura@contoso.com")
    csv_file("users.csv", "davidp@corp.contoso.com")
    csv_file("MigrationBatch01.csv", "kim@contoso.com")
    csv_file("b1.csv", "b1@contoso.com")
    csv_file("first.csv", "first@contoso.com")
    (work / "key.json").write_bytes(service_account_key())  # its token service: nobody
    lines = [
        "$ErrorActionPreference = 'Continue'",
        "$cred = New-Object System.Management.Automation.PSCredential('admin', "
        "(ConvertTo-SecureString 'adminpw' -AsPlainText -Force))",
        "$tenant = 'contoso.onmicrosoft.com'; $app = '00000000-0000-0000-0000-000000000000'",
        "$secret = ConvertTo-SecureString 'not-a-secret' -AsPlainText -Force",
        # the names the examples refer to, where no example before them creates them
        f"New-MigrationEndpoint -IMAP -Name IMAPEndpoint1 -RemoteServer 127.0.0.1 "
        f"-Port {dovecot_tls.port} -Security None | Out-Null",
        "New-MigrationBatch -Name MigrationBatch01 -SourceEndpoint IMAPEndpoint1 -CSVData "
        "(Get-Content first.csv -AsByteStream) | Out-Null",
        "New-MigrationBatch -Name B1 -SourceEndpoint IMAPEndpoint1 -CSVData "
        "(Get-Content b1.csv -AsByteStream) | Out-Null",
    ]
    examples = help_examples()
    for n, (name, code) in enumerate(examples):
        lines += [f"Write-Output '=== {n} {name}'", localised(code, dovecot_tls, work)]
    result = run_imsh(tmp_path / "state", work, dovecot_tls, "\n".join(lines) + "\n")
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    refusals = error_records(result.stderr)
    ids = [error_id for _category, error_id in refusals]
    assert [i for i in ids if any(w in i for w in WRONG_EXAMPLE)
            and i not in EXPECTED_REFUSALS] == [], result.stderr
    assert {error_id for category, error_id in refusals
            if not raced(category, error_id)} - EXPECTED_REFUSALS == set(), \
        result.stdout + result.stderr
    assert f"=== {len(examples) - 1} " in result.stdout  # every example was reached
    assert len(examples) >= 40
