"""Connecting to Exchange Web Services with exchangelib, and translating its errors.

:class:`EwsSettings` is an EWS endpoint's connection settings. :func:`connect` builds the
exchangelib ``Account`` for one mailbox:

- the endpoint URL is used as given (``service_endpoint``): no autodiscover round trip, ever;
- Basic or NTLM with ``Credentials``, or OAuth client credentials (``OAuth2Credentials`` with
  the tenant id, client id and secret); no authentication given = ask the server (one
  unauthenticated probe), Basic/NTLM only;
- ``impersonation`` picks ``access_type=IMPERSONATION`` (the ``ExchangeImpersonation`` SOAP
  header) instead of ``DELEGATE`` (FullAccess on the mailbox);
- TLS certificates are verified unless the endpoint accepts untrusted ones: then, and only
  then, the protocol mounts exchangelib's ``NoVerifyHTTPAdapter``;
- retries follow :class:`MigrationRetryPolicy` (``patient=True``, for syncs) or fail fast
  (verification).

exchangelib caches one ``Protocol`` (connection pool, retry policy) per (URL, credentials)
process-wide, whatever the other settings. So the credentials carry ``imsh_profile`` (the
trust, retry and wait settings): connections that differ in those never share a protocol,
and the protocol of the right class exists before the ``Account`` asks the cache for one.

Passwords and client secrets arrive as :class:`~engine.secrets.Secret` and are revealed only
here, when the exchangelib credentials are built. :func:`ews_errors` maps exchangelib's
exceptions to the engine's (Exchange-style texts, no secrets).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from exchangelib import (
    DELEGATE,
    IMPERSONATION,
    UTC,
    Account,
    Configuration,
    Credentials,
    FailFast,
    FaultTolerance,
    OAuth2Credentials,
)
from exchangelib import errors as ewserr
from exchangelib.protocol import NoVerifyHTTPAdapter, Protocol
from exchangelib.transport import BASIC, NTLM, OAUTH2

from engine.errors import CapacityError, ErrorCategory, ImshError, PermanentError, TransientError
from engine.secrets import Secret

AUTH_TYPES = {"basic": BASIC, "ntlm": NTLM, "oauth": OAUTH2}
DEFAULT_MAX_WAIT = 1800.0
_TLS_MARKERS = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed")
_CONNECTION_MARKERS = ("Connection refused", "NewConnectionError", "Max retries exceeded",
                       "Name or service not known", "timed out", "Connection reset")
# per-item errors about the server's capacity, not the item: nothing more is appended now
CAPACITY_ITEM_ERRORS: tuple[type[Exception], ...] = (
    ewserr.ErrorQuotaExceeded, ewserr.ErrorServerBusy, ewserr.ErrorTooManyObjectsOpened,
    ewserr.ErrorMailboxStoreUnavailable, ewserr.ErrorMailboxMoveInProgress,
    ewserr.ErrorExceededConnectionCount,
)
TRANSIENT_ITEM_ERRORS: tuple[type[Exception], ...] = (
    *CAPACITY_ITEM_ERRORS, ewserr.ErrorTimeoutExpired,
    ewserr.ErrorInternalServerTransientError, ewserr.ErrorConnectionFailedTransientError,
)


@dataclass(frozen=True)
class EwsSettings:
    """An EWS endpoint: its URL and how to sign in.

    ``authentication`` is ``Basic``, ``NTLM``, ``OAuth`` or None (ask the server: Basic/NTLM).
    ``max_wait`` bounds the seconds one target operation may spend waiting on throttling.
    """

    url: str
    username: str | None = None
    password: Secret | None = None
    authentication: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    impersonation: bool = False
    accept_untrusted: bool = False
    max_wait: float = DEFAULT_MAX_WAIT

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    @property
    def auth_type(self) -> str | None:
        return AUTH_TYPES[self.authentication.lower()] if self.authentication else None

    @property
    def login_name(self) -> str:
        return (self.client_id if self.auth_type == OAUTH2 else self.username) or ""


class EwsBusyError(TransientError):
    """Exchange is throttling: ``retry_after`` is the server's back-off hint in seconds."""

    default_category = ErrorCategory.ResourceUnavailable
    default_error_id = "ServerBusy"

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MigrationRetryPolicy(FaultTolerance):
    """exchangelib's FaultTolerance, with two changes for a migration service.

    - HTTP 401 means bad credentials (FaultTolerance retries it as throttling until max_wait);
    - the waits add up: once ``reset()`` was called (at the start of each target operation),
      more than ``max_wait`` seconds of back-off in total raises ``RateLimitError``.
    """

    def __init__(self, max_wait: float) -> None:
        super().__init__(max_wait=max_wait)
        self.waited = 0.0

    def reset(self) -> None:
        self.waited = 0.0

    def raise_response_errors(self, response: requests.Response) -> None:
        if response.status_code == 401:
            raise ewserr.UnauthorizedError(f"Invalid credentials for {response.url}")
        super().raise_response_errors(response)

    def back_off(self, seconds: float | None) -> None:
        wait = self.DEFAULT_BACKOFF if seconds is None else seconds
        if self.waited + wait > self.max_wait:
            raise ewserr.RateLimitError("Max timeout reached", wait=wait)
        super().back_off(wait)
        self.waited += wait


class _VerifiedProtocol(Protocol):
    HTTP_ADAPTER_CLS = requests.adapters.HTTPAdapter


class _UntrustedProtocol(Protocol):
    HTTP_ADAPTER_CLS = NoVerifyHTTPAdapter


class _ProfiledCredentials(Credentials):
    def __init__(self, username: str, password: str, profile: str) -> None:
        super().__init__(username=username, password=password)
        self.imsh_profile = profile


class _ProfiledOAuth2Credentials(OAuth2Credentials):
    def __init__(self, client_id: str, client_secret: str, tenant_id: str, profile: str) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, tenant_id=tenant_id)
        self.imsh_profile = profile


def configuration(settings: EwsSettings, *, patient: bool) -> Configuration:
    """The exchangelib Configuration for the endpoint; its protocol is created and cached.

    A fail-fast (verification) configuration gets a protocol of its own, so that it really
    talks to the server instead of reusing a cached version and session; :func:`release`
    drops it afterwards.
    """
    policy = MigrationRetryPolicy(settings.max_wait) if patient else FailFast()
    profile = f"trust={settings.accept_untrusted}|patient={patient}|wait={settings.max_wait}"
    if not patient:
        profile += f"|probe={uuid.uuid4()}"
    config = Configuration(credentials=_credentials(settings, profile),
                           service_endpoint=settings.url, auth_type=settings.auth_type,
                           retry_policy=policy)
    protocol_cls = _UntrustedProtocol if settings.accept_untrusted else _VerifiedProtocol
    protocol = protocol_cls(config=config)  # the cache now answers Account's lookup with it
    if not isinstance(protocol, protocol_cls):
        raise RuntimeError("exchangelib's protocol cache returned a foreign protocol")
    return config


def _credentials(settings: EwsSettings, profile: str) -> Any:
    if settings.auth_type == OAUTH2:
        if not (settings.tenant_id and settings.client_id and settings.client_secret):
            raise PermanentError("OAuth authentication needs -TenantId, -ClientId and "
                                 "-ClientSecret.", category=ErrorCategory.InvalidArgument,
                                 error_id="EwsOAuthSettingsMissing")
        return _ProfiledOAuth2Credentials(settings.client_id, settings.client_secret.reveal(),
                                          settings.tenant_id, profile)
    if not settings.username or settings.password is None:
        raise PermanentError("The EWS endpoint needs -Credentials (user name and password).",
                             category=ErrorCategory.InvalidArgument, error_id="EwsCredentials")
    return _ProfiledCredentials(settings.username, settings.password.reveal(), profile)


def release(config: Configuration) -> None:
    """Close a configuration's protocol and forget it (verification probes)."""
    with contextlib.suppress(KeyError):
        protocol = Protocol[config][0]
        del Protocol[config]
        protocol.close()


def connect(settings: EwsSettings, address: str, *, patient: bool = True,
            config: Configuration | None = None) -> Account:
    """The exchangelib Account of one mailbox (no request is sent yet)."""
    config = config or configuration(settings, patient=patient)
    access = IMPERSONATION if settings.impersonation else DELEGATE
    with ews_errors(settings, f"open the mailbox '{address}'", mailbox=address):
        return Account(primary_smtp_address=address, config=config, autodiscover=False,
                       access_type=access, default_timezone=UTC)


def policy_of(account: Account) -> MigrationRetryPolicy | None:
    policy = account.protocol.retry_policy
    return policy if isinstance(policy, MigrationRetryPolicy) else None


@contextlib.contextmanager
def ews_errors(settings: EwsSettings, action: str, *, mailbox: str | None = None
               ) -> Iterator[None]:
    """Translate exchangelib and transport failures raised inside the block."""
    try:
        yield
    except ImshError:
        raise
    except (ewserr.EWSError, requests.RequestException, ValueError) as exc:
        raise translate(exc, settings, action, mailbox) from None


def translate(exc: Exception, settings: EwsSettings, action: str,
              mailbox: str | None = None) -> ImshError:
    """The engine error for an exchangelib exception (Exchange-style text)."""
    host = settings.host
    if isinstance(exc, ewserr.UnauthorizedError):
        return PermanentError(
            f"We had trouble signing in to the Exchange server '{host}' as "
            f"'{settings.login_name}': the remote server returned an error: (401) "
            "Unauthorized. Confirm that you're using the correct user name and password.",
            category=ErrorCategory.AuthenticationError, error_id="AuthenticationFailed")
    if isinstance(exc, ewserr.RateLimitError | ewserr.ErrorServerBusy):
        wait = getattr(exc, "wait", None) or getattr(exc, "back_off", None)
        return EwsBusyError(
            f"The Exchange server '{host}' is busy and asked to wait "
            f"{_seconds(wait)} before trying again (it could not {action}); "
            f"imsh waits at most {settings.max_wait:.0f} seconds per operation.", wait)
    if isinstance(exc, ewserr.ErrorQuotaExceeded):
        return CapacityError(f"This mailbox is full. Please free up some space so that email "
                             f"can be downloaded. The Exchange server '{host}' could not "
                             f"{action} (ErrorQuotaExceeded).", error_id="MailboxFull")
    if isinstance(exc, ewserr.ErrorImpersonateUserDenied | ewserr.ErrorImpersonationDenied
                  | ewserr.ErrorImpersonationFailed | ewserr.ErrorAccessDenied):
        return PermanentError(
            f"The account '{settings.login_name}' isn't allowed to open the mailbox "
            f"'{mailbox or '?'}' on '{host}' ({type(exc).__name__}). Grant it the "
            "ApplicationImpersonation role (or full access to the mailbox without "
            "-Impersonation).", category=ErrorCategory.PermissionDenied,
            error_id="MailboxAccessDenied")
    if isinstance(exc, ewserr.ErrorNonExistentMailbox | ewserr.ErrorMailRecipientNotFound):
        return PermanentError(f"The mailbox '{mailbox or '?'}' doesn't exist on the Exchange "
                              f"server '{host}'.", category=ErrorCategory.ObjectNotFound,
                              error_id="MailboxNotFound")
    return _transport_error(exc, settings, action)


def _transport_error(exc: Exception, settings: EwsSettings, action: str) -> ImshError:
    host, text = settings.host, str(exc)
    if any(marker in text for marker in _TLS_MARKERS):
        return PermanentError(
            f"The certificate of the server '{host}' could not be verified. Use "
            "-AcceptUntrustedCertificates to connect anyway.",
            category=ErrorCategory.ConnectionError, error_id="CertificateNotTrusted")
    if isinstance(exc, (ewserr.ErrorTimeoutExpired, requests.ConnectionError, requests.Timeout,
                        *TRANSIENT_ITEM_ERRORS)) or any(m in text for m in _CONNECTION_MARKERS):
        return TransientError(f"The connection to the server '{host}' could not be completed "
                              f"({action}: {type(exc).__name__}).",
                              category=ErrorCategory.ConnectionError, error_id="ConnectionFailed")
    if isinstance(exc, ewserr.RedirectError):
        return PermanentError(f"The server '{host}' redirected the request to '{exc.url}'. Use "
                              "that address as the endpoint URL.",
                              category=ErrorCategory.InvalidArgument, error_id="EwsRedirected")
    if isinstance(exc, ewserr.TransportError) and not isinstance(
            exc, ewserr.ResponseMessageError):
        return PermanentError(f"The server '{host}' did not answer as an Exchange Web Services "
                              f"endpoint at '{settings.url}' (could not {action}).",
                              category=ErrorCategory.InvalidData, error_id="EwsEndpointInvalid")
    return PermanentError(f"The Exchange server '{host}' could not {action}: "
                          f"{type(exc).__name__}: {text}",
                          category=ErrorCategory.InvalidOperation, error_id="EwsRequestFailed")


def _seconds(wait: float | None) -> str:
    return "an unspecified time" if wait is None else f"{wait:.1f} seconds"
