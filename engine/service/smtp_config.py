"""Set-/Get-MigrationConfig's SMTP settings for notification mail (imsh's additions).

The settings themselves (keys, defaults, sealing of the password) belong to
:mod:`engine.notify.settings`; this module checks what an administrator gives, stores each
given setting there, and describes the stored ones for Get-MigrationConfig without ever
revealing the password.

Each setting changes on its own: a parameter that isn't given leaves its setting as it is
(:data:`~engine.service.common.UNSET`), an empty value (``-SmtpServer ''``,
``-SmtpCredentials $null``) removes it. Without ``SmtpServer`` no mail is sent.

After any change the waits of batches whose mail failed are forgotten
(:func:`engine.notify.schedule.clear_backoff`), so a corrected setting is tried at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.csvdata import is_valid_address
from engine.errors import ValidationError
from engine.notify.schedule import clear_backoff
from engine.notify.settings import (
    DEFAULT_PORTS,
    SMTP_FROM,
    SMTP_PASSWORD,
    SMTP_PORT,
    SMTP_SECURITY,
    SMTP_SERVER,
    SMTP_USER_NAME,
    SmtpSecurity,
    default_sender,
    parse_security,
    validate_port,
)
from engine.secrets import Secret
from engine.service.common import UNSET, Unset
from engine.store import Store

# A host name or an IPv4/IPv6 address: letters, digits and . - _ : [ ] only.
_HOST = re.compile(r"[A-Za-z0-9._:\[\]-]+")


@dataclass(frozen=True)
class SmtpLogin:
    user_name: str
    password: Secret


@dataclass(frozen=True)
class SmtpChanges:
    """The ``-Smtp*`` parameters: ``UNSET`` leaves a setting, ``None`` removes it."""

    server: str | Unset | None = UNSET
    port: int | Unset | None = UNSET
    security: str | Unset | None = UNSET
    credentials: SmtpLogin | Unset | None = UNSET
    sender: str | Unset | None = UNSET

    @property
    def given(self) -> bool:
        return any(not isinstance(value, Unset) for value in
                   (self.server, self.port, self.security, self.credentials, self.sender))


@dataclass(frozen=True)
class SmtpConfig:
    """What Get-MigrationConfig shows; the password is only known to exist."""

    server: str | None
    port: int  # the stored port, or the default for the security
    security: str
    user_name: str | None
    has_password: bool
    sender: str  # the stored From address, or the default imsh@<host name>


def load_smtp(store: Store) -> SmtpConfig:
    config = store.config
    security = _stored_security(config.get(SMTP_SECURITY))
    port = config.get(SMTP_PORT)
    return SmtpConfig(
        server=config.get(SMTP_SERVER) or None,
        port=int(port) if port is not None else DEFAULT_PORTS[security],
        security=security.value,
        user_name=config.get(SMTP_USER_NAME) or None,
        has_password=config.get_secret(SMTP_PASSWORD) is not None,
        sender=config.get(SMTP_FROM) or default_sender(),
    )


def check_smtp(changes: SmtpChanges) -> None:
    """Raise ValidationError for any invalid given value, before anything is stored."""
    if isinstance(changes.server, str) and changes.server.strip():
        _check_server(changes.server.strip())
    if isinstance(changes.port, int):
        validate_port(changes.port)
    if isinstance(changes.security, str) and changes.security.strip():
        parse_security(changes.security)
    if isinstance(changes.sender, str) and changes.sender.strip():
        _check_sender(changes.sender.strip())
    if isinstance(changes.credentials, SmtpLogin) and not changes.credentials.user_name.strip():
        raise ValidationError("-SmtpCredentials needs a user name.",
                              error_id="InvalidSmtpCredentials")


def store_smtp(store: Store, changes: SmtpChanges) -> None:
    """Store the given settings (checked with :func:`check_smtp`); call inside a transaction."""
    if not changes.given:
        return
    config = store.config
    if not isinstance(changes.server, Unset):
        config.set(SMTP_SERVER, _text(changes.server))
    if not isinstance(changes.port, Unset):
        config.set(SMTP_PORT, changes.port)
    if not isinstance(changes.security, Unset):
        security = _text(changes.security)
        config.set(SMTP_SECURITY, parse_security(security).value if security else None)
    if not isinstance(changes.credentials, Unset):
        login = changes.credentials
        config.set(SMTP_USER_NAME, login.user_name.strip() if login else None)
        config.set_secret(SMTP_PASSWORD, login.password if login else None)
    if not isinstance(changes.sender, Unset):
        config.set(SMTP_FROM, _text(changes.sender))
    _refuse_clear_text_login(store)
    clear_backoff(store)


def _refuse_clear_text_login(store: Store) -> None:
    """A password is never sent over an unencrypted connection (raising rolls back)."""
    config = store.config
    security = _stored_security(config.get(SMTP_SECURITY))
    if security is SmtpSecurity.NONE and config.get_secret(SMTP_PASSWORD) is not None:
        raise ValidationError(
            "-SmtpCredentials need an encrypted connection: add -SmtpSecurity Tls (STARTTLS) "
            "or -SmtpSecurity Ssl, so the password isn't sent in clear text.",
            error_id="SmtpCredentialsNeedTls")


def _check_server(server: str) -> None:
    if not _HOST.fullmatch(server):
        raise ValidationError(
            f'The SMTP server "{server}" isn\'t valid. Enter a host name such as '
            "smtp.contoso.com, or an IP address.", error_id="InvalidSmtpServer")


def _check_sender(sender: str) -> None:
    if not is_valid_address(sender):
        raise ValidationError(
            f'The SMTP From address "{sender}" isn\'t valid. Enter an SMTP address such as '
            "migration@contoso.com.", error_id="InvalidSmtpFrom")


def _stored_security(value: object) -> SmtpSecurity:
    return parse_security(str(value)) if value else SmtpSecurity.NONE


def _text(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None
