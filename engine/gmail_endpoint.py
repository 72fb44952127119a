"""``New-MigrationEndpoint -Gmail``: a Google Workspace source signed in by a service account.

The endpoint keeps (engine/gmail_oauth.py):

- ``kind = IMAP`` with ``extra.Gmail = true`` (the state schema's kinds are IMAP, Maildir
  and EWS; an additive migration cannot widen that CHECK). The cmdlets show
  ``EndpointType Gmail``. A Gmail endpoint can only be a batch's source.
- ``username``: the ``-EmailAddress``, the Workspace admin that verification signs in as.
- ``password``: the service account's JSON key, sealed at rest like any password, never shown.
- ``remote_server``/``port``/``security``: Gmail's IMAP (``imap.gmail.com:993``, TLS) unless
  given, as ``-RemoteServer``/``-Port``/``-Security`` or, for every new Gmail endpoint of a
  host, as ``IMSH_GMAIL_IMAP`` (``host[:port]``, a relay in front of Gmail) with
  ``IMSH_GMAIL_IMAP_SECURITY`` (``Ssl``, the default, ``Tls`` or ``None``). The tests use the
  variables to run Microsoft's example command as written against a local Dovecot.

Each migration user signs in as itself, as the CSV's ``UserName`` or else its
``EmailAddress``, with a token from the service account (``subject`` = that user). No CSV
password is needed. An ordinary ``-IMAP`` endpoint with app passwords also reaches Gmail, with
the same label handling (engine/sync/gmail_labels.py).
"""

from __future__ import annotations

import os
from typing import Any

from engine.errors import ErrorCategory, PermanentError, ValidationError
from engine.gmail_oauth import (
    GMAIL_IMAP_HOST,
    ServiceAccount,
    gmail_login,
    parse_service_account_key,
)
from engine.model import EndpointType, IMAPSecurityMechanism
from engine.store.endpoints import EndpointSpec

GMAIL_PORT = 993
GMAIL_MARK = "Gmail"  # in the endpoint's extra
SERVICE_ACCOUNT = "ServiceAccount"  # the endpoint's authentication


def gmail_spec(common: dict[str, Any], key: bytes | None, email_address: str | None,
               remote_server: str | None, port: int | None,
               security: IMAPSecurityMechanism | None) -> EndpointSpec:
    if not key:
        raise ValidationError(
            "A Gmail endpoint needs -ServiceAccountKeyFileData: the service account's JSON key, "
            "for example ([System.IO.File]::ReadAllBytes(\"key.json\")).",
            error_id="GmailServiceAccountKeyMissing")
    if not email_address or "@" not in email_address:
        raise ValidationError(
            "A Gmail endpoint needs -EmailAddress: a Google Workspace administrator's address "
            "(admin@contoso.com), which verification signs in as.",
            error_id="GmailEmailAddressMissing")
    account = parse_service_account_key(key)
    default_server, default_port, default_security = gmail_server()
    return EndpointSpec(
        **{**common, "kind": str(EndpointType.IMAP)}, extra={GMAIL_MARK: True},
        authentication=SERVICE_ACCOUNT, remote_server=(remote_server or default_server).strip(),
        port=port or default_port, security=str(security or default_security),
        username=email_address.strip(), password=account.key)


def gmail_server(environ: Any = os.environ) -> tuple[str, int, IMAPSecurityMechanism]:
    """Where a new Gmail endpoint signs in when no -RemoteServer is given: Gmail's IMAP, or
    the relay ``IMSH_GMAIL_IMAP`` names (``host`` or ``host:port``; ``[v6]:port``)."""
    given = (environ.get("IMSH_GMAIL_IMAP") or "").strip()
    word = (environ.get("IMSH_GMAIL_IMAP_SECURITY") or "Ssl").strip()
    try:
        security = next(m for m in IMAPSecurityMechanism if m.value.casefold() == word.casefold())
    except StopIteration:
        raise ValidationError(
            f"IMSH_GMAIL_IMAP_SECURITY is '{word}'; use Ssl, Tls or None.",
            error_id="GmailImapSecurityInvalid") from None
    if not given:
        return GMAIL_IMAP_HOST, GMAIL_PORT, security
    host, sep, port = given.rpartition(":")
    if not sep or "]" in port or not host:
        return given.strip("[]"), GMAIL_PORT, security
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(f"IMSH_GMAIL_IMAP is '{given}'; use host or host:port.",
                              error_id="GmailImapServerInvalid")
    return host.strip("[]"), int(port), security


def changed_gmail(row: Any, key: bytes | None, email_address: str | None) -> dict[str, Any]:
    """Set-MigrationEndpoint on a Gmail endpoint: the columns a new ``-ServiceAccountKeyFileData``
    (checked like a new one, sealed like a password) and ``-EmailAddress`` change."""
    if not is_gmail(row):
        raise ValidationError(
            f"The migration endpoint '{row.name}' is not a Gmail endpoint; "
            "-ServiceAccountKeyFileData and -EmailAddress apply to Gmail endpoints only.",
            error_id="NotAGmailEndpoint")
    changed: dict[str, Any] = {}
    if key is not None:
        if not key:
            raise ValidationError(
                "-ServiceAccountKeyFileData is empty: give the service account's JSON key, for "
                "example ([System.IO.File]::ReadAllBytes(\"key.json\")).",
                error_id="GmailServiceAccountKeyMissing")
        changed["password"] = parse_service_account_key(key).key
    if email_address is not None:
        if "@" not in email_address:
            raise ValidationError(
                "-EmailAddress must be a Google Workspace administrator's address "
                "(admin@contoso.com), which verification signs in as.",
                error_id="GmailEmailAddressMissing")
        changed["username"] = email_address.strip()
    return changed


def is_gmail(row: Any) -> bool:
    return bool((getattr(row, "extra", None) or {}).get(GMAIL_MARK))


def shown_kind(row: Any) -> EndpointType:
    return EndpointType.Gmail if is_gmail(row) else EndpointType(row.kind)


def account_of(row: Any) -> ServiceAccount:
    if row.password is None:
        raise PermanentError(f"The Gmail endpoint '{row.name}' has no service account key.",
                             category=ErrorCategory.InvalidArgument,
                             error_id="GmailServiceAccountKeyMissing")
    return parse_service_account_key(row.password.reveal())


def verify_gmail(spec: EndpointSpec) -> None:
    """Sign in to Gmail's IMAP as the -EmailAddress, as the sync signs in as each user."""
    from engine.endpoints import imap_settings
    from engine.imap.connection import open_session

    session = open_session(imap_settings(spec), gmail_login(account_of(spec),
                                                            spec.username or ""))
    session.close()
