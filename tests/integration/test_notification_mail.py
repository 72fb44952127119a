"""Notification mail end to end: a real SQLite state, a real SMTP server (aiosmtpd) on loopback.

The shared ``smtp_sink`` is plain SMTP; the TLS and login cases start their own aiosmtpd with a
certificate from a throw-away CA made here, so certificate verification is exercised for real.
"""

from __future__ import annotations

import csv
import io
import logging
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.errors import PermanentError, TransientError
from engine.model import IMAPSecurityMechanism
from engine.model import MigrationUserStatus as U
from engine.notify import SmtpSettings, run_due_notifications
from engine.notify.schedule import notification_log
from engine.notify.smtp import send_message
from engine.paths import StatePaths, resolve_state_paths
from engine.secrets import Credential, Secret
from engine.store import Store
from engine.store.batches import BatchRow, BatchSpec
from engine.store.endpoints import EndpointSpec
from engine.store.users import MigrationUserSpec
from engine.transitions import BatchPhase
from tests.support.ports import free_port
from tests.support.smtp import ReceivedMail, SmtpSink

pytestmark = pytest.mark.servers

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
FAILED_TEXT = 'We had trouble signing in to this account. Confirm the "password".'


# --- the state -----------------------------------------------------------------------------


@pytest.fixture
def paths(tmp_path: Path) -> StatePaths:
    return resolve_state_paths(tmp_path / "state", env={})


@pytest.fixture
def store(paths: StatePaths, smtp_sink: SmtpSink) -> Iterator[Store]:
    with Store.open(paths) as opened:
        SmtpSettings(server=smtp_sink.host, port=smtp_sink.port,
                     sender="imsh@migration.test").save(opened.config)
        yield opened


@dataclass(frozen=True)
class User:
    address: str
    status: U
    synced: int = 0
    skipped: int = 0
    error: str | None = None


def add_batch(store: Store, name: str, users: list[User], **times: Any) -> BatchRow:
    """An active batch notifying ``admin-<name>@example.org``, with users and statistics."""
    source = store.endpoints.add(
        EndpointSpec(name=f"{name}-source", kind="IMAP", remote_server="imap.example.org")
    )
    target = store.endpoints.get("LocalMaildir")
    batch = store.batches.add(
        BatchSpec(
            name, source.id, target.id, status=BatchPhase.Active.value,
            notification_emails=(recipient(name),), started_at=T0, **times,
        )
    )
    for user in users:
        row = store.users.add(batch.id, MigrationUserSpec(
            email_address=user.address, user_name=user.address, status=user.status,
            error=user.error))
        store.statistics.add_counts(row.id, synced=user.synced, skipped=user.skipped)
    return batch


def recipient(batch_name: str) -> str:
    return f"admin-{batch_name.lower()}@example.org"


def mails_to(sink: SmtpSink, address: str) -> list[ReceivedMail]:
    return [m for m in sink.messages if address in m.rcpt_tos]


def attachment_rows(message: EmailMessage) -> list[dict[str, str]]:
    (attachment,) = list(message.iter_attachments())
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert not payload.startswith(b"\xef\xbb\xbf")  # UTF-8 without BOM
    return list(csv.DictReader(io.StringIO(payload.decode("utf-8"), newline="")))


MIXED = [
    User("ann@example.org", U.Synced, synced=120, skipped=2),
    User("bob@example.org", U.IncrementalSynced, synced=30),
    User("cy@example.org", U.Failed, error=FAILED_TEXT),
]


# --- mail arrives, once ----------------------------------------------------------------------


def test_initial_sync_finished_mail_arrives_once_with_counts_and_csv(
    store: Store, smtp_sink: SmtpSink
) -> None:
    batch = add_batch(store, "Wave1", MIXED, initial_sync_completed_at=T0 + timedelta(hours=2))
    now = T0 + timedelta(hours=2, minutes=1)

    assert run_due_notifications(store, now) == 1

    (mail,) = mails_to(smtp_sink, recipient("Wave1"))
    assert mail.mail_from == "imsh@migration.test"
    message = mail.message()
    assert message["Subject"] == 'E-mail migration batch "Wave1" has finished - with errors'
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "Mailboxes migrated successfully: 2" in content
    assert "Mailboxes that couldn't be migrated: 1" in content
    assert "Items synced: 150" in content
    assert "Status: SyncedWithErrors" in content
    assert attachment_rows(message) == [
        # 2 skipped of 122: more than max(1, 1 %) lost, so Investigate (docs/proof.md)
        {"EmailAddress": "ann@example.org", "Status": "Synced", "ItemsSynced": "120",
         "ItemsSkipped": "2", "ErrorMessage": "", "DataConsistencyScore": "Investigate",
         "Proof": ""},
        {"EmailAddress": "bob@example.org", "Status": "IncrementalSynced", "ItemsSynced": "30",
         "ItemsSkipped": "0", "ErrorMessage": "", "DataConsistencyScore": "Perfect",
         "Proof": ""},
        {"EmailAddress": "cy@example.org", "Status": "Failed", "ItemsSynced": "0",
         "ItemsSkipped": "0", "ErrorMessage": FAILED_TEXT, "DataConsistencyScore": "Perfect",
         "Proof": ""},
    ]

    # Called again (the runner calls after every pass): nothing new goes out.
    assert run_due_notifications(store, now + timedelta(minutes=5)) == 0
    assert len(mails_to(smtp_sink, recipient("Wave1"))) == 1
    stored = store.batches.get_by_id(batch.id)
    assert stored.last_report_sent_at == now
    assert notification_log(stored).initial_sent_at == now


def test_two_processes_at_once_send_the_finished_mail_once(
    store: Store, smtp_sink: SmtpSink, paths: StatePaths
) -> None:
    add_batch(store, "Race", MIXED[:1], initial_sync_completed_at=T0)
    now = T0 + timedelta(minutes=1)
    counts: list[int] = []
    start = threading.Barrier(4)

    def notify() -> None:
        with Store.open(paths) as own:  # one store per thread, as a second runner would
            start.wait()
            counts.append(run_due_notifications(own, now))

    threads = [threading.Thread(target=notify) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(counts) == [0, 0, 0, 1]
    assert len(mails_to(smtp_sink, recipient("Race"))) == 1


def test_periodic_report_and_completion_mail(store: Store, smtp_sink: SmtpSink) -> None:
    batch = add_batch(
        store, "Wave2", MIXED[:2], initial_sync_completed_at=T0,
        last_report_sent_at=T0, report_interval_seconds=3600,
    )
    store.batches.update(replace(
        store.batches.get_by_id(batch.id),
        extra={"notifications": {"initial_sent_at": T0.isoformat()}},
    ))
    assert run_due_notifications(store, T0 + timedelta(minutes=59)) == 0
    assert run_due_notifications(store, T0 + timedelta(hours=1)) == 1
    report = mails_to(smtp_sink, recipient("Wave2"))[-1].message()
    assert report["Subject"] == 'E-mail migration batch "Wave2" status report'
    assert len(attachment_rows(report)) == 2

    # Complete-MigrationBatch finished: one completion mail, then silence.
    done = T0 + timedelta(hours=1, minutes=30)
    with store.transaction():
        store.batches.update(replace(store.batches.get_by_id(batch.id),
                                     status=BatchPhase.Completing.value, completed_at=done))
        for user in store.users.list(batch_id=batch.id):
            store.users.set_status(user.id, U.Completed, "Completed")
    assert run_due_notifications(store, done) == 1
    assert run_due_notifications(store, done + timedelta(days=3)) == 0
    mails = mails_to(smtp_sink, recipient("Wave2"))
    assert [m.message()["Subject"] for m in mails] == [
        'E-mail migration batch "Wave2" status report',
        'E-mail migration batch "Wave2" has been completed',
    ]
    assert {r["Status"] for r in attachment_rows(mails[-1].message())} == {"Completed"}


def test_a_batch_without_notification_emails_gets_no_mail(
    store: Store, smtp_sink: SmtpSink
) -> None:
    batch = add_batch(store, "Quiet", MIXED[:1], initial_sync_completed_at=T0)
    store.batches.update(replace(batch, notification_emails=()))
    assert run_due_notifications(store, T0 + timedelta(days=2)) == 0
    assert mails_to(smtp_sink, recipient("Quiet")) == []


# --- failures ----------------------------------------------------------------------------------


def test_smtp_down_is_recorded_and_retried_later_without_raising(
    store: Store, smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    batch = add_batch(store, "Down", MIXED, initial_sync_completed_at=T0)
    closed = free_port()  # nothing listens here
    SmtpSettings(server="127.0.0.1", port=closed, sender="imsh@migration.test").save(
        store.config)
    now = T0 + timedelta(minutes=1)

    with caplog.at_level(logging.WARNING, logger="engine.notify"):
        assert run_due_notifications(store, now) == 0
    assert any("Down" in r.getMessage() and f"127.0.0.1:{closed}" in r.getMessage()
               for r in caplog.records)
    entry = notification_log(store.batches.get_by_id(batch.id))
    assert entry.failures == 1
    assert entry.retry_at == now + timedelta(minutes=1)
    assert entry.last_error is not None and f"127.0.0.1:{closed}" in entry.last_error
    assert entry.initial_sent_at is None

    # Within the backoff nothing is tried; after it, with the server back, the mail goes out.
    assert run_due_notifications(store, now + timedelta(seconds=30)) == 0
    assert notification_log(store.batches.get_by_id(batch.id)).failures == 1
    SmtpSettings(server=smtp_sink.host, port=smtp_sink.port, sender="imsh@migration.test").save(
        store.config)
    later = now + timedelta(minutes=1)
    assert run_due_notifications(store, later) == 1
    assert len(mails_to(smtp_sink, recipient("Down"))) == 1
    entry = notification_log(store.batches.get_by_id(batch.id))
    assert (entry.failures, entry.retry_at, entry.last_error) == (0, None, None)
    assert entry.initial_sent_at == later


def test_an_unreachable_server_costs_one_attempt_per_call(store: Store) -> None:
    first = add_batch(store, "Down1", MIXED[:1], initial_sync_completed_at=T0)
    second = add_batch(store, "Down2", [replace(MIXED[0], address="zed@example.org")],
                       initial_sync_completed_at=T0)
    SmtpSettings(server="127.0.0.1", port=free_port()).save(store.config)
    now = T0 + timedelta(minutes=1)

    assert run_due_notifications(store, now) == 0
    assert notification_log(store.batches.get_by_id(first.id)).failures == 1
    assert notification_log(store.batches.get_by_id(second.id)).failures == 0  # not tried yet
    assert run_due_notifications(store, now) == 0  # the first waits; the second is tried
    assert notification_log(store.batches.get_by_id(second.id)).failures == 1


def test_without_an_smtp_server_configured_the_batch_records_why(
    store: Store, smtp_sink: SmtpSink
) -> None:
    batch = add_batch(store, "NoSmtp", MIXED[:1], initial_sync_completed_at=T0)
    store.config.set("SmtpServer", None)
    assert run_due_notifications(store, T0 + timedelta(minutes=1)) == 0
    entry = notification_log(store.batches.get_by_id(batch.id))
    assert entry.last_error is not None and "Set-MigrationConfig -SmtpServer" in entry.last_error
    assert mails_to(smtp_sink, recipient("NoSmtp")) == []


def test_a_refused_recipient_is_a_permanent_error(smtp_sink: SmtpSink) -> None:
    # The same message sent with a server that closes at once is a transient failure.
    message = EmailMessage()
    message["To"] = "x@example.org"
    message.set_content("x")
    with pytest.raises(TransientError):
        send_message(SmtpSettings(server="127.0.0.1", port=free_port(), timeout=5), message)
    with pytest.raises(PermanentError, match="SMTP server"):
        send_message(SmtpSettings(server=smtp_sink.host, port=smtp_sink.port,
                                  security=IMAPSecurityMechanism.Tls), message)


# --- TLS and login -------------------------------------------------------------------------


@dataclass
class TlsServers:
    ca_file: str
    starttls: SmtpSink
    smtps: SmtpSink


PASSWORD = "s3cret-Pa55"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer" \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def tls_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServers]:
    directory = tmp_path_factory.mktemp("smtp-tls")
    ca_file, cert_file, key_file = _make_certificates(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    starttls = _start(Controller, tls_context=context, authenticator=_authenticate,
                      auth_require_tls=True)
    smtps = _start(Controller, ssl_context=context)
    yield TlsServers(str(ca_file), starttls, smtps)
    starttls.stop()
    smtps.stop()


def _start(factory: Any, **options: Any) -> SmtpSink:
    sink = SmtpSink("127.0.0.1", free_port())
    controller = factory(sink, hostname=sink.host, port=sink.port, ready_timeout=5.0, **options)
    controller.start()
    sink._controller = controller
    return sink


def _make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imsh test CA")])
    start = datetime.now(UTC) - timedelta(days=1)
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return paths


def _mail(to: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "tls test"
    message["To"] = to
    message.set_content("hello")
    return message


def test_starttls_with_login_delivers_over_a_verified_connection(
    tls_servers: TlsServers
) -> None:
    server = tls_servers.starttls
    settings = SmtpSettings(
        server=server.host, port=server.port, security=IMAPSecurityMechanism.Tls,
        credentials=Credential("mailer", Secret(PASSWORD)), sender="imsh@migration.test",
        ca_file=tls_servers.ca_file,
    )
    send_message(settings, _mail("starttls@example.org"))
    assert [m.rcpt_tos for m in server.messages if "starttls@example.org" in m.rcpt_tos] == [
        ["starttls@example.org"]
    ]


def test_a_wrong_password_is_a_permanent_authentication_error(tls_servers: TlsServers) -> None:
    server = tls_servers.starttls
    settings = SmtpSettings(
        server=server.host, port=server.port, security=IMAPSecurityMechanism.Tls,
        credentials=Credential("mailer", Secret("wrong")), ca_file=tls_servers.ca_file,
    )
    with pytest.raises(PermanentError) as caught:
        send_message(settings, _mail("nobody@example.org"))
    assert caught.value.error_id == "SmtpAuthenticationFailed"
    assert "wrong" not in caught.value.message


def test_an_untrusted_certificate_is_refused_by_default(tls_servers: TlsServers) -> None:
    for server, security in ((tls_servers.starttls, IMAPSecurityMechanism.Tls),
                             (tls_servers.smtps, IMAPSecurityMechanism.Ssl)):
        settings = SmtpSettings(server=server.host, port=server.port, security=security)
        with pytest.raises(PermanentError) as caught:
            send_message(settings, _mail("untrusted@example.org"))
        assert caught.value.error_id == "SmtpCertificateUntrusted"
    assert not any("untrusted@example.org" in m.rcpt_tos
                   for m in tls_servers.starttls.messages + tls_servers.smtps.messages)


def test_smtps_notification_through_run_due_notifications(
    store: Store, tls_servers: TlsServers
) -> None:
    server = tls_servers.smtps
    SmtpSettings(server=server.host, port=server.port, security=IMAPSecurityMechanism.Ssl,
                 sender="imsh@migration.test", ca_file=tls_servers.ca_file).save(store.config)
    add_batch(store, "Tls", MIXED[:1], initial_sync_completed_at=T0)
    assert run_due_notifications(store, T0 + timedelta(minutes=1)) == 1
    (mail,) = [m for m in server.messages if recipient("Tls") in m.rcpt_tos]
    assert mail.message()["Subject"] == 'E-mail migration batch "Tls" has finished'
