"""Tab completion: cmdlet and function names, parameter names, choices, known identities,
``$variables``, the members after ``$var.`` and file paths.

Works on the text before the cursor only, with a light scan (no full parse) so that
completion keeps working on half-typed, unbalanced lines.  Identities (batch, endpoint
and user names) come from the engine's ``identities(kind)``; completion never raises and
never opens the state store unless an identity is asked for.  Member completion reads the
variable's current value and follows property names only (never calls a method or runs
code), so pressing Tab has no side effects; ``$_`` completes from the first object of the
variable that starts the pipeline (``$users | ? { $_.Sta``), and from nothing else.  A word
that is no parameter, choice or identity completes as a path relative to the session's
current directory (directories end in ``/``).  After a variable, a member, a method's ``(``
or a directory the console adds no space (``finalizes``), so the next part can be typed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmdlets.base import Cmdlet, Parameter
from shell.objects import get_property

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
        if text.startswith("$") or (text.startswith("@") and len(text) > 1):
            return self._variable_candidates(text, before)
        if _looks_like_path(text):
            return self._paths(text)
        segment = re.split(r"[|;({]", before)[-1]
        words = segment.split()
        if _SEGMENT_START.search(before):
            return _prefixed(self._command_names(), text)
        cmdlet = self.session.registry.find(words[0]) if words else None
        if cmdlet is None:
            return self._paths(text) if text else []
        if text.startswith("-"):
            names = [f"-{p.name}" for p in cmdlet.parameters if not p.unsupported]
            names += [f"-{name}" for name in _COMMON]
            if cmdlet.supports_should_process:
                names += ["-WhatIf", "-Confirm"]
            return _prefixed(names, text)
        previous = words[-1] if len(words) > 1 else ""
        values = _prefixed(self._values_for(cmdlet, previous, len(words)), text)
        return values or self._paths(text)

    def _variable_candidates(self, text: str, before: str = "") -> list[str]:
        sigil, rest = text[0], text[1:]
        variables = self.session.variables
        if "." not in rest:
            return _prefixed([sigil + name for name in variables.visible_names()], text)
        name, *chain, partial = rest.split(".")
        if not re.fullmatch(r"[\w:?]+", name):
            return []
        value = _pipeline_item(variables, before) if name.casefold() in ("_", "psitem") \
            else variables.get(name)
        for member in chain:
            value = get_property(value, member)
            if value is None:
                return []
        head = text[: len(text) - len(partial)]
        names = _member_names(value)
        return [head + n for n in names if n.casefold().startswith(partial.casefold())]

    def _paths(self, text: str) -> list[str]:
        typed = text.strip("'\"")
        directory, _, prefix = typed.rpartition("/")
        base = self.session.resolve_path(directory + "/" if directory else ".") if directory \
            or typed.startswith("/") else self.session.cwd
        if typed.startswith("/") and not directory:
            base = Path("/")
        try:
            entries = sorted(base.iterdir(), key=lambda p: p.name.casefold())
        except OSError:
            return []
        lead = directory + "/" if directory or typed.startswith("/") else ""
        out = []
        for entry in entries:
            if not entry.name.startswith(prefix) or (entry.name.startswith(".")
                                                     and not prefix.startswith(".")):
                continue
            out.append(lead + entry.name + ("/" if entry.is_dir() else ""))
        return out

    def _command_names(self) -> list[str]:
        registry = self.session.registry
        functions = [info.name for info in self.session.runtime.functions.values()]
        return registry.names() + sorted(registry.aliases()) + functions

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


def finalizes(candidates: list[str]) -> bool:
    """Whether the console may end a single completion with a space: not after a variable or
    member (``.Name`` may follow), a method's ``(`` or a directory's ``/``."""
    return not any(c.startswith(("$", "@")) or c.endswith(("/", "(")) for c in candidates)


def _pipeline_item(variables: Any, before: str) -> Any:
    """``$_`` in ``$users | Where-Object { $_.Sta``: the first object of the variable that
    starts the pipeline (read, never run); None when the pipeline starts otherwise."""
    statement = re.split(r"[;\n]", before)[-1]
    if "|" not in statement:
        return None
    match = re.fullmatch(r"\s*\$([\w:]+)\s*", statement.split("|", 1)[0])
    if match is None:
        return None
    value = variables.get(match.group(1))
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def _looks_like_path(text: str) -> bool:
    bare = text.strip("'\"")
    return bare.startswith(("./", "../", "/", "~/")) or ("/" in bare and not bare.startswith("-"))


def _member_names(value: Any) -> list[str]:
    """Properties, then methods (with ``(``), as PowerShell's completion offers them."""
    from shell.builtins.explore import members

    if value is None:
        return []
    found = members(value)
    props = sorted({n for n, kind, _ in found if "Property" in kind}, key=str.casefold)
    methods = sorted({n + "(" for n, kind, _ in found if kind == "Method"}, key=str.casefold)
    return props + methods


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
