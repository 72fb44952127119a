"""Get-Content, Set-Content, Add-Content, Write-*, Get-Date, Get-Location."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cmdlets.base import CmdletError
from shell.builtins.io import (
    AddContent,
    GetContent,
    GetDate,
    GetLocation,
    SetContent,
    WriteError,
    WriteHost,
    WriteOutput,
    WriteWarning,
)
from tests.shell.builtins.fakes import FakeContext, run


def test_set_add_and_get_content(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path)
    run(SetContent, ctx, None, Path=["f.txt"], Value=["ä", 2])
    run(AddContent, ctx, None, Path=["f.txt"], Value=["three"])
    assert (tmp_path / "f.txt").read_bytes() == "ä\n2\nthree\n".encode()
    assert run(GetContent, ctx, None, Path=["f.txt"]) == ["ä", "2", "three"]
    assert run(GetContent, ctx, None, Path=["f.txt"], TotalCount=1) == ["ä"]
    assert run(GetContent, ctx, None, Path=["f.txt"], Tail=1) == ["three"]
    assert run(GetContent, ctx, None, Path=["f.txt"], Raw=True) == ["ä\n2\nthree\n"]
    assert run(GetContent, ctx, None, Path=["f.txt"], Encoding="Byte") == [
        "ä\n2\nthree\n".encode()]


def test_get_content_missing_file_reports_powershell_text(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path)
    assert run(GetContent, ctx, None, Path=["no.txt"]) == []
    assert str(ctx.errors[0]) == f"Cannot find path '{tmp_path / 'no.txt'}' because it does " \
        "not exist."


def test_set_content_whatif_writes_nothing(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path, whatif=True)
    run(SetContent, ctx, None, Path=["f.txt"], Value=["x"])
    assert not (tmp_path / "f.txt").exists()


def test_write_cmdlets() -> None:
    ctx = FakeContext()
    run(WriteHost, ctx, None, Object=["a", "b"], Separator=", ", NoNewline=True)
    run(WriteWarning, ctx, None, Message="careful")
    run(WriteError, ctx, None, Message="bad")
    assert ctx.host == ["a, b"] and ctx.warnings == ["careful"]
    assert str(ctx.errors[0]) == "bad"
    assert run(WriteOutput, ctx, [[1, 2]]) == [1, 2]
    assert run(WriteOutput, ctx, [[1, 2]], NoEnumerate=True) == [[1, 2]]


def test_get_date_formats() -> None:
    ctx = FakeContext()
    date = dt.datetime(2026, 11, 25, 20, 7, 3)
    assert run(GetDate, ctx, None, Date=date, Format="yyyy-MM-dd HH:mm:ss") == [
        "2026-11-25 20:07:03"]
    assert run(GetDate, ctx, None, Date="2026-11-25", Format="dddd d MMM") == [
        "Wednesday 25 Nov"]
    assert run(GetDate, ctx, None, Date=date, UFormat="%Y%m%d") == ["20261125"]
    assert isinstance(run(GetDate, ctx, None)[0], dt.datetime)
    with pytest.raises(CmdletError, match=r"System\.DateTime"):
        run(GetDate, ctx, None, Date="not a date")


def test_get_location(tmp_path: Path) -> None:
    assert run(GetLocation, FakeContext(cwd=tmp_path), None)[0].get("Path") == str(tmp_path)
