# ruff: noqa: E501  (the script below keeps each cmdlet on one line, as an admin types it)
"""An EWS target end to end through the real ``imsh`` console script: ``New-MigrationEndpoint
-EWS ... -Credentials $cred`` (verified against the local EWS test double), a batch with
``-TargetEndpoint`` that endpoint, ``Start-MigrationBatch`` (the shell launches the detached
runner), ``Wait-MigrationBatch`` and the statistics with ``-IncludeSkippedItems``.

The source is a real Dovecot; the target is tests/support/ews_double, running in this test
process (never a real Exchange server). One message is refused by the double: it must show up
as a skipped item, and the batch still reaches Synced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import exchangelib
import pytest

from engine.paths import resolve_state_paths
from engine.store import Store
from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.ewsenv import EWS_ADMIN, EWS_ADMIN_PASSWORD, new_double
from tests.support.ews_double import EwsDoubleServer
from tests.support.ews_double.view import EXCHANGE_ONLY, AsExchangeStores, DoubleMailbox
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CORPUS = generate(64, 16, max_size=32 * 1024)
ADDRESS = "ann@contoso.com"
REFUSED = (b"From: a@example.org\r\nSubject: refused by Exchange\r\n"
           b"Message-ID: <refused-flow@example.org>\r\nX-Refuse-Me: yes\r\n\r\nbody\r\n")


@pytest.fixture
def ews() -> Iterator[EwsDoubleServer]:
    with EwsDoubleServer(new_double()) as running:
        running.double.add_mailbox(ADDRESS)
        running.double.reject_items_containing(b"X-Refuse-Me: yes")
        yield running
    exchangelib.close_connections()


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="imsh-ews-flow-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_imsh(work: Path, script: str) -> subprocess.CompletedProcess[str]:
    path = work / "flow.imsh"
    path.write_text(script, encoding="utf-8")
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_SERVICE_SYNCER", None)
    return subprocess.run([*argv, "--state", str(work / "state"), str(path)], cwd=work,
                          env=env, capture_output=True, text=True, timeout=180, check=False)


def wait_for_no_runner(state: Path) -> None:
    """The detached runner leaves once nothing is due; wait so it never outlives the test."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with Store.open(resolve_state_paths(state)) as store:
            if not store.leases.active(prefix="runner:"):
                return
        time.sleep(0.2)
    raise AssertionError("the detached runner did not exit")


def test_a_batch_into_an_ews_endpoint_through_imsh(dovecot: ImapServer, ews: EwsDoubleServer,
                                                   work: Path) -> None:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    client = dovecot.login(user)
    try:
        client.append("INBOX", REFUSED, ["\\Seen"])
    finally:
        client.logout()
    (work / "users.csv").write_text(f"EmailAddress,UserName,Password\n"
                                    f"{ADDRESS},{user},{dovecot.password}\n")
    result = run_imsh(work, f"""$ErrorActionPreference = 'Stop'
$cred = New-Object System.Management.Automation.PSCredential('{EWS_ADMIN}', (ConvertTo-SecureString '{EWS_ADMIN_PASSWORD}' -AsPlainText -Force))
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
$ep = New-MigrationEndpoint -EWS -Name Exchange -Url '{ews.url}' -Credentials $cred -Impersonation -Authentication Basic
Write-Output "endpoint: $($ep.EndpointType) $($ep.Url)"
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Exchange -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) | Out-Null
Start-MigrationBatch -Identity B1
$batch = Wait-MigrationBatch -Identity B1 -TimeoutSeconds 120
Write-Output "batch: $($batch.Status)"
$stats = Get-MigrationUserStatistics -Identity {ADDRESS} -IncludeSkippedItems
Write-Output "user: $($stats.Status) synced=$($stats.SyncedItemCount) skipped=$($stats.SkippedItemCount)"
$stats.SkippedItems | Format-List Kind, Subject, FolderName, Failure
""")
    try:
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    finally:
        wait_for_no_runner(work / "state")
    out = result.stdout
    assert f"endpoint: EWS {ews.url}" in out
    assert "batch: Synced" in out
    assert f"synced={len(CORPUS)} skipped=1" in out, out
    assert "refused by Exchange" in out and "ErrorItemSave" in out, out
    assert EWS_ADMIN_PASSWORD not in out + result.stderr

    assert ews.double.violations == []
    source = AsExchangeStores(ImapSource(ImapSpec(dovecot.host, dovecot.port, user,
                                                  dovecot.password)))
    try:
        report = compare(source, DoubleMailbox(ews.double, ADDRESS), by_special_use=True,
                         ignore_folders=EXCHANGE_ONLY)
    finally:
        source.close()
    assert report.folders_missing == report.folders_extra == []
    inbox = report.folder(("INBOX",))
    assert len(inbox.missing) == 1 and "refused-flow" in inbox.missing[0]
    assert report.differences == 1, report.format()
