"""Google Workspace: a service account's tokens for each user, for XOAUTH2 logins to Gmail.

``New-MigrationEndpoint -Gmail -ServiceAccountKeyFileData <key.json bytes> -EmailAddress
<admin>`` names a service account with domain-wide delegation. Its JSON key (Google's download
format: ``type = service_account``, ``client_email``, ``private_key``, ``token_uri``) is checked
by :func:`parse_service_account_key` and sealed like a password. For each migration user,
imsh asks for a token with Google's JWT-bearer grant (RFC 7523). The assertion is signed with
the key, ``sub`` is the user, and the scope is ``https://mail.google.com/``. The user then logs
in to Gmail's IMAP with SASL XOAUTH2 as themselves.

Decisions:

- **google-auth does the protocol.** ``google.oauth2.service_account.Credentials`` builds and
  signs the assertion and parses the answer. The token endpoint is the key's own
  ``token_uri``: Google's for a real key, the local token service's in the tests
  (tests/support/token_service.py). A key without one gets Google's.
- **One token per user per lifetime.** :func:`gmail_provider` keeps one provider (one
  credentials object) per (service account, user) per process. google-auth treats a token as
  valid until shortly before its expiry, and then refreshes it. A refused token is renewed once
  (engine/imap/connection.py asks :meth:`GmailTokenProvider.renew`).
- **Refusals are permanent, the network is transient.** ``RefreshError`` (a wrong key, a
  service account without domain-wide delegation for the scope, an unknown user) fails the user
  with Google's reason. A ``TransportError`` is a :class:`TransientError` like any connection
  failure. The key never appears in a message, a log or a repr.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ErrorCategory, PermanentError, TransientError, ValidationError
from engine.oauth import BearerLogin, BearerToken
from engine.secrets import Secret

GMAIL_SCOPE = "https://mail.google.com/"
GMAIL_IMAP_HOST = "imap.gmail.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
TOKEN_TIMEOUT_SECONDS = 15.0
_REQUIRED = ("client_email", "private_key")


@dataclass(frozen=True)
class ServiceAccount:
    """A service account key as an endpoint keeps it (the JSON text, sealed at rest)."""

    client_email: str
    key: Secret = field(repr=False, compare=False)
    token_uri: str = GOOGLE_TOKEN_URI

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.key.reveal())
        data.setdefault("token_uri", self.token_uri)
        return data


def parse_service_account_key(data: bytes | str) -> ServiceAccount:
    """-ServiceAccountKeyFileData: the bytes of the JSON key Google's console downloads."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        info = json.loads(text)
    except (UnicodeError, ValueError):
        info = None
    missing = [k for k in _REQUIRED if not isinstance(info, dict) or not info.get(k)]
    if not isinstance(info, dict) or info.get("type") != "service_account" or missing:
        raise ValidationError(
            "The -ServiceAccountKeyFileData must be a Google service account's JSON key "
            "(\"type\": \"service_account\", with client_email and private_key), as the Google "
            "Cloud console downloads it.",
            category=ErrorCategory.InvalidArgument, error_id="GmailServiceAccountKeyInvalid")
    return ServiceAccount(str(info["client_email"]), Secret(text),
                          str(info.get("token_uri") or GOOGLE_TOKEN_URI))


class GmailTokenProvider:
    """Access tokens for one user of one service account; thread-safe."""

    def __init__(self, account: ServiceAccount, subject: str) -> None:
        self.account = account
        self.subject = subject
        self._lock = threading.Lock()
        self._credentials: Any = None

    @property
    def client_id(self) -> str:  # what refusals name (engine/oauth.py's token_refused)
        return self.account.client_email

    def refused(self, mailbox: str, host: str) -> PermanentError:
        """Gmail refused a fresh token of this account for ``mailbox`` (engine/oauth.py's
        ``token_refused`` words it for Exchange): Google gave the token, so the key is fine;
        what is missing is the delegation of the Gmail scope, or IMAP for the user."""
        return PermanentError(
            f"The service account '{self.account.client_email}' couldn't sign in to the "
            f"mailbox '{mailbox}' on the server '{host}': the server refused the account's "
            "token (XOAUTH2). Check the domain-wide delegation of the service account in the "
            "Google Admin console (Security > Access and data control > API controls > "
            "Domain-wide delegation: its client id with the scope https://mail.google.com/), "
            "that the user exists in the Workspace domain, and that IMAP access is on for the "
            "user.", category=ErrorCategory.AuthenticationError, error_id="OAuthTokenRefused")

    def token(self) -> Secret:
        with self._lock:
            credentials = self._client()
            if not credentials.valid:
                self._refresh(credentials)
            return Secret(str(credentials.token))

    def renew(self) -> Secret:
        with self._lock:
            credentials = self._client()
            self._refresh(credentials)
            return Secret(str(credentials.token))

    def _client(self) -> Any:
        if self._credentials is None:
            from google.oauth2 import service_account  # loaded only by Gmail endpoints

            try:
                self._credentials = service_account.Credentials.from_service_account_info(
                    self.account.info(), scopes=[GMAIL_SCOPE], subject=self.subject)
            except (ValueError, KeyError):
                raise PermanentError(
                    f"The service account '{self.account.client_email}' has a key imsh "
                    "cannot use (its private_key is not a PEM RSA key).",
                    category=ErrorCategory.AuthenticationError,
                    error_id="GmailServiceAccountKeyInvalid") from None
        return self._credentials

    def _refresh(self, credentials: Any) -> None:
        import google.auth.exceptions
        import google.auth.transport.requests
        import requests

        session = requests.Session()
        request = google.auth.transport.requests.Request(session)
        try:
            credentials.refresh(_Timed(request))
        except google.auth.exceptions.RefreshError as exc:
            raise PermanentError(
                f"The service account '{self.account.client_email}' couldn't sign in as "
                f"'{self.subject}': {_reason(exc)} Check the domain-wide delegation of the "
                f"service account's client id for the scope {GMAIL_SCOPE} in the Google Admin "
                "console, and that the user exists; imsh won't retry this user until the "
                "endpoint is corrected.",
                category=ErrorCategory.AuthenticationError,
                error_id="GmailServiceAccountRefused") from None
        except google.auth.exceptions.TransportError as exc:
            raise TransientError(
                f"Google's token endpoint '{self.account.token_uri}' could not be reached to "
                f"sign in '{self.subject}' ({type(exc).__name__}).",
                category=ErrorCategory.ConnectionError,
                error_id="GmailTokenEndpointUnreachable") from None
        finally:
            session.close()


class _Timed:
    """google-auth's request with imsh's token timeout."""

    def __init__(self, request: Any) -> None:
        self._request = request

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TOKEN_TIMEOUT_SECONDS)
        return self._request(*args, **kwargs)


def _reason(exc: Exception) -> str:
    """Google's ``error_description`` (or error code), never the assertion."""
    details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    text = str(details.get("error_description") or details.get("error") or "refused")
    return text if text.endswith(".") else f"{text}."


_PROVIDERS: dict[tuple[str, str, str], GmailTokenProvider] = {}
_PROVIDERS_LOCK = threading.Lock()


def gmail_provider(account: ServiceAccount, subject: str) -> GmailTokenProvider:
    """The process's one provider (and cached token) for ``subject`` of ``account``."""
    key = (account.client_email, account.token_uri, subject.lower())
    with _PROVIDERS_LOCK:
        provider = _PROVIDERS.get(key)
        if provider is None:
            provider = _PROVIDERS[key] = GmailTokenProvider(account, subject)
        return provider


def gmail_login(account: ServiceAccount, user: str, user_root: str | None = None
                ) -> BearerLogin:
    """SASL XOAUTH2 as the user themselves, with the user's own service-account token."""
    return BearerLogin(user, BearerToken(gmail_provider(account, user)), user_root=user_root)
