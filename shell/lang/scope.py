"""Variables: a chain of scopes, scope prefixes, ``$env:`` and the automatic variables.

Reading walks from the current scope outwards, so script blocks see their callers'
variables; assignment writes to the current scope (``$global:x``/``$script:x`` write to the
session's root scope).  ``Where-Object``/``ForEach-Object`` blocks run in the caller's scope
(as in PowerShell, ``1..3 | % { $n++ }`` changes the outer ``$n``); ``& { }`` and functions
get a new scope.  ``$_`` and ``$PSItem`` are one variable.  ``$true``, ``$false`` and
``$null`` are constants (assigning to ``$null`` discards the value).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

_CONSTANTS = {"true": True, "false": False, "null": None}
_ALIASES = {"psitem": "_"}
_MISSING = object()


class VariableError(Exception):
    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id


class Scope:
    __slots__ = ("parent", "values")

    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self.values: dict[str, Any] = {}


class Variables:
    """The variable table of one session."""

    def __init__(self, dynamic: dict[str, Callable[[], Any]] | None = None) -> None:
        self.root = Scope()
        self.current = self.root
        # the spelling each variable was first given (tab completion offers it)
        self.spellings: dict[str, str] = {}
        # Read-only automatic variables computed on access ($?, $PWD, $HOME).
        self.dynamic = dynamic or {}

    @staticmethod
    def key(name: str) -> str:
        folded = name.casefold()
        return _ALIASES.get(folded, folded)

    def get(self, name: str, scope: str = "") -> Any:
        """The value of ``$name``; None when undefined (non-strict mode)."""
        found = self.lookup(name, scope)
        return None if found is _MISSING else found

    def lookup(self, name: str, scope: str = "") -> Any:
        """The value, or the module's ``_MISSING`` sentinel (see ``defined``)."""
        if scope == "env":
            return os.environ.get(name, _MISSING)
        key = self.key(name)
        if key in _CONSTANTS:
            return _CONSTANTS[key]
        if key in self.dynamic:
            return self.dynamic[key]()
        start = self.root if scope in ("global", "script") else self.current
        node: Scope | None = start
        while node is not None:
            values = node.values
            if key in values:
                return values[key]
            node = node.parent if scope not in ("local", "private") else None
        return _MISSING

    def defined(self, name: str, scope: str = "") -> bool:
        return self.lookup(name, scope) is not _MISSING

    def set(self, name: str, value: Any, scope: str = "") -> None:
        if scope == "env":
            if value is None:
                os.environ.pop(name, None)
            else:
                from shell.objects import to_text

                os.environ[name] = to_text(value)
            return
        key = self.key(name)
        if key == "null":
            return
        if key in _CONSTANTS or key in self.dynamic:
            raise VariableError(f"Cannot overwrite variable {name} because it is read-only or "
                                "constant.", "VariableNotWritable")
        target = self.root if scope in ("global", "script") else self.current
        target.values[key] = value
        self.spellings.setdefault(key, name)

    def set_local(self, name: str, value: Any) -> None:
        """Bind in the current scope without read-only checks ($_, $args, $Matches)."""
        self.current.values[self.key(name)] = value

    def visible_names(self) -> list[str]:
        """The names of the variables readable here (tab completion), in their spelling."""
        keys: set[str] = set(self.dynamic) | set(_CONSTANTS)
        node: Scope | None = self.current
        while node is not None:
            keys.update(node.values)
            node = node.parent
        return sorted((self.spellings.get(k, k) for k in keys if k != "_"), key=str.casefold)

    def push(self) -> Scope:
        self.current = Scope(self.current)
        return self.current

    def pop(self, scope: Scope) -> None:
        assert scope.parent is not None
        self.current = scope.parent
