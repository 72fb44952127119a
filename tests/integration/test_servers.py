"""The throwaway test servers themselves: each kind starts, authenticates (plain, master
user, proxy authorization), stores folders and messages faithfully, speaks verified TLS,
listens on loopback only, and stops cleanly.  The SMTP sink receives mail."""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.conftest import start_or_skip
from tests.support.servers import (
    SCRIPTS,
    ImapServer,
    SkipServer,
    SmtpSink,
    free_port,
    start_dovecot,
)

pytestmark = pytest.mark.servers

KINDS = ["dovecot", "cyrus", "courier"]
MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.org>\r\n"
    b"Subject: quarterly report\r\n"
    b"Message-ID: <report-1@example.org>\r\n"
    b"\r\n"
    b"Numbers attached.\r\n"
)
SENT_AT = datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=5, minutes=30)))


@pytest.fixture(params=KINDS)
def server(request: pytest.FixtureRequest) -> ImapServer:
    served: ImapServer = request.getfixturevalue(request.param)
    return served


def test_plain_login_and_nested_create(server: ImapServer) -> None:
    user = server.fresh_user()
    client = server.login(user)
    nested = server.folder("Projects", "2024")
    client.create_folder(server.folder("Projects"))
    client.create_folder(nested)
    names = {name for _flags, _sep, name in client.list_folders()}
    client.logout()
    assert {"INBOX", server.folder("Projects"), nested} <= names


def test_append_keeps_flags_keywords_date_and_bytes(server: ImapServer) -> None:
    client = server.login(server.fresh_user())
    client.normalise_times = False
    flags = [b"\\Seen", b"\\Flagged", b"$Forwarded", b"MyKeyword"]
    client.append("INBOX", MESSAGE, flags=flags, msg_time=SENT_AT)
    client.select_folder("INBOX")
    fetched = client.fetch(client.search("ALL"), ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"])
    client.logout()
    assert len(fetched) == 1
    (item,) = fetched.values()
    assert set(item[b"FLAGS"]) - {b"\\Recent"} == set(flags)
    assert item[b"INTERNALDATE"] == SENT_AT  # same instant; servers may change the zone
    assert item[b"BODY[]"] == MESSAGE


def test_wrong_password_is_rejected(server: ImapServer) -> None:
    client = IMAPClient(server.host, server.port, ssl=False, timeout=30)
    with pytest.raises(LoginError):
        client.login(server.fresh_user(), "not-the-password")
    client.shutdown()


def test_wipe_user_leaves_an_empty_inbox(server: ImapServer) -> None:
    user = server.fresh_user()
    client = server.login(user)
    client.create_folder(server.folder("Old"))
    client.append("INBOX", MESSAGE)
    client.logout()
    server.wipe_user(user)
    client = server.login(user)
    names = [name for _flags, _sep, name in client.list_folders()]
    messages = client.select_folder("INBOX")[b"EXISTS"]
    client.logout()
    assert names == ["INBOX"]
    assert messages == 0


def test_fresh_users_are_never_repeated_and_grow_on_demand(dovecot: ImapServer) -> None:
    existing = len(dovecot.users)
    handed = [dovecot.fresh_user() for _ in range(existing + 1)]
    assert len(set(handed)) == len(handed)
    assert len(dovecot.users) > existing
    dovecot.login(handed[-1]).logout()


def test_dovecot_master_user_acts_as_the_user(dovecot: ImapServer) -> None:
    user = dovecot.fresh_user()
    admin_session = dovecot.login_via_admin(user)
    admin_session.create_folder("MadeByAdmin")
    admin_session.logout()
    own_session = dovecot.login(user)
    names = {name for _flags, _sep, name in own_session.list_folders()}
    own_session.logout()
    assert "MadeByAdmin" in names


def test_cyrus_admin_proxies_and_users_cannot(cyrus: ImapServer) -> None:
    user, other = cyrus.fresh_user(), cyrus.fresh_user()
    proxied = cyrus.login_via_admin(user)
    proxied.create_folder(cyrus.folder("ViaProxy"))
    proxied.logout()
    own = cyrus.login(user)
    assert cyrus.folder("ViaProxy") in {name for _f, _s, name in own.list_folders()}
    own.logout()
    refused = IMAPClient(cyrus.host, cyrus.port, ssl=False, timeout=30)
    with pytest.raises(LoginError):
        refused.plain_login(other, cyrus.password, authorization_identity=user)
    refused.shutdown()


def test_tls_verifies_against_the_self_signed_ca(dovecot_tls: ImapServer) -> None:
    assert dovecot_tls.tls_port is not None
    client = IMAPClient(
        dovecot_tls.host, dovecot_tls.tls_port, ssl=True, ssl_context=dovecot_tls.tls_context()
    )
    client.login(dovecot_tls.fresh_user(), dovecot_tls.password)
    encrypted = isinstance(client.socket(), ssl.SSLSocket)
    client.logout()
    assert encrypted


def test_tls_without_the_ca_fails_verification(dovecot_tls: ImapServer) -> None:
    assert dovecot_tls.tls_port is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(
            dovecot_tls.host,
            dovecot_tls.tls_port,
            ssl=True,
            ssl_context=ssl.create_default_context(),
        )


def test_servers_listen_on_loopback_only(server: ImapServer) -> None:
    listeners = _listening_addresses(server.port)
    assert listeners == {"127.0.0.1"}


def test_start_script_reports_a_taken_port_with_exit_code_3() -> None:
    script = str(SCRIPTS / "dovecot-test-server.sh")
    port = free_port()
    directory = tempfile.mkdtemp(dir="/tmp")
    try:
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            started = subprocess.run(
                ["bash", script, "start", directory, str(port)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
    finally:
        shutil.rmtree(directory)
    assert started.returncode == 3, started.stderr
    assert "in use" in started.stderr


def test_a_port_held_by_another_process_is_not_taken_for_ours() -> None:
    port = free_port()

    def owned_by(pid: int) -> bool:
        check = f". {SCRIPTS / 'lib.sh'}; listener_owned_by {pid} {port}"
        return subprocess.run(["bash", "-c", check], timeout=30, check=False).returncode == 0

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        assert owned_by(os.getpid())
        assert not owned_by(1)


def test_courier_script_exits_2_when_the_machine_cannot_run_it() -> None:
    directory = f"/tmp/imsh-nonroot-{free_port()}"
    try:
        refused = subprocess.run(
            [
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "bash",
                str(SCRIPTS / "courier-test-server.sh"),
                "start",
                directory,
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert refused.returncode == 2, refused.stderr
    assert "root" in refused.stderr


@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), ("", "skip"), ("false", "skip")])
def test_unavailable_server_skips_locally_but_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    def cannot_start() -> ImapServer:
        raise SkipServer("no such server here")

    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="no such server here"):
        start_or_skip(cannot_start)


def test_stop_frees_the_port_and_removes_the_directory() -> None:
    server = start_dovecot(nusers=1)
    server.login("user1").logout()
    server.stop()
    assert not server.dir.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=5).close()


def test_smtp_sink_receives_a_message(smtp_sink: SmtpSink) -> None:
    recipient = "notify-test@example.org"
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as smtp:
        smtp.sendmail("imsh@example.org", [recipient], MESSAGE)
    smtp_sink.wait_for(1)
    (mail,) = [m for m in smtp_sink.messages if recipient in m.rcpt_tos]
    assert mail.mail_from == "imsh@example.org"
    assert mail.message()["Subject"] == "quarterly report"


def _listening_addresses(port: int) -> set[str]:
    """IPv4/IPv6 addresses with a TCP socket in LISTEN state on `port` (from /proc)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, port_hex = local.split(":")
                if state == "0A" and int(port_hex, 16) == port:
                    found.add(_decode_address(address))
    return found


def _decode_address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)
