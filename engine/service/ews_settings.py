"""How an EWS endpoint signs in, as New-/Set-MigrationEndpoint give it.

The stored row -> :class:`~engine.targets.ews_connection.EwsSettings` mapping is
:func:`engine.targets.ews_settings.ews_settings_from_row`: the ONE mapping used by
verification, Test-MigrationServerAvailability and the sync executor.

:class:`EwsLogin` is how an endpoint signs in as New-/Set-MigrationEndpoint give it;
:func:`login_columns` checks it (OAuth needs -TenantId, -ClientId and -ClientSecret and no
-Credentials; the others need -Credentials and none of the three) and turns it into columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from engine.errors import NotSupportedError, ValidationError
from engine.model import AuthenticationMethod
from engine.secrets import Secret
from engine.store.endpoints import EndpointSpec
from engine.targets.ews_settings import OAUTH, TENANT_ID

EWS_AUTHENTICATION = (AuthenticationMethod.Basic, AuthenticationMethod.Ntlm,
                      AuthenticationMethod.OAuth)


@dataclass(frozen=True)
class EwsLogin:
    """How an EWS endpoint signs in: -Authentication with -Credentials, or the OAuth app."""

    authentication: str | None = None  # Basic | Ntlm | OAuth | None (ask the server)
    user_name: str | None = None
    password: Secret | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None

    @property
    def is_oauth(self) -> bool:
        return self.authentication == OAUTH


def login_of(row: EndpointSpec) -> EwsLogin:
    if row.authentication == OAUTH:
        return EwsLogin(OAUTH, tenant_id=row.extra.get(TENANT_ID), client_id=row.username,
                        client_secret=row.password)
    return EwsLogin(row.authentication, user_name=row.username, password=row.password)


def ews_authentication(method: AuthenticationMethod | None) -> str | None:
    """-Authentication on an EWS endpoint: Basic, NTLM or OAuth."""
    if method is None:
        return None
    if method not in EWS_AUTHENTICATION:
        raise NotSupportedError(f"Authentication {method} on an EWS endpoint")
    return method.value


def changed_login(current: EwsLogin, given: EwsLogin) -> EwsLogin:
    """Set-MigrationEndpoint: ``given`` over ``current``. Switching to or from OAuth starts
    from nothing, so the other kind's credentials are never read as this kind's."""
    authentication = given.authentication or current.authentication
    base = current if (authentication == OAUTH) == current.is_oauth \
        else EwsLogin(authentication)
    overlay = {name: value for name, value in vars(given).items() if value is not None}
    return replace(base, **overlay)


def login_columns(login: EwsLogin, extra: dict[str, Any], kind: str = "Ews") -> dict[str, Any]:
    """The endpoint columns for ``login``, after checking that it is complete and consistent.
    ``kind`` ("Ews" or "Imap") starts the error ids, so each endpoint kind has its own."""
    rest = {k: v for k, v in extra.items() if k != TENANT_ID}
    if login.is_oauth:
        _check_oauth(login, kind)
        return {"authentication": OAUTH, "username": login.client_id,
                "password": login.client_secret, "extra": {**rest, TENANT_ID: login.tenant_id}}
    if login.tenant_id or login.client_id or login.client_secret is not None:
        raise ValidationError("-TenantId, -ClientId and -ClientSecret apply only with "
                              "-Authentication OAuth.", error_id="EwsOAuthParameters")
    if not login.user_name or login.password is None:
        raise ValidationError("An EWS endpoint needs -Credentials (or -Authentication OAuth "
                              "with -TenantId, -ClientId and -ClientSecret).",
                              error_id="EwsCredentials")
    return {"authentication": login.authentication, "username": login.user_name,
            "password": login.password, "extra": rest}


def _check_oauth(login: EwsLogin, kind: str = "Ews") -> None:
    secret = "-ClientSecret" if kind == "Ews" else "-ClientSecret or -CertificateFile"
    if login.user_name or login.password is not None:
        raise ValidationError("-Credentials don't apply with -Authentication OAuth: the "
                              f"application signs in with -ClientId and {secret}.",
                              error_id=f"{kind}OAuthWithCredentials")
    present = {"-TenantId": bool(login.tenant_id), "-ClientId": bool(login.client_id),
               secret: bool(login.client_secret)}
    missing = [name for name, given in present.items() if not given]
    if missing:
        raise ValidationError("-Authentication OAuth needs " + ", ".join(missing) + ".",
                              error_id=f"{kind}OAuthIncomplete")


__all__ = ["OAUTH", "TENANT_ID", "EwsLogin", "changed_login", "ews_authentication",
           "login_columns", "login_of"]
