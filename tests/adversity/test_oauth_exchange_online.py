"""Exchange Online over IMAP with OAuth 2.0, through the real ``imsh`` console script.

The stand-ins: Dovecot with its ``oauth2`` passdb (tokens checked by introspection) plays
outlook.office365.com, and tests/support/token_service.py plays the Microsoft identity platform
(msal talks to it unmodified; only the endpoint's -Authority points at it). Each test is one
thing that happens to an admin moving mailboxes into (or out of) Exchange Online.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.store import Store
from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import ImapParams, generate, load_imap
from tests.adversity.oauth_exo_proxy import ExoProxy
from tests.adversity.oauth_support import (
    DOMAIN,
    TENANT,
    add_domain_users,
    start_oauth_dovecot,
    start_oauth_smtp,
)
from tests.conftest import start_or_skip
from tests.support.servers import ImapServer
from tests.support.token_service import TokenService, client_certificate, start_token_service

pytestmark = [pytest.mark.servers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Qx8~app-secret-value.Never-Shown"


@pytest.fixture(scope="module")
def tokens() -> Iterator[TokenService]:
    service = start_token_service()
    yield service
    service.stop()
    shutil.rmtree(service.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def exo(tokens: TokenService) -> ImapServer:
    """The "Exchange Online" stand-in: Dovecot accepting the token service's tokens."""
    return start_or_skip(lambda: start_oauth_dovecot(tokens, nusers=1))


_apps = iter(range(1, 10_000))


def new_app(tokens: TokenService, **kwargs: object) -> str:
    client_id = f"5c3a{next(_apps):04d}-app"
    tokens.register(TENANT, client_id, DOMAIN, secret=SECRET, **kwargs)  # type: ignore[arg-type]
    return client_id


@dataclass
class Admin:
    """A state directory and a work directory; runs .imsh scripts through the real imsh."""

    state: Path
    work: Path
    tokens: TokenService

    def imsh(self, script: str, *, ok: bool = True) -> str:
        path = self.work / "run.imsh"
        path.write_text(script, encoding="utf-8")
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        # the test CA: requests (msal) and OpenSSL's default paths (SMTP STARTTLS) trust it
        env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT),
               "REQUESTS_CA_BUNDLE": str(self.tokens.ca_file),
               "SSL_CERT_FILE": str(self.tokens.ca_file)}
        env.pop("IMSH_SERVICE_SYNCER", None)
        result = subprocess.run([*argv, "--state", str(self.state), str(path)], cwd=self.work,
                                env=env, capture_output=True, text=True, timeout=180,
                                check=False)
        output = result.stdout + result.stderr
        if ok:
            assert result.returncode == 0, output
        return output

    def store(self) -> Store:
        return Store.open(resolve_state_paths(self.state))

    def wait_for_no_runner(self) -> None:
        def no_runner() -> bool:
            with self.store() as store:
                return not store.leases.active(prefix="runner:")
        wait_for(no_runner, 60, "the runner to exit")

    def statuses(self) -> dict[str, tuple[str, str | None]]:
        with self.store() as store:
            return {u.email_address: (u.status, u.error) for u in store.users.list()}

    def secret_files(self) -> list[Path]:
        return [p for p in self.state.rglob("*") if p.is_file()]


@pytest.fixture
def admin(tmp_path: Path, tokens: TokenService) -> Admin:
    work = tmp_path / "work"
    work.mkdir()
    return Admin(tmp_path / "state", work, tokens)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def oauth_endpoint(name: str, server: ImapServer, tokens: TokenService, client_id: str, *,
                   secret: str = SECRET, extra: str = "") -> str:
    return (f"New-MigrationEndpoint -IMAP -Name {name} -RemoteServer 127.0.0.1 "
            f"-Port {server.port} -Security None -Authentication OAuth -TenantId {TENANT} "
            f"-ClientId {client_id} -ClientSecret (ConvertTo-SecureString '{secret}' "
            f"-AsPlainText -Force) -Authority {tokens.authority} {extra}")


def identical(a: ImapSpec, b: ImapSpec) -> str | None:
    left, right = ImapSource(a), ImapSource(b)
    try:
        report = compare(left, right)
    finally:
        left.close()
        right.close()
    return None if report.identical else report.format()


def load(server: ImapServer, user: str, seed: int, count: int) -> None:
    load_imap(ImapParams(server.host, server.port, user, server.password),
              generate(seed, count, max_size=16 * 1024))


def no_secret_in_clear(admin: Admin, output: str) -> None:
    """Neither the client secret nor any token issued is in the output or the state dir."""
    issued = [t.token for t in admin.tokens.issued if t.token]
    assert SECRET not in output
    for path in admin.secret_files():
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        for token in issued:
            assert token.encode() not in data, path


def test_migration_into_exchange_online_over_oauth_is_identical_with_one_token(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot: ImapServer
) -> None:
    client_id = new_app(tokens)
    targets = add_domain_users(exo, 3)
    sources = [dovecot.fresh_user() for _ in targets]
    for seed, user in enumerate(sources, start=71):
        load(dovecot, user, seed, 40)
    csv = admin.work / "users.csv"
    csv.write_text("EmailAddress,UserName,Password\n" + "".join(
        f"{t},{s},{dovecot.password}\n" for t, s in zip(targets, sources, strict=True)))
    out = admin.imsh(f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
{oauth_endpoint("EXO", exo, tokens, client_id, extra=f"-TestMailbox {targets[0]}")} | Format-List Authentication,ClientId,ClientSecret,Authority
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 120).Status)"
""")  # noqa: E501
    assert "initial: Synced" in out, out
    assert "OAuth" in out and client_id in out and "********" in out
    admin.wait_for_no_runner()
    for source, target in zip(sources, targets, strict=True):
        difference = identical(ImapSpec(dovecot.host, dovecot.port, source, dovecot.password),
                               ImapSpec(exo.host, exo.port, target, exo.password))
        assert difference is None, difference
    # one token per process and lifetime, not one per connection: the shell's verification
    # asked for one, the runner for one; the target was logged in to many more times
    issued = tokens.issued_to(client_id)
    logins = sum(1 for jti, active in tokens.introspected
                 if active and jti in {t.jti for t in issued})
    assert len(issued) == 2, issued
    assert logins >= 2 * len(targets), logins
    no_secret_in_clear(admin, out)


def test_source_in_exchange_online_migrates_over_oauth(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot_target: ImapServer
) -> None:
    client_id = new_app(tokens)
    source = add_domain_users(exo, 1)[0]
    load(exo, source, 83, 50)
    target = dovecot_target.fresh_user()
    csv = admin.work / "users.csv"
    # no Password column: the source signs in with the app's token as the UserName
    csv.write_text("EmailAddress,UserName,TargetUserName,TargetPassword\n"
                   f"ann@fabrikam.test,{source},{target},{dovecot_target.password}\n")
    out = admin.imsh(f"""$ErrorActionPreference = 'Stop'
{oauth_endpoint("EXO", exo, tokens, client_id)} | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint EXO -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 120).Status)"
""")  # noqa: E501
    assert "initial: Synced" in out, out
    admin.wait_for_no_runner()
    difference = identical(ImapSpec(exo.host, exo.port, source, exo.password),
                           ImapSpec(dovecot_target.host, dovecot_target.port, target,
                                    dovecot_target.password))
    assert difference is None, difference
    no_secret_in_clear(admin, out)


def migrate_into_exo(admin: Admin, tokens: TokenService, exo: ImapServer, source: ImapServer,
                     client_id: str, count: int, messages: int, *, limit: int = 20,
                     wait: str = "Synced") -> tuple[list[str], list[str], str]:
    targets = add_domain_users(exo, count)
    sources = [source.fresh_user() for _ in targets]
    for seed, user in enumerate(sources, start=101):
        load(source, user, seed, messages)
    csv = admin.work / "users.csv"
    csv.write_text("EmailAddress,UserName,Password\n" + "".join(
        f"{t},{s},{source.password}\n" for t, s in zip(targets, sources, strict=True)))
    out = admin.imsh(f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {source.port} -Security None | Out-Null
{oauth_endpoint("EXO", exo, tokens, client_id, extra=f"-MaxConcurrentMigrations {limit} -MaxConcurrentIncrementalSyncs {limit}")} | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status {wait} -TimeoutSeconds 150).Status)"
""", ok=False)  # noqa: E501
    return targets, sources, out


def test_token_expiring_mid_run_is_renewed_and_no_user_fails(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot: ImapServer
) -> None:
    # the service says a token lasts an hour, but the server stops taking it after 8 logins
    # (a revoked session, continuous access evaluation, a clock ahead of ours): msal keeps
    # serving the cached token, which the target refuses in the middle of the run
    client_id = new_app(tokens, max_logins=8)  # more than one pass opens at once
    targets, sources, out = migrate_into_exo(admin, tokens, exo, dovecot, client_id,
                                             count=5, messages=60, limit=1)
    assert "batch: Synced" in out, out
    admin.wait_for_no_runner()
    assert all(status == "Synced" for status, _error in admin.statuses().values()), \
        admin.statuses()
    issued = {t.jti for t in tokens.issued_to(client_id)}
    refused = sum(1 for jti, active in tokens.introspected if jti in issued and not active)
    assert refused >= 1  # a token the client still held was refused in the middle of the run
    for source, target in zip(sources, targets, strict=True):
        difference = identical(ImapSpec(dovecot.host, dovecot.port, source, dovecot.password),
                               ImapSpec(exo.host, exo.port, target, exo.password))
        assert difference is None, difference


def test_revoked_client_secret_fails_the_users_with_the_reason_and_no_retry_storm(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot: ImapServer
) -> None:
    client_id = new_app(tokens)
    admin.imsh(oauth_endpoint("EXO", exo, tokens, client_id))  # verified: the secret works
    tokens.revoke(client_id)  # the tenant admin deletes the secret
    shutil.rmtree(admin.state)
    targets, _sources, out = migrate_into_exo(admin, tokens, exo, dovecot, client_id,
                                              count=3, messages=5, wait="Failed")
    assert "New-MigrationEndpoint" in out and "AADSTS7000215" in out  # verification refuses
    out = admin.imsh(f"""
{oauth_endpoint("EXO", exo, tokens, client_id, extra="-SkipVerification")} | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{admin.work / 'users.csv'}")) -AutoStart | Out-Null
$b = Wait-MigrationBatch -Identity B1 -TimeoutSeconds 90 -ErrorAction SilentlyContinue
Get-MigrationUser | ForEach-Object {{ Write-Output "$($_.Identity): $($_.Status)" }}
Get-MigrationUserStatistics -Identity {targets[0]} | ForEach-Object {{ Write-Output "error: $($_.ErrorSummary)" }}
""", ok=False)  # noqa: E501
    admin.wait_for_no_runner()
    statuses = admin.statuses()
    assert {status for status, _ in statuses.values()} == {"Failed"}, statuses
    error = statuses[targets[0]][1] or ""
    assert "couldn't sign in to the tenant" in error and "AADSTS7000215" in error, error
    assert "Trace ID" not in error and SECRET not in error
    assert f"error: {error}"[:60] in out
    refused = tokens.refused_for(client_id)
    assert 1 <= len(refused) <= len(targets) + 1, refused  # the verification's, one per user
    time.sleep(3)
    assert len(tokens.refused_for(client_id)) == len(refused)  # and nothing more after
    no_secret_in_clear(admin, out)


def test_a_mailbox_the_app_may_not_open_fails_saying_the_sign_in_was_refused(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot: ImapServer
) -> None:
    # the token is good (the tenant gave it), but the server refuses it for this mailbox: no
    # FullAccess, another tenant's domain, IMAP off. Before, the user failed with "A recipient
    # wasn't found", as if the admin had named a mailbox that doesn't exist.
    client_id = new_app(tokens)
    source = dovecot.fresh_user()
    load(dovecot, source, 7, 3)
    csv = admin.work / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\nann@fabrikam.test,{source},"
                   f"{dovecot.password}\n")
    out = admin.imsh(f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
{oauth_endpoint("EXO", exo, tokens, client_id, extra="-SkipVerification")} | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
$b = Wait-MigrationBatch -Identity B1 -TimeoutSeconds 90 -ErrorAction SilentlyContinue
Get-MigrationUserStatistics -Identity ann@fabrikam.test | ForEach-Object {{ Write-Output "error: $($_.ErrorSummary)" }}
""", ok=False)  # noqa: E501
    admin.wait_for_no_runner()
    status, error = admin.statuses()["ann@fabrikam.test"]
    assert status == "Failed", (status, error, out)
    assert error is not None and "recipient wasn't found" not in error, error
    assert f"The application '{client_id}' couldn't sign in to the mailbox " \
           "'ann@fabrikam.test'" in error, error
    assert "Add-MailboxPermission" in error and "IMAP.AccessAsApp" in error
    assert "error: The application" in out, out
    assert len(tokens.issued_to(client_id)) <= 2  # the token was fine: no storm of new ones
    no_secret_in_clear(admin, out)


def test_status_mail_is_sent_over_smtp_with_an_oauth_token(
    admin: Admin, tokens: TokenService, dovecot: ImapServer
) -> None:
    sink = start_oauth_smtp(tokens)
    try:
        client_id = new_app(tokens)
        sender = f"migration@{DOMAIN}"
        user = dovecot.fresh_user()
        load(dovecot, user, 97, 5)
        csv = admin.work / "users.csv"
        csv.write_text(f"EmailAddress,UserName,Password\nann@{DOMAIN},{user},{dovecot.password}\n")
        out = admin.imsh(f"""$ErrorActionPreference = 'Stop'
Set-MigrationConfig -SmtpServer 127.0.0.1 -SmtpPort {sink.port} -SmtpSecurity Tls -SmtpFrom {sender} -Authentication OAuth -TenantId {TENANT} -ClientId {client_id} -ClientSecret (ConvertTo-SecureString '{SECRET}' -AsPlainText -Force) -Authority {tokens.authority}
Get-MigrationConfig | Format-List SmtpAuthentication,SmtpClientId,SmtpCredentials
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationBatch -Name Wave1 -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -NotificationEmails admin@{DOMAIN} -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity Wave1 -Status Synced -TimeoutSeconds 90).Status)"
""")  # noqa: E501
        assert "initial: Synced" in out and "OAuth" in out and client_id in out, out
        [mail] = sink.wait_for(1, timeout=30)
        assert mail.rcpt_tos == [f"admin@{DOMAIN}"]
        assert 'batch "Wave1" has finished' in mail.message()["Subject"]
        assert sink.logins == [(sender, True)]
        admin.wait_for_no_runner()
        no_secret_in_clear(admin, out)
    finally:
        sink.stop()


def test_an_app_with_a_certificate_instead_of_a_secret_migrates(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot: ImapServer
) -> None:
    certificate, key = client_certificate()
    client_id = new_app(tokens, certificate_pem=certificate)
    pem = admin.work / "app.pem"
    pem.write_bytes(key + certificate)
    target = add_domain_users(exo, 1)[0]
    source = dovecot.fresh_user()
    load(dovecot, source, 61, 20)
    csv = admin.work / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\n{target},{source},{dovecot.password}\n")
    out = admin.imsh(f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name EXO -RemoteServer 127.0.0.1 -Port {exo.port} -Security None -Authentication OAuth -TenantId {TENANT} -ClientId {client_id} -CertificateFile app.pem -Authority {tokens.authority} -TestMailbox {target} | Format-List CertificateThumbprint,ClientSecret
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 120).Status)"
""")  # noqa: E501
    assert "initial: Synced" in out, out
    assert tokens.issued_to(client_id) and not tokens.refused_for(client_id)
    admin.wait_for_no_runner()
    difference = identical(ImapSpec(dovecot.host, dovecot.port, source, dovecot.password),
                           ImapSpec(exo.host, exo.port, target, exo.password))
    assert difference is None, difference
    private = key.decode().splitlines()[1]
    assert private not in out
    assert all(private.encode() not in p.read_bytes() for p in admin.secret_files())


def test_throttling_with_a_backoff_hint_is_waited_out_and_fails_no_one(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot: ImapServer
) -> None:
    hint = 45.0  # more than the runner's own first backoff (30 s), so the hint is what counts
    proxy = ExoProxy(exo.host, exo.port, exchange=True)  # pipelined APPENDs, as against EXO
    try:
        client_id = new_app(tokens)
        target = add_domain_users(exo, 1)[0]
        source = dovecot.fresh_user()
        load(dovecot, source, 43, 30)
        csv = admin.work / "users.csv"
        csv.write_text(f"EmailAddress,UserName,Password\n{target},{source},{dovecot.password}\n")
        proxy.throttle_next_append(int(hint * 1000))
        out = admin.imsh(f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name EXO -RemoteServer 127.0.0.1 -Port {proxy.port} -Security None -Authentication OAuth -TenantId {TENANT} -ClientId {client_id} -ClientSecret (ConvertTo-SecureString '{SECRET}' -AsPlainText -Force) -Authority {tokens.authority} -TestMailbox {target} | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 150).Status)"
""")  # noqa: E501
        assert "initial: Synced" in out, out
        # the other folder workers' APPENDs end with the pass; the next pass waits the hint out
        [throttled] = proxy.throttled_at
        after = [t for t in proxy.append_times if t >= throttled - 1]
        waited = max(b - a for a, b in itertools.pairwise(after))
        assert hint <= waited < hint + 20, waited  # honoured: no APPEND before the hint
        admin.wait_for_no_runner()
        with admin.store() as store:
            user = store.users.get(target)
            skipped = store.statistics.skipped_items(user.id)
        assert not skipped, skipped
        difference = identical(ImapSpec(dovecot.host, dovecot.port, source, dovecot.password),
                               ImapSpec(exo.host, exo.port, target, exo.password))
        assert difference is None, difference
    finally:
        proxy.close()


def test_flagged_mail_stays_flagged_on_a_target_that_forgets_flags_at_append(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot: ImapServer
) -> None:
    proxy = ExoProxy(exo.host, exo.port, exchange=True)  # greets and drops \Flagged as EXO
    try:
        client_id = new_app(tokens)
        target = add_domain_users(exo, 1)[0]
        source = dovecot.fresh_user()
        load(dovecot, source, 47, 60)
        flagged = flagged_count(dovecot, source)
        assert flagged > 0
        csv = admin.work / "users.csv"
        csv.write_text(f"EmailAddress,UserName,Password\n{target},{source},{dovecot.password}\n")
        out = admin.imsh(f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name EXO -RemoteServer 127.0.0.1 -Port {proxy.port} -Security None -Authentication OAuth -TenantId {TENANT} -ClientId {client_id} -ClientSecret (ConvertTo-SecureString '{SECRET}' -AsPlainText -Force) -Authority {tokens.authority} -TestMailbox {target} | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 120).Status)"
""")  # noqa: E501
        assert "initial: Synced" in out, out
        admin.wait_for_no_runner()
        assert flagged_count(exo, target) == flagged
        difference = identical(ImapSpec(dovecot.host, dovecot.port, source, dovecot.password),
                               ImapSpec(exo.host, exo.port, target, exo.password))
        assert difference is None, difference
    finally:
        proxy.close()


def flagged_count(server: ImapServer, user: str) -> int:
    client = server.login(user)
    try:
        total = 0
        for flags, _sep, name in client.list_folders():
            if b"\\Noselect" in flags:
                continue
            client.select_folder(name, readonly=True)
            total += len(client.search(["FLAGGED"]))
        return total
    finally:
        client.logout()


def test_a_token_near_its_expiry_is_replaced_before_the_target_refuses_it(
    admin: Admin, tokens: TokenService, exo: ImapServer, dovecot: ImapServer
) -> None:
    # 301 s: msal keeps a token while more than 300 s remain, so a second later the runner
    # asks for a fresh one on its next connection; the target never sees an expired token.
    # The run must outlast two renewals: 6 x 80 messages took under 2 s once passes got
    # faster (2 tokens, 2 of 3 local runs failed); 6 x 300 got 4 tokens in each of 2 runs
    client_id = new_app(tokens, lifetime=301.0)
    targets, _sources, out = migrate_into_exo(admin, tokens, exo, dovecot, client_id,
                                              count=6, messages=300, limit=1)
    assert "batch: Synced" in out, out
    admin.wait_for_no_runner()
    issued = tokens.issued_to(client_id)
    jtis = {t.jti for t in issued}
    logins = [active for jti, active in tokens.introspected if jti in jtis]
    assert all(logins) and len(logins) >= 2 * len(targets)  # none refused
    assert 3 <= len(issued) < len(logins)  # renewed as it aged, not one per connection
