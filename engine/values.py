"""Values the shell and the cmdlets both read and print the .NET way, defined once below both.

The shell's ``[TimeSpan]`` conversion (shell/lang/convert.py), the cmdlets' TimeSpan
parameters (cmdlets/migration/common.py), the engine's own messages
(engine/service/sync_interval.py) and the shell's output (shell/objects.py) used to carry their
own copies of these; a difference between the copies was a difference an administrator saw
between ``[TimeSpan]'1.00:00:00'`` and ``-IncrementalSyncInterval 1.00:00:00``.

Pure functions; no engine state.
"""

from __future__ import annotations

import re
from datetime import timedelta

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
