"""Runtime values the language creates itself: script blocks, type literals, ``$PWD``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shell.lang import ast


@dataclass(eq=False)
class ScriptBlock:
    """A ``{ ... }`` value.  ``text`` is its source (the ``Invocable`` protocol)."""

    node: ast.ScriptBlockExpr = field(repr=False)
    text: str

    def __str__(self) -> str:
        # PowerShell's ToString of a script block is its body text without the braces.
        return self.text[1:-1] if self.text.startswith("{") else self.text


@dataclass(frozen=True)
class TypeRef:
    """``[int]``, ``[System.IO.File]``: the value of a type literal."""

    Name: str
    FullName: str

    def __str__(self) -> str:
        return self.FullName


@dataclass(frozen=True)
class PathInfo:
    """``$PWD``: prints as the path, ``$PWD.Path`` works."""

    Path: str

    def __str__(self) -> str:
        return self.Path

    @classmethod
    def of(cls, path: os.PathLike[str]) -> PathInfo:
        return cls(os.fspath(path))


@dataclass
class FunctionInfo:
    """A function defined with ``function Name { }``."""

    name: str
    block: ScriptBlock
    defaults: dict[str, Any] = field(default_factory=dict)
