"""Migration configuration (Get-/Set-MigrationConfig) and the store's own metadata.

:class:`ConfigRepository` holds the user-visible settings (``MaxNumberOfBatches``, SMTP
settings ...) as JSON values under case-insensitive keys; a setting that is a password is stored
sealed (purpose ``config.<key>``) and read back as a :class:`Secret`.

:class:`MetaRepository` holds facts about the store itself (the sealing key check, whether the
defaults were created); they never show up in Get-MigrationConfig.
"""

from __future__ import annotations

import json
from typing import Any

from engine.secrets import Sealer, Secret
from engine.store import codec
from engine.store.db import Database


class ConfigRepository:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self._db = db
        self._sealer = sealer

    def get(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key`` (case-insensitive), or ``default``."""
        row = self._db.query_one(
            "SELECT value_json FROM config WHERE key_key = ?", (codec.name_key(key),)
        )
        if row is None or row["value_json"] is None:
            return default
        return json.loads(row["value_json"])

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key``; ``None`` removes the setting."""
        if value is None:
            self.delete(key)
            return
        self._upsert(key, json.dumps(value), None)

    def get_secret(self, key: str) -> Secret | None:
        row = self._db.query_one(
            "SELECT sealed_value FROM config WHERE key_key = ?", (codec.name_key(key),)
        )
        if row is None or row["sealed_value"] is None:
            return None
        return self._sealer.unseal(row["sealed_value"], _purpose(key))

    def set_secret(self, key: str, secret: Secret | None) -> None:
        if secret is None:
            self.delete(key)
            return
        self._upsert(key, None, self._sealer.seal(secret, _purpose(key)))

    def items(self) -> dict[str, Any]:
        """Every setting as typed; sealed settings appear as a :class:`Secret`."""
        rows = self._db.query_all("SELECT * FROM config ORDER BY key_key")
        return {
            r["key"]: (
                self._sealer.unseal(r["sealed_value"], _purpose(r["key"]))
                if r["sealed_value"] is not None
                else json.loads(r["value_json"])
            )
            for r in rows
        }

    def delete(self, key: str) -> None:
        with self._db.transaction():
            self._db.execute("DELETE FROM config WHERE key_key = ?", (codec.name_key(key),))

    def _upsert(self, key: str, value_json: str | None, sealed: str | None) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO config (key_key, key, value_json, sealed_value, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_key) DO UPDATE SET key = excluded.key, "
                "value_json = excluded.value_json, sealed_value = excluded.sealed_value, "
                "updated_at = excluded.updated_at",
                (codec.name_key(key), key, value_json, sealed, codec.time_to_db(codec.utc_now())),
            )


class MetaRepository:
    """Internal key/value facts about the store (not user configuration)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> str | None:
        row = self._db.query_one("SELECT value FROM store_meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set(self, key: str, value: str) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO store_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def _purpose(key: str) -> str:
    return f"config.{codec.name_key(key)}"
