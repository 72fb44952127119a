"""Language features mail admins reach for, through the real session: ForEach-Object's
simplified method syntax, New-TimeSpan and [TimeSpan] statics, Get-Date's date parts and the
``switch`` statement, each with PowerShell 7's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shell.real_session import RealShell, real_shell


@pytest.fixture
def shell(tmp_path: Path) -> RealShell:
    return real_shell(tmp_path / "state", tmp_path)


def test_foreach_member_name_with_arguments(shell: RealShell) -> None:
    assert shell.lines("'a-b' | ForEach-Object -MemberName Split -ArgumentList '-'") == ["a", "b"]
    assert shell.lines("'a-b' | % Split '-'") == ["a", "b"]
    assert shell.lines("'a-b-c' | % Replace '-' '+'") == ["a+b+c"]
    assert shell.lines("'ab' | % Length") == ["2"]
