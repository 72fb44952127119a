"""Flag sets as the planner compares them.

IMAP system flags (``\\Seen`` ...) are case-insensitive, so they are folded to their RFC 9051
spelling; keywords (``$Forwarded``, ``$Label1``, custom words) are kept as the source spells
them. ``\\Recent`` is session state the server sets itself: it is never synced.
"""

from __future__ import annotations

from collections.abc import Iterable

SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
_CANONICAL = {flag.lower(): flag for flag in SYSTEM_FLAGS}
_IGNORED = frozenset({"\\recent"})


def normalize_flag(flag: str) -> str:
    """One flag in its canonical spelling (system flags folded, keywords untouched)."""
    flag = flag.strip()
    if flag.startswith("\\"):
        return _CANONICAL.get(flag.lower(), flag)
    return flag


def normalize_flags(flags: Iterable[str | bytes]) -> frozenset[str]:
    """The comparable set of ``flags``: canonical spellings, without ``\\Recent`` or blanks."""
    result: set[str] = set()
    for raw in flags:
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        flag = normalize_flag(text)
        if flag and flag.lower() not in _IGNORED:
            result.add(flag)
    return frozenset(result)
