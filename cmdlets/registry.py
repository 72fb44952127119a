"""The registry: which cmdlet classes exist, found by name or alias, case-insensitively.

The shell builds one registry per session from ``cmdlets.catalog`` (the migration cmdlets)
plus its own general-purpose cmdlets; nothing here is global.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cmdlets.base import Cmdlet


class Registry:
    """Cmdlet classes by name and alias."""

    def __init__(self, classes: Iterable[type[Cmdlet]] = ()) -> None:
        self._by_name: dict[str, type[Cmdlet]] = {}
        self._by_alias: dict[str, type[Cmdlet]] = {}
        for cls in classes:
            self.register(cls)

    def register(self, cls: type[Cmdlet]) -> type[Cmdlet]:
        """Add a cmdlet class; usable as a decorator.  A duplicate name is a bug."""
        key = cls.name.casefold()
        if key in self._by_name:
            raise ValueError(f"cmdlet {cls.name} registered twice")
        self._by_name[key] = cls
        for alias in cls.aliases:
            self._by_alias[alias.casefold()] = cls
        return cls

    def find(self, name: str) -> type[Cmdlet] | None:
        """The cmdlet called ``name`` (or aliased so); None when there is none."""
        key = name.casefold()
        return self._by_name.get(key) or self._by_alias.get(key)

    def names(self) -> list[str]:
        return sorted(cls.name for cls in self._by_name.values())

    def aliases(self) -> dict[str, str]:
        """Alias -> cmdlet name."""
        return {alias: cls.name for cls in self._by_name.values() for alias in cls.aliases}

    def __iter__(self) -> Iterator[type[Cmdlet]]:
        return iter(sorted(self._by_name.values(), key=lambda cls: cls.name))

    def __len__(self) -> int:
        return len(self._by_name)
