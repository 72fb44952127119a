"""Migration endpoints: create (verified unless skipped), list, change and remove.

Rules, from reference/ms-cmdlets.md §A1-§A4 unless marked as imsh's:

* ``-Port`` defaults to 993. ``-Security`` has no documented default; imsh uses ``Ssl`` on
  port 993 and ``None`` on any other port (143 is "unencrypted or TLS"; Test-... Ex.1 gives
  only ``-Port 143``).
* ``MaxConcurrentMigrations``/``MaxConcurrentIncrementalSyncs`` default to 20 and 10
  (engine/limits.py explains the choice); ``Unlimited`` means the documented maximum, 100.
* ``-Authentication``: IMAP logins are Basic (LOGIN / SASL PLAIN) or OAuth (SASL XOAUTH2 with an
  app-only token, engine/oauth.py: Exchange Online); EWS endpoints take Basic, NTLM or OAuth
  (engine/service/ews_settings.py). OAuth is stored the same way on both kinds: ``username`` =
  -ClientId, ``password`` = the sealed -ClientSecret, ``extra["tenant_id"]`` = -TenantId, and
  on IMAP ``extra["authority"]`` = imsh's -Authority when it is not the public cloud. Other
  methods are refused as not supported.
* Creating verifies the endpoint unless ``-SkipVerification``: IMAP connects with TLS as
  configured and verified and logs in the way the sync will (engine/service/availability.py
  :func:`probe_endpoint`: to -TestMailbox when given, else an OAuth app gets a token and
  admin credentials are not tried, which :attr:`EndpointInfo.warning` says); Maildir
  checks the path; EWS signs in at the URL as given (no autodiscover) and reads the server
  version (engine/targets/ews_verify.py). A failed verification stores nothing.
* ``-MaxMessageSize`` (imsh's; IMAP only, stored as ``extra["MaxMessageSize"]`` in bytes, 1
  byte to Exchange Online's 150 MB; ``$null`` drops it, back to the 35 MB default): the largest
  message the endpoint takes as a target. A change tries the skipped items of the users whose
  batch targets the endpoint again (engine/skipped.py), as a changed LargeItemLimit does.
* Connection settings can be changed only while no batch using the endpoint is running
  (EXO-DOCS: "if none of the migration batches using the endpoint are currently running").
* An endpoint a batch uses can't be removed (the store refuses it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from engine.endpoints import MAX_MESSAGE_SIZE, max_message_size
from engine.errors import InvalidStateError, NotSupportedError, ValidationError
from engine.gmail_endpoint import changed_gmail, gmail_spec, is_gmail, shown_kind, verify_gmail
from engine.limits import (
    DEFAULT_IMAP_PORT,
    DEFAULT_MAX_CONCURRENT_INCREMENTAL_SYNCS,
    DEFAULT_MAX_CONCURRENT_MIGRATIONS,
    MAX_CONCURRENT_MIGRATIONS_LIMIT,
    validate_concurrency,
    validate_max_message_size,
    validate_port,
)
from engine.maildir_sharing import SHARED_STORAGE, WRITER_HOST, is_shared, writer_host
from engine.model import (
    AuthenticationMethod,
    BatchStatus,
    EndpointType,
    IMAPSecurityMechanism,
    MigrationUserStatus,
)
from engine.oauth import AUTHORITY, PUBLIC_CLOUD, THUMBPRINT, normalise_authority
from engine.secrets import Credential, Secret
from engine.service.batches import derive_status
from engine.service.common import UNSET, Unset
from engine.service.ews_settings import (
    EwsLogin,
    changed_login,
    ews_authentication,
    login_columns,
    login_of,
)
from engine.skipped import retry_skipped_items
from engine.store import Store
from engine.store.endpoints import EndpointRow, EndpointSpec
from engine.targets.ews_settings import OAUTH, TENANT_ID, check_url, ews_settings_from_row

_RUNNING_BATCH = frozenset({BatchStatus.Starting, BatchStatus.Syncing,
                            BatchStatus.IncrementalSyncing, BatchStatus.Stopping,
                            BatchStatus.Completing, BatchStatus.Removing})
_ACTIVE_INITIAL = frozenset({MigrationUserStatus.Syncing, MigrationUserStatus.Starting})


@dataclass(frozen=True)
class EndpointRequest:
    """New-MigrationEndpoint, one kind at a time."""

    name: str
    kind: EndpointType
    remote_server: str | None = None
    port: int | None = None
    security: IMAPSecurityMechanism | None = None
    authentication: AuthenticationMethod | None = None
    path: str | None = None
    url: str | None = None
    impersonation: bool = False
    credentials: Credential | None = None
    tenant_id: str | None = None  # EWS OAuth
    client_id: str | None = None  # EWS OAuth
    client_secret: Secret | None = None  # EWS OAuth
    authority: str | None = None  # IMAP OAuth: the identity platform's host (public cloud)
    certificate: tuple[Secret, str] | None = None  # IMAP OAuth: (PEM, thumbprint) for a secret
    test_mailbox: str | None = None  # verification only: log in to it as the sync will
    accept_untrusted_certificates: bool = False
    max_concurrent_migrations: int | None = DEFAULT_MAX_CONCURRENT_MIGRATIONS  # None: Unlimited
    max_concurrent_incremental_syncs: int | None = DEFAULT_MAX_CONCURRENT_INCREMENTAL_SYNCS
    skip_verification: bool = False
    max_message_size: int | None = None  # IMAP: bytes; None: imsh's default (35 MB)
    service_account_key: bytes | None = None  # Gmail: the JSON key's bytes
    email_address: str | None = None  # Gmail: the Workspace admin verification signs in as
    shared_storage: bool = False  # Maildir: every runner host mounts it (maildir_sharing.py)


@dataclass(frozen=True)
class EndpointChanges:
    """Set-MigrationEndpoint: ``None`` leaves a setting as it is (for the two limits, ``UNSET``
    does, and ``None`` means Unlimited)."""

    remote_server: str | None = None
    port: int | None = None
    security: IMAPSecurityMechanism | None = None
    authentication: AuthenticationMethod | None = None
    credentials: Credential | None = None
    url: str | None = None  # EWS
    impersonation: bool | None = None  # EWS
    tenant_id: str | None = None  # EWS OAuth
    client_id: str | None = None  # EWS OAuth
    client_secret: Secret | None = None  # EWS OAuth
    authority: str | None = None  # IMAP OAuth
    certificate: tuple[Secret, str] | None = None  # IMAP OAuth
    test_mailbox: str | None = None  # verification only
    accept_untrusted_certificates: bool | None = None
    max_concurrent_migrations: int | Unset | None = UNSET
    max_concurrent_incremental_syncs: int | Unset | None = UNSET
    skip_verification: bool = False
    max_message_size: int | Unset | None = UNSET  # None: back to imsh's default
    service_account_key: bytes | None = None  # Gmail: a new JSON key
    email_address: str | None = None  # Gmail: the admin verification signs in as
    shared_storage: bool | None = None  # Maildir


@dataclass(frozen=True)
class EndpointInfo:
    """An endpoint as the cmdlets show it; the password is only known to exist."""

    name: str
    kind: EndpointType
    remote_server: str | None
    port: int | None
    security: str | None
    authentication: str | None
    path: str | None
    url: str | None
    impersonation: bool
    user_name: str | None  # None for OAuth, which signs in as client_id
    has_password: bool  # the password, or OAuth's client secret
    tenant_id: str | None
    client_id: str | None
    accept_untrusted_certificates: bool
    max_concurrent_migrations: int
    max_concurrent_incremental_syncs: int
    is_default_target: bool
    created_at: datetime
    active_migration_count: int
    active_incremental_sync_count: int
    authority: str | None = None  # IMAP OAuth
    certificate_thumbprint: str | None = None  # IMAP OAuth with -CertificateFile
    warning: str | None = None  # for the admin, from create/change: what wasn't verified, EWS
    # in Exchange Online
    max_message_size: int | None = None  # IMAP: -MaxMessageSize (None: imsh's default)
    shared_storage: bool | None = None  # Maildir: -SharedStorage (None for other kinds)
    writer_host: str | None = None  # Maildir not shared: the host that writes it


class EndpointService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, request: EndpointRequest) -> EndpointInfo:
        _refuse_shared_storage(str(request.kind), request.shared_storage)
        spec = _apply_max_message_size(_spec(request), request.max_message_size)
        note = None if request.skip_verification else verify(spec, request.test_mailbox)
        note = _join(_ews_online_warning(spec), note)
        return replace(self.info(self._store.endpoints.add(spec)), warning=note)

    def list(self, name: str | None = None, kind: str | None = None) -> list[EndpointInfo]:
        rows = [self._store.endpoints.get(name)] if name else self._store.endpoints.list()
        if kind is not None:
            rows = [row for row in rows if row.kind.casefold() == kind.casefold()]
        return [self.info(row) for row in rows]

    def change(self, name: str, changes: EndpointChanges) -> EndpointInfo:
        current = self._store.endpoints.get(name)
        updated = _apply_max_message_size(_apply(current, changes), changes.max_message_size)
        updated = _apply_shared_storage(updated, changes.shared_storage)
        note = None
        if _connection(updated) != _connection(current):
            self._refuse_while_running(current)
            if not changes.skip_verification:
                note = verify(updated, changes.test_mailbox)
        if changes.url is not None:
            note = _join(_ews_online_warning(updated), note)
        with self._store.transaction():
            stored = self._store.endpoints.update(updated)
            if max_message_size(stored) != max_message_size(current):
                self._retry_skipped(stored)
        return replace(self.info(stored), warning=note)

    def _retry_skipped(self, endpoint: EndpointRow) -> None:
        """A changed -MaxMessageSize: the target's users try their skipped items again (as
        after a changed LargeItemLimit, engine/skipped.py); what is still too large is
        skipped again, with the reason that holds now."""
        for batch in self._store.batches.list(endpoint_id=endpoint.id):
            if batch.target_endpoint_id != endpoint.id:
                continue
            for user in self._store.users.list(batch_id=batch.id):
                retry_skipped_items(self._store, user.id)

    def remove(self, name: str) -> None:
        self._store.endpoints.remove(name)

    def get_row(self, name: str) -> EndpointRow:
        return self._store.endpoints.get(name)

    def info(self, row: EndpointRow) -> EndpointInfo:
        initial, incremental = self._active_counts(row.id)
        oauth = row.authentication == OAUTH
        login = login_of(row) if row.kind == EndpointType.EWS or oauth else EwsLogin(
            user_name=row.username)
        return EndpointInfo(
            name=row.name, kind=shown_kind(row), remote_server=row.remote_server,
            port=row.port, security=row.security, authentication=row.authentication,
            path=row.path, url=row.url, impersonation=row.impersonation,
            user_name=login.user_name, has_password=row.password is not None,
            tenant_id=login.tenant_id, client_id=login.client_id,
            accept_untrusted_certificates=row.accept_untrusted_certificates,
            max_concurrent_migrations=row.max_concurrent_migrations,
            max_concurrent_incremental_syncs=row.max_concurrent_incremental_syncs,
            is_default_target=row.is_default_target, created_at=row.created_at,
            active_migration_count=initial, active_incremental_sync_count=incremental,
            authority=str(row.extra.get(AUTHORITY) or PUBLIC_CLOUD)
            if oauth and row.kind == EndpointType.IMAP else None,
            certificate_thumbprint=row.extra.get(THUMBPRINT) if oauth else None,
            max_message_size=max_message_size(row) if row.kind == EndpointType.IMAP else None,
            shared_storage=is_shared(row.extra) if row.kind == EndpointType.Maildir else None,
            writer_host=writer_host(row.extra) if row.kind == EndpointType.Maildir else None,
        )

    def _active_counts(self, endpoint_id: int) -> tuple[int, int]:
        initial = incremental = 0
        for batch in self._store.batches.list(endpoint_id=endpoint_id):
            for user in self._store.users.list(batch_id=batch.id):
                if user.status == MigrationUserStatus.IncrementalSyncing:
                    incremental += 1
                elif user.status in _ACTIVE_INITIAL:
                    initial += 1
        return initial, incremental

    def _refuse_while_running(self, endpoint: EndpointRow) -> None:
        for batch in self._store.batches.list(endpoint_id=endpoint.id):
            status = derive_status(self._store, batch)
            if status in _RUNNING_BATCH:
                raise InvalidStateError(
                    f"The migration endpoint '{endpoint.name}' can't be changed while the "
                    f"migration batch '{batch.name}' that uses it is running (status {status}). "
                    "Stop the batch first.",
                    error_id="EndpointInUse",
                )


def verify(spec: EndpointSpec, test_mailbox: str | None = None) -> str | None:
    """Reach the endpoint as configured; raise the engine's error when it can't be used.
    Returns what could not be verified (an IMAP endpoint without ``test_mailbox``), if any."""
    # imported here: availability loads the IMAP client, which reading endpoints never needs
    from engine.service.availability import probe_endpoint, probe_maildir

    if spec.kind == EndpointType.Maildir:
        probe_maildir(spec.path or "")
    elif is_gmail(spec):
        verify_gmail(spec)
    elif spec.kind == EndpointType.EWS:
        from engine.targets.ews_verify import verify_ews_endpoint  # loads exchangelib

        verify_ews_endpoint(ews_settings_from_row(spec))
    else:
        return probe_endpoint(spec, test_mailbox.strip() if test_mailbox else None).note
    return None


EXCHANGE_ONLINE_HOSTS = ("outlook.office365.com", "outlook.office.com")
EWS_ONLINE_WARNING = (
    "This EWS endpoint is in Exchange Online. EWS there is blocked since 1 October 2026 for "
    "applications the tenant did not allow (Set-OrganizationConfig -EwsAllowedAppIDs) and is "
    "shut down on 1 April 2027. Use an IMAP endpoint with OAuth instead: "
    "New-MigrationEndpoint -IMAP -RemoteServer outlook.office365.com -Port 993 -Security Ssl "
    "-Authentication OAuth -TenantId ... -ClientId ... -ClientSecret ... (see "
    "docs/exchange-online.md). EWS remains the path for Exchange Server on-premises.")


def _ews_online_warning(spec: EndpointSpec) -> str | None:
    """EWS in Exchange Online is being retired (reference/exchange-online-2026.md §B1)."""
    if spec.kind != EndpointType.EWS or not spec.url:
        return None
    host = (urlsplit(spec.url).hostname or "").lower()
    online = host in EXCHANGE_ONLINE_HOSTS or host.endswith(".outlook.office365.com")
    return EWS_ONLINE_WARNING if online else None


def _join(*notes: str | None) -> str | None:
    return " ".join(n for n in notes if n) or None


def default_security(port: int) -> IMAPSecurityMechanism:
    return IMAPSecurityMechanism.Ssl if port == DEFAULT_IMAP_PORT else IMAPSecurityMechanism.NONE


def _concurrency(value: int | None) -> int:
    return MAX_CONCURRENT_MIGRATIONS_LIMIT if value is None else value


def _spec(request: EndpointRequest) -> EndpointSpec:
    _check_name(request.name)
    migrations = _concurrency(request.max_concurrent_migrations)
    incremental = _concurrency(request.max_concurrent_incremental_syncs)
    validate_concurrency(migrations, incremental)
    credentials = request.credentials
    common: dict[str, Any] = {
        "name": request.name.strip(), "kind": str(request.kind),
        "max_concurrent_migrations": migrations,
        "max_concurrent_incremental_syncs": incremental,
    }
    if request.kind == EndpointType.EWS:
        return EndpointSpec(**common, **_ews_settings(request))
    if request.kind == EndpointType.Gmail:
        return gmail_spec(common, request.service_account_key, request.email_address,
                          request.remote_server, request.port, request.security)
    _check_imap_authentication(request.authentication, request.kind)
    if request.kind == EndpointType.IMAP and request.authentication is AuthenticationMethod.OAuth:
        secret = _credential(request.client_secret, request.certificate)
        login = EwsLogin(OAUTH, user_name=credentials.user_name if credentials else None,
                         password=credentials.password if credentials else None,
                         tenant_id=request.tenant_id, client_id=request.client_id,
                         client_secret=secret)
        extra = _certificate_extra(_authority_extra({}, request.authority), request.certificate)
        columns = login_columns(login, extra, "Imap")
        return EndpointSpec(**common, **{**_imap_settings(request), **columns})
    _refuse_oauth_settings(request.tenant_id, request.client_id,
                           request.client_secret or _credential(None, request.certificate),
                           request.authority)
    if credentials is not None:
        common.update(username=credentials.user_name, password=credentials.password)
    if request.kind == EndpointType.IMAP:
        return EndpointSpec(**common, **_imap_settings(request))
    if not request.path:
        raise ValidationError("A Maildir endpoint needs -Path.", error_id="MaildirPathMissing")
    return EndpointSpec(**common, path=request.path,
                        extra={SHARED_STORAGE: True} if request.shared_storage else {})


def _refuse_shared_storage(kind: str, value: bool | None) -> None:
    if value and kind != EndpointType.Maildir:
        raise ValidationError("-SharedStorage applies to Maildir endpoints only.",
                              error_id="SharedStorageNotMaildir")


def _apply_shared_storage(row: EndpointRow, value: bool | None) -> EndpointRow:
    """Set-MigrationEndpoint -SharedStorage[:$false] on a Maildir endpoint. Marking it shared
    lifts its binding to one host; unmarking binds it again on the next claim."""
    if value is None:
        return row
    _refuse_shared_storage(row.kind, value)
    if row.kind != EndpointType.Maildir:
        return row
    rest = {k: v for k, v in row.extra.items() if k not in (SHARED_STORAGE, WRITER_HOST)}
    return replace(row, extra={**rest, SHARED_STORAGE: True} if value else rest)


def _refuse_max_message_size(kind: EndpointType, value: int | Unset | None) -> None:
    if kind != EndpointType.IMAP and isinstance(value, int):
        raise ValidationError("-MaxMessageSize applies to IMAP endpoints only.",
                              error_id="MaxMessageSize")


def _apply_max_message_size(spec: Any, value: int | Unset | None) -> Any:
    """``extra["MaxMessageSize"]``: set (validated), or dropped for None (imsh's default)."""
    if isinstance(value, Unset) or (value is None and MAX_MESSAGE_SIZE not in spec.extra):
        return spec
    _refuse_max_message_size(EndpointType(spec.kind), value)
    rest = {k: v for k, v in spec.extra.items() if k != MAX_MESSAGE_SIZE}
    if value is None:
        return replace(spec, extra=rest)
    return replace(spec, extra={**rest, MAX_MESSAGE_SIZE: validate_max_message_size(value)})


def _ews_settings(request: EndpointRequest) -> dict[str, Any]:
    if not request.url:
        raise ValidationError("An EWS endpoint needs -Url, for example "
                              "https://mail.contoso.com/EWS/Exchange.asmx.",
                              error_id="EwsUrlMissing")
    check_url(request.url.strip())
    credentials = request.credentials
    login = EwsLogin(ews_authentication(request.authentication),
                     user_name=credentials.user_name if credentials else None,
                     password=credentials.password if credentials else None,
                     tenant_id=request.tenant_id, client_id=request.client_id,
                     client_secret=request.client_secret)
    return {**login_columns(login, {}), "url": request.url.strip(),
            "impersonation": request.impersonation,
            "accept_untrusted_certificates": request.accept_untrusted_certificates}


def _imap_settings(request: EndpointRequest) -> dict[str, Any]:
    server = (request.remote_server or "").strip()
    if not server:
        raise ValidationError("An IMAP endpoint needs -RemoteServer.",
                              error_id="RemoteServerMissing")
    port = validate_port(request.port if request.port is not None else DEFAULT_IMAP_PORT)
    security = request.security or default_security(port)
    return {
        "remote_server": server, "port": port, "security": str(security),
        "authentication": str(request.authentication or AuthenticationMethod.Basic),
        "accept_untrusted_certificates": request.accept_untrusted_certificates,
    }


def _apply(row: EndpointRow, changes: EndpointChanges) -> EndpointRow:
    if changes.service_account_key is not None or changes.email_address is not None:
        row = replace(row, **changed_gmail(row, changes.service_account_key,
                                           changes.email_address))  # Gmail endpoints only
    if row.kind == EndpointType.EWS:
        updated = _apply_ews(row, changes)
    else:
        _refuse_ews_changes(row, changes)
        updated = _apply_imap(row, changes)
    if changes.accept_untrusted_certificates is not None:
        updated = replace(updated,
                          accept_untrusted_certificates=changes.accept_untrusted_certificates)
    return _apply_concurrency(updated, changes)


def _apply_imap(row: EndpointRow, changes: EndpointChanges) -> EndpointRow:
    _check_imap_authentication(changes.authentication, EndpointType(row.kind))
    updated = row
    if row.kind != EndpointType.IMAP and _touches_imap(changes):
        raise ValidationError(
            f"The migration endpoint '{row.name}' is a {row.kind} endpoint; -RemoteServer, "
            "-Port, -Security and -Authentication apply to IMAP endpoints only.",
            error_id="NotAnImapEndpoint")
    if changes.remote_server is not None:
        updated = replace(updated, remote_server=changes.remote_server.strip())
    if changes.port is not None:
        updated = replace(updated, port=validate_port(changes.port))
    if changes.security is not None:
        updated = replace(updated, security=str(changes.security))
    oauth = (changes.authentication or row.authentication) == OAUTH
    if oauth:
        return _apply_imap_oauth(updated, changes)
    if changes.authentication is not None:
        if row.authentication == OAUTH:  # from OAuth to Basic: the app's settings go
            updated = replace(updated, username=None, password=None, extra={
                k: v for k, v in row.extra.items() if k not in (TENANT_ID, AUTHORITY)})
        updated = replace(updated, authentication=str(changes.authentication))
    _refuse_oauth_settings(changes.tenant_id, changes.client_id,
                           changes.client_secret or _credential(None, changes.certificate),
                           changes.authority)
    if changes.credentials is not None:
        updated = replace(updated, username=changes.credentials.user_name,
                          password=changes.credentials.password)
    return updated


def _apply_imap_oauth(row: EndpointRow, changes: EndpointChanges) -> EndpointRow:
    credentials = changes.credentials
    given = EwsLogin(OAUTH, user_name=credentials.user_name if credentials else None,
                     password=credentials.password if credentials else None,
                     tenant_id=changes.tenant_id, client_id=changes.client_id,
                     client_secret=_credential(changes.client_secret, changes.certificate))
    current = login_of(row) if row.authentication == OAUTH else EwsLogin(OAUTH)
    extra = row.extra if changes.authority is None \
        else _authority_extra(row.extra, changes.authority)
    if changes.certificate is not None or changes.client_secret is not None:
        extra = _certificate_extra(extra, changes.certificate)
    return replace(row, **login_columns(changed_login(current, given), extra, "Imap"))


def _credential(secret: Secret | None, certificate: tuple[Secret, str] | None
                ) -> Secret | None:
    """The app's credential: -ClientSecret, or -CertificateFile's PEM (one of the two)."""
    if certificate is None:
        return secret
    if secret is not None:
        raise ValidationError("Give -ClientSecret or -CertificateFile, not both: the "
                              "application signs in with one credential.",
                              error_id="OAuthTwoCredentials")
    return certificate[0]


def _certificate_extra(extra: dict[str, Any], certificate: tuple[Secret, str] | None
                       ) -> dict[str, Any]:
    rest = {k: v for k, v in extra.items() if k != THUMBPRINT}
    return rest if certificate is None else {**rest, THUMBPRINT: certificate[1]}


def _authority_extra(extra: dict[str, Any], authority: str | None) -> dict[str, Any]:
    """``extra`` with -Authority: stored only when it isn't the public cloud."""
    rest = {k: v for k, v in extra.items() if k != AUTHORITY}
    host = normalise_authority(authority)
    return rest if host == PUBLIC_CLOUD else {**rest, AUTHORITY: host}


def _refuse_oauth_settings(tenant_id: str | None, client_id: str | None,
                           client_secret: Secret | None, authority: str | None) -> None:
    if tenant_id or client_id or client_secret is not None or authority:
        raise ValidationError("-TenantId, -ClientId, -ClientSecret, -CertificateFile and "
                              "-Authority apply only with -Authentication OAuth.",
                              error_id="OAuthParameters")


def _apply_ews(row: EndpointRow, changes: EndpointChanges) -> EndpointRow:
    if any(v is not None for v in (changes.remote_server, changes.port, changes.security)):
        raise ValidationError(
            f"The migration endpoint '{row.name}' is an EWS endpoint; -RemoteServer, -Port and "
            "-Security apply to IMAP endpoints only. Use -Url.", error_id="NotAnImapEndpoint")
    credentials = changes.credentials
    given = EwsLogin(ews_authentication(changes.authentication),
                     user_name=credentials.user_name if credentials else None,
                     password=credentials.password if credentials else None,
                     tenant_id=changes.tenant_id, client_id=changes.client_id,
                     client_secret=changes.client_secret)
    updated = replace(row, **login_columns(changed_login(login_of(row), given), row.extra))
    if changes.url is not None:
        check_url(changes.url.strip())
        updated = replace(updated, url=changes.url.strip())
    if changes.impersonation is not None:
        updated = replace(updated, impersonation=changes.impersonation)
    return updated


def _refuse_ews_changes(row: EndpointRow, changes: EndpointChanges) -> None:
    given: tuple[object, ...] = (changes.url, changes.impersonation)
    if row.kind != EndpointType.IMAP:
        given += (changes.tenant_id, changes.client_id, changes.client_secret,
                  changes.authority)
    if any(value is not None for value in given):
        raise ValidationError(
            f"The migration endpoint '{row.name}' is a {row.kind} endpoint; -Url and "
            "-Impersonation apply to EWS endpoints only, and -TenantId, -ClientId and "
            "-ClientSecret to EWS and IMAP endpoints.", error_id="NotAnEwsEndpoint")


def _apply_concurrency(row: EndpointRow, changes: EndpointChanges) -> EndpointRow:
    migrations, incremental = row.max_concurrent_migrations, row.max_concurrent_incremental_syncs
    if not isinstance(changes.max_concurrent_migrations, Unset):
        migrations = _concurrency(changes.max_concurrent_migrations)
    if not isinstance(changes.max_concurrent_incremental_syncs, Unset):
        incremental = _concurrency(changes.max_concurrent_incremental_syncs)
    validate_concurrency(migrations, incremental)
    return replace(row, max_concurrent_migrations=migrations,
                   max_concurrent_incremental_syncs=incremental)


def _touches_imap(changes: EndpointChanges) -> bool:
    return any(v is not None for v in (changes.remote_server, changes.port, changes.security,
                                       changes.authentication))


def _connection(row: EndpointSpec) -> tuple[object, ...]:
    """Everything that decides whether the endpoint can be reached and signed in to."""
    password = row.password.reveal() if row.password is not None else None
    return (row.remote_server, row.port, row.security, row.authentication, row.path, row.url,
            row.impersonation, row.extra.get(TENANT_ID), row.extra.get(AUTHORITY), row.username,
            password, row.accept_untrusted_certificates)


def _check_name(name: str) -> None:
    if not name.strip():
        raise ValidationError("The migration endpoint name can't be empty.",
                              error_id="EndpointNameEmpty")


def _check_imap_authentication(method: AuthenticationMethod | None,
                               kind: EndpointType = EndpointType.IMAP) -> None:
    allowed = (AuthenticationMethod.Basic, AuthenticationMethod.OAuth) \
        if kind == EndpointType.IMAP else (AuthenticationMethod.Basic,)
    if method is not None and method not in allowed:
        raise NotSupportedError(f"Authentication {method}")
