"""A SyncEnv whose batch targets an EWS endpoint on the local EWS test double.

The source is a real IMAP server; the target endpoint is ``New-MigrationEndpoint -EWS`` as the
store holds it (Basic, impersonation by the double's admin); ``compare()`` reads the double's
stored items through :class:`tests.support.ews_double.view.DoubleMailbox` and the source
through what Exchange can carry (:class:`~tests.support.ews_double.view.AsExchangeStores`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.secrets import Secret
from engine.store.endpoints import EndpointSpec
from scripts.compare import compare
from tests.integration.syncenv import SyncEnv
from tests.support.ews_double import EwsDouble, EwsDoubleServer
from tests.support.ews_double.view import EXCHANGE_ONLY, AsExchangeStores, DoubleMailbox

EWS_ADMIN, EWS_ADMIN_PASSWORD = "svc-imsh", "ews-admin-pw"


def new_double() -> EwsDouble:
    """A double whose admin may impersonate every mailbox."""
    return EwsDouble(users={EWS_ADMIN: EWS_ADMIN_PASSWORD}, impersonators={EWS_ADMIN})


@dataclass
class EwsSyncEnv(SyncEnv):
    """One migration user from ``source`` into a fresh mailbox of ``ews``."""

    ews: EwsDoubleServer | None = None
    ews_password: str = EWS_ADMIN_PASSWORD
    impersonation: bool = True
    _double_mailbox: DoubleMailbox | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        assert self.ews is not None
        self.ews.double.add_mailbox(self.address)

    def _target_spec(self) -> EndpointSpec:
        assert self.ews is not None
        return EndpointSpec("ExchangeTarget", "EWS", url=self.ews.url, authentication="Basic",
                            username=EWS_ADMIN, password=Secret(self.ews_password),
                            impersonation=self.impersonation)

    @property
    def double(self) -> EwsDouble:
        assert self.ews is not None
        return self.ews.double

    def target_view(self) -> DoubleMailbox:
        return DoubleMailbox(self.double, self.address)

    def compare(self) -> str | None:
        """None when the double's mailbox holds exactly the source (as Exchange stores it)."""
        source = AsExchangeStores(self.source_mailbox())
        try:
            report = compare(source, self.target_view(), ignore_folders=EXCHANGE_ONLY,
                             by_special_use=True)
        finally:
            source.close()
        return None if report.identical else report.format()
