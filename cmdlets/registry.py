"""The registry: which cmdlet classes exist, found by name or alias, case-insensitively.

The shell builds one registry per session (shell/wiring.py) from the migration cmdlets plus
its own general-purpose cmdlets; nothing here is global.

A cmdlet is registered either as its class, or through a :class:`Provider`: the module and
attribute that list some cmdlet classes, with their names and aliases written down
(shell/cmdlet_index.py). A provider's module is imported the first time one of its cmdlets
is looked up, so a session that never calls a migration cmdlet never imports the engine
(``imsh -c '$x=1'`` starts in a fraction of the time). ``names()`` and ``aliases()`` answer
from the written-down names; iterating (``Get-Command``, ``Get-Help``) imports every provider.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cmdlets.base import Cmdlet


@dataclass(frozen=True)
class Provider:
    """``module.attribute`` is a tuple of cmdlet classes called ``names`` (name, aliases)."""

    module: str
    attribute: str
    names: tuple[tuple[str, tuple[str, ...]], ...]

    def load(self) -> tuple[type[Cmdlet], ...]:
        classes: tuple[type[Cmdlet], ...] = getattr(importlib.import_module(self.module),
                                                    self.attribute)
        return classes


class Registry:
    """Cmdlet classes by name and alias."""

    def __init__(self, classes: Iterable[type[Cmdlet]] = (),
                 providers: Iterable[Provider] = ()) -> None:
        self._by_name: dict[str, type[Cmdlet]] = {}
        self._by_alias: dict[str, type[Cmdlet]] = {}
        self._pending: dict[str, Provider] = {}  # casefolded name or alias -> its provider
        self._pending_names: dict[str, str] = {}  # casefolded name -> name, not yet imported
        self._pending_aliases: dict[str, str] = {}  # alias -> cmdlet name, not yet imported
        for cls in classes:
            self.register(cls)
        for provider in providers:
            self.add_provider(provider)

    def register(self, cls: type[Cmdlet]) -> type[Cmdlet]:
        """Add a cmdlet class; usable as a decorator.  A duplicate name is a bug."""
        key = cls.name.casefold()
        if key in self._by_name or key in self._pending_names:
            raise ValueError(f"cmdlet {cls.name} registered twice")
        self._by_name[key] = cls
        for alias in cls.aliases:
            self._by_alias[alias.casefold()] = cls
        return cls

    def add_provider(self, provider: Provider) -> None:
        """Make the provider's cmdlets known by name; import its module at first use."""
        for name, aliases in provider.names:
            key = name.casefold()
            if key in self._by_name or key in self._pending_names:
                raise ValueError(f"cmdlet {name} registered twice")
            self._pending_names[key] = name
            self._pending[key] = provider
            for alias in aliases:
                self._pending[alias.casefold()] = provider
                self._pending_aliases[alias] = name

    def find(self, name: str) -> type[Cmdlet] | None:
        """The cmdlet called ``name`` (or aliased so); None when there is none."""
        key = name.casefold()
        found = self._by_name.get(key) or self._by_alias.get(key)
        if found is None and key in self._pending:
            self._load(self._pending[key])
            found = self._by_name.get(key) or self._by_alias.get(key)
        return found

    def names(self) -> list[str]:
        return sorted([cls.name for cls in self._by_name.values()]
                      + list(self._pending_names.values()))

    def aliases(self) -> dict[str, str]:
        """Alias -> cmdlet name."""
        return {**self._pending_aliases,
                **{alias: cls.name for cls in self._by_name.values() for alias in cls.aliases}}

    def load_all(self) -> None:
        """Import every provider not imported yet."""
        for provider in list(dict.fromkeys(self._pending.values())):
            self._load(provider)

    def _load(self, provider: Provider) -> None:
        for name, aliases in provider.names:
            self._pending_names.pop(name.casefold(), None)
            self._pending.pop(name.casefold(), None)
            for alias in aliases:
                self._pending.pop(alias.casefold(), None)
                self._pending_aliases.pop(alias, None)
        for cls in provider.load():
            self.register(cls)

    def __iter__(self) -> Iterator[type[Cmdlet]]:
        self.load_all()
        return iter(sorted(self._by_name.values(), key=lambda cls: cls.name))

    def __len__(self) -> int:
        return len(self._by_name) + len(self._pending_names)
