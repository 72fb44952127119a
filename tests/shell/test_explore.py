"""Objects admins can explore (issue 15): Get-Member, Format-List of every property, $Error
entries that behave as ErrorRecords.  Literal input, PowerShell 7's literal output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.shell.real_session import RealShell, real_shell


@pytest.fixture(scope="module")
def sh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealShell]:
    root = tmp_path_factory.mktemp("explore")
    shell = real_shell(root / "state", root)
    yield shell
    shell.session.close()


def test_get_member_of_a_custom_object_lists_methods_then_note_properties(sh: RealShell
                                                                          ) -> None:
    assert sh.run("[pscustomobject]@{Identity='Wave5'; Count=2; Users=$null; Ids=1,2} | "
                  "Get-Member") == """
   TypeName: System.Management.Automation.PSCustomObject

Name        MemberType   Definition
----        ----------   ----------
Equals      Method       bool Equals(System.Object obj)
GetHashCode Method       int GetHashCode()
GetType     Method       type GetType()
ToString    Method       string ToString()
Count       NoteProperty int Count=2
Identity    NoteProperty string Identity=Wave5
Ids         NoteProperty Object[] Ids=System.Object[]
Users       NoteProperty object Users=null

"""


def test_get_member_filters_by_name_and_member_type_and_groups_by_type(sh: RealShell) -> None:
    assert sh.run("'abc', 1, 'def' | gm -MemberType Property") == """
   TypeName: System.String

Name   MemberType Definition
----   ---------- ----------
Length Property   int Length {get;}

"""
    assert sh.run("Get-Date | Get-Member -Name AddD*, Year") == """
   TypeName: System.DateTime

Name    MemberType Definition
----    ---------- ----------
AddDays Method     datetime AddDays(double value)
Year    Property   int Year {get;}

"""


def test_get_member_of_a_migration_endpoint_shows_typed_properties(sh: RealShell) -> None:
    out = sh.run("Get-MigrationEndpoint LocalMaildir | Get-Member -MemberType Property "
                 "-Name Max*, Identity")
    assert out.splitlines()[1] == \
        "   TypeName: Microsoft.Exchange.Data.Storage.Management.MigrationEndpoint"
    assert "MaxConcurrentMigrations       Property   int MaxConcurrentMigrations {get;set;}" \
        in out.splitlines()


def test_get_member_output_objects_can_be_used_in_a_pipeline(sh: RealShell) -> None:
    assert sh.run("([pscustomobject]@{b=1; a=2} | Get-Member -MemberType NoteProperty)"
                  ".Name -join ','") == "a,b\n"


def test_get_member_without_input_is_an_error_not_a_traceback(sh: RealShell) -> None:
    _, err, _ = sh.run_failing("Get-Member")
    assert err.splitlines()[0] == \
        "Get-Member : You must specify an object for the Get-Member cmdlet."


def test_format_list_shows_every_property_of_a_migration_record_as_exchange_does(
        sh: RealShell) -> None:
    """`| fl` is `| fl *` for migration objects, not the table columns."""
    plain = sh.run("Get-MigrationEndpoint LocalMaildir | Format-List")
    assert plain == sh.run("Get-MigrationEndpoint LocalMaildir | fl *")
    names = [line.split(" :")[0].strip() for line in plain.splitlines() if " : " in line
             or line.endswith(" :")]
    table_columns = ["Identity", "EndpointType", "RemoteServer", "Port", "Security"]
    assert set(table_columns) <= set(names)
    assert "MaxConcurrentIncrementalSyncs" in names and "CreationDateTime" in names


def test_error_record_shows_as_powershell_does_without_python_internals(sh: RealShell) -> None:
    sh.run_failing("$Error.Clear(); Get-Nothing")
    shown = sh.run("$Error[0]")
    assert shown.splitlines()[0] == (
        "Get-Nothing : The term 'Get-Nothing' is not recognized as a name of a cmdlet, "
        "function, script file, or executable program.")
    listed = sh.run("$Error[0] | Format-List *")
    names = [line.split(" :")[0].strip() for line in listed.splitlines()
             if line and line[0] != " "]
    assert names == ["Exception", "TargetObject", "CategoryInfo", "FullyQualifiedErrorId",
                     "ErrorDetails", "InvocationInfo", "ScriptStackTrace",
                     "PipelineIterationInfo"]
    assert "extent" not in listed and "parse_error" not in listed and "Extent(" not in listed


@pytest.mark.parametrize(("expression", "expected"), [
    ("$Error[0].Exception.GetType().FullName",
     "System.Management.Automation.CommandNotFoundException"),
    ("$Error[0].Exception.Message.Substring(0, 22)", "The term 'Get-Nothing'"),
    ("$Error[0].CategoryInfo.Category", "ObjectNotFound"),
    ("$Error[0].CategoryInfo.Reason", "CommandNotFoundException"),
    ("$Error[0].FullyQualifiedErrorId", "CommandNotFoundException"),
    ("$Error[0].TargetObject", "Get-Nothing"),
    ("$Error[0].InvocationInfo.ScriptLineNumber", "1"),
    ("$Error[0].InvocationInfo.OffsetInLine", "1"),
    ("$Error[0].InvocationInfo.Line", "Get-Nothing"),
    ("$Error[0].GetType().FullName", "System.Management.Automation.ErrorRecord"),
    ("$Error.GetType().FullName", "System.Collections.ArrayList"),
    ("$Error.Count", "1"),
])
def test_error_record_properties(sh: RealShell, expression: str, expected: str) -> None:
    sh.run("$Error.Clear()")
    sh.run_failing("Get-Nothing")
    assert sh.run(expression) == expected + "\n"


def test_error_clear_empties_error_and_caught_errors_have_dotnet_types(sh: RealShell) -> None:
    sh.run_failing("Get-Nothing")
    assert sh.run("$Error.Clear(); $Error.Count") == "0\n"
    assert sh.run("try { throw 'boom' } catch { $_.Exception.GetType().FullName; "
                  "$_.Exception.Message }") == \
        "System.Management.Automation.RuntimeException\nboom\n"
    assert sh.run("try { Get-MigrationBatch NoSuchBatch -ErrorAction Stop } catch { "
                  "$_.Exception.GetType().FullName }") == \
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException\n"


def test_binding_error_of_a_function_is_a_parameter_binding_exception(sh: RealShell) -> None:
    out = sh.run("function F { [CmdletBinding()] param($a) }; "
                 "try { F -Nope 1 } catch { $_.Exception.GetType().FullName; "
                 "$_.FullyQualifiedErrorId }")
    assert out == \
        "System.Management.Automation.ParameterBindingException\nNamedParameterNotFound,F\n"


@pytest.mark.parametrize(("expression", "expected"), [
    ("(Get-Command New-MigrationBatch).Verb", "New"),
    ("(Get-Command New-MigrationBatch).Noun", "MigrationBatch"),
    ("(Get-Command New-MigrationBatch).CommandType", "Cmdlet"),
    ("(Get-Command gcm).CommandType", "Alias"),
    ("(Get-Command Get-MigrationUser).Parameters['Identity'].ParameterType.FullName",
     "System.String"),
    ("(Get-Command Get-MigrationUser).Parameters.ContainsKey('ErrorAction')", "True"),
    ("(Get-Command Get-Member).Parameters['Name'].Position", "0"),
    ("function Start-Wave { param($Batch, [switch]$Force) }; "
     "(Get-Command Start-Wave).Parameters.Keys -join ','", "Batch,Force"),
    ("function Start-Wave { [CmdletBinding()] param($Batch) }; "
     "(Get-Command Start-Wave).Parameters.ContainsKey('Verbose')", "True"),
    ("function Start-Wave { param($Batch) }; (Get-Command -Verb Start -CommandType Function)"
     ".Name", "Start-Wave"),
    ("function Start-Wave { param($Batch) }; (Get-Command Start-Wave).CommandType", "Function"),
])
def test_get_command_has_verb_noun_parameters_and_command_type(sh: RealShell, expression: str,
                                                               expected: str) -> None:
    assert sh.run(expression) == expected + "\n"


def test_get_help_of_a_function_shows_its_syntax(sh: RealShell) -> None:
    out = sh.run("function Start-Wave { [CmdletBinding()] param([Parameter(Mandatory)]"
                 "[string]$Batch, [switch]$Force) }; Get-Help Start-Wave")
    assert "    Start-Wave [-Batch] <string> [-Force] [<CommonParameters>]" in out.splitlines()


def test_out_string_stream_and_width(sh: RealShell) -> None:
    table = "[pscustomobject]@{Identity='a@contoso.com'; Status='Synced'}"
    assert sh.run(f"({table} | Out-String -Stream).Count") == "5\n"
    assert sh.run(f"{table} | Out-String -Stream | Select-String Synced") == \
        "a@contoso.com Synced\n"
    text = sh.run(f"({table} | Out-String -Width 12)")
    assert max(len(line) for line in text.splitlines()) <= 12


def test_get_help_of_a_function_uses_its_comment_based_help(sh: RealShell) -> None:
    out = sh.run("function Start-Wave {\n  <#\n  .SYNOPSIS\n  Starts a wave.\n"
                 "  .PARAMETER Batch\n  The batch name.\n  .EXAMPLE\n  Start-Wave -Batch Wave5\n"
                 "  Starts wave 5.\n  #>\n  param($Batch)\n}\nGet-Help Start-Wave -Full"
                 ).splitlines()
    assert out[4:6] == ["SYNOPSIS", "    Starts a wave."]
    assert "        The batch name." in out and "    Start-Wave -Batch Wave5" in out


def test_write_error_in_a_function_names_the_function(sh: RealShell) -> None:
    _, err, _ = sh.run_failing('function Check-Wave { Write-Error "wave failed" }; Check-Wave')
    lines = err.splitlines()
    assert lines[0] == "Check-Wave : wave failed"
    assert lines[-1] == ("    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands."
                         "WriteErrorException,Check-Wave")
    assert sh.run("$Error[0].Exception.GetType().FullName") == \
        "Microsoft.PowerShell.Commands.WriteErrorException\n"
