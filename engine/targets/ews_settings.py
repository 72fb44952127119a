"""An EWS endpoint's stored columns -> its connection settings: the ONE mapping.

:func:`ews_settings_from_row` is used by endpoint verification, Test-MigrationServerAvailability
(both in engine/service) and the sync executor when it builds the EWS target
(engine/endpoints.py). It lives with the targets, not the service façade, so that the
sync layer can use it without importing the façade above it.

=========================  ==================================================================
endpoint column            EwsSettings
=========================  ==================================================================
``url``                    ``url`` (used as given: no autodiscover)
``authentication``         ``authentication``: ``Basic``, ``Ntlm``, ``OAuth``, or None (ask
                           the server; Basic/NTLM only)
``username``/``password``  Basic/NTLM: ``username``/``password`` (-Credentials).
                           OAuth: ``client_id``/``client_secret`` -- the secret stays sealed
                           in the password column like any password
``extra["tenant_id"]``     OAuth: ``tenant_id``
``impersonation``          ``impersonation``
``accept_untrusted_...``   ``accept_untrusted``
=========================  ==================================================================

The row is read through :class:`EndpointColumns` (the store's endpoint row has these
attributes), so the targets stay independent of the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from engine.errors import ErrorCategory, ValidationError
from engine.model import AuthenticationMethod
from engine.secrets import Secret

if TYPE_CHECKING:  # exchangelib is heavy (~50 MB, 0.2 s): loaded only when EWS is used
    from engine.targets.ews_connection import EwsSettings

TENANT_ID = "tenant_id"
OAUTH = AuthenticationMethod.OAuth.value


class EndpointColumns(Protocol):
    """The columns of a stored EWS endpoint that its connection depends on."""

    @property
    def url(self) -> str | None: ...
    @property
    def authentication(self) -> str | None: ...
    @property
    def impersonation(self) -> bool: ...
    @property
    def accept_untrusted_certificates(self) -> bool: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> Secret | None: ...
    @property
    def extra(self) -> dict[str, Any]: ...


def check_url(url: str) -> None:
    """An EWS endpoint URL must be an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"The EWS URL '{url}' must be an http:// or https:// address, "
                              "for example https://mail.contoso.com/EWS/Exchange.asmx.",
                              category=ErrorCategory.InvalidArgument, error_id="EwsUrlInvalid")


def ews_settings_from_row(row: EndpointColumns) -> EwsSettings:
    """The connection settings of a stored EWS endpoint (see the module docstring)."""
    from engine.targets.ews_connection import EwsSettings

    common: dict[str, Any] = {
        "url": row.url or "", "authentication": row.authentication,
        "impersonation": row.impersonation,
        "accept_untrusted": row.accept_untrusted_certificates,
    }
    if row.authentication == OAUTH:
        return EwsSettings(**common, tenant_id=row.extra.get(TENANT_ID),
                           client_id=row.username, client_secret=row.password)
    return EwsSettings(**common, username=row.username, password=row.password)
