"""Times an administrator schedules: -StartAfter, -CompleteAfter and -TimeZone.

Exchange's rules (reference/ms-cmdlets.md, New-MigrationBatch): "if you specify a date/time
value without a time zone, the value is in Coordinated Universal Time (UTC)"; a value may carry
its zone (``"7/30/2020 9:00PM Z"``, ``"7/30/2020 9:00PM -700"``, ``"2021-05-06 14:30:00z"``);
``-TimeZone`` is "the time zone of the administrator who submits the migration batch", a
Windows time-zone key name such as ``"Pacific Standard Time"``, default ``UTC``.

Design decisions:

* **Stored in UTC, shown in the batch's zone.** :func:`to_utc` turns what was typed into an
  aware UTC datetime; a value without a zone is read in the batch's ``-TimeZone`` (UTC when
  none), one with a zone keeps its own. :func:`in_zone` shows a stored time in the batch's
  zone for Get-MigrationBatch (StartAfter) next to the UTC one (StartAfterUTC).
* **Windows names, real rules.** The Windows key names map to IANA zones with the table
  exchangelib ships (a dependency already), so daylight saving is honoured; IANA names
  (``Europe/Berlin``) are accepted too. An unknown name is refused with the way to list them.
* The forms a date may be typed in are .NET's (engine/values.py), the same the shell's
  ``[datetime]`` reads.
* Pure: no clock, no I/O. The same text always gives the same instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import ValidationError
from engine.values import parse_datetime

DEFAULT_TIME_ZONE = "UTC"


def time_zone(name: str | None) -> tzinfo:
    """The zone of a -TimeZone value (None or empty: UTC)."""
    if name is None or not name.strip() or name.strip().casefold() == "utc":
        return UTC
    text = name.strip()
    # not at the top: importing exchangelib costs about 0.3 s, and most values are UTC
    from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

    folded = {key.casefold(): value for key, value in MS_TIMEZONE_TO_IANA_MAP.items()}
    iana = folded.get(text.casefold(), text)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f'The time zone "{name}" isn\'t valid. Enter a time zone key name such as '
            '"Pacific Standard Time" or "W. Europe Standard Time" (or an IANA name such as '
            '"Europe/Berlin"); the default is UTC.', error_id="InvalidTimeZone") from None


# what a scheduled time or a received-date filter may be: every zone can show it (a zone is at
# most 14 hours from UTC), so no conversion overflows .NET's and Python's year 1..9999
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def check_time_zone(name: str | None) -> str | None:
    """``name`` as given when it is a known zone (None stays None); raises otherwise."""
    time_zone(name)
    return name.strip() if name is not None else None


def to_utc(value: datetime | str, zone_name: str | None = None, parameter: str = "StartAfter"
           ) -> datetime:
    """What the administrator typed for -StartAfter/-CompleteAfter, as an aware UTC time."""
    parsed = value if isinstance(value, datetime) else _parse(value, parameter)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=time_zone(zone_name))
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise ValidationError(
            f"The value {parsed.isoformat(sep=' ', timespec='minutes')} for -{parameter} is out "
            "of range. Enter a "
            f"time between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}.",
            error_id="DateTimeOutOfRange")
    return utc


def in_zone(value: datetime | None, zone_name: str | None) -> datetime | None:
    """A stored UTC time as the batch's time zone shows it (a time stored before the range
    check that no zone can show stays in UTC rather than failing every Get-MigrationBatch)."""
    if value is None:
        return None
    try:
        return value.astimezone(time_zone(zone_name))
    except OverflowError:
        return value


def _parse(text: str, parameter: str) -> datetime:
    parsed = parse_datetime(text)
    if parsed is not None:
        return parsed
    raise ValidationError(
        f'Cannot bind parameter \'{parameter}\'. Cannot convert value "{text}" to type '
        '"System.DateTime". Error: "String \'' + text + '\' was not recognized as a valid '
        'DateTime." Enter a date such as "09/01/2018 5:00 PM" or "2021-05-06 14:30:00Z".',
        error_id="InvalidDateTime")
