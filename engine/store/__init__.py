"""The state store: SQLite behind repositories, the only layer that speaks SQL.

Open it with ``Store.open(paths)``; the repositories are attributes (``store.endpoints``,
``store.batches``, ``store.users``, ``store.folders``, ``store.messages``, ``store.statistics``,
``store.leases``, ``store.config``). Rows are frozen dataclasses; passwords in rows are
:class:`engine.secrets.Secret` and are sealed before they reach the database.

What is committed when is stated in :mod:`engine.store.store`; connection settings, the
transaction model and the one-store-per-thread policy in :mod:`engine.store.db`; the schema in
:mod:`engine.store.schema` and docs/state.md.
"""

from engine.store.store import DEFAULT_TARGET_NAME, Store

__all__ = ["DEFAULT_TARGET_NAME", "Store"]
