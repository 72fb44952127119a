"""The everyday cmdlets (issue 15) in the real session: literal input, PowerShell 7's output."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shell.real_session import RealShell, real_shell


@pytest.fixture(scope="module")
def sh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealShell]:
    root = tmp_path_factory.mktemp("everyday")
    work = root / "work"
    (work / "sub").mkdir(parents=True)
    (work / "log.txt").write_text("a,b\nerror here\nfine\n", encoding="utf-8")
    (work / "sub" / "users.csv").write_text("x\n", encoding="utf-8")
    shell = real_shell(root / "state", work)
    yield shell
    shell.session.close()


def test_set_location_and_back(sh: RealShell) -> None:
    work = sh.workdir
    assert sh.run("cd sub; (Get-Location).Path") == f"{work / 'sub'}\n"
    assert sh.run("Test-Path users.csv") == "True\n"
    assert sh.run("cd -; $PWD.Path") == f"{work}\n"
    _, err, _ = sh.run_failing("Set-Location nowhere")
    assert err.splitlines()[0] == (f"Set-Location : Cannot find path '{work / 'nowhere'}' "
                                   "because it does not exist.")
    assert sh.run("(Get-Location).Path") == f"{work}\n"


@pytest.mark.parametrize(("line", "expected"), [
    ("Test-Path log.txt", "True"),
    ("Test-Path nope.txt", "False"),
    ("Test-Path sub -PathType Container", "True"),
    ("Test-Path sub -PathType Leaf", "False"),
    ("Test-Path *.txt", "True"),
    ("Test-Path log.txt, nope", "True\nFalse"),
])
def test_test_path(sh: RealShell, line: str, expected: str) -> None:
    assert sh.run(line) == expected + "\n"


def test_get_child_item_lists_directories_first_under_a_directory_heading(sh: RealShell
                                                                          ) -> None:
    out = sh.run("Get-ChildItem").splitlines()
    assert out[:3] == ["", f"    Directory: {sh.workdir}", ""]
    assert out[3].split() == ["UnixMode", "User", "Group", "LastWriteTime", "Size", "Name"]
    assert out[5].startswith("d") and out[5].endswith(" sub")
    assert out[6].startswith("-rw") and out[6].endswith(" log.txt")
    assert sh.run("gci -Recurse -Name") == "sub\nlog.txt\nsub/users.csv\n"
    assert sh.run("(Get-ChildItem -File -Filter *.txt).Name") == "log.txt\n"
    assert sh.run("(ls -Recurse -Include *.csv).FullName") == \
        f"{sh.workdir / 'sub' / 'users.csv'}\n"


def test_select_string_in_files_and_pipeline(sh: RealShell) -> None:
    assert sh.run("Select-String -Path log.txt -Pattern ERROR") == "log.txt:2:error here\n"
    assert sh.run("Select-String -Path log.txt -Pattern ERROR -CaseSensitive") == ""
    assert sh.run("'abc','xyz' | Select-String b") == "abc\n"
    assert sh.run("'a.c','abc' | Select-String -SimpleMatch '.'") == "a.c\n"
    assert sh.run("'abc','xyz' | Select-String b -NotMatch") == "xyz\n"
    assert sh.run("(Select-String -Path log.txt -Pattern fine).LineNumber") == "3\n"
    assert sh.run("'abc' | Select-String -Quiet z") == "False\n"


def test_tee_object_to_file_and_variable(sh: RealShell) -> None:
    assert sh.run("1,2 | Tee-Object -Variable kept | ForEach-Object { $_ * 10 }; $kept") == \
        "10\n20\n1\n2\n"
    assert sh.run("'one','two' | Tee-Object -FilePath tee.txt") == "one\ntwo\n"
    assert (sh.workdir / "tee.txt").read_text(encoding="utf-8") == "one\ntwo\n"


def test_compare_object(sh: RealShell) -> None:
    assert sh.run("Compare-Object 1,2,3 2,3,4") == """
InputObject SideIndicator
----------- -------------
          4 =>
          1 <=

"""
    assert sh.run("(Compare-Object a,b b -IncludeEqual).SideIndicator -join ' '") == "== <=\n"
    assert sh.run("Compare-Object a A") == ""
    assert sh.run("Compare-Object a,b a -PassThru") == "b\n"
    assert sh.run("$r = [pscustomobject]@{Id='u1';S=1}; $d = [pscustomobject]@{Id='u2';S=1}; "
                  "(Compare-Object $r $d -Property Id).Id -join ','") == "u2,u1\n"


def test_convert_to_html_escapes_values(sh: RealShell) -> None:
    assert sh.run("[pscustomobject]@{A='<x>'; B=2} | ConvertTo-Html -Fragment") == (
        "<table>\n<colgroup><col/><col/></colgroup>\n<tr><th>A</th><th>B</th></tr>\n"
        "<tr><td>&lt;x&gt;</td><td>2</td></tr>\n</table>\n")
    page = sh.run("[pscustomobject]@{A=1} | ConvertTo-Html -Title 'Wave 5'").splitlines()
    assert "<title>Wave 5</title>" in page and page[-1] == "</body></html>"


def test_format_table_group_by(sh: RealShell) -> None:
    assert sh.run("[pscustomobject]@{Identity='a';Status='Synced'},"
                  "[pscustomobject]@{Identity='b';Status='Failed'} | "
                  "Format-Table -GroupBy Status") == """
   Status: Synced

Identity Status
-------- ------
a        Synced

   Status: Failed

Identity Status
-------- ------
b        Failed

"""


def test_write_verbose_and_debug_follow_preferences(sh: RealShell) -> None:
    out, err, _ = sh.run_failing("Write-Verbose quiet; Write-Verbose loud -Verbose; "
                                 "Write-Debug hidden")
    assert (out, err) == ("", "VERBOSE: loud\n")
    out, err, _ = sh.run_failing("function F { [CmdletBinding()] param() Write-Verbose inner }; "
                                 "F; F -Verbose")
    assert err == "VERBOSE: inner\n"
    out, err, _ = sh.run_failing("$DebugPreference = 'Continue'; Write-Debug shown; "
                                 "$DebugPreference = 'SilentlyContinue'")
    assert err == "DEBUG: shown\n"


def test_write_progress_and_clear_host_when_piped(sh: RealShell) -> None:
    out, err, _ = sh.run_failing("Write-Progress -Activity Import -Status u1 "
                                 "-PercentComplete 50; Write-Progress -Activity Import "
                                 "-Completed; Clear-Host; cls")
    assert (out, err) == ("", "Import: u1 50%\n")


def test_read_host_reads_the_next_input_line(tmp_path: Path) -> None:
    shell = real_shell(tmp_path / "state", tmp_path, stdin="Wave5\n")
    assert shell.run("$b = Read-Host 'Batch name'; \"batch=$b\"") == \
        "Batch name: \nbatch=Wave5\n"
    _, err, _ = shell.run_failing("Read-Host 'More'")
    assert err.splitlines()[0] == \
        "Read-Host : Read-Host reached the end of the input: no answer was given."
    shell.session.close()


def test_read_host_as_secure_string_keeps_the_answer_sealed(tmp_path: Path) -> None:
    shell = real_shell(tmp_path / "state", tmp_path, stdin="s3cret\n")
    assert shell.run("$p = Read-Host -AsSecureString 'Password'; $p.GetType().FullName; $p") \
        == "Password: \nSystem.Security.SecureString\n********\n"
    assert "s3cret" not in shell.out.getvalue()
    shell.session.close()


def test_get_history_lists_this_sessions_commands_without_secrets(tmp_path: Path) -> None:
    shell = real_shell(tmp_path / "state", tmp_path)
    shell.run("1 + 1")
    shell.run("$pw = ConvertTo-SecureString 'x' -AsPlainText -Force")
    shell.run("'second'")
    assert shell.run("(Get-History).CommandLine") == "1 + 1\n'second'\n"
    assert shell.run("(Get-History -Count 1).Id") == "3\n"
    table = shell.run("Get-History -Id 1").splitlines()
    assert table[:3] == ["", "  Id     Duration CommandLine", "  --     -------- -----------"]
    assert table[3].startswith("   1        0.0") and table[3].endswith(" 1 + 1")
    shell.session.close()


def test_get_history_with_an_id_that_is_not_a_number_is_a_binding_error(tmp_path: Path) -> None:
    shell = real_shell(tmp_path / "state", tmp_path)
    shell.run("'first'")
    _, err, _ = shell.run_failing("Get-History -Id abc")
    assert err.splitlines()[0] == (
        "Get-History : Cannot bind parameter 'Id'. Cannot convert value \"abc\" to type "
        "\"System.Int64\". Error: \"Input string was not in a correct format.\"")
    assert "CannotConvertArgumentNoMessage,Get-History" in err and "InternalError" not in err
    assert shell.run("(Get-History -Id '1').CommandLine") == "'first'\n"
    shell.session.close()


def test_transcript_records_commands_and_output_in_a_private_file(tmp_path: Path) -> None:
    shell = real_shell(tmp_path / "state", tmp_path)
    assert shell.run("Start-Transcript -Path t.log") == \
        f"Transcript started, output file is {tmp_path / 't.log'}\n"
    shell.run("'hello'")
    shell.run_failing("Get-Nothing")
    assert shell.run("Stop-Transcript") == \
        f"Transcript stopped, output file is {tmp_path / 't.log'}\n"
    shell.run("'after'")
    text = (tmp_path / "t.log").read_text(encoding="utf-8")
    assert "PS> 'hello'\nhello\n" in text and "Get-Nothing : The term" in text
    assert "after" not in text and text.rstrip().endswith("**********************")
    assert os.stat(tmp_path / "t.log").st_mode & 0o777 == 0o600
    _, err, _ = shell.run_failing("Stop-Transcript")
    assert err.splitlines()[0] == "Stop-Transcript : The host is not currently transcribing."
    shell.session.close()


def test_a_splatted_plain_text_password_stays_out_of_history_and_transcript(
        tmp_path: Path) -> None:
    shell = real_shell(tmp_path / "state", tmp_path)
    shell.run("Start-Transcript -Path t.log")
    shell.run('$h=@{String="Hunter2";AsPlain=$true;Force=$true}')
    shell.run("$p = ConvertTo-SecureString @h")
    shell.run("'after'")
    shell.run("Stop-Transcript")
    assert "Hunter2" not in (tmp_path / "t.log").read_text(encoding="utf-8")
    assert "Hunter2" not in shell.run("(Get-History).CommandLine")
    shell.session.close()


def test_a_dashboard_token_shown_on_screen_never_reaches_the_transcript(tmp_path: Path) -> None:
    shell = real_shell(tmp_path / "state", tmp_path)
    shell.run("Start-Transcript -Path t.log")
    shown = shell.run("'Url : http://127.0.0.1:8080/?token=Tok-Secret-42&x=1'")
    shell.run("Stop-Transcript")
    assert "token=Tok-Secret-42" in shown  # the admin still gets the token once, on the terminal
    text = (tmp_path / "t.log").read_text(encoding="utf-8")
    assert "Tok-Secret-42" not in text
    assert "http://127.0.0.1:8080/?token=********&x=1" in text
    shell.session.close()


@pytest.mark.parametrize(("encoding", "bom"), [("utf-16-le", b"\xff\xfe"),
                                                ("utf-16-be", b"\xfe\xff")])
def test_import_csv_honours_a_utf16_byte_order_mark(tmp_path: Path, encoding: str,
                                                    bom: bytes) -> None:
    text = "EmailAddress,UserName\r\nämber@contoso.com,u1\r\n"
    (tmp_path / "u.csv").write_bytes(bom + text.encode(encoding))
    shell = real_shell(tmp_path / "state", tmp_path)
    assert shell.run("(Import-Csv u.csv).EmailAddress") == "ämber@contoso.com\n"
    shell.session.close()




@pytest.mark.parametrize("line", [
    "gci | Format-Table -GroupBy '['", "gci | Format-Table -GroupBy '[]'",
    "Select-String -Pattern '*' -Path log.txt", "'a' | Get-Member -Name '[]'",
])
def test_odd_patterns_are_errors_or_nothing_never_internal_errors(sh: RealShell,
                                                                   line: str) -> None:
    _, err, _ = sh.run_failing(line)
    assert "internal error" not in err and "Traceback" not in err


def test_select_string_searches_files_piped_from_get_child_item(sh: RealShell) -> None:
    assert sh.run("Get-ChildItem -Recurse -File | Select-String -Pattern '^x$'") == \
        "sub/users.csv:1:x\n"
    assert sh.run("(Get-ChildItem -Recurse -File | Select-String '^x$').Filename") == \
        "users.csv\n"
