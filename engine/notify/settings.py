"""The SMTP settings notification mail is sent with, as stored by Set-MigrationConfig.

Set-MigrationConfig (``-SmtpServer -SmtpPort -SmtpSecurity -SmtpCredentials -SmtpFrom``) writes
them to ``store.config`` under the keys below; :meth:`SmtpSettings.from_config` reads them back
each time mail is to go out, so a change takes effect without restarting the service.

- ``SmtpServer``: host name or address; without it no mail is sent.
- ``SmtpPort``: 1-65535; when not set, 25 for ``None``, 465 for ``Ssl``, 587 for ``Tls``.
- ``SmtpSecurity``: ``None`` (plain SMTP), ``Ssl`` (SMTPS, TLS from the first byte) or ``Tls``
  (STARTTLS, never falling back to plain); the words of an IMAP endpoint's ``-Security``.
- ``SmtpCredentials``: stored as ``SmtpUserName`` (plain) and ``SmtpPassword`` (sealed); when
  set, the sender logs in.
- ``SmtpFrom``: the From address; default ``imsh@<host name>``.
- ``SmtpCaFile``: a PEM file of extra trusted CA certificates (tests, private CAs). TLS
  certificates are always verified, against the system's CAs and this file.
- ``SmtpAuthentication = OAuth`` with ``SmtpTenantId``, ``SmtpClientId``, ``SmtpClientSecret``
  (sealed) and ``SmtpAuthority`` (absent: the public cloud): the sender signs in with SASL
  XOAUTH2 as the From address with an app-only token (engine/oauth.py; Exchange Online's
  ``SMTP.SendAsApp``, smtp.office365.com) instead of a password. -SmtpCredentials and OAuth
  exclude each other.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from engine.errors import ValidationError
from engine.limits import validate_port
from engine.model import IMAPSecurityMechanism, parse_enum
from engine.oauth import PUBLIC_CLOUD, OAuthApp
from engine.secrets import Credential
from engine.store.config import ConfigRepository

SMTP_SERVER = "SmtpServer"
SMTP_PORT = "SmtpPort"
SMTP_SECURITY = "SmtpSecurity"
SMTP_USER_NAME = "SmtpUserName"
SMTP_PASSWORD = "SmtpPassword"  # sealed: write with config.set_secret
SMTP_FROM = "SmtpFrom"
SMTP_CA_FILE = "SmtpCaFile"
SMTP_AUTHENTICATION = "SmtpAuthentication"  # "OAuth", or absent (a password login, or none)
SMTP_TENANT_ID = "SmtpTenantId"
SMTP_CLIENT_ID = "SmtpClientId"
SMTP_CLIENT_SECRET = "SmtpClientSecret"  # sealed: write with config.set_secret
SMTP_AUTHORITY = "SmtpAuthority"
SMTP_OAUTH_KEYS = (SMTP_AUTHENTICATION, SMTP_TENANT_ID, SMTP_CLIENT_ID, SMTP_AUTHORITY)

SMTP_KEYS = (SMTP_SERVER, SMTP_PORT, SMTP_SECURITY, SMTP_USER_NAME, SMTP_PASSWORD, SMTP_FROM,
             SMTP_CA_FILE, *SMTP_OAUTH_KEYS, SMTP_CLIENT_SECRET)

DEFAULT_TIMEOUT_SECONDS = 20.0


# ``-SmtpSecurity`` takes the same three words as an IMAP endpoint's ``-Security``: one enum,
# engine.model.IMAPSecurityMechanism.

DEFAULT_PORTS = {IMAPSecurityMechanism.NONE: 25, IMAPSecurityMechanism.Ssl: 465,
                 IMAPSecurityMechanism.Tls: 587}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how notification mail is sent."""

    server: str
    port: int = 25
    security: IMAPSecurityMechanism = IMAPSecurityMechanism.NONE
    credentials: Credential | None = None
    sender: str = ""  # the From address; "" means default_sender()
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    oauth: OAuthApp | None = None  # XOAUTH2 as the From address instead of credentials

    @property
    def from_address(self) -> str:
        return self.sender or default_sender()

    @classmethod
    def from_config(cls, config: ConfigRepository) -> SmtpSettings | None:
        """The stored settings; None when no ``SmtpServer`` is set (mail is then not sent)."""
        server = config.get(SMTP_SERVER)
        if not server:
            return None
        security = parse_security(str(config.get(SMTP_SECURITY,
                                                 IMAPSecurityMechanism.NONE.value)))
        port = config.get(SMTP_PORT)
        return cls(
            server=str(server),
            port=validate_port(int(port)) if port is not None else DEFAULT_PORTS[security],
            security=security,
            credentials=_credentials(config),
            sender=str(config.get(SMTP_FROM) or ""),
            ca_file=config.get(SMTP_CA_FILE),
            oauth=_oauth(config),
        )

    def save(self, config: ConfigRepository) -> None:
        """Store every setting (what a full Set-MigrationConfig -Smtp... call would do)."""
        config.set(SMTP_SERVER, self.server)
        config.set(SMTP_PORT, validate_port(self.port))
        config.set(SMTP_SECURITY, self.security.value)
        config.set(SMTP_USER_NAME, self.credentials.user_name if self.credentials else None)
        config.set_secret(SMTP_PASSWORD, self.credentials.password if self.credentials else None)
        config.set(SMTP_FROM, self.sender or None)
        config.set(SMTP_CA_FILE, self.ca_file)


def parse_security(text: str) -> IMAPSecurityMechanism:
    """Bind ``-SmtpSecurity`` as PowerShell binds an enum (case-insensitive)."""
    return parse_enum(IMAPSecurityMechanism, text)


def default_sender() -> str:
    return f"imsh@{socket.gethostname() or 'localhost'}"


def _credentials(config: ConfigRepository) -> Credential | None:
    user_name = config.get(SMTP_USER_NAME)
    if not user_name:
        return None
    password = config.get_secret(SMTP_PASSWORD)
    if password is None:
        raise ValidationError(
            f"The SMTP credentials for user '{user_name}' have no password. Set them again "
            "with Set-MigrationConfig -SmtpCredentials.",
            error_id="SmtpPasswordMissing",
        )
    return Credential(str(user_name), password)


def _oauth(config: ConfigRepository) -> OAuthApp | None:
    if config.get(SMTP_AUTHENTICATION) != "OAuth":
        return None
    tenant, client = config.get(SMTP_TENANT_ID), config.get(SMTP_CLIENT_ID)
    secret = config.get_secret(SMTP_CLIENT_SECRET)
    if not tenant or not client or secret is None:
        raise ValidationError(
            "The SMTP OAuth settings are incomplete. Set them again with Set-MigrationConfig "
            "-Authentication OAuth -TenantId -ClientId -ClientSecret.",
            error_id="SmtpOAuthIncomplete")
    return OAuthApp(str(tenant), str(client), secret,
                    authority=str(config.get(SMTP_AUTHORITY) or PUBLIC_CLOUD))
