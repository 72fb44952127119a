"""``IncrementalSyncInterval``: how long after a successful pass the next incremental sync is due.

A batch may have its own interval (``batches.incremental_sync_interval_seconds``, for
``Set-MigrationBatch -IncrementalSyncInterval``); a batch without one (NULL) follows the
configured default (config key ``IncrementalSyncInterval``, for ``Set-MigrationConfig
-IncrementalSyncInterval``), else 24 hours as in Exchange. The interval is read each time a
pass ends, so a changed setting applies from the next pass on, without restarting the runner.

The config value is stored as a number of seconds. Both settings accept 1 second to 365 days
(imsh's bounds: Exchange documents none; 1 s makes the tests quick).
"""

from __future__ import annotations

from datetime import timedelta

from engine.errors import ValidationError
from engine.store import Store
from engine.store.batches import BatchRow
from engine.store.config import ConfigRepository

CONFIG_KEY = "IncrementalSyncInterval"
DEFAULT_INTERVAL = timedelta(hours=24)
MIN_INTERVAL = timedelta(seconds=1)
MAX_INTERVAL = timedelta(days=365)


def validate_interval(value: timedelta) -> timedelta:
    """The interval, if it is within bounds and whole seconds; else :class:`ValidationError`."""
    if not MIN_INTERVAL <= value <= MAX_INTERVAL or value.microseconds:
        raise ValidationError(
            f"The IncrementalSyncInterval {value} isn't valid. Enter a whole number of seconds "
            f"from {MIN_INTERVAL} to {MAX_INTERVAL.days}.00:00:00.",
            error_id="InvalidIncrementalSyncInterval",
        )
    return value


def configured_interval(config: ConfigRepository) -> timedelta:
    """The default for batches without their own interval (Set-MigrationConfig), else 24 h."""
    seconds = config.get(CONFIG_KEY)
    if seconds is None:
        return DEFAULT_INTERVAL
    return timedelta(seconds=float(seconds))


def set_configured_interval(config: ConfigRepository, value: timedelta | None) -> None:
    """Store the default (``None`` goes back to 24 h)."""
    if value is None:
        config.set(CONFIG_KEY, None)
        return
    config.set(CONFIG_KEY, int(validate_interval(value).total_seconds()))


def batch_interval(store: Store, batch: BatchRow) -> timedelta:
    """The interval that applies to ``batch``: its own, else the configured default."""
    if batch.incremental_sync_interval_seconds is not None:
        return timedelta(seconds=batch.incremental_sync_interval_seconds)
    return configured_interval(store.config)


def seconds_of(value: timedelta | None) -> int | None:
    """A batch's interval as stored (``None`` = follow the configured default)."""
    return None if value is None else int(validate_interval(value).total_seconds())
