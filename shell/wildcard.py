"""PowerShell wildcard patterns (``about_Wildcards``): ``*``, ``?``, ``[a-z]``, backtick escape.

One implementation for the language (``-like``) and the cmdlets (``Select-Object -Property
Max*``, ``Get-Command *-Migration*``).  Matching ignores case unless asked; patterns are
compiled to anchored regular expressions once.
"""

from __future__ import annotations

import functools
import re

_WILDCARD_CHARS = frozenset("*?[")


def has_wildcards(pattern: str) -> bool:
    """True when ``pattern`` contains an unescaped ``*``, ``?`` or ``[``."""
    escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "`":
            escaped = True
        elif char in _WILDCARD_CHARS:
            return True
    return False


def wildcard_match(pattern: str, text: str, *, case_sensitive: bool = False) -> bool:
    """``text -like pattern``."""
    return _compiled(pattern, case_sensitive).fullmatch(text) is not None


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    flags = re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE
    return re.compile(_translate(pattern), flags)


def _translate(pattern: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "`" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char == "[" and "]" in pattern[index + 1 :]:
            end = pattern.index("]", index + 1)
            parts.append(_bracket(pattern[index + 1 : end]))
            index = end
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def _bracket(body: str) -> str:
    """A ``[abc]`` / ``[a-z]`` set; regex metacharacters inside stay literal."""
    if not body:
        return "(?!)"  # `[]` matches nothing (and is no broken regex)
    escaped = "".join("\\" + c if c in "\\^]" else c for c in body)
    return f"[{escaped}]"
