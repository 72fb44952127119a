"""Export-Csv, ConvertTo-Csv, Import-Csv, ConvertFrom-Csv, ConvertTo-Json, ConvertFrom-Json."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdlets.base import Cmdlet, CmdletError, PSObject
from cmdlets.registry import Registry
from shell.builtins import BUILTIN_CMDLETS
from shell.builtins.aggregate import SortObject
from shell.builtins.csvjson import (
    ConvertFromCsv,
    ConvertFromJson,
    ConvertToCsv,
    ConvertToJson,
    ExportCsv,
    ImportCsv,
)
from shell.builtins.help import GetCommand
from shell.builtins.pipeline import SelectObject, WhereObject
from shell.objects import Hashtable
from tests.shell.builtins.fakes import Block, FakeContext, run

ROWS = [
    PSObject({"EmailAddress": "jöhn@contoso.com", "UserName": "john", "Note": 'a "b", c\nd'}),
    PSObject({"EmailAddress": "ann@contoso.com", "UserName": "ann", "Note": None}),
]


def _migration_cmdlet(name: str) -> type[Cmdlet]:
    return type(name.replace("-", ""), (Cmdlet,), {"name": name})


def test_issue_pipeline_get_command_to_csv(tmp_path: Path) -> None:
    # Get-Command | Where-Object { $_.Name -like '*-Migration*' } | Sort-Object Name |
    #   Select-Object -First 5 Name | Export-Csv c.csv
    names = ["Start-MigrationBatch", "New-MigrationBatch", "Get-MigrationUser",
             "New-MigrationEndpoint", "Get-MigrationBatch", "Remove-MigrationBatch"]
    ctx = FakeContext(cwd=tmp_path, registry=Registry(
        (*BUILTIN_CMDLETS, *(_migration_cmdlet(n) for n in names))))
    commands = run(GetCommand, ctx)
    matching = run(WhereObject, ctx, commands,
                   FilterScript=Block(lambda c: "-migration" in c.get("Name").lower()))
    ordered = run(SortObject, ctx, matching, Property=["Name"])
    first = run(SelectObject, ctx, ordered, First=5, Property=["Name"])
    run(ExportCsv, ctx, first, Path="c.csv")
    data = (tmp_path / "c.csv").read_bytes()
    assert data == (b'"Name"\n"Get-MigrationBatch"\n"Get-MigrationUser"\n'
                    b'"New-MigrationBatch"\n"New-MigrationEndpoint"\n"Remove-MigrationBatch"\n')


def test_export_then_import_round_trip_utf8_without_bom(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path)
    run(ExportCsv, ctx, ROWS, Path="users.csv", NoTypeInformation=True)
    raw = (tmp_path / "users.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8").splitlines()[0] == '"EmailAddress","UserName","Note"'
    assert '"ann@contoso.com","ann",\n' in raw.decode("utf-8")
    back = run(ImportCsv, ctx, None, Path=["users.csv"])
    assert [r.properties for r in back] == [
        {"EmailAddress": "jöhn@contoso.com", "UserName": "john", "Note": 'a "b", c\nd'},
        {"EmailAddress": "ann@contoso.com", "UserName": "ann", "Note": ""},
    ]


def test_encodings_and_delimiter(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path)
    run(ExportCsv, ctx, ROWS[:1], Path="bom.csv", Encoding="utf8BOM", Delimiter=";")
    assert (tmp_path / "bom.csv").read_bytes().startswith(b'\xef\xbb\xbf"EmailAddress";')
    run(ExportCsv, ctx, ROWS[:1], Path="ascii.csv", Encoding="ascii")
    assert b'"j?hn@contoso.com"' in (tmp_path / "ascii.csv").read_bytes()
    back = run(ImportCsv, ctx, None, Path=["bom.csv"], Delimiter=";")
    assert back[0].get("EmailAddress") == "jöhn@contoso.com"


def test_append_reuses_header_and_checks_columns(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path)
    run(ExportCsv, ctx, [PSObject({"A": "1", "B": "2"})], Path="a.csv")
    run(ExportCsv, ctx, [PSObject({"B": "4", "A": "3", "C": "x"})], Path="a.csv", Append=True)
    assert (tmp_path / "a.csv").read_text() == '"A","B"\n"1","2"\n"3","4"\n'
    with pytest.raises(CmdletError, match="does not have a property that corresponds to the "
                       "following column: B"):
        run(ExportCsv, ctx, [PSObject({"A": "5"})], Path="a.csv", Append=True)
    run(ExportCsv, ctx, [PSObject({"A": "5"})], Path="a.csv", Append=True, Force=True)
    assert (tmp_path / "a.csv").read_text().endswith('"5",\n')


def test_noclobber_whatif_and_conflicting_switches(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path)
    (tmp_path / "x.csv").write_text("keep")
    with pytest.raises(CmdletError, match="already exists"):
        run(ExportCsv, ctx, ROWS, Path="x.csv", NoClobber=True)
    whatif = FakeContext(cwd=tmp_path, whatif=True)
    run(ExportCsv, whatif, ROWS, Path="x.csv")
    assert (tmp_path / "x.csv").read_text() == "keep"
    assert whatif.whatif_log == [(str(tmp_path / "x.csv"), "Export-Csv")]
    with pytest.raises(CmdletError, match="not both"):
        run(ExportCsv, ctx, ROWS, Path="y.csv", NoTypeInformation=True,
            IncludeTypeInformation=True)


def test_convert_to_and_from_csv() -> None:
    ctx = FakeContext()
    lines = run(ConvertToCsv, ctx, ROWS, UseQuotes="AsNeeded")
    assert lines == ["EmailAddress,UserName,Note", 'jöhn@contoso.com,john,"a ""b"", c\nd"',
                     "ann@contoso.com,ann,"]
    typed = run(ConvertToCsv, ctx, ROWS[:1], IncludeTypeInformation=True)
    assert typed[0] == "#TYPE System.Management.Automation.PSCustomObject"
    back = run(ConvertFromCsv, ctx, lines)
    assert back[0].get("Note") == 'a "b", c\nd'
    assert back[1].get("Note") == ""


def test_import_missing_file_is_a_non_terminating_error(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path)
    assert run(ImportCsv, ctx, None, Path=["nope.csv"]) == []
    assert "Could not find file" in str(ctx.errors[0])


def test_convert_to_json_array_depth_warning_and_from_json() -> None:
    ctx = FakeContext()
    text = run(ConvertToJson, ctx, [PSObject({"Name": "b1"}), PSObject({"Name": "b2"})],
               Compress=True)
    assert text == ['[{"Name":"b1"},{"Name":"b2"}]']
    deep = Hashtable({"a": Hashtable({"b": Hashtable({"c": Hashtable()})})})
    run(ConvertToJson, ctx, [deep])
    assert ctx.warnings == [
        "Resulting JSON is truncated as serialization has exceeded the set depth of 2."]
    assert run(ConvertToJson, ctx, [1], AsArray=True, Compress=True) == ["[1]"]
    with pytest.raises(CmdletError, match="Depth"):
        run(ConvertToJson, ctx, [1], Depth=101)
    items = run(ConvertFromJson, ctx, ['[{"Name": "b1"},', '{"Name": "b2"}]'])
    assert [i.get("Name") for i in items] == ["b1", "b2"]
    with pytest.raises(CmdletError, match="Conversion from JSON failed"):
        run(ConvertFromJson, ctx, ["{nope"])
