"""Small cmdlets and a session factory shared by the language tests (no engine needed)."""

from __future__ import annotations

import functools
import io
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from cmdlets.base import (
    BoundArguments,
    Cmdlet,
    CmdletError,
    Context,
    Parameter,
    ParamType,
    PSObject,
)
from cmdlets.registry import Registry
from shell.lang.errors import StopUpstream
from shell.lang.operators import truthy
from shell.session import RunResult, Session

T = ParamType


class WriteOutput(Cmdlet):
    name = "Write-Output"
    aliases = ("echo",)
    parameters: ClassVar = (Parameter("InputObject", T.OBJECT_ARRAY, position=0,
                                      from_pipeline=True),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return args.get("InputObject") or []


class WhereObject(Cmdlet):
    name = "Where-Object"
    aliases = ("?", "where")
    parameters: ClassVar = (Parameter("FilterScript", T.SCRIPTBLOCK, position=0, mandatory=True),
                            Parameter("InputObject", T.OBJECT, from_pipeline=True))

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if "InputObject" not in args:
            return ()
        out = ctx.invoke(args["FilterScript"], args["InputObject"])
        return (args["InputObject"],) if truthy(out[0] if len(out) == 1 else out) else ()


class ForEachObject(Cmdlet):
    name = "ForEach-Object"
    aliases = ("%", "foreach")
    parameters: ClassVar = (Parameter("Process", T.SCRIPTBLOCK, position=0, mandatory=True),
                            Parameter("InputObject", T.OBJECT, from_pipeline=True))

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return ctx.invoke(args["Process"], args.get("InputObject"))


class SelectFirst(Cmdlet):
    """Select-Object -First N, stopping upstream commands early."""

    name = "Select-First"
    parameters: ClassVar = (Parameter("Count", T.INT, position=0, mandatory=True),
                            Parameter("InputObject", T.OBJECT, from_pipeline=True))

    def begin(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        self.seen = 0
        return ()

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        self.seen += 1
        yield args["InputObject"]
        if self.seen >= args["Count"]:
            raise StopUpstream()


class GetCounter(Cmdlet):
    """Emits 1, 2, 3 ... and records how many it produced (to observe early stopping)."""

    name = "Get-Counter"
    produced: ClassVar[list[int]] = []

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        n = 0
        while n < 1_000_000:
            n += 1
            GetCounter.produced.append(n)
            yield n


class GetBatch(Cmdlet):
    name = "Get-Batch"
    parameters: ClassVar = (Parameter("Identity", position=0, from_pipeline=True,
                                      from_pipeline_by_name=True),
                            Parameter("Fail", T.SWITCH), Parameter("Crash", T.SWITCH),
                            Parameter("Report", T.SWITCH))

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        identity = args.get("Identity", "b1")
        if args.switch("Crash"):
            raise ZeroDivisionError("division by zero")
        if args.switch("Fail"):
            raise CmdletError(f"The migration batch \"{identity}\" couldn't be found.",
                              "ObjectNotFound", "NotFound", identity)
        if args.switch("Report"):
            ctx.write_error(CmdletError(f"Batch {identity} has failed users.", "InvalidData",
                                        "FailedUsers", identity))
        return [PSObject({"Identity": identity, "Status": "Synced", "TotalCount": 2})]


class RemoveBatch(Cmdlet):
    name = "Remove-Batch"
    supports_should_process = True
    confirm_impact = "High"
    parameters: ClassVar = (Parameter("Identity", position=0, mandatory=True, from_pipeline=True,
                                      from_pipeline_by_name=True),
                            Parameter("Force", T.SWITCH))

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if ctx.should_process(args["Identity"], "Remove-Batch"):
            return [f"removed {args['Identity']}"]
        return []


class SetBatch(Cmdlet):
    name = "Set-Batch"
    supports_should_process = True
    parameters: ClassVar = (Parameter("Identity", position=0, mandatory=True),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if ctx.should_process(args["Identity"], "Set-Batch"):
            return ["changed"]
        return []


class WriteHostLine(Cmdlet):
    name = "Write-Host"
    parameters: ClassVar = (Parameter("Object", T.OBJECT, position=0),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        from shell.objects import to_text

        ctx.write_host(to_text(args.get("Object")))
        return ()


CMDLETS = (WriteOutput, WhereObject, ForEachObject, SelectFirst, GetCounter, GetBatch,
           RemoveBatch, SetBatch, WriteHostLine)


@dataclass
class Shell:
    session: Session
    out: io.StringIO
    err: io.StringIO

    def run(self, text: str) -> RunResult:
        return self.session.run(text)

    def value(self, expression: str) -> Any:
        result = self.session.run(f"$__value = {expression}")
        assert result.ok and not result.had_errors, self.err.getvalue()
        return self.session.variables.get("__value")

    def output(self, text: str) -> str:
        start = len(self.out.getvalue())
        self.session.run(text)
        return self.out.getvalue()[start:]


@functools.cache
def _scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="imsh-shell-test-"))


def make_shell(*, stdin: str | None = None, interactive: bool = False,
               cwd: Path | None = None) -> Shell:
    """A session over the test cmdlets.  Relative paths (``> out.txt``) resolve in ``cwd``,
    by default a scratch directory, never the directory pytest runs in."""
    out, err = io.StringIO(), io.StringIO()
    session = Session(Registry(CMDLETS), engine_factory=lambda: None, stdout=out, stderr=err,
                      stdin=io.StringIO(stdin) if stdin is not None else None,
                      interactive=interactive, cwd=cwd or _scratch_dir())
    return Shell(session, out, err)
