"""Endpoints: verification against a real Dovecot (plain, TLS verified, login), Maildir path
checks, Set/Remove rules, and Test-MigrationServerAvailability (EWS: test_ews_endpoints.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import (
    InvalidStateError,
    NotSupportedError,
    PermanentError,
    TransientError,
    ValidationError,
)
from engine.imap.connection import BAD_CREDENTIALS
from engine.model import AuthenticationMethod, EndpointType, IMAPSecurityMechanism
from engine.secrets import Credential, Secret
from engine.service import Engine
from engine.service.availability import TestResult
from engine.service.batches import BatchRequest
from engine.service.endpoints import EndpointChanges, EndpointRequest
from tests.engine.service.conftest import snapshot
from tests.support.ports import free_port
from tests.support.servers import ImapServer

NONE = IMAPSecurityMechanism.NONE
SSL = IMAPSecurityMechanism.Ssl


def imap(name: str, port: int, security: IMAPSecurityMechanism | None = NONE,
         **extra: object) -> EndpointRequest:
    return EndpointRequest(name=name, kind=EndpointType.IMAP, remote_server="127.0.0.1",
                           port=port, security=security, **extra)  # type: ignore[arg-type]


def test_a_fresh_state_has_the_default_maildir_target(engine: Engine) -> None:
    [local] = engine.get_endpoints()
    assert (local.name, local.kind, local.is_default_target) == (
        "LocalMaildir", EndpointType.Maildir, True)
    assert local.path == str(engine.store.paths.root / "maildir")
    assert engine.get_config().default_target_endpoint == "LocalMaildir"


def test_defaults_port_993_ssl_and_concurrency_20_10(engine: Engine) -> None:
    info = engine.new_endpoint(EndpointRequest(name="E", kind=EndpointType.IMAP,
                                               remote_server="imap.contoso.com",
                                               skip_verification=True))
    assert (info.port, info.security, info.authentication) == (993, "Ssl", "Basic")
    assert (info.max_concurrent_migrations, info.max_concurrent_incremental_syncs) == (20, 10)
    plain = engine.new_endpoint(imap("P", 143, security=None, skip_verification=True))
    assert plain.security == "None"


def test_concurrency_rules(engine: Engine) -> None:
    with pytest.raises(ValidationError, match="less than or equal to MaxConcurrentMigrations"):
        engine.new_endpoint(imap("E", 143, max_concurrent_migrations=5,
                                 max_concurrent_incremental_syncs=6, skip_verification=True))
    info = engine.new_endpoint(imap("E", 143, max_concurrent_migrations=None,
                                    skip_verification=True))
    assert info.max_concurrent_migrations == 100
    changed = engine.set_endpoint("E", EndpointChanges(max_concurrent_migrations=50,
                                                       max_concurrent_incremental_syncs=25))
    assert (changed.max_concurrent_migrations, changed.max_concurrent_incremental_syncs) == (50, 25)


def test_non_basic_authentication_is_not_supported(engine: Engine) -> None:
    with pytest.raises(NotSupportedError, match="is not supported by imsh"):
        engine.new_endpoint(imap("E", 143, authentication=AuthenticationMethod.Ntlm,
                                 skip_verification=True))


@pytest.mark.servers
def test_creating_an_imap_endpoint_connects_and_reads_capability(
    engine: Engine, dovecot: ImapServer
) -> None:
    info = engine.new_endpoint(imap("Dovecot", dovecot.port))
    assert (info.remote_server, info.port, info.security) == ("127.0.0.1", dovecot.port, "None")


def test_an_unreachable_server_is_not_stored(engine: Engine) -> None:
    before = snapshot(engine)
    with pytest.raises(TransientError, match=r"The connection to the server '127\.0\.0\.1' could "
                                             r"not be completed"):
        engine.new_endpoint(imap("Nowhere", free_port()))
    assert snapshot(engine) == before
    stored = engine.new_endpoint(imap("Nowhere", free_port(), skip_verification=True))
    assert stored.name == "Nowhere"


@pytest.mark.servers
def test_credentials_are_verified_by_the_proxy_login_to_the_test_mailbox(
        engine: Engine, dovecot: ImapServer) -> None:
    # an endpoint's credentials are an administrator's acting for each mailbox: verified the
    # way the sync logs in (SASL PLAIN authzid = the test mailbox), never as a bare login
    user = dovecot.fresh_user()
    with pytest.raises(PermanentError) as caught:
        engine.new_endpoint(imap("Bad", dovecot.port, test_mailbox=user,
                                 credentials=Credential("admin", Secret("wrong"))))
    assert caught.value.message == BAD_CREDENTIALS
    info = engine.new_endpoint(imap("Good", dovecot.port, test_mailbox=user,
                                    credentials=Credential("admin", Secret("adminpw"))))
    assert info.user_name == "admin" and info.has_password and info.warning is None
    untried = engine.new_endpoint(imap("Untried", dovecot.port,
                                       credentials=Credential("admin", Secret("wrong"))))
    assert untried.warning and "were not tried" in untried.warning


@pytest.mark.servers
def test_tls_certificates_are_verified_unless_untrusted_ones_are_accepted(
    engine: Engine, dovecot_tls: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dovecot_tls.tls_port is not None and dovecot_tls.cafile is not None
    port = dovecot_tls.tls_port
    with pytest.raises(PermanentError, match="could not be verified"):
        engine.new_endpoint(imap("Untrusted", port, security=SSL))
    accepted = engine.new_endpoint(imap("Accepted", port, security=SSL,
                                        accept_untrusted_certificates=True))
    assert accepted.accept_untrusted_certificates
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot_tls.cafile))
    assert engine.new_endpoint(imap("Trusted", port, security=SSL)).security == "Ssl"


@pytest.mark.servers
def test_tls_needs_starttls_on_the_server(engine: Engine, dovecot: ImapServer) -> None:
    with pytest.raises(PermanentError, match="does not offer STARTTLS"):
        engine.new_endpoint(imap("NoStartTls", dovecot.port,
                                 security=IMAPSecurityMechanism.Tls))


@pytest.mark.servers
@pytest.mark.slow
def test_a_silent_server_times_out_after_15_seconds_with_exchanges_text(
    engine: Engine, dovecot_tls: ImapServer
) -> None:
    assert dovecot_tls.tls_port is not None
    # The implicit-TLS port waits for a TLS handshake, so a STARTTLS client never gets a greeting.
    result = engine.test_server("127.0.0.1", dovecot_tls.tls_port, IMAPSecurityMechanism.Tls)
    assert result.result is TestResult.Failed
    assert result.message == "The connection to the server '127.0.0.1' timed out after 00:00:15."


def test_maildir_paths_are_checked(engine: Engine, tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValidationError, match="exists but is not a directory"):
        engine.new_endpoint(EndpointRequest(name="M", kind=EndpointType.Maildir,
                                            path=str(a_file)))
    with pytest.raises(ValidationError, match="must be an absolute path"):
        engine.new_endpoint(EndpointRequest(name="M", kind=EndpointType.Maildir, path="rel"))
    info = engine.new_endpoint(EndpointRequest(name="M", kind=EndpointType.Maildir,
                                               path=str(tmp_path / "new" / "maildir")))
    assert info.path == str(tmp_path / "new" / "maildir")


def test_an_endpoint_in_use_cannot_be_removed(engine: Engine) -> None:
    engine.new_endpoint(imap("Src", 143, skip_verification=True))
    engine.new_batch(BatchRequest(name="B", source_endpoint="Src",
                                  csv_data=b"EmailAddress,UserName,Password\na@contoso.com,a,p\n"))
    with pytest.raises(InvalidStateError, match="is used by a migration batch"):
        engine.remove_endpoint("Src")
    engine.remove_batch("B")
    engine.remove_endpoint("Src")
    assert engine.identities("endpoint") == ["LocalMaildir"]


def test_connection_settings_cannot_change_while_a_batch_runs(engine: Engine) -> None:
    engine.new_endpoint(imap("Src", 143, skip_verification=True))
    engine.new_batch(BatchRequest(name="B", source_endpoint="Src", auto_start=True,
                                  csv_data=b"EmailAddress,UserName,Password\na@contoso.com,a,p\n"))
    with pytest.raises(InvalidStateError, match="while the migration batch 'B'"):
        engine.set_endpoint("Src", EndpointChanges(port=1143, skip_verification=True))
    engine.stop_batch("B")
    changed = engine.set_endpoint("Src", EndpointChanges(port=1143, skip_verification=True))
    assert changed.port == 1143


@pytest.mark.servers
def test_server_availability_is_tested_for_real(engine: Engine, dovecot: ImapServer) -> None:
    answered = engine.test_server("127.0.0.1", dovecot.port, None)
    assert answered.result is TestResult.Warning  # plaintext: a password would travel in clear
    assert "not encrypted" in answered.message
    closed = engine.test_server("127.0.0.1", free_port(), None)
    assert closed.result is TestResult.Failed
    assert closed.message.startswith("The connection to the server '127.0.0.1' could not be "
                                     "completed")
    assert closed.error_detail and "ConnectionFailed" in closed.error_detail
    engine.new_endpoint(imap("Dovecot", dovecot.port))
    assert engine.test_endpoint("Dovecot").result is TestResult.Warning
    assert engine.test_endpoint("LocalMaildir").result is TestResult.Success


@pytest.mark.servers
def test_availability_over_verified_tls_is_a_success(
    engine: Engine, dovecot_tls: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dovecot_tls.tls_port is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot_tls.cafile))
    result = engine.test_server("127.0.0.1", dovecot_tls.tls_port, SSL)
    assert (result.result, result.error_detail) == (TestResult.Success, None)
