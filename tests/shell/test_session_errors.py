"""Error semantics of a session: display, $?, $Error, terminating vs not, exit status, prompts.

Also a property test: random and mutated command lines never let a Python exception escape
and leave the session working.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.shell.lang_helpers import make_shell

EXAMPLES = (Path(__file__).parent / "data" / "ms_examples.txt").read_text().splitlines()


def test_cmdlet_error_display_is_powershell_normal_view() -> None:
    sh = make_shell()
    result = sh.run("Get-Batch nope -Fail")
    assert (result.ok, result.had_errors) == (True, True)
    assert sh.err.getvalue() == (
        'Get-Batch : The migration batch "nope" couldn\'t be found.\n'
        "At line:1 char:1\n"
        "+ Get-Batch nope -Fail\n"
        "+ ~~~~~~~~~~~~~~~~~~~~\n"
        "    + CategoryInfo          : ObjectNotFound: (nope:String) [Get-Batch], "
        "ManagementObjectNotFoundException\n"
        "    + FullyQualifiedErrorId : NotFound,Get-Batch\n")


def test_parse_error_display() -> None:
    sh = make_shell()
    result = sh.run("echo 'abc")
    assert result.ok is False
    assert sh.err.getvalue() == (
        "At line:1 char:6\n"
        "+ echo 'abc\n"
        "+      ~~~~\n"
        "The string is missing the terminator: '.\n"
        "    + CategoryInfo          : ParserError: (:) [], ParentContainsErrorRecordException\n"
        "    + FullyQualifiedErrorId : TerminatorExpectedAtEndOfString\n")


def test_a_function_declaring_a_parameter_twice_is_refused_as_powershell_does() -> None:
    sh = make_shell()
    result = sh.run("function f { param($x, $X) }; 'ran'")
    assert result.ok is False and sh.out.getvalue() == ""
    assert sh.err.getvalue() == (
        "At line:1 char:24\n"
        "+ function f { param($x, $X) }; 'ran'\n"
        "+                        ~~\n"
        "Duplicate parameter $X in parameter list.\n"
        "    + CategoryInfo          : ParserError: (:) [], ParentContainsErrorRecordException\n"
        "    + FullyQualifiedErrorId : DuplicateFormalParameter\n")


def test_a_date_that_does_not_parse_is_powershells_datetime_cast_error() -> None:
    sh = make_shell()
    sh.run('[datetime]"13/45/2020"')
    assert sh.err.getvalue().splitlines()[0] == (
        'Cannot convert value "13/45/2020" to type "System.DateTime". '
        "Error: \"String '13/45/2020' was not recognized as a valid DateTime.\"")
    assert "CategoryInfo          : InvalidArgument: (:) [], RuntimeException" in sh.err.getvalue()
    assert "FullyQualifiedErrorId : InvalidCastParseTargetInvocation" in sh.err.getvalue()


def test_a_number_cast_that_fails_is_an_invalid_argument_as_in_powershell(
        tmp_path: Path) -> None:
    # An admin's script that catches by category (`$_.CategoryInfo.Category -eq
    # 'InvalidArgument'`) must see what PowerShell 7 says for a failed cast.
    result = subprocess.run(
        ["imsh", "--state", str(tmp_path / "state"), "-c",
         'try { [int]"abc" } catch { "$($_.CategoryInfo.Category) $($_.FullyQualifiedErrorId)" }'
         '; [int]"abc"'],
        capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == ["InvalidArgument InvalidCastFromStringToInteger"]
    assert "CategoryInfo          : InvalidArgument: (:) [], RuntimeException" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command() -> None:
    sh = make_shell()
    sh.run("'before'; Get-Nothing -X 1; 'after'")
    assert sh.out.getvalue() == "before\nafter\n"
    assert sh.err.getvalue().splitlines()[:2] == [
        "Get-Nothing : The term 'Get-Nothing' is not recognized as a name of a cmdlet, function, "
        "script file, or executable program.",
        "Check the spelling of the name, or if a path was included, verify that the path is "
        "correct and try again."]
    assert "FullyQualifiedErrorId : CommandNotFoundException" in sh.err.getvalue()


def test_non_terminating_error_continues_and_sets_status() -> None:
    sh = make_shell()
    sh.run("$r = Get-Batch b7 -Report; $ok = $?; $n = $Error.Count")
    assert sh.session.variables.get("ok") is False
    assert sh.session.variables.get("n") == 1
    assert sh.session.variables.get("r").get("Identity") == "b7"
    assert sh.value("$Error[0].Exception.Message") == "Batch b7 has failed users."
    assert sh.value("$?") is True


def test_script_goes_on_after_cmdlet_failure_but_exits_non_zero(tmp_path: Path) -> None:
    script = tmp_path / "s.imsh"
    script.write_text("Get-Batch a -Fail\n'still running'\n")
    sh = make_shell()
    assert sh.session.run_file(script) == 1
    assert sh.out.getvalue() == "still running\n"
    assert f"At {script}:1 char:1" in sh.err.getvalue()


def test_clean_script_exits_zero_and_exit_sets_status(tmp_path: Path) -> None:
    ok = tmp_path / "ok.imsh"
    ok.write_text("$x = 1\nif ($x) { 'yes' }\n")
    assert make_shell().session.run_file(ok) == 0
    bye = tmp_path / "bye.imsh"
    bye.write_text("'a'\nexit 3\n'b'\n")
    sh = make_shell()
    assert sh.session.run_file(bye, ["arg"]) == 3
    assert sh.out.getvalue() == "a\n"


def test_throw_terminates_the_script() -> None:
    sh = make_shell()
    result = sh.run("'one'; throw 'boom'; 'two'")
    assert result.ok is False
    assert sh.out.getvalue() == "one\n"
    assert sh.err.getvalue().splitlines()[0] == "boom"
    assert "+ CategoryInfo          : OperationStopped: (boom:String) [], RuntimeException" in (
        sh.err.getvalue())
    assert sh.session.exit_code == 1


def test_try_catch_finally_handles_terminating_errors() -> None:
    sh = make_shell()
    out = sh.output("try { Get-Batch x -Fail; 'not here' } catch { 'caught: ' + "
                    "$_.Exception.Message } finally { 'cleanup' }")
    assert out == 'caught: The migration batch "x" couldn\'t be found.\ncleanup\n'
    assert sh.err.getvalue() == ""
    assert sh.session.exit_code == 0


def test_error_action_stop_makes_errors_terminating() -> None:
    sh = make_shell()
    result = sh.run("Get-Batch y -Report -ErrorAction Stop; 'unreached'")
    assert result.ok is False
    assert "unreached" not in sh.out.getvalue()
    caught = make_shell()
    out = caught.output("try { Get-Batch y -Report -ea Stop } catch { 'got ' + $_ }")
    assert out == "got Batch y has failed users.\n"


def test_error_action_preference_stop() -> None:
    sh = make_shell()
    result = sh.run("$ErrorActionPreference = 'Stop'; Get-Batch z -Report; 'unreached'")
    assert result.ok is False
    assert sh.out.getvalue() == ""


def test_silently_continue_hides_the_error_but_records_it() -> None:
    sh = make_shell()
    result = sh.run("Get-Batch s -Fail -ErrorAction SilentlyContinue; $Error.Count")
    assert sh.err.getvalue() == ""
    assert sh.out.getvalue() == "1\n"
    assert result.had_errors is False


def test_error_variable_and_redirections() -> None:
    sh = make_shell()
    sh.run("Get-Batch e -Report -ErrorVariable errs 2>$null")
    assert sh.err.getvalue() == ""
    assert sh.value("$errs[0].FullyQualifiedErrorId") == "FailedUsers,Get-Batch"
    sh.run("$merged = Get-Batch m -Report 2>&1")
    merged = sh.session.variables.get("merged")
    assert [type(item).__name__ for item in merged] == ["ErrorRecord", "PSObject"]
    assert sh.err.getvalue() == ""


def test_python_exceptions_become_internal_errors() -> None:
    sh = make_shell()
    result = sh.run("Get-Batch -Crash; 'after'")
    assert result.ok is True
    text = sh.err.getvalue()
    assert text.startswith("Get-Batch : An internal error occurred: ZeroDivisionError: division "
                           "by zero\n")
    assert "Traceback" not in text
    assert sh.out.getvalue() == "after\n"


def test_runtime_error_in_expression() -> None:
    sh = make_shell()
    sh.run("$null.Trim(); 'next'")
    assert sh.err.getvalue().splitlines()[0] == "You cannot call a method on a null-valued " \
                                               "expression."
    assert sh.out.getvalue() == "next\n"


def test_unable_to_find_type() -> None:
    sh = make_shell()
    sh.run("[Foo.Bar]::Baz()")
    assert sh.err.getvalue().splitlines()[0] == "Unable to find type [Foo.Bar]."


def test_whatif_prints_and_skips() -> None:
    sh = make_shell()
    out = sh.output("Remove-Batch b1 -WhatIf")
    assert out == 'What if: Performing the operation "Remove-Batch" on target "b1".\n'
    assert sh.output("$WhatIfPreference = $true; Set-Batch b2") == (
        'What if: Performing the operation "Set-Batch" on target "b2".\n')


def test_high_impact_needs_confirmation_when_not_interactive() -> None:
    sh = make_shell()
    result = sh.run("Remove-Batch b1")
    assert result.had_errors
    assert "Remove-Batch needs confirmation" in sh.err.getvalue()
    assert "-Confirm:$false" in sh.err.getvalue()
    assert sh.output("Remove-Batch b1 -Confirm:$false") == "removed b1\n"
    assert sh.output("Remove-Batch b2 -Force") == "removed b2\n"


def test_confirm_prompts_and_reads_stdin() -> None:
    sh = make_shell(stdin="n\n")
    out = sh.output("Set-Batch b3 -Confirm")
    assert out == ("\nConfirm\nAre you sure you want to perform this action?\n"
                   'Performing the operation "Set-Batch" on target "b3".\n'
                   '[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help '
                   '(default is "Y"): ')
    yes = make_shell(stdin="y\n", interactive=True)
    assert yes.output("Remove-Batch b4").endswith('(default is "Y"): removed b4\n')


def test_binding_error_display_points_at_parameter() -> None:
    sh = make_shell()
    sh.run("Get-Batch -Identity x -Bogus")
    assert sh.err.getvalue().splitlines()[:4] == [
        "Get-Batch : A parameter cannot be found that matches parameter name 'Bogus'.",
        "At line:1 char:23",
        "+ Get-Batch -Identity x -Bogus",
        "+                       ~~~~~~"]


def test_session_keeps_working_after_errors() -> None:
    sh = make_shell()
    for text in ("throw 'x'", "echo '", "Get-Batch -Fail", "1/0", "$x = ", "}"):
        sh.run(text)
    assert sh.value("1+1") == 2


_line = st.one_of(
    st.sampled_from(EXAMPLES),
    st.text(alphabet=st.sampled_from(list("ab$-|{}()[]'\"`@;,.:=+<>#%?1 \n")), max_size=40),
)


@st.composite
def mutated_lines(draw: st.DrawFn) -> str:
    text = draw(_line)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "swap"]))
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "delete" and text:
            text = text[:at] + text[at + 1:]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(list("'\"{}()|`$@[],;-"))) + text[at:]
        elif len(text) > at + 1:
            text = text[:at] + text[at + 1] + text[at] + text[at + 2:]
    return text


# IMSH_FUZZ_EXAMPLES=5000 runs a longer search on demand.
@settings(max_examples=int(os.environ.get("IMSH_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines())
def test_no_python_exception_escapes_for_any_input(line: str) -> None:
    sh = make_shell()
    sh.run(line)
    assert "Traceback" not in sh.err.getvalue()
    assert sh.value("1+1") == 2
