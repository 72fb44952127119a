"""Get-/Set-MigrationConfig: the organisation-wide migration settings, with their defaults.

The store keeps only values an administrator set (``store.config``); the defaults live here
(reference/ms-cmdlets.md §A17, Exchange 2013's MigrationConfig): ``MaxNumberOfBatches`` 100,
``MaxConcurrentMigrations`` Unlimited, ``Features`` None. imsh adds ``DefaultTargetEndpoint``,
the target of batches created without ``-TargetEndpoint`` (stored as the endpoint's
``is_default_target`` flag, the single source of truth), and the SMTP settings of
notification mail (engine/service/smtp_config.py), and ``IncrementalSyncInterval``: how long
after a successful pass the next incremental sync of a batch without its own interval is due
(24 h unless set; stored and read by engine/runner/intervals.py). A change moves the next pass
of the users waiting in those batches (engine/service/sync_interval.py).

The runner reads :func:`load_config` too: ``max_concurrent_migrations`` caps the users synced
at once across all endpoints (``None``: no cap beyond each endpoint's own limits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from engine.errors import ValidationError
from engine.runner.intervals import configured_interval, set_configured_interval
from engine.service.common import UNSET, Unset, now
from engine.service.config_keys import (
    AUTOMATIC_PROOFS,
    FEATURES,
    MAX_CONCURRENT_MIGRATIONS,
    MAX_NUMBER_OF_BATCHES,
)
from engine.service.smtp_config import SmtpChanges, SmtpConfig, check_smtp, load_smtp, store_smtp
from engine.service.sync_interval import check_interval, reschedule_waiting_users
from engine.store import Store

DEFAULT_MAX_NUMBER_OF_BATCHES = 100
FEATURE_NAMES = ("None", "MultiBatch", "Endpoints", "UpgradeBlock", "PAW")


@dataclass(frozen=True)
class MigrationConfig:
    max_number_of_batches: int
    max_concurrent_migrations: int | None  # None: Unlimited
    features: str
    default_target_endpoint: str | None
    batch_count: int
    smtp: SmtpConfig
    incremental_sync_interval: timedelta
    automatic_proofs: bool = True

    @property
    def can_submit_new_batch(self) -> bool:
        return self.batch_count < self.max_number_of_batches


@dataclass(frozen=True)
class ConfigChanges:
    max_number_of_batches: int | None = None
    max_concurrent_migrations: int | Unset | None = UNSET  # None: Unlimited
    features: str | None = None
    default_target_endpoint: str | None = None
    smtp: SmtpChanges = field(default_factory=SmtpChanges)
    incremental_sync_interval: timedelta | Unset | None = UNSET  # None: back to 24 h
    automatic_proofs: bool | None = None


def load_config(store: Store) -> MigrationConfig:
    target = store.endpoints.default_target()
    return MigrationConfig(
        max_number_of_batches=int(store.config.get(MAX_NUMBER_OF_BATCHES,
                                                   DEFAULT_MAX_NUMBER_OF_BATCHES)),
        max_concurrent_migrations=store.config.get(MAX_CONCURRENT_MIGRATIONS),
        features=str(store.config.get(FEATURES, "None")),
        default_target_endpoint=target.name if target is not None else None,
        batch_count=store.batches.count(),
        smtp=load_smtp(store),
        incremental_sync_interval=configured_interval(store.config),
        automatic_proofs=bool(store.config.get(AUTOMATIC_PROOFS, True)),
    )


def change_config(store: Store, changes: ConfigChanges) -> MigrationConfig:
    """Apply every given change in one transaction, after checking them all."""
    _check(changes)
    with store.transaction():
        if changes.max_number_of_batches is not None:
            store.config.set(MAX_NUMBER_OF_BATCHES, changes.max_number_of_batches)
        if not isinstance(changes.max_concurrent_migrations, Unset):
            store.config.set(MAX_CONCURRENT_MIGRATIONS, changes.max_concurrent_migrations)
        if changes.features is not None:
            store.config.set(FEATURES, _feature(changes.features))
        if changes.default_target_endpoint is not None:
            store.endpoints.set_default_target(
                store.endpoints.get(changes.default_target_endpoint).name)
        store_smtp(store, changes.smtp)
        if not isinstance(changes.incremental_sync_interval, Unset):
            _store_interval(store, changes.incremental_sync_interval)
        if changes.automatic_proofs is not None:
            store.config.set(AUTOMATIC_PROOFS, changes.automatic_proofs)
    return load_config(store)


def _store_interval(store: Store, interval: timedelta | None) -> None:
    set_configured_interval(store.config, interval)
    when = now()
    for batch in store.batches.list():
        if batch.incremental_sync_interval_seconds is None:  # follows the configured one
            reschedule_waiting_users(store, batch, when)


def _check(changes: ConfigChanges) -> None:
    if changes.max_number_of_batches is not None and changes.max_number_of_batches < 1:
        raise ValidationError(
            f'The value "{changes.max_number_of_batches}" of parameter MaxNumberOfBatches '
            "isn't valid. Enter a positive number.", error_id="InvalidMaxNumberOfBatches")
    limit = changes.max_concurrent_migrations
    if isinstance(limit, int) and limit < 1:
        raise ValidationError(
            f'The value "{limit}" of parameter MaxConcurrentMigrations isn\'t valid. Enter a '
            "positive number or Unlimited.", error_id="InvalidConcurrency")
    check_smtp(changes.smtp)
    if not isinstance(changes.incremental_sync_interval, Unset):
        check_interval(changes.incremental_sync_interval)


def _feature(text: str) -> str:
    for name in FEATURE_NAMES:
        if name.casefold() == text.strip().casefold():
            return name
    raise ValidationError(
        f"Unable to match the identifier name {text} to a valid enumerator name. Specify one "
        f"of the following enumerator names and try again: {', '.join(FEATURE_NAMES)}",
        error_id="InvalidEnumeratorName")
