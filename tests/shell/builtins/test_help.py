"""Get-Command and Get-Help."""

from __future__ import annotations

import pytest

from cmdlets.base import CmdletError
from shell.builtins.help import GetCommand, GetHelp
from shell.format import render
from tests.shell.builtins.fakes import FakeContext, run


def test_get_command_filters_and_shows_a_table() -> None:
    ctx = FakeContext()
    found = run(GetCommand, ctx, None, Name=["*port-Csv"])
    assert [c.get("Name") for c in found] == ["Export-Csv", "Import-Csv"]
    lines = render(found).splitlines()
    assert lines[1].split() == ["CommandType", "Name", "Version", "Source"]
    assert lines[3].split()[::3] == ["Cmdlet", "imsh"]
    aliases = run(GetCommand, ctx, None, Name=["where"])
    assert [(a.get("CommandType"), a.get("ResolvedCommandName")) for a in aliases] == [
        ("Alias", "Where-Object")]
    assert [c.get("Name") for c in run(GetCommand, ctx, None, Verb=["ConvertTo"],
                                      Noun=["Json"])] == ["ConvertTo-Json"]
    run(GetCommand, ctx, None, Name=["Get-Nothing"])
    assert "is not recognized" in str(ctx.errors[0])


def test_get_help_page_from_the_declaration() -> None:
    ctx = FakeContext()
    [page] = run(GetHelp, ctx, None, Name="select")
    assert "NAME\n    Select-Object\n" in page
    assert ("    Select-Object [[-Property] <object[]>] [-InputObject <object>] "
            "[-ExcludeProperty <string[]>]") in page
    assert page.count("[<CommonParameters>]") == 1
    assert "ALIASES\n    select\n" in page
    [detailed] = run(GetHelp, ctx, None, Name="Export-Csv", Detailed=True)
    assert "-UseQuotes {Always | AsNeeded | Never}" in detailed
    assert "[-WhatIf] [-Confirm]" in detailed and "EXAMPLE 1" in detailed
    [param] = run(GetHelp, ctx, None, Name="Export-Csv", Parameter="Deli*")
    assert "Position?                  1" in param


def test_get_help_about_listing_wildcards_and_unknown_names() -> None:
    ctx = FakeContext()
    [about] = run(GetHelp, ctx, None, Name="about_imsh")
    assert "Where-Object" in about and "COMMANDS" in about
    listing = run(GetHelp, ctx, None, Name="*-Json")
    assert [h.get("Name") for h in listing] == ["ConvertFrom-Json", "ConvertTo-Json"]
    with pytest.raises(CmdletError, match="Get-Help could not find Nope"):
        run(GetHelp, ctx, None, Name="Nope")
