"""Values the shell and the cmdlets both read and print the .NET way, defined once below both.

The shell's ``[TimeSpan]`` conversion (shell/lang/convert.py), the cmdlets' TimeSpan
parameters (cmdlets/migration/common.py), the engine's own messages
(engine/service/sync_interval.py) and the shell's output (shell/objects.py) used to carry their
own copies of these; a difference between the copies was a difference an administrator saw
between ``[TimeSpan]'1.00:00:00'`` and ``-IncrementalSyncInterval 1.00:00:00``.

The same holds for .NET's DateTime text: the shell's ``[datetime]`` cast (shell/lang/convert.py)
and the cmdlets' -StartAfter/-CompleteAfter (engine/schedule_times.py) read the same forms
(:func:`parse_datetime`: the invariant culture's ``M/d/yyyy``, ISO and Exchange's ``"7/30/2020
9:00PM -700"``), and a date prints the same in ``"$date"`` and in a report line
(:func:`datetime_text`).

Pure functions; no engine state.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

# What .NET's TimeSpan.Parse reads: [-][d.]h:m[:s[.fffffff]], or a whole number of days.
_TIMESPAN = re.compile(r"(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?")


def parse_timespan(text: str) -> timedelta | None:
    """A TimeSpan from its text (``1.00:00:00``, ``06:00:00``, ``-0:30``, ``3`` = 3 days);
    None when the text is not one."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return timedelta(days=int(text))
    match = _TIMESPAN.fullmatch(text)
    if match is None:
        return None
    sign, days, hours, minutes, seconds, fraction = match.groups()
    span = timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                     seconds=int(seconds or 0),
                     microseconds=int((fraction or "0").ljust(7, "0")[:6]))
    return -span if sign else span


def timespan_text(value: timedelta) -> str:
    """A time span as PowerShell prints it (.NET's constant format):
    ``[-][d.]hh:mm:ss[.fffffff]``."""
    ticks = (value.days * 86_400 + value.seconds) * 10_000_000 + value.microseconds * 10
    sign = "-" if ticks < 0 else ""
    seconds, fraction = divmod(abs(ticks), 10_000_000)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    head = f"{days}." if days else ""
    tail = f".{fraction:07}" if fraction else ""
    return f"{sign}{head}{hours:02}:{minutes:02}:{seconds:02}{tail}"


# What a .NET DateTime is read from (invariant culture), in the order tried.
_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
    "%d %B %Y", "%B %d, %Y", "%d %b %Y",
)
# a zone at the end: Z, +hh:mm, +hhmm, -700 (Exchange's own example)
_ZONE = re.compile(r"\s*(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2}))$")


def parse_datetime(text: str) -> datetime | None:
    """A DateTime from its text; aware when the text names a zone, naive otherwise; None when
    the text is not one."""
    raw = text.strip()
    try:
        return datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        pass
    zone: tzinfo | None = None
    match = _ZONE.search(raw)
    body = raw
    if match is not None and re.search(r"\d", raw[: match.start()]):
        body = raw[: match.start()]
        if match.group("z"):
            zone = UTC
        else:
            offset = timedelta(hours=int(match.group("h")), minutes=int(match.group("m")))
            zone = timezone(-offset if match.group("sign") == "-" else offset)
    body = re.sub(r"(?i)(\d)\s*([ap]m)$", r"\1 \2", body.strip())
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(body, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=zone) if zone is not None else parsed
    return None


def datetime_text(value: datetime) -> str:
    """A date as PowerShell turns it into a string (``"$date"``, invariant culture):
    ``MM/dd/yyyy HH:mm:ss``."""
    return value.strftime("%m/%d/%Y %H:%M:%S")
