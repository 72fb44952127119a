"""Endpoints: IMAP, Maildir and EWS servers or stores with their connection settings.

Names are unique case-insensitively. The password is sealed (purpose ``endpoints.password``)
before it reaches the database and unsealed into a :class:`Secret` when a row is read.
At most one endpoint is the default target (``is_default_target``); it is the single source of
truth for "the configured default target".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from engine.secrets import Sealer, Secret
from engine.store import codec
from engine.store.db import Database, IntegrityError, Row

PASSWORD_PURPOSE = "endpoints.password"

_COLUMNS = (
    "name",
    "kind",
    "remote_server",
    "port",
    "security",
    "authentication",
    "path",
    "url",
    "impersonation",
    "username",
    "password_sealed",
    "accept_untrusted_certificates",
    "max_concurrent_migrations",
    "max_concurrent_incremental_syncs",
    "extra_json",
)


@dataclass(frozen=True)
class EndpointSpec:
    """The settings of an endpoint, as given to ``add`` and ``update``."""

    name: str
    kind: str  # IMAP | Maildir | EWS
    remote_server: str | None = None
    port: int | None = None
    security: str | None = None  # None | Ssl | Tls
    authentication: str | None = None  # Basic | Ntlm | ...
    path: str | None = None  # Maildir
    url: str | None = None  # EWS
    impersonation: bool = False  # EWS
    username: str | None = None
    password: Secret | None = None
    accept_untrusted_certificates: bool = False
    max_concurrent_migrations: int = 20
    max_concurrent_incremental_syncs: int = 10
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointRow(EndpointSpec):
    """A stored endpoint."""

    id: int = 0
    is_default_target: bool = False
    created_at: datetime = field(default_factory=codec.utc_now)


class EndpointRepository:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self._db = db
        self._sealer = sealer

    def add(self, spec: EndpointSpec) -> EndpointRow:
        """Store a new endpoint; its name must be free (case-insensitively)."""
        with self._db.transaction():
            self._ensure_free(spec.name)
            placeholders = ", ".join("?" for _ in range(len(_COLUMNS) + 2))
            row = self._db.query_one(
                f"INSERT INTO endpoints ({', '.join(_COLUMNS)}, name_key, created_at) "
                f"VALUES ({placeholders}) RETURNING id",
                (*self._values(spec), codec.name_key(spec.name), codec.time_to_db(codec.utc_now())),
            )
            assert row is not None
            return self.get_by_id(int(row["id"]))

    def update(self, row: EndpointRow) -> EndpointRow:
        """Write back every setting of ``row`` (identified by ``row.id``)."""
        with self._db.transaction():
            other = self.find(row.name)
            if other is not None and other.id != row.id:
                raise _exists(row.name)
            assignments = ", ".join(f"{c} = ?" for c in _COLUMNS)
            self._db.execute(
                f"UPDATE endpoints SET {assignments}, name_key = ? WHERE id = ?",
                (*self._values(row), codec.name_key(row.name), row.id),
            )
            return self.get_by_id(row.id)

    def find(self, name: str) -> EndpointRow | None:
        found = self._db.query_one(
            "SELECT * FROM endpoints WHERE name_key = ?", (codec.name_key(name),)
        )
        return self._row(found) if found is not None else None

    def get(self, name: str) -> EndpointRow:
        found = self.find(name)
        if found is None:
            raise NotFoundError(
                f"The migration endpoint '{name}' couldn't be found.",
                error_id="EndpointNotFound",
            )
        return found

    def get_by_id(self, endpoint_id: int) -> EndpointRow:
        found = self._db.query_one("SELECT * FROM endpoints WHERE id = ?", (endpoint_id,))
        if found is None:
            raise NotFoundError(
                f"No migration endpoint has id {endpoint_id}.", error_id="EndpointNotFound"
            )
        return self._row(found)

    def list(self) -> list[EndpointRow]:
        rows = self._db.query_all("SELECT * FROM endpoints ORDER BY name_key")
        return [self._row(r) for r in rows]

    def remove(self, name: str) -> None:
        """Delete an endpoint; refused while a batch still uses it."""
        with self._db.transaction():
            endpoint = self.get(name)
            try:
                self._db.execute("DELETE FROM endpoints WHERE id = ?", (endpoint.id,))
            except IntegrityError:
                raise InvalidStateError(
                    f"The migration endpoint '{endpoint.name}' is used by a migration batch; "
                    "remove the batch first.",
                    error_id="EndpointInUse",
                ) from None

    def default_target(self) -> EndpointRow | None:
        found = self._db.query_one("SELECT * FROM endpoints WHERE is_default_target = 1")
        return self._row(found) if found is not None else None

    def set_default_target(self, name: str | None) -> None:
        """Make ``name`` the default target endpoint (``None``: no default)."""
        with self._db.transaction():
            endpoint = self.get(name) if name is not None else None
            self._db.execute("UPDATE endpoints SET is_default_target = 0")
            if endpoint is not None:
                self._db.execute(
                    "UPDATE endpoints SET is_default_target = 1 WHERE id = ?", (endpoint.id,)
                )

    def _ensure_free(self, name: str) -> None:
        if self.find(name) is not None:
            raise _exists(name)

    def _values(self, spec: EndpointSpec) -> tuple[Any, ...]:
        sealed = (
            self._sealer.seal(spec.password, PASSWORD_PURPOSE)
            if spec.password is not None
            else None
        )
        return (
            spec.name,
            spec.kind,
            spec.remote_server,
            spec.port,
            spec.security,
            spec.authentication,
            spec.path,
            spec.url,
            codec.bool_to_db(spec.impersonation),
            spec.username,
            sealed,
            codec.bool_to_db(spec.accept_untrusted_certificates),
            spec.max_concurrent_migrations,
            spec.max_concurrent_incremental_syncs,
            codec.json_map_to_db(spec.extra),
        )

    def _row(self, r: Row) -> EndpointRow:
        sealed = r["password_sealed"]
        return EndpointRow(
            id=int(r["id"]),
            name=r["name"],
            kind=r["kind"],
            remote_server=r["remote_server"],
            port=r["port"],
            security=r["security"],
            authentication=r["authentication"],
            path=r["path"],
            url=r["url"],
            impersonation=bool(r["impersonation"]),
            username=r["username"],
            password=self._sealer.unseal(sealed, PASSWORD_PURPOSE) if sealed else None,
            accept_untrusted_certificates=bool(r["accept_untrusted_certificates"]),
            max_concurrent_migrations=int(r["max_concurrent_migrations"]),
            max_concurrent_incremental_syncs=int(r["max_concurrent_incremental_syncs"]),
            extra=codec.json_map_from_db(r["extra_json"]),
            is_default_target=bool(r["is_default_target"]),
            created_at=codec.required_time(r["created_at"]),
        )


def _exists(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"A migration endpoint named '{name}' already exists.", error_id="EndpointAlreadyExists"
    )
