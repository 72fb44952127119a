"""IncrementalSyncInterval through the façade: stored where the runner reads it, checked first,
and moving the next pass of the users waiting for it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from engine.errors import ValidationError
from engine.runner.intervals import batch_interval, configured_interval
from engine.service import Engine
from engine.service.batches import BatchChanges, BatchRequest
from engine.service.common import now
from engine.service.config import ConfigChanges
from engine.values import timespan_text
from tests.engine.service.conftest import snapshot

CSV = b"EmailAddress,UserName,Password\r\n{0}@contoso.com,u,pw\r\n"
HOUR = timedelta(hours=1)
BAD = [timedelta(0), timedelta(seconds=-5), timedelta(days=365, seconds=1),
       timedelta(seconds=1.5)]


def new_batch(engine: Engine, name: str, interval: timedelta | None = None) -> None:
    engine.new_batch(BatchRequest(name=name, source_endpoint="Source",
                                  csv_data=CSV.replace(b"{0}", name.encode()),
                                  incremental_sync_interval=interval))


def runner_sees(engine: Engine, name: str) -> timedelta:
    return batch_interval(engine.store, engine.store.batches.get(name))


def make_synced(engine: Engine, address: str, last: datetime, due: datetime) -> None:
    user = engine.store.users.get(address)
    engine.store.users.update(replace(user, status="IncrementalSynced", sync_kind="incremental",
                                      last_successful_sync_at=last, next_sync_due_at=due))


def due_of(engine: Engine, address: str) -> datetime | None:
    return engine.store.users.get(address).next_sync_due_at


def test_a_batch_has_its_own_interval_or_follows_the_configured_one(
        engine: Engine, source: str) -> None:
    new_batch(engine, "Own", 6 * HOUR)
    new_batch(engine, "Follows")
    assert engine.store.batches.get("Own").incremental_sync_interval_seconds == 6 * 3600
    assert engine.store.batches.get("Follows").incremental_sync_interval_seconds is None
    assert runner_sees(engine, "Follows") == timedelta(hours=24)

    config = engine.set_config(ConfigChanges(incremental_sync_interval=30 * timedelta(minutes=1)))

    assert config.incremental_sync_interval == timedelta(minutes=30)
    assert configured_interval(engine.store.config) == timedelta(minutes=30)
    assert runner_sees(engine, "Follows") == timedelta(minutes=30)
    assert runner_sees(engine, "Own") == 6 * HOUR
    shown = {info.name: info.incremental_sync_interval for info in engine.get_batches()}
    assert shown == {"Own": 6 * HOUR, "Follows": timedelta(minutes=30)}


def test_set_changes_leaves_or_resets_the_batch_interval(engine: Engine, source: str) -> None:
    new_batch(engine, "B1")
    engine.set_config(ConfigChanges(incremental_sync_interval=2 * HOUR))

    assert engine.set_batch("B1", BatchChanges(incremental_sync_interval=HOUR)) \
        .incremental_sync_interval == HOUR
    engine.set_batch("B1", BatchChanges(notification_emails=("admin@contoso.com",)))
    assert runner_sees(engine, "B1") == HOUR
    engine.set_batch("B1", BatchChanges(incremental_sync_interval=None))
    assert engine.store.batches.get("B1").incremental_sync_interval_seconds is None
    assert runner_sees(engine, "B1") == 2 * HOUR

    assert engine.set_config(ConfigChanges(incremental_sync_interval=None)) \
        .incremental_sync_interval == timedelta(hours=24)
    assert runner_sees(engine, "B1") == timedelta(hours=24)


@pytest.mark.parametrize("bad", BAD, ids=timespan_text)
def test_a_bad_interval_is_refused_and_nothing_is_stored(
        engine: Engine, source: str, bad: timedelta) -> None:
    new_batch(engine, "B1")
    before = snapshot(engine)
    message = (rf'The value "{timespan_text(bad)}" of parameter IncrementalSyncInterval '
               r"isn't valid\. Enter a time span of whole seconds from 00:00:01 to 365\.00:00:00")
    with pytest.raises(ValidationError, match=message):
        engine.set_batch("B1", BatchChanges(incremental_sync_interval=bad,
                                            notification_emails=("admin@contoso.com",)))
    with pytest.raises(ValidationError, match=message):
        engine.set_config(ConfigChanges(incremental_sync_interval=bad, max_number_of_batches=5))
    with pytest.raises(ValidationError, match=message):
        new_batch(engine, "B2", bad)
    assert snapshot(engine) == before


def test_a_change_moves_the_next_pass_of_waiting_users_only(engine: Engine, source: str) -> None:
    for name in ("Waiting", "DueNow", "Own"):
        new_batch(engine, name)
    engine.set_batch("Own", BatchChanges(incremental_sync_interval=12 * HOUR))
    last = now() - 3 * HOUR
    make_synced(engine, "waiting@contoso.com", last, last + timedelta(hours=24))
    make_synced(engine, "duenow@contoso.com", last, now() - timedelta(seconds=1))
    make_synced(engine, "own@contoso.com", last, last + 12 * HOUR)
    asked_now = due_of(engine, "duenow@contoso.com")

    engine.set_config(ConfigChanges(incremental_sync_interval=4 * HOUR))

    assert due_of(engine, "waiting@contoso.com") == last + 4 * HOUR
    assert due_of(engine, "duenow@contoso.com") == asked_now  # a pass asked for now stays
    assert due_of(engine, "own@contoso.com") == last + 12 * HOUR  # its own interval applies

    engine.set_batch("Own", BatchChanges(incremental_sync_interval=HOUR))
    assert due_of(engine, "own@contoso.com") == last + HOUR  # overdue now: the runner takes it
    engine.set_batch("Own", BatchChanges(notification_emails=()))
    assert due_of(engine, "own@contoso.com") == last + HOUR


def test_a_user_before_its_first_sync_is_not_scheduled(engine: Engine, source: str) -> None:
    new_batch(engine, "B1")
    engine.start_batch("B1")
    queued = due_of(engine, "b1@contoso.com")
    engine.set_batch("B1", BatchChanges(incremental_sync_interval=HOUR))
    assert due_of(engine, "b1@contoso.com") == queued


@pytest.mark.parametrize(("span", "text"), [
    (timedelta(hours=24), "1.00:00:00"), (timedelta(minutes=30), "00:30:00"),
    (timedelta(0), "00:00:00"), (-timedelta(seconds=5), "-00:00:05"),
    (timedelta(days=365, seconds=1), "365.00:00:01"),
    (timedelta(microseconds=1_500_000), "00:00:01.5000000"),
])
def test_timespan_text_is_powershells(span: timedelta, text: str) -> None:
    assert timespan_text(span) == text
