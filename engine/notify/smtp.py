"""Sending one message over SMTP with smtplib, the errors turned into engine errors.

``-SmtpSecurity`` (``IMAPSecurityMechanism``): ``None`` is plain SMTP, ``Ssl`` is SMTPS (TLS
from the first byte), ``Tls`` is STARTTLS — refused, never downgraded, when the server does not
offer it. TLS certificates are verified (system CAs plus ``SmtpCaFile``) and the host name
checked. With credentials the sender logs in; this is the one place the SMTP password is
revealed. With an OAuth app it signs in with ``AUTH XOAUTH2`` as the From address (Exchange
Online's SMTP.SendAsApp) with the app's token; a refused token is renewed and tried once more
(engine/oauth.py says why). Neither a password nor a token is ever sent over an unencrypted
connection.

Every failure is an :class:`~engine.errors.ImshError`, so a caller (the runner) never sees an
smtplib or socket exception:

- :class:`TransientError` — the server cannot be reached, the connection dropped or timed out,
  or it answered with a 4xx code: worth trying again later.
- :class:`PermanentError` — the certificate is not trusted, login was refused, STARTTLS or AUTH
  is not offered, every recipient or the sender was refused, or a 5xx answer: retrying the same
  settings will not help until the administrator changes them.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from email.message import EmailMessage

from engine.errors import ErrorCategory, PermanentError, TransientError
from engine.model import IMAPSecurityMechanism
from engine.notify.settings import SmtpSettings
from engine.oauth import provider_for

log = logging.getLogger(__name__)


def send_message(settings: SmtpSettings, message: EmailMessage) -> None:
    """Deliver ``message`` to the SMTP server in ``settings`` (to its To recipients)."""
    where = f"{settings.server}:{settings.port}"
    try:
        refused = _deliver(settings, message)
    except ssl.SSLCertVerificationError as exc:
        raise PermanentError(
            f"The certificate of the SMTP server {where} isn't trusted: {exc.verify_message}.",
            category=ErrorCategory.AuthenticationError,
            error_id="SmtpCertificateUntrusted",
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentError(
            f"The SMTP server {where} refused the login: {_reply(exc)}",
            category=ErrorCategory.AuthenticationError,
            error_id="SmtpAuthenticationFailed",
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise PermanentError(
            f"The SMTP server {where} doesn't support what the settings need: {exc}",
            error_id="SmtpNotSupported",
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentError(
            f"The SMTP server {where} refused every recipient: {', '.join(exc.recipients)}",
            error_id="SmtpRecipientsRefused",
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise _answer_error(where, exc) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientError(
            f"Cannot send mail through the SMTP server {where}: {exc or type(exc).__name__}",
            error_id="SmtpUnavailable",
        ) from None
    if refused:
        log.warning("the SMTP server %s refused some recipients: %s", where, ", ".join(refused))


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """A verifying client context: system CAs, plus ``ca_file`` when given."""
    context = ssl.create_default_context()
    if settings.ca_file:
        try:
            context.load_verify_locations(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise PermanentError(
                f"The SMTP CA file {settings.ca_file} can't be read: {exc}",
                category=ErrorCategory.ReadError,
                error_id="SmtpCaFileUnreadable",
            ) from None
    return context


def _deliver(settings: SmtpSettings, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    with _connect(settings) as client:
        client.ehlo_or_helo_if_needed()
        if settings.security is IMAPSecurityMechanism.Tls:
            client.starttls(context=tls_context(settings))
            client.ehlo()
        if settings.oauth is not None:
            _refuse_clear_text(settings, "OAuth token")
            _xoauth2(client, settings)
        elif settings.credentials is not None:
            if settings.security is IMAPSecurityMechanism.NONE:
                raise PermanentError(
                    f"imsh won't send the SMTP password to {settings.server} over an "
                    "unencrypted connection; set -SmtpSecurity Tls or Ssl.",
                    category=ErrorCategory.PermissionDenied, error_id="SmtpCredentialsNeedTls")
            client.login(
                settings.credentials.user_name, settings.credentials.password.reveal()
            )
        return client.send_message(message, from_addr=settings.from_address)


def _refuse_clear_text(settings: SmtpSettings, what: str) -> None:
    if settings.security is IMAPSecurityMechanism.NONE:
        raise PermanentError(
            f"imsh won't send the SMTP {what} to {settings.server} over an unencrypted "
            "connection; set -SmtpSecurity Tls or Ssl.",
            category=ErrorCategory.PermissionDenied, error_id="SmtpCredentialsNeedTls")


def _xoauth2(client: smtplib.SMTP, settings: SmtpSettings) -> None:
    assert settings.oauth is not None
    mechanisms = client.esmtp_features.get("auth", "").upper().split()
    if "XOAUTH2" not in mechanisms:
        raise smtplib.SMTPNotSupportedError(
            "AUTH XOAUTH2 (OAuth sign-in) is not offered by the server")
    provider = provider_for(settings.oauth)
    for fetch in (provider.token, provider.renew):
        answer = (f"user={settings.from_address}\1auth=Bearer {fetch().reveal()}\1\1")
        try:
            # the initial response carries the token; a challenge is the server's error
            # report, answered with an empty line as XOAUTH2 requires
            client.auth("XOAUTH2", lambda challenge=None, text=answer: "" if challenge else text,
                        initial_response_ok=True)
            return
        except smtplib.SMTPAuthenticationError:
            if fetch == provider.renew:
                raise


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    # gethostname(): smtplib's default (getfqdn) can wait seconds on reverse DNS.
    helo = socket.gethostname() or "localhost"
    if settings.security is IMAPSecurityMechanism.Ssl:
        return smtplib.SMTP_SSL(
            settings.server,
            settings.port,
            local_hostname=helo,
            timeout=settings.timeout,
            context=tls_context(settings),
        )
    return smtplib.SMTP(
        settings.server, settings.port, local_hostname=helo, timeout=settings.timeout
    )


def _answer_error(where: str, exc: smtplib.SMTPResponseException) -> Exception:
    text = f"The SMTP server {where} answered {_reply(exc)}"
    if 400 <= exc.smtp_code < 500:
        return TransientError(text, error_id="SmtpTemporaryFailure")
    return PermanentError(text, error_id="SmtpRejected")


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}".strip()
