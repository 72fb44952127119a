"""Throwaway IMAP servers on 127.0.0.1 for tests and benchmarks.

This module owns the Python side of scripts/servers/*-test-server.sh: it picks free
ports, starts Dovecot, Cyrus or Courier in a fresh directory under /tmp, hands out
users, and stops every server it started (in parallel, at interpreter exit at the
latest).  The scripts own the server-specific knowledge; their exit codes tell this
module whether to retry (3: port taken), give up politely (2: this machine cannot run
the server -> SkipServer) or fail (anything else -> ServerError).

Users are user1..userN with password "pw".  Admin logins: Dovecot master user
("user1*admin" / "adminpw"), Cyrus SASL PLAIN proxy authorization (authzid = user,
authcid "admin" / "pw"); Courier has none.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

from tests.support.ports import free_port
from tests.support.smtp import SmtpSink, start_smtp

__all__ = [
    "ImapServer",
    "MigrationPair",
    "ServerError",
    "SkipServer",
    "SmtpSink",
    "free_port",
    "start_courier",
    "start_cyrus",
    "start_dovecot",
    "start_smtp",
    "started_servers",
    "stop_all",
]

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "servers"
LOOPBACK = "127.0.0.1"
PASSWORD = "pw"
START_ATTEMPTS = 5
SCRIPT_TIMEOUT = 120

# exit codes of the server scripts (scripts/servers/lib.sh)
_EXIT_MACHINE_CANNOT = 2
_EXIT_PORT_TAKEN = 3


class SkipServer(Exception):
    """This machine cannot run the server (package missing, not root, ...)."""


class ServerError(RuntimeError):
    """The server could have run here but failed to start, to stop or to act."""


@dataclass(eq=False)
class ImapServer:
    """One running throwaway IMAP server and how to talk to it."""

    kind: str
    host: str
    port: int
    tls_port: int | None
    dir: Path
    users: list[str]
    password: str
    admin_user: str | None
    admin_password: str | None
    separator: str
    cafile: Path | None
    personal_prefix: str = ""
    start_seconds: float = 0.0
    _handed_out: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def folder(self, *parts: str) -> str:
        """A personal folder name on this server: prefix + parts joined by the separator."""
        return self.personal_prefix + self.separator.join(parts)

    def login(self, user: str) -> IMAPClient:
        """A plaintext connection logged in as `user`."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=30)
        client.login(user, self.password)
        return client

    def login_via_admin(self, user: str) -> IMAPClient:
        """Log in as `user` with the admin's credentials (master user or SASL authzid)."""
        if self.admin_user is None or self.admin_password is None:
            raise ServerError(f"{self.kind} has no admin login")
        client = IMAPClient(self.host, self.port, ssl=False, timeout=30)
        if self.kind == "dovecot":
            client.login(f"{user}*{self.admin_user}", self.admin_password)
        else:
            client.plain_login(self.admin_user, self.admin_password, authorization_identity=user)
        return client

    def tls_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's self-signed certificate."""
        if self.cafile is None:
            raise ServerError(f"{self.kind} on port {self.port} was started without TLS")
        return ssl.create_default_context(cafile=str(self.cafile))

    def fresh_user(self) -> str:
        """A user no caller has been given before; creates more users when needed."""
        with self._lock:
            unused = [u for u in self.users if u not in self._handed_out]
            if not unused:
                # in batches: on Dovecot each addition waits for the next second
                unused = self._add_users_locked(20)
            self._handed_out.add(unused[0])
            return unused[0]

    def add_users(self, count: int) -> list[str]:
        """Create `count` more users (password `self.password`) while the server runs."""
        with self._lock:
            return self._add_users_locked(count)

    def add_named_user(self, name: str) -> str:
        """Create the user `name` (password `self.password`) while the server runs: a mailbox
        that a test lets appear only after a migration failed for want of it."""
        with self._lock:
            self._run_script("add-users", name)
            self.users.append(name)
            self._handed_out.add(name)
            return name

    def _add_users_locked(self, count: int) -> list[str]:
        numbers = [int(m.group(1)) for u in self.users if (m := re.fullmatch(r"user(\d+)", u))]
        first = max(numbers, default=0) + 1
        names = [f"user{n}" for n in range(first, first + count)]
        self._run_script("add-users", *names)
        self.users.extend(names)
        return names

    def wipe_user(self, user: str) -> None:
        """Empty `user`'s mailbox.  No session of that user may be open meanwhile."""
        self._run_script("wipe-user", user)

    def stop(self) -> None:
        """Stop the server and remove its directory (kept if IMSH_KEEP_SERVER_DIRS is set)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            self._run_script("stop")
        finally:
            _forget(self)
            if not os.environ.get("IMSH_KEEP_SERVER_DIRS"):
                shutil.rmtree(self.dir, ignore_errors=True)

    def _run_script(self, action: str, *args: str) -> None:
        result = _run(self.kind, action, str(self.dir), *args)
        if result.returncode != 0:
            raise ServerError(
                f"{self.kind} {action} failed ({result.returncode}): {result.stderr.strip()}"
            )


@dataclass(frozen=True)
class MigrationPair:
    """A source user and a target user that no other test touches."""

    source: ImapServer
    source_user: str
    target: ImapServer
    target_user: str


# ---- starting ------------------------------------------------------------------

_RUNNING: list[ImapServer] = []
_STARTED: list[ImapServer] = []
_REGISTRY_LOCK = threading.Lock()


def start_dovecot(
    nusers: int = 3,
    tls: bool = False,
    sep: str = "/",
    fsync: str = "never",
    mail_format: str = "maildir",
    quota: bool = False,
    special_use: str = "default",
    listen: str = LOOPBACK,
    netns: str | None = None,
) -> ImapServer:
    """Dovecot with users user1..N, master user admin/adminpw, optional implicit TLS;
    ``quota``: the quota plugin is loaded (limits per user, see dovecot-test-server.sh);
    ``special_use``: "archive" also marks Archive, "exchange" gives Exchange's folders;
    ``listen`` and ``netns``: the address to listen on, in that network namespace
    (tests/support/netns.py) instead of 127.0.0.1 here."""
    env = {"SEP": sep, "MAIL_FSYNC": fsync, "MAIL_FORMAT": mail_format,
           "QUOTA": "yes" if quota else "no", "SPECIAL_USE": special_use, "LISTEN": listen}
    directory, port, tls_port, seconds = _launch("dovecot", nusers, env, tls=tls, netns=netns)
    return _register(
        ImapServer(
            kind="dovecot",
            host=listen,
            port=port,
            tls_port=tls_port,
            dir=directory,
            users=_numbered_users(nusers),
            password=PASSWORD,
            admin_user="admin",
            admin_password="adminpw",
            separator=sep,
            cafile=directory / "etc" / "cert.pem" if tls else None,
            start_seconds=seconds,
        )
    )


def start_cyrus(nusers: int = 3, sep: str = ".", altnamespace: bool = False) -> ImapServer:
    """Cyrus with users user1..N and the admin admin/pw, who may proxy (SASL authzid)."""
    if sep not in (".", "/"):
        raise ValueError("Cyrus separator must be '.' or '/'")
    env = {
        "CYRUS_SEP": "dot" if sep == "." else "slash",
        "CYRUS_ALTNS": "yes" if altnamespace else "no",
    }
    directory, port, _, seconds = _launch("cyrus", nusers, env)
    return _register(
        ImapServer(
            kind="cyrus",
            host=LOOPBACK,
            port=port,
            tls_port=None,
            dir=directory,
            users=_numbered_users(nusers),
            password=PASSWORD,
            admin_user="admin",
            admin_password=PASSWORD,
            separator=sep,
            cafile=None,
            personal_prefix="" if altnamespace else f"INBOX{sep}",
            start_seconds=seconds,
        )
    )


def start_courier(nusers: int = 3) -> ImapServer:
    """Courier-IMAP with users user1..N; separator '.', personal folders under 'INBOX.'."""
    directory, port, _, seconds = _launch("courier", nusers, {})
    return _register(
        ImapServer(
            kind="courier",
            host=LOOPBACK,
            port=port,
            tls_port=None,
            dir=directory,
            users=_numbered_users(nusers),
            password=PASSWORD,
            admin_user=None,
            admin_password=None,
            separator=".",
            cafile=None,
            personal_prefix="INBOX.",
            start_seconds=seconds,
        )
    )


def _numbered_users(count: int) -> list[str]:
    return [f"user{n}" for n in range(1, count + 1)]


def _launch(
    kind: str, nusers: int, env: Mapping[str, str], tls: bool = False, netns: str | None = None
) -> tuple[Path, int, int | None, float]:
    """Run `KIND-test-server.sh start` (in network namespace ``netns`` if given), retrying on
    port races; (dir, port, tls_port, secs)."""
    failure = ""
    for _ in range(START_ATTEMPTS):
        try:
            port = free_port()
            tls_port = free_port() if tls else None
        except OSError as exc:
            raise ServerError(str(exc)) from exc
        extra = {"TLS_PORT": str(tls_port)} if tls_port else {}
        # not pytest's tmp_path: its 0700 parent keeps the servers' own users out
        directory = Path(tempfile.mkdtemp(prefix=f"{kind[:3]}{port}-", dir="/tmp"))
        began = time.monotonic()
        result = _run(kind, "start", str(directory), str(port), str(nusers), env={**env, **extra},
                      netns=netns)
        seconds = time.monotonic() - began
        if result.returncode == 0:
            return directory, port, tls_port, seconds
        shutil.rmtree(directory, ignore_errors=True)
        failure = result.stderr.strip() or result.stdout.strip()
        if result.returncode == _EXIT_MACHINE_CANNOT:
            raise SkipServer(f"{kind} cannot run on this machine: {failure}")
        if result.returncode != _EXIT_PORT_TAKEN:
            raise ServerError(f"{kind} failed to start ({result.returncode}): {failure}")
    raise ServerError(f"{kind}: no usable port after {START_ATTEMPTS} attempts: {failure}")


def _run(
    kind: str, *args: str, env: Mapping[str, str] | None = None, netns: str | None = None
) -> subprocess.CompletedProcess[str]:
    script = SCRIPTS / f"{kind}-test-server.sh"
    if shutil.which("bash") is None:
        raise SkipServer("bash is not installed")
    inside = ["ip", "netns", "exec", netns] if netns else []
    try:
        return subprocess.run(
            [*inside, "bash", str(script), *args],
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"{kind} {args[0]} took longer than {SCRIPT_TIMEOUT}s") from exc


# ---- the registry: every server started here is stopped ---------------------------


def _register(server: ImapServer) -> ImapServer:
    with _REGISTRY_LOCK:
        _RUNNING.append(server)
        _STARTED.append(server)
    return server


def _forget(server: ImapServer) -> None:
    with _REGISTRY_LOCK:
        if server in _RUNNING:
            _RUNNING.remove(server)


def started_servers() -> list[ImapServer]:
    """Every server started by this process so far (running or stopped), oldest first."""
    with _REGISTRY_LOCK:
        return list(_STARTED)


def stop_all() -> list[str]:
    """Stop every running server at once (a Dovecot stop alone takes about 2 s).

    Returns the failures, one line each; an empty list when all stopped cleanly.
    """
    with _REGISTRY_LOCK:
        running = list(_RUNNING)
    failures: list[str] = []

    def stop(server: ImapServer) -> None:
        try:
            server.stop()
        except ServerError as exc:
            failures.append(str(exc))

    threads = [threading.Thread(target=stop, args=(s,)) for s in running]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SCRIPT_TIMEOUT)
    return failures


atexit.register(stop_all)
