"""One authenticated IMAP session: connect, secure, log in, learn the server.

Owns the transport rules for every IMAP endpoint (source and target):

- security ``None`` (plain), ``Ssl`` (implicit TLS) or ``Tls`` (STARTTLS). Certificates are
  verified against the system store (or ``cafile``) with host-name checking, unless the endpoint
  accepts untrusted certificates (Exchange's ``-AcceptUntrustedCertificates``).
- login by ``LOGIN`` or ``AUTHENTICATE PLAIN`` with an optional authorization identity (proxy
  login of an administrator on behalf of a user, RFC 4616), or by ``AUTHENTICATE XOAUTH2`` with
  an OAuth bearer token (engine/oauth.py), as a login plan says. The token is revealed only
  here, before the login; a refused XOAUTH2 login is tried once more with a renewed token (the
  server may have stopped accepting a token the client still holds), then it is a verdict.
- after login the capabilities are read again (servers announce more, or fewer: Cyrus reports
  ``LOGINDISABLED`` once logged in, which is normal), then NAMESPACE (or ``LIST "" ""`` when the
  server has none, as pymap) gives the hierarchy separator and personal prefix.
- :func:`imap_errors` turns imaplib/imapclient/socket/ssl failures into the engine's
  :class:`TransientError` / :class:`PermanentError` with Exchange's wording.
- a reply that says the server is throttling (Exchange Online: ``NO Request is throttled.
  Suggested Backoff Time: 300000 milliseconds``, after which it drops the session) is a
  :class:`ThrottledError`, whatever its response code: transient, with the server's hint as
  ``retry_after``, which the runner's backoff honours (engine/runner/scheduler.py). A login
  refused because the account has too many sessions open (Gmail: ``NO [ALERT] Too many
  simultaneous connections``) is a busy server too, not a wrong password.
- the plain values a session is opened with (:class:`ImapSettings`, the login plans) live in
  engine/imap/settings.py, which cmdlets can import without imapclient.

imaplib's debug tracing (which imapclient switches on) formats every literal it sends or reads;
it is switched off here because it costs more CPU than parsing on large messages.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient import exceptions as imapexc

from engine.errors import (
    MAILBOX_FULL,
    CapacityError,
    ErrorCategory,
    PermanentError,
    TransientError,
    ValidationError,
)
from engine.imap import deadline, wire

# the plain values of a session live in engine/imap/settings.py (light to import); they are
# named here too, for the modules that open sessions with them
from engine.imap.settings import ImapSettings as ImapSettings
from engine.imap.settings import LoginPlanLike as LoginPlanLike
from engine.imap.settings import Password as Password
from engine.imap.settings import SimpleLogin as SimpleLogin
from engine.imap.settings import reveal as reveal
from engine.model import IMAPSecurityMechanism
from engine.oauth import token_refused

BAD_CREDENTIALS = (
    "We had trouble signing in to this account. "
    "Confirm that you're using the correct user name and password."
)
_TRANSIENT_CODES = ("UNAVAILABLE", "INUSE", "LIMIT", "SERVERBUG", "EXPUNGEISSUED", "THROTTLED")
_MISSING_CODES = ("NONEXISTENT", "TRYCREATE")
_CODE = re.compile(r"\[([A-Z-]+)")
_BACKOFF = re.compile(r"Suggested\s+Backoff\s+Time\s*:?\s*~?\s*(\d+(?:\.\d+)?)\s*"
                      r"(milliseconds|millisecond|msec|ms|seconds|second|sec|s)?\b", re.IGNORECASE)
_THROTTLED = re.compile(r"\bthrottl", re.IGNORECASE)
# Gmail refuses a login while the account has too many sessions open with
# "NO [ALERT] Too many simultaneous connections. (Failure)": busy, not a wrong password
_TOO_MANY_SESSIONS = re.compile(r"too many simultaneous connections", re.IGNORECASE)


@dataclass
class ImapSession:
    """A logged-in connection plus what the server told us about itself."""

    client: IMAPClient
    settings: ImapSettings
    capabilities: frozenset[str] = frozenset()
    separator: str | None = "/"
    personal_prefix: str = ""
    other_prefixes: tuple[str, ...] = ()
    enabled: frozenset[str] = field(default_factory=frozenset)

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    @property
    def meter(self) -> deadline.Meter | None:
        """The connection's deadline watch (engine/imap/deadline.py)."""
        return getattr(self.client, "imsh_meter", None)

    def close(self) -> None:
        """Log out; a connection that is already gone is fine."""
        try:
            self.client.logout()
        except (imaplib.IMAP4.error, OSError):
            with suppress(OSError):
                self.client.shutdown()
        finally:
            deadline.unwatch(self.meter)


def _timeout_text(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def response_code(text: str) -> str | None:
    """The bracketed response code of a server reply (``NO [OVERQUOTA] ...`` -> ``OVERQUOTA``)."""
    match = _CODE.search(text)
    return match.group(1) if match else None


class ThrottledError(TransientError):
    """The server asks imsh to slow down; ``retry_after`` is its hint in seconds (or None)."""

    default_category = ErrorCategory.ResourceUnavailable
    default_error_id = "ServerThrottled"

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def backoff_hint(reply: str) -> float | None:
    """Seconds from ``Suggested Backoff Time: N milliseconds`` (or ``N ms`` / ``N seconds``)."""
    match = _BACKOFF.search(reply)
    if match is None:
        return None
    value = float(match.group(1))
    unit = (match.group(2) or "ms").lower()
    return value if unit.startswith("s") else value / 1000.0


def is_throttled(reply: str) -> bool:
    return _BACKOFF.search(reply) is not None or _THROTTLED.search(reply) is not None


def is_busy(reply: str) -> bool:
    """The server refused for now (RFC 5530's UNAVAILABLE, INUSE, LIMIT..., or Gmail's too
    many sessions): worth trying again later."""
    return response_code(reply) in _TRANSIENT_CODES or _TOO_MANY_SESSIONS.search(reply) is not None


def server_error(host: str, action: str, reply: str) -> TransientError | PermanentError:
    """Classify a NO/BAD reply: throttling first (its hint kept), then by response code
    (RFC 5530)."""
    if is_throttled(reply):
        hint = backoff_hint(reply)
        wait = f"; it asked for {hint:g} s" if hint is not None else ""
        return ThrottledError(
            f"The server '{host}' is throttling imsh and could not {action}{wait}: {reply}",
            retry_after=hint)
    code = response_code(reply)
    if is_busy(reply):
        return TransientError(
            f"The server '{host}' is busy and could not {action}: {reply}",
            category=ErrorCategory.ResourceUnavailable, error_id="ServerBusy")
    if code == "OVERQUOTA":  # capacity, not a verdict: retried when there is room again
        return CapacityError(f"{MAILBOX_FULL} The server '{host}' said: {reply}",
                             error_id="MailboxFull")
    if code in _MISSING_CODES:
        return PermanentError(f"The server '{host}' could not {action}: the folder does not exist.",
                              category=ErrorCategory.ObjectNotFound, error_id="FolderNotFound")
    return PermanentError(f"The server '{host}' could not {action}: {reply}",
                          category=ErrorCategory.InvalidOperation, error_id="ServerRefused")


@contextmanager
def imap_errors(settings: ImapSettings, action: str) -> Iterator[None]:
    """Translate transport and protocol failures raised inside the block."""
    host = settings.host
    try:
        yield
    except imapexc.LoginError as exc:
        if isinstance(exc.__context__, imapexc.IMAPClientAbortError | OSError):
            # imapclient re-raises a connection lost during LOGIN/AUTHENTICATE as LoginError;
            # that is a network fault to retry, not a wrong password that fails the user
            raise TransientError(
                f"The connection to the server '{host}' was lost ({action}).",
                category=ErrorCategory.ConnectionError, error_id="ConnectionFailed") from None
        if is_throttled(str(exc)) or is_busy(str(exc)):
            raise server_error(host, action, str(exc)) from None
        raise PermanentError(BAD_CREDENTIALS, category=ErrorCategory.AuthenticationError,
                             error_id="AuthenticationFailed") from None
    except TimeoutError:
        raise TransientError(
            f"The connection to the server '{host}' timed out after "
            f"{_timeout_text(settings.timeout)}.",
            category=ErrorCategory.OperationTimeout, error_id="ConnectionTimedOut") from None
    except ssl.SSLCertVerificationError as exc:
        raise PermanentError(
            f"The certificate of the server '{host}' could not be verified "
            f"({exc.verify_message}). Use -AcceptUntrustedCertificates to connect anyway.",
            category=ErrorCategory.ConnectionError, error_id="CertificateNotTrusted") from None
    except socket.gaierror:
        raise PermanentError(f"The connection to the server '{host}' could not be completed.",
                             category=ErrorCategory.ConnectionError,
                             error_id="ServerNotFound") from None
    except (imapexc.IMAPClientAbortError, OSError, EOFError) as exc:
        raise TransientError(
            f"The connection to the server '{host}' could not be completed ({action}: {exc}).",
            category=ErrorCategory.ConnectionError, error_id="ConnectionFailed") from None
    except imapexc.IMAPClientError as exc:
        raise server_error(host, action, str(exc)) from None


def tls_context(settings: ImapSettings) -> ssl.SSLContext:
    """Verifying by default; ``accept_untrusted`` turns verification off entirely."""
    context = ssl.create_default_context(cafile=settings.cafile)
    if settings.accept_untrusted:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(settings: ImapSettings) -> IMAPClient:
    """Open the connection and secure it as configured (not logged in yet)."""
    if not 0 < settings.port < 65536:
        raise ValidationError(f"The port {settings.port} is not a valid TCP port.")
    with imap_errors(settings, "connect"):
        implicit = settings.security is IMAPSecurityMechanism.Ssl
        plain = settings.security is IMAPSecurityMechanism.NONE
        context = None if plain else tls_context(settings)
        client = IMAPClient(settings.host, settings.port, ssl=implicit, ssl_context=context,
                            timeout=settings.timeout)
        wire.raw_connection(client).debug = 0
        # every command from here on (STARTTLS and LOGIN included) has a deadline, and the
        # pass's connection group may abort it (engine/imap/deadline.py)
        client.imsh_meter = deadline.watch(wire.raw_connection(client),
                                           f"{settings.host}:{settings.port}")
        client.folder_encode = False  # raw names; engine.folders decodes them
        client.normalise_times = False  # INTERNALDATE as aware datetimes
        if settings.security is IMAPSecurityMechanism.Tls:
            if not client.has_capability("STARTTLS"):
                client.shutdown()
                deadline.unwatch(client.imsh_meter)
                raise PermanentError(
                    f"The server '{settings.host}' does not offer STARTTLS on port "
                    f"{settings.port}.", category=ErrorCategory.ConnectionError,
                    error_id="StartTlsNotOffered")
            client.starttls(context)
    return client


def authenticate(client: IMAPClient, plan: LoginPlanLike, settings: ImapSettings) -> None:
    """Log in as the plan says (LOGIN, AUTHENTICATE PLAIN with an authorization id, or
    AUTHENTICATE XOAUTH2 with a bearer token)."""
    if plan.method == "xoauth2":
        _xoauth2(client, plan, settings)
        return
    password = reveal(plan.password)
    with imap_errors(settings, "log in"):
        if plan.method == "authenticate-plain":
            client.plain_login(plan.authcid, password, plan.authzid)
        elif plan.method == "login":
            client.login(plan.authcid, password)
        else:
            raise ValidationError(f"Unknown login method '{plan.method}'.")


def _xoauth2(client: IMAPClient, plan: LoginPlanLike, settings: ImapSettings) -> None:
    if not client.has_capability("AUTH=XOAUTH2"):
        raise PermanentError(
            f"The server '{settings.host}' doesn't offer OAuth sign-in (AUTH=XOAUTH2). Use "
            "-Authentication Basic with this server.",
            category=ErrorCategory.AuthenticationError, error_id="XOAuth2NotOffered")
    token = reveal(plan.password)  # outside imap_errors: the token's own errors say more
    try:
        with imap_errors(settings, "log in"):
            client.oauth2_login(plan.authcid, token)
        return
    except PermanentError as exc:
        renew = getattr(plan.password, "renew", None)
        if exc.error_id != "AuthenticationFailed" or renew is None:
            raise
    token = renew()
    try:
        with imap_errors(settings, "log in"):
            client.oauth2_login(plan.authcid, token)
    except PermanentError as exc:
        if exc.error_id != "AuthenticationFailed":
            raise
        # a fresh token refused too: the mailbox side, not the password that BAD_CREDENTIALS
        # speaks of (and not a missing recipient, as the executor reads a refused proxy login)
        refused = getattr(plan.password, "refused", None)
        if callable(refused):  # the provider's wording (engine/oauth.py's BearerToken)
            raise refused(plan.authcid, settings.host) from None
        client_id = getattr(plan.password, "client_id", "")
        raise token_refused(client_id, plan.authcid, settings.host) from None


def open_session(
    settings: ImapSettings, plan: LoginPlanLike, *, enable: tuple[str, ...] = ()
) -> ImapSession:
    """Connect, log in, and learn capabilities, separator and personal prefix."""
    client = connect(settings)
    try:
        authenticate(client, plan, settings)
        session = ImapSession(client, settings)
        with imap_errors(settings, "read the server capabilities"):
            _learn(session, enable)
        return session
    except BaseException:
        with suppress(OSError):
            client.shutdown()
        deadline.unwatch(getattr(client, "imsh_meter", None))
        raise


def _learn(session: ImapSession, enable: tuple[str, ...]) -> None:
    client = session.client
    client._cached_capabilities = None
    session.capabilities = frozenset(c.decode().upper() for c in client.capabilities())
    wanted = [cap for cap in enable if session.has(cap)]
    if wanted and session.has("ENABLE"):
        session.enabled = frozenset(c.decode().upper() for c in client.enable(*wanted))
    if session.has("NAMESPACE"):
        namespaces = client.namespace()
        session.other_prefixes = tuple(
            _text(prefix) for group in (namespaces.other, namespaces.shared) if group
            for prefix, _sep in group if prefix)
        personal = namespaces.personal
        if personal:
            prefix, separator = personal[0]
            session.personal_prefix = _text(prefix)
            session.separator = _text(separator) if separator else None
            return
    session.separator = _list_separator(client)


def _list_separator(client: IMAPClient) -> str | None:
    rows = client.list_folders("", "")
    if rows and rows[0][1]:
        return _text(rows[0][1])
    return None


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
