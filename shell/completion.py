"""Tab completion: cmdlet names, parameter names, choices and known identities.

Works on the text before the cursor only, with a light scan (no full parse) so that
completion keeps working on half-typed, unbalanced lines.  Identities (batch, endpoint
and user names) come from the engine's ``identities(kind)``; completion never raises and
never opens the state store unless an identity is asked for.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cmdlets.base import Cmdlet, Parameter

if TYPE_CHECKING:
    from shell.session import Session

# Which identity kind a parameter (or a cmdlet's positional Identity) names.
_IDENTITY_PARAMS = {
    "batchid": "batch",
    "sourceendpoint": "endpoint",
    "targetendpoint": "endpoint",
    "endpoint": "endpoint",
    "emailaddress": "user",
}
_IDENTITY_BY_NOUN = {
    "migrationbatch": "batch",
    "migrationendpoint": "endpoint",
    "migrationuser": "user",
    "migrationuserstatistics": "user",
}
_SEGMENT_START = re.compile(r"(?:^|[|;({])\s*$")
_COMMON = ("ErrorAction", "WarningAction", "ErrorVariable", "OutVariable", "Verbose")


class Completer:
    """Computes completion candidates for the word being typed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def candidates(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        try:
            return self._candidates(text, line[:begidx])
        except Exception:  # completion must never break the prompt
            return []

    def _candidates(self, text: str, before: str) -> list[str]:
        segment = re.split(r"[|;({]", before)[-1]
        words = segment.split()
        if _SEGMENT_START.search(before):
            return _prefixed(self._command_names(), text)
        cmdlet = self.session.registry.find(words[0]) if words else None
        if cmdlet is None:
            return []
        if text.startswith("-"):
            names = [f"-{p.name}" for p in cmdlet.parameters if not p.unsupported]
            names += [f"-{name}" for name in _COMMON]
            if cmdlet.supports_should_process:
                names += ["-WhatIf", "-Confirm"]
            return _prefixed(names, text)
        previous = words[-1] if len(words) > 1 else ""
        return _prefixed(self._values_for(cmdlet, previous, len(words)), text)

    def _command_names(self) -> list[str]:
        registry = self.session.registry
        return registry.names() + sorted(registry.aliases())

    def _values_for(self, cmdlet: type[Cmdlet], previous: str, word_count: int) -> list[str]:
        param = _parameter_named(cmdlet, previous[1:]) if previous.startswith("-") else None
        if param is not None and param.choices:
            return list(param.choices)
        if param is not None:
            kind = _IDENTITY_PARAMS.get(param.name.casefold())
            if param.name.casefold() == "identity":
                kind = _identity_kind(cmdlet)
        elif word_count == 1:
            kind = _identity_kind(cmdlet)
        else:
            kind = None
        return self._identities(kind) if kind else []

    def _identities(self, kind: str) -> list[str]:
        engine: Any = self.session.engine
        return [str(name) for name in engine.identities(kind)]


def _identity_kind(cmdlet: type[Cmdlet]) -> str | None:
    noun = cmdlet.name.split("-", 1)[-1].casefold()
    return _IDENTITY_BY_NOUN.get(noun)


def _parameter_named(cmdlet: type[Cmdlet], typed: str) -> Parameter | None:
    folded = typed.rstrip(":").casefold()
    matches = [
        p for p in cmdlet.parameters
        if p.name.casefold().startswith(folded)
        or any(alias.casefold() == folded for alias in p.aliases)
    ]
    exact = [p for p in matches if p.name.casefold() == folded]
    if exact:
        return exact[0]
    return matches[0] if len(matches) == 1 else None


def _prefixed(values: list[str], text: str) -> list[str]:
    folded = text.casefold()
    return sorted({v for v in values if v.casefold().startswith(folded)}, key=str.casefold)
