"""OAuth 2.0 app-only tokens from the Microsoft identity platform (msal), for XOAUTH2 logins.

One endpoint with ``-Authentication OAuth`` is one :class:`OAuthApp`: the tenant, the
application (client) id, its credential -- a client secret, or a certificate's private key with
the certificate's SHA-1 thumbprint -- and the authority host (the public cloud
``https://login.microsoftonline.com`` unless the endpoint names another: a sovereign cloud, or a
test service). Tokens are asked for with the client-credentials grant and the scope
``https://outlook.office365.com/.default`` (IMAP.AccessAsApp, SMTP.SendAsApp).

Decisions:

- **msal does the protocol and the caching.** :func:`provider_for` keeps one
  :class:`TokenProvider` -- one ``msal.ConfidentialClientApplication`` with its in-memory token
  cache -- per app per process, so every connection of every user and thread of a runner shares
  one token until it nears expiry: msal serves a cached token only while more than five minutes
  of it remain (or until the ``refresh_in`` the service gave), then fetches a new one. Nothing
  is written to disk: a new process asks for a new token.
- **A refused token is renewed once.** A server may stop accepting a token before the expiry
  the client was told (revocation, continuous access evaluation, a clock ahead of ours). When
  the XOAUTH2 login is refused, the connection drops the cached token (:meth:`renew`), asks for
  a fresh one and tries once more (engine/imap/connection.py). A second refusal is a verdict.
- **The credential's refusal is permanent.** An invalid or expired secret, an unknown app or
  tenant, or a scope the app may not have will not mend by retrying: the user fails at once
  with the identity platform's AADSTS reason (no secret in it), and the runner does not retry
  it (no storm of token requests). A network failure or a 5xx/``temporarily_unavailable`` is a
  :class:`TransientError` like any connection failure.
- **Instance discovery is off.** msal would otherwise ask login.microsoftonline.com about any
  authority host it does not know; the known clouds need no discovery, and an admin who names
  a host means it. TLS to the authority is verified by requests against the system store
  (``REQUESTS_CA_BUNDLE`` names another bundle, as the tests do).
- Tokens and secrets are :class:`~engine.secrets.Secret`; neither appears in a message, a log
  or the store (the secret is sealed in the endpoint's password column like any password).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from engine.errors import ErrorCategory, PermanentError, TransientError, ValidationError
from engine.secrets import Secret

PUBLIC_CLOUD = "https://login.microsoftonline.com"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
TOKEN_TIMEOUT_SECONDS = 15.0  # as an IMAP connection's (engine/limits.py): Stop stays prompt
_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


@dataclass(frozen=True)
class OAuthApp:
    """An application registration as an endpoint names it."""

    tenant_id: str
    client_id: str
    credential: Secret = field(repr=False)  # the client secret, or a private key (PEM)
    authority: str = PUBLIC_CLOUD
    thumbprint: str | None = None  # with a certificate: its SHA-1 thumbprint (hex)
    scope: str = EXCHANGE_SCOPE

    @property
    def authority_url(self) -> str:
        return f"{self.authority.rstrip('/')}/{self.tenant_id}"


def normalise_authority(value: str | None) -> str:
    """``-Authority``: an https URL or a bare host name (``login.microsoftonline.us``)."""
    text = (value or "").strip()
    if not text:
        return PUBLIC_CLOUD
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or parts.path.strip("/"):
        raise ValidationError(
            f"The authority '{value}' must be an https:// address of the identity platform's "
            "host, for example https://login.microsoftonline.com.",
            category=ErrorCategory.InvalidArgument, error_id="OAuthAuthorityInvalid")
    return f"https://{parts.netloc}"


class TokenProvider:
    """Access tokens for one app; thread-safe. See the module docstring."""

    def __init__(self, app: OAuthApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._msal: Any = None

    @property
    def client_id(self) -> str:
        return self.app.client_id

    def token(self) -> Secret:
        """A token valid for a while yet: msal's cached one, or a new one."""
        with self._lock:
            client = self._client()
            result = self._call(lambda: client.acquire_token_for_client([self.app.scope]))
        return self._token_of(result)

    def renew(self) -> Secret:
        """Forget the cached tokens (the server refused one) and ask for a new one."""
        with self._lock:
            client = self._client()
            cache = client.token_cache
            for entry in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(entry)
            result = self._call(lambda: client.acquire_token_for_client([self.app.scope]))
        return self._token_of(result)

    def _client(self) -> Any:
        if self._msal is None:
            import msal  # loaded only by OAuth endpoints

            app = self.app
            credential: Any = app.credential.reveal()
            if app.thumbprint:
                credential = {"private_key": credential, "thumbprint": app.thumbprint}
            self._msal = self._call(lambda: msal.ConfidentialClientApplication(
                app.client_id, client_credential=credential, authority=app.authority_url,
                instance_discovery=False, timeout=TOKEN_TIMEOUT_SECONDS))
        return self._msal

    def _call(self, action: Any) -> Any:
        import requests

        try:
            return action()
        except requests.RequestException as exc:
            raise TransientError(
                f"The identity platform '{self.app.authority}' could not be reached to sign in "
                f"the application '{self.app.client_id}' ({type(exc).__name__}).",
                category=ErrorCategory.ConnectionError, error_id="OAuthAuthorityUnreachable",
            ) from None
        except ValueError as exc:  # msal: OIDC discovery refused (unknown tenant, bad host)
            raise PermanentError(
                f"The application '{self.app.client_id}' couldn't sign in: the identity "
                f"platform '{self.app.authority}' doesn't know the tenant "
                f"'{self.app.tenant_id}' ({_first_line(str(exc))}).",
                category=ErrorCategory.AuthenticationError, error_id="OAuthTenantNotFound",
            ) from None

    def _token_of(self, result: dict[str, Any]) -> Secret:
        if "access_token" in result:
            return Secret(str(result["access_token"]))
        error = str(result.get("error") or "unknown_error")
        reason = _reason(str(result.get("error_description") or error))
        if error in _TRANSIENT_ERRORS:
            raise TransientError(
                f"The identity platform is busy and did not give the application "
                f"'{self.app.client_id}' a token: {reason}",
                category=ErrorCategory.ResourceUnavailable, error_id="OAuthAuthorityBusy")
        raise PermanentError(
            f"The application '{self.app.client_id}' couldn't sign in to the tenant "
            f"'{self.app.tenant_id}': {reason} Check the endpoint's -ClientId and "
            "-ClientSecret (or certificate) and the app registration; imsh won't retry this "
            "user until the endpoint is corrected.",
            category=ErrorCategory.AuthenticationError, error_id="OAuthClientRefused")


class TokenSource(Protocol):
    """What a bearer login needs of a token provider (this module's for Microsoft's identity
    platform, engine/gmail_oauth.py's for a Google service account)."""

    @property
    def client_id(self) -> str: ...  # what a refusal names (token_refused)

    def token(self) -> Secret: ...

    def renew(self) -> Secret: ...


@dataclass(frozen=True)
class BearerToken:
    """The "password" of an XOAUTH2 login plan: reveals the provider's current token."""

    provider: TokenSource

    def reveal(self) -> str:
        return self.provider.token().reveal()

    def renew(self) -> str:
        return self.provider.renew().reveal()

    def refused(self, mailbox: str, host: str) -> PermanentError:
        """The error when the server refused a fresh token too: the provider's own wording
        where it has one (a Google service account names domain-wide delegation), else
        Exchange's (:func:`token_refused`)."""
        own = getattr(self.provider, "refused", None)
        if callable(own):
            error: PermanentError = own(mailbox, host)
            return error
        return token_refused(self.provider.client_id, mailbox, host)

    def __repr__(self) -> str:
        return f"BearerToken({self.provider.client_id})"

    @property
    def client_id(self) -> str:
        return self.provider.client_id


@dataclass(frozen=True)
class BearerLogin:
    """A login plan for SASL XOAUTH2 as ``authcid`` (engine/imap/connection.py runs it)."""

    authcid: str
    password: BearerToken
    authzid: str | None = None
    method: str = "xoauth2"
    user_root: str | None = None


_PROVIDERS: dict[OAuthApp, TokenProvider] = {}
_PROVIDERS_LOCK = threading.Lock()


def provider_for(app: OAuthApp) -> TokenProvider:
    """The process's one provider (and token cache) for ``app``."""
    with _PROVIDERS_LOCK:
        provider = _PROVIDERS.get(app)
        if provider is None:
            provider = _PROVIDERS[app] = TokenProvider(app)
        return provider


def bearer_login(app: OAuthApp, user: str, user_root: str | None = None) -> BearerLogin:
    return BearerLogin(user, BearerToken(provider_for(app)), user_root=user_root)


def token_refused(client_id: str, mailbox: str, host: str) -> PermanentError:
    """The mail server refused the app's token for ``mailbox`` (twice: a fresh one too). The
    identity platform gave the token, so the app and its secret are fine; what is missing is
    on the mailbox's side, which Exchange does not say (its reply is ``AUTHENTICATE failed``)."""
    return PermanentError(
        f"The application '{client_id}' couldn't sign in to the mailbox '{mailbox}' on the "
        f"server '{host}': the server refused the application's token (XOAUTH2). Check that "
        "the mailbox exists and has IMAP enabled (Set-CASMailbox -ImapEnabled $true), that "
        "the application has the IMAP.AccessAsApp permission with admin consent and an "
        "Exchange service principal (New-ServicePrincipal), and that the service principal "
        "has FullAccess to the mailbox (Add-MailboxPermission).",
        category=ErrorCategory.AuthenticationError, error_id="OAuthTokenRefused")


def _reason(description: str) -> str:
    """The AADSTS sentence(s), without the trace and correlation ids."""
    text = _first_line(description)
    for marker in (" Trace ID:", " Correlation ID:", " Timestamp:"):
        text = text.split(marker, 1)[0]
    text = text.strip()
    return text if text.endswith(".") else f"{text}."


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


TENANT_ID = "tenant_id"
AUTHORITY = "authority"
THUMBPRINT = "certificate_thumbprint"


def app_of(row: Any) -> OAuthApp:
    """The app of a stored IMAP endpoint with ``authentication == "OAuth"``: ``username`` is
    the client id, ``password`` the sealed secret (or private key), ``extra`` holds
    ``tenant_id``, ``authority`` (absent: the public cloud) and ``certificate_thumbprint``."""
    extra = row.extra or {}
    if not row.username or row.password is None or not extra.get(TENANT_ID):
        raise PermanentError(
            f"The endpoint '{row.name}' uses OAuth but lacks its -TenantId, -ClientId or "
            "-ClientSecret.", category=ErrorCategory.InvalidArgument,
            error_id="OAuthIncomplete")
    return OAuthApp(str(extra[TENANT_ID]), row.username, row.password,
                    authority=str(extra.get(AUTHORITY) or PUBLIC_CLOUD),
                    thumbprint=extra.get(THUMBPRINT) or None)


def is_oauth(row: Any) -> bool:
    return getattr(row, "authentication", None) == "OAuth"


def certificate_credential(pem: bytes, source: str) -> tuple[Secret, str]:
    """-CertificateFile: a PEM holding the app's certificate and its unencrypted private key.
    Returns the PEM (to seal as the credential) and the certificate's SHA-1 thumbprint, which
    msal puts in the assertion's header so the identity platform knows which key signed it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        certificate = x509.load_pem_x509_certificate(pem)
        serialization.load_pem_private_key(pem, password=None)
        text = pem.decode("ascii")
    except (ValueError, TypeError, UnicodeError):
        raise ValidationError(
            f"The certificate file '{source}' must be PEM text holding the application's "
            "certificate and its private key, not protected by a password (for example "
            "openssl pkcs12 -in app.pfx -nodes -out app.pem).",
            category=ErrorCategory.InvalidArgument, error_id="OAuthCertificateInvalid",
        ) from None
    return Secret(text), certificate.fingerprint(hashes.SHA1()).hex().upper()
