"""Reaching an endpoint for real: Test-MigrationServerAvailability and endpoint verification.

:func:`probe_imap` connects with the configured security (certificates verified unless
untrusted ones are accepted), reads CAPABILITY and, when credentials are given, logs in; it
raises the engine's errors with Exchange's texts ("The connection to the server 'X' timed out
after 00:00:15.", "... could not be completed.", the sign-in text).

:func:`probe_endpoint` verifies a stored (or about to be stored) IMAP endpoint **the way the
sync will log in**. An endpoint's own login is never a login of its own: its -Credentials are
an administrator's acting for each mailbox (SASL PLAIN authzid, or Dovecot's ``user*admin``),
and an OAuth app signs in to each mailbox with XOAUTH2. So:

- with ``-TestMailbox``: the login the sync would make for that mailbox (the proxy login, or
  XOAUTH2 as the mailbox with the app's token);
- without it: an OAuth endpoint gets a token (proving the app's credential) and checks that the
  server offers AUTH=XOAUTH2; an endpoint with -Credentials checks connectivity, TLS and the
  offered mechanisms only -- a Dovecot master user cannot log in as itself -- and the result
  says that no login was tried (``ImapProbe.note``);
- an endpoint with neither (a source: each user logs in with the CSV's credentials) checks
  connectivity, TLS and capabilities, as before. :func:`probe_maildir` checks
that a Maildir root is, or can become, a writable directory.

:func:`test_settings` and :func:`test_endpoint` never raise for an unreachable server: they
return an :class:`AvailabilityResult` (Result ``Success``/``Warning``/``Failed``, Message,
ErrorDetail), as Exchange's TestMigrationServerAvailabilityOutcome does. ``Warning`` is imsh's
use of that value: the server answered, but a password would travel unencrypted or the server
refuses plaintext logins (LOGINDISABLED), or an EWS URL is plain http.

EWS endpoints are tested by engine/targets/ews_verify.py with the settings
:func:`~engine.targets.ews_settings.ews_settings_from_row` builds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from engine.errors import ErrorCategory, ImshError, PermanentError, ValidationError
from engine.imap.connection import (
    ImapSettings,
    SimpleLogin,
    authenticate,
    connect,
    imap_errors,
)
from engine.limits import CONNECTION_TIMEOUT, DEFAULT_IMAP_PORT, validate_port
from engine.model import EndpointType, IMAPSecurityMechanism
from engine.oauth import app_of, is_oauth, provider_for
from engine.secrets import Secret
from engine.store.endpoints import EndpointRow, EndpointSpec
from engine.targets.base import TargetMailbox
from engine.targets.ews_settings import ews_settings_from_row

CONNECTION_TIMEOUT_SECONDS = CONNECTION_TIMEOUT.total_seconds()


class TestResult(StrEnum):
    """Exchange's ``TestMigrationServerAvailabilityResult``."""

    __test__ = False  # not a pytest test class

    Success = "Success"
    Failed = "Failed"
    Warning = "Warning"


@dataclass(frozen=True)
class AvailabilityResult:
    result: TestResult
    message: str
    error_detail: str | None
    connection_settings: str


@dataclass(frozen=True)
class ImapProbe:
    """What the server told us: its capabilities and, if any, a reason to warn."""

    capabilities: frozenset[str]
    warning: str | None
    note: str | None = None  # what was not verified, when no login was tried


def imap_settings(host: str, port: int, security: IMAPSecurityMechanism,
                  accept_untrusted: bool) -> ImapSettings:
    return ImapSettings(host=host, port=validate_port(port),
                        security=IMAPSecurityMechanism(str(security)),
                        accept_untrusted=accept_untrusted, timeout=CONNECTION_TIMEOUT_SECONDS)


def probe_imap(settings: ImapSettings, user_name: str | None = None,
               password: Secret | None = None) -> ImapProbe:
    """Connect (TLS as configured), read CAPABILITY, log in when credentials are given."""
    client = connect(settings)
    try:
        with imap_errors(settings, "read the server capabilities"):
            capabilities = frozenset(c.decode().upper() for c in client.capabilities())
        if user_name is not None and password is not None:
            authenticate(client, SimpleLogin(user_name, password), settings)
        return ImapProbe(capabilities, _warning(settings, capabilities, user_name is not None))
    finally:
        try:
            client.logout()
        except Exception:  # the verdict is already known; a failed LOGOUT changes nothing
            client.shutdown()


def probe_endpoint(spec: EndpointSpec, test_mailbox: str | None = None,
                   settings: ImapSettings | None = None) -> ImapProbe:
    """Verify an IMAP endpoint the way the sync logs in (see the module docstring)."""
    from engine.endpoints import imap_target

    settings = settings or imap_settings(
        spec.remote_server or "", spec.port or DEFAULT_IMAP_PORT,
        IMAPSecurityMechanism(spec.security or "Ssl"), spec.accept_untrusted_certificates)
    oauth = is_oauth(spec)
    if oauth:
        provider_for(app_of(spec)).token()  # the app signs in, or its AADSTS reason is raised
    client = connect(settings)
    try:
        with imap_errors(settings, "read the server capabilities"):
            capabilities = frozenset(c.decode().upper() for c in client.capabilities())
        if oauth and "AUTH=XOAUTH2" not in capabilities:
            raise PermanentError(
                f"The server '{settings.host}' doesn't offer OAuth sign-in (AUTH=XOAUTH2).",
                category=ErrorCategory.AuthenticationError, error_id="XOAuth2NotOffered")
        note = None
        if test_mailbox:
            plan = imap_target(spec, settings).login_plan(TargetMailbox(test_mailbox))
            authenticate(client, plan, settings)
        elif oauth:
            note = ("The application got a token and the server offers XOAUTH2; no mailbox "
                    "was signed in to. Give -TestMailbox to sign in to one as the sync will.")
        elif spec.password is not None:
            offered = ", ".join(sorted(c for c in capabilities if c.startswith("AUTH="))) \
                or "no AUTH= mechanisms"
            note = (f"Only the connection, TLS and the offered mechanisms ({offered}) were "
                    "verified: the administrator credentials act for each mailbox and were not "
                    "tried. Give -TestMailbox to sign in to one as the sync will.")
        logged_in = bool(test_mailbox)
        return ImapProbe(capabilities, _warning(settings, capabilities, logged_in), note)
    finally:
        try:
            client.logout()
        except Exception:  # the verdict is already known; a failed LOGOUT changes nothing
            client.shutdown()


def _warning(settings: ImapSettings, capabilities: frozenset[str], logged_in: bool) -> str | None:
    if settings.security is not IMAPSecurityMechanism.NONE:
        return None
    if "LOGINDISABLED" in capabilities and not logged_in:
        return (f"The server '{settings.host}' refuses logins on an unencrypted connection "
                "(LOGINDISABLED). Use -Security Tls or Ssl.")
    hint = " It offers STARTTLS: use -Security Tls." if "STARTTLS" in capabilities else ""
    return (f"The connection to the server '{settings.host}' is not encrypted; passwords "
            f"would be sent in clear text.{hint}")


def probe_maildir(path: str) -> None:
    """A Maildir root must be a writable directory, or creatable under a writable one."""
    root = Path(path)
    if not root.is_absolute():
        raise ValidationError(f"The Maildir path '{path}' must be an absolute path.",
                              error_id="MaildirPathNotAbsolute")
    if root.exists():
        if not root.is_dir():
            raise ValidationError(f"The Maildir path '{path}' exists but is not a directory.",
                                  error_id="MaildirPathNotADirectory")
        _check_writable(root, path)
        return
    parent = next(p for p in root.parents if p.exists())
    if not parent.is_dir():
        raise ValidationError(f"The Maildir path '{path}' can't be created: '{parent}' is not "
                              "a directory.", error_id="MaildirPathNotADirectory")
    _check_writable(parent, path)


def _check_writable(directory: Path, path: str) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ImshError(f"The Maildir path '{path}' isn't writable ('{directory}').",
                        category=ErrorCategory.PermissionDenied, error_id="MaildirNotWritable")


def test_settings(host: str, port: int, security: IMAPSecurityMechanism,
                  accept_untrusted: bool = False) -> AvailabilityResult:
    """Test-MigrationServerAvailability -Imap: connect and read CAPABILITY, never raise."""
    described = _describe(host, port, security)
    try:
        settings = imap_settings(host, port, security, accept_untrusted)
        probe = probe_imap(settings)
    except ImshError as exc:
        return _failed(exc, described)
    return _answered(probe, described)


def test_gmail(key: bytes | None, email_address: str | None) -> AvailabilityResult:
    """Test-MigrationServerAvailability -Gmail: sign in to Gmail's IMAP (or the relay
    ``IMSH_GMAIL_IMAP`` names) as ``-EmailAddress`` with a token of the service account in
    ``-ServiceAccountKeyFileData``, as New-MigrationEndpoint -Gmail verifies; never raise."""
    from engine.gmail_endpoint import gmail_server, gmail_spec, verify_gmail

    try:
        host, port, security = gmail_server()
    except ImshError as exc:
        return _failed(exc, "Gmail")
    described = _describe(host, port, security) + f" EmailAddress={email_address or ''}"
    try:
        verify_gmail(gmail_spec({"name": "Test-MigrationServerAvailability", "kind": "Gmail"},
                                key, email_address, None, None, None))
    except ImshError as exc:
        return _failed(exc, described)
    return AvailabilityResult(TestResult.Success, "The connection to the server was successful.",
                              None, described)


def test_endpoint(endpoint: EndpointRow, test_mailbox: str | None = None
                  ) -> AvailabilityResult:
    """Test-MigrationServerAvailability -Endpoint: the endpoint's own settings and login."""
    if endpoint.kind == EndpointType.Maildir:
        described = f"Maildir {endpoint.path}"
        try:
            probe_maildir(endpoint.path or "")
        except ImshError as exc:
            return _failed(exc, described)
        return AvailabilityResult(TestResult.Success, f"The Maildir '{endpoint.path}' is usable.",
                                  None, described)
    if endpoint.kind == EndpointType.EWS:
        return test_ews_endpoint(endpoint)
    security = IMAPSecurityMechanism(endpoint.security or "Ssl")
    port = endpoint.port or 993
    described = _describe(endpoint.remote_server or "", port, security)
    try:
        settings = imap_settings(endpoint.remote_server or "", port, security,
                                 endpoint.accept_untrusted_certificates)
        probe = probe_endpoint(endpoint, test_mailbox, settings)
    except ImshError as exc:
        return _failed(exc, described)
    if is_oauth(endpoint):
        described += f" Authentication=OAuth Authority={app_of(endpoint).authority}"
    if test_mailbox:
        described += f" TestMailbox={test_mailbox}"
    return _answered(probe, described)


def test_ews_endpoint(endpoint: EndpointRow) -> AvailabilityResult:
    """Sign in at the EWS URL as given (no autodiscover); never raise."""
    from engine.targets.ews_verify import test_availability  # loads exchangelib

    settings = ews_settings_from_row(endpoint)
    result, message, detail = test_availability(settings)
    return AvailabilityResult(TestResult(result), message, detail,
                              f"EWS {settings.url} Authentication="
                              f"{settings.authentication or 'Negotiated'}")


def _describe(host: str, port: int, security: IMAPSecurityMechanism) -> str:
    return f"IMAP {host}:{port} Security={security}"


def _answered(probe: ImapProbe, described: str) -> AvailabilityResult:
    note = f" {probe.note}" if probe.note else ""
    if probe.warning is not None:
        return AvailabilityResult(TestResult.Warning, probe.warning + note, None, described)
    return AvailabilityResult(TestResult.Success,
                              "The connection to the server was successful." + note,
                              None, described)


def _failed(exc: ImshError, described: str) -> AvailabilityResult:
    return AvailabilityResult(TestResult.Failed, exc.message,
                              f"{exc.error_id} ({exc.category}): {exc.message}", described)
