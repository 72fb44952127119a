"""Set-/Get-MigrationConfig's SMTP settings for notification mail (imsh's additions).

The settings themselves (keys, defaults, sealing of the password) belong to
:mod:`engine.notify.settings`; this module checks what an administrator gives, stores each
given setting there, and describes the stored ones for Get-MigrationConfig without ever
revealing the password.

Each setting changes on its own: a parameter that isn't given leaves its setting as it is
(:data:`~engine.service.common.UNSET`), an empty value (``-SmtpServer ''``,
``-SmtpCredentials $null``) removes it. Without ``SmtpServer`` no mail is sent.

OAuth (``-Authentication OAuth -TenantId -ClientId -ClientSecret [-Authority]``) is given whole
in one call and replaces -SmtpCredentials (and the other way round); ``-Authentication Basic``
removes it. It needs -SmtpFrom (the mailbox the app sends as) and an encrypted connection.

After any change the waits of batches whose mail failed are forgotten
(:func:`engine.notify.schedule.clear_backoff`), so a corrected setting is tried at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.csvdata import is_valid_address
from engine.errors import ValidationError
from engine.limits import validate_port
from engine.model import IMAPSecurityMechanism
from engine.notify.settings import (
    DEFAULT_PORTS,
    SMTP_AUTHENTICATION,
    SMTP_AUTHORITY,
    SMTP_CLIENT_ID,
    SMTP_CLIENT_SECRET,
    SMTP_FROM,
    SMTP_PASSWORD,
    SMTP_PORT,
    SMTP_SECURITY,
    SMTP_SERVER,
    SMTP_TENANT_ID,
    SMTP_USER_NAME,
    default_sender,
    parse_security,
)
from engine.oauth import PUBLIC_CLOUD, normalise_authority
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
class SmtpOAuth:
    """-Authentication OAuth for SMTP: the app that sends as -SmtpFrom."""

    tenant_id: str
    client_id: str
    client_secret: Secret
    authority: str | None = None


@dataclass(frozen=True)
class SmtpChanges:
    """The ``-Smtp*`` parameters: ``UNSET`` leaves a setting, ``None`` removes it."""

    server: str | Unset | None = UNSET
    port: int | Unset | None = UNSET
    security: str | Unset | None = UNSET
    credentials: SmtpLogin | Unset | None = UNSET
    sender: str | Unset | None = UNSET
    oauth: SmtpOAuth | Unset | None = UNSET  # None: back to a password login (or none)

    @property
    def given(self) -> bool:
        return any(not isinstance(value, Unset) for value in
                   (self.server, self.port, self.security, self.credentials, self.sender,
                    self.oauth))


@dataclass(frozen=True)
class SmtpConfig:
    """What Get-MigrationConfig shows; the password is only known to exist."""

    server: str | None
    port: int  # the stored port, or the default for the security
    security: str
    user_name: str | None
    has_password: bool
    sender: str  # the stored From address, or the default imsh@<host name>
    authentication: str | None = None  # "OAuth" when the app signs in
    tenant_id: str | None = None
    client_id: str | None = None


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
        authentication=config.get(SMTP_AUTHENTICATION) or None,
        tenant_id=config.get(SMTP_TENANT_ID) or None,
        client_id=config.get(SMTP_CLIENT_ID) or None,
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
    if isinstance(changes.oauth, SmtpOAuth):
        if isinstance(changes.credentials, SmtpLogin):
            raise ValidationError("-SmtpCredentials don't apply with -Authentication OAuth: "
                                  "the application signs in with -ClientId and -ClientSecret.",
                                  error_id="SmtpOAuthWithCredentials")
        normalise_authority(changes.oauth.authority)


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
    if isinstance(changes.credentials, SmtpLogin):
        _store_oauth(store, None)  # a password login replaces the app's
    if not isinstance(changes.oauth, Unset):
        _store_oauth(store, changes.oauth)
    _refuse_clear_text_login(store)
    from engine.notify.schedule import clear_backoff  # the mail code, only when SMTP changes

    clear_backoff(store)


def _store_oauth(store: Store, oauth: SmtpOAuth | None) -> None:
    config = store.config
    if oauth is not None:
        config.set(SMTP_USER_NAME, None)
        config.set_secret(SMTP_PASSWORD, None)
        authority = normalise_authority(oauth.authority)
        if not config.get(SMTP_FROM):
            raise ValidationError(
                "-Authentication OAuth needs -SmtpFrom: the mailbox the application sends as "
                "(it signs in with XOAUTH2 as that address).", error_id="SmtpOAuthNeedsFrom")
    config.set(SMTP_AUTHENTICATION, "OAuth" if oauth else None)
    config.set(SMTP_TENANT_ID, oauth.tenant_id.strip() if oauth else None)
    config.set(SMTP_CLIENT_ID, oauth.client_id.strip() if oauth else None)
    config.set_secret(SMTP_CLIENT_SECRET, oauth.client_secret if oauth else None)
    config.set(SMTP_AUTHORITY, authority if oauth and authority != PUBLIC_CLOUD else None)


def _refuse_clear_text_login(store: Store) -> None:
    """A password or token is never sent over an unencrypted connection (raising rolls
    back)."""
    config = store.config
    security = _stored_security(config.get(SMTP_SECURITY))
    if security is IMAPSecurityMechanism.NONE and config.get(SMTP_AUTHENTICATION) == "OAuth":
        raise ValidationError(
            "-Authentication OAuth needs an encrypted connection: add -SmtpSecurity Tls "
            "(STARTTLS) or -SmtpSecurity Ssl, so the token isn't sent in clear text.",
            error_id="SmtpCredentialsNeedTls")
    if security is IMAPSecurityMechanism.NONE and config.get_secret(SMTP_PASSWORD) is not None:
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


def _stored_security(value: object) -> IMAPSecurityMechanism:
    return parse_security(str(value)) if value else IMAPSecurityMechanism.NONE


def _text(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None
