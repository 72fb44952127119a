"""A small stand-in for the session: enough Context for calling cmdlet classes directly.

Script blocks are ``Block`` objects wrapping a Python function of ``$_``; ``run`` drives a
cmdlet through begin/process/end the way the shell does, one process call per input,
stopping the input early when the cmdlet raises StopUpstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet
from cmdlets.registry import Registry
from shell.builtins import BUILTIN_CMDLETS
from shell.format import render
from shell.lang.errors import StopUpstream

_NO_INPUT = object()


@dataclass
class Block:
    """A script block: ``text`` for display, ``fn`` computing the output from ``$_``."""

    fn: Callable[[Any], Any]
    text: str = "{ ... }"


@dataclass
class FakeContext:
    cwd: Path = field(default_factory=Path.cwd)
    interactive: bool = False
    whatif: bool = False
    host: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    whatif_log: list[tuple[str, str]] = field(default_factory=list)
    registry: Registry = field(default_factory=lambda: Registry(BUILTIN_CMDLETS))
    engine: Any = None

    def resolve_path(self, path: str) -> Path:
        return (self.cwd / path).resolve()

    def invoke(self, block: Any, input_object: Any = None, args: Sequence[Any] = ()) -> list[Any]:
        result = block.fn(input_object)
        if result is None:
            return []
        return list(result) if isinstance(result, list) else [result]

    def write_host(self, text: str, *, newline: bool = True, color: str | None = None) -> None:
        self.host.append(text + ("\n" if newline else ""))

    def write_warning(self, text: str) -> None:
        self.warnings.append(text)

    def write_verbose(self, text: str) -> None:
        pass

    def write_error(self, error: BaseException) -> None:
        self.errors.append(error)

    def should_process(self, target: str, action: str) -> bool:
        self.whatif_log.append((target, action))
        return not self.whatif

    def progress(self, activity: str, status: str, fraction: float | None = None) -> None:
        pass

    def progress_done(self, activity: str) -> None:
        pass

    def render(self, objects: Sequence[Any]) -> str:
        return render(objects, 120)


def run(
    cls: type[Cmdlet],
    ctx: FakeContext,
    inputs: Iterable[Any] | None = None,
    **params: Any,
) -> list[Any]:
    """Run ``cls`` over ``inputs`` (None: no pipeline input) with the named parameters."""
    cmdlet = cls()
    base = BoundArguments(params)
    out = list(cmdlet.begin(ctx, base))
    if inputs is None:
        out.extend(cmdlet.process(ctx, base))
    else:
        try:
            for item in inputs:
                args = base.copy()
                args["InputObject"] = item
                for value in cmdlet.process(ctx, args):
                    out.append(value)
        except StopUpstream:  # as the shell does: no more input, but ``end`` still runs
            pass
    out.extend(cmdlet.end(ctx, base))
    return out
