"""-StartAfter/-CompleteAfter: the pure decisions (engine/runner/scheduler.py) and the reading
of what the administrator typed (engine/schedule_times.py), on literal inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine.errors import ValidationError
from engine.runner.scheduler import completion_due, start_after_of, start_held
from engine.schedule_times import in_zone, to_utc

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_start_after_ahead_holds_the_user_and_one_reached_does_not() -> None:
    assert start_held(NOON, NOON - timedelta(seconds=1))
    assert not start_held(NOON, NOON)
    assert not start_held(NOON, NOON + timedelta(hours=1))
    assert not start_held(None, NOON)


def test_the_users_own_start_after_overrides_the_batches() -> None:
    later = NOON + timedelta(days=1)
    assert start_after_of(NOON, later) == later
    assert start_after_of(later, NOON) == NOON
    assert start_after_of(NOON, None) == NOON
    assert start_after_of(None, None) is None


@pytest.mark.parametrize(("now", "active", "synced", "due"), [
    (NOON, True, True, True),
    (NOON + timedelta(days=3), True, True, True),
    (NOON - timedelta(seconds=1), True, True, False),  # not yet
    (NOON, True, False, False),  # the initial sync still runs: it goes on syncing
    (NOON, False, True, False),  # stopped, created-only, completing or removed
])
def test_a_batch_completes_once_synced_and_past_its_complete_after(
        now: datetime, active: bool, synced: bool, due: bool) -> None:
    assert completion_due(NOON, now, active=active, synced=synced) is due


def test_no_complete_after_never_completes() -> None:
    assert not completion_due(None, NOON, active=True, synced=True)


@pytest.mark.parametrize(("text", "zone", "utc"), [
    ("7/30/2020 9:00PM Z", None, datetime(2020, 7, 30, 21, 0, tzinfo=UTC)),
    ("7/30/2020 9:00PM -700", None, datetime(2020, 7, 31, 4, 0, tzinfo=UTC)),
    ("2021-05-06 14:30:00z", None, datetime(2021, 5, 6, 14, 30, tzinfo=UTC)),
    ("09/01/2018", None, datetime(2018, 9, 1, tzinfo=UTC)),  # no zone, no -TimeZone: UTC
    ("09/01/2018 5:00 PM", "Pacific Standard Time", datetime(2018, 9, 2, 0, 0, tzinfo=UTC)),
    ("01/15/2026 5:00 PM", "Pacific Standard Time", datetime(2026, 1, 16, 1, 0, tzinfo=UTC)),
    ("2026-07-01 09:00", "W. Europe Standard Time", datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),
    ("2026-07-01 09:00", "Europe/Berlin", datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),
    ("2026-07-01 09:00Z", "Pacific Standard Time", datetime(2026, 7, 1, 9, 0, tzinfo=UTC)),
    ("2021-05-06T14:30:00+02:00", "UTC", datetime(2021, 5, 6, 12, 30, tzinfo=UTC)),
])
def test_typed_times_are_stored_in_utc(text: str, zone: str | None, utc: datetime) -> None:
    assert to_utc(text, zone) == utc


def test_a_datetime_with_a_zone_keeps_it_and_one_without_is_read_in_the_batch_zone() -> None:
    aware = datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    assert to_utc(aware, "Pacific Standard Time") == datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    naive = datetime(2026, 1, 1, 8, 0)
    assert to_utc(naive, "Tokyo Standard Time") == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)


def test_a_stored_time_is_shown_in_the_batch_zone() -> None:
    shown = in_zone(datetime(2026, 1, 16, 1, 0, tzinfo=UTC), "Pacific Standard Time")
    assert shown is not None and (shown.hour, shown.day) == (17, 15)
    assert in_zone(None, "Pacific Standard Time") is None
    assert in_zone(NOON, None) == NOON


@pytest.mark.parametrize(("text", "zone", "words"), [
    ("tomorrow", None, 'Cannot convert value "tomorrow" to type "System.DateTime"'),
    ("13/45/2020", None, "was not recognized as a valid DateTime"),
    ("2026-01-01", "Mars Standard Time", 'The time zone "Mars Standard Time" isn\'t valid'),
])
def test_bad_input_is_refused_with_a_clear_message(text: str, zone: str | None,
                                                    words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        to_utc(text, zone)
    assert words in caught.value.message


def test_a_start_time_no_zone_can_show_is_refused_not_a_crash() -> None:
    for text, zone in (("9999-12-31 23:00Z", "Tonga Standard Time"),
                       ("0001-01-01", "Tonga Standard Time"), ("1850-01-01", None)):
        with pytest.raises(ValidationError) as refused:
            to_utc(text, zone)
        assert refused.value.error_id == "DateTimeOutOfRange"
    assert to_utc("2027-01-01 08:00", "W. Europe Standard Time") == datetime(
        2027, 1, 1, 7, 0, tzinfo=UTC)


def test_a_stored_time_no_zone_can_show_is_shown_in_utc_rather_than_breaking_the_batch_list(
        ) -> None:
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)  # stored before the range check existed
    assert in_zone(far, "Tonga Standard Time") == far
