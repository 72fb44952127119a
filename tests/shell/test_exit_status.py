"""Error semantics end to end: the ``imsh`` console script run as a process.

A cmdlet's failure is reported and the script goes on ($? false, $Error[0] set) but the
process exits non-zero; throw, -ErrorAction Stop, $ErrorActionPreference = 'Stop' and parse
errors end the script at once unless try/catch/finally handles them.  Scripts come from a
file, from -c, or from stdin when it is not a terminal.  No run ever shows a traceback.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

NOT_FOUND = "Get-MigrationBatch : The migration batch 'nope' couldn't be found."


def imsh(tmp_path: Path, *args: str, stdin: str | bytes = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IMSH_HOME": str(tmp_path / "state")}
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run(["imsh", *args], input=data, capture_output=True, cwd=tmp_path,
                          env=env, timeout=60)
    result = subprocess.CompletedProcess(done.args, done.returncode,
                                         done.stdout.decode(errors="replace"),
                                         done.stderr.decode(errors="replace"))
    assert "Traceback" not in result.stderr, result.stderr
    return result


def script(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.imsh"
    path.write_text(text)
    return str(path)


def test_cmdlet_error_goes_on_and_exits_non_zero_at_the_end(tmp_path: Path) -> None:
    run = imsh(tmp_path, script(tmp_path, "Get-MigrationBatch nope\n\"status: $?\"\n"
                                          "$Error[0].Exception.Message\n'last line'\n"))
    assert run.stdout == ("status: False\nThe migration batch 'nope' couldn't be found.\n"
                          "last line\n")
    assert run.stderr.startswith(NOT_FOUND + f"\nAt {tmp_path / 's.imsh'}:1 char:1\n")
    assert run.returncode == 1


def test_clean_script_exits_zero_and_exit_sets_the_status(tmp_path: Path) -> None:
    assert imsh(tmp_path, script(tmp_path, "$x = 2\nif ($x -gt 1) { 'big' }\n")).returncode == 0
    run = imsh(tmp_path, script(tmp_path, "'before'\nexit 7\n'after'\n"))
    assert (run.stdout, run.returncode) == ("before\n", 7)


@pytest.mark.parametrize(("stop", "message"), [
    ("throw 'boom'", "boom"),
    ("Get-MigrationBatch nope -ErrorAction Stop", NOT_FOUND),
    ("$ErrorActionPreference = 'Stop'\nGet-MigrationBatch nope", NOT_FOUND),
])
def test_terminating_errors_end_the_script(tmp_path: Path, stop: str, message: str) -> None:
    run = imsh(tmp_path, script(tmp_path, f"'first'\n{stop}\n'never'\n"))
    assert run.stdout == "first\n"
    assert run.stderr.startswith(message + "\n")
    assert run.returncode == 1


@pytest.mark.parametrize("stop", [
    "throw 'boom'",
    "Get-MigrationBatch nope -ErrorAction Stop",
    "$ErrorActionPreference = 'Stop'; Get-MigrationBatch nope",
])
def test_try_catch_finally_handles_terminating_errors(tmp_path: Path, stop: str) -> None:
    run = imsh(tmp_path, script(tmp_path, f"try {{\n  {stop}\n  'never'\n}}\n"
                                          "catch {\n  \"caught: $($_.Exception.Message)\"\n}\n"
                                          "finally {\n  'cleanup'\n}\n'goes on'\n"))
    assert run.stdout.splitlines()[1:] == ["cleanup", "goes on"]
    assert run.stdout.startswith("caught: ")
    assert (run.stderr, run.returncode) == ("", 0)


def test_parse_error_runs_nothing(tmp_path: Path) -> None:
    run = imsh(tmp_path, script(tmp_path, "'first'\n$x = (1 +\n'never'\n"))
    assert run.stdout == ""
    assert "ParserError" in run.stderr and run.returncode == 1


def test_one_line_with_c(tmp_path: Path) -> None:
    run = imsh(tmp_path, "-c", "1..3 | Measure-Object -Sum | % Sum; Get-MigrationBatch nope")
    assert (run.stdout, run.returncode) == ("6\n", 1)
    assert run.stderr.startswith(NOT_FOUND)
    assert imsh(tmp_path, "-c", "'1' + 1").stdout == "11\n"


def test_lines_from_stdin_when_it_is_not_a_terminal(tmp_path: Path) -> None:
    run = imsh(tmp_path, stdin="$n = 0\nforeach ($i in 1..4) {\n  $n += $i\n}\n\"n=$n\"\n")
    assert (run.stdout, run.stderr, run.returncode) == ("n=10\n", "", 0)
    run = imsh(tmp_path, stdin="'a'\nthrow 'stop here'\n'b'\n")
    assert (run.stdout, run.returncode) == ("a\n", 1)
    assert run.stderr.startswith("stop here\nAt line:2 char:1\n")


def test_no_traceback_for_unreadable_scripts(tmp_path: Path) -> None:
    (tmp_path / "latin1.imsh").write_bytes(b"'caf\xe9'\n")
    run = imsh(tmp_path, "latin1.imsh")
    assert run.returncode == 1
    assert "is not UTF-8 text (byte 0xe9 at offset 4)" in run.stderr
    run = imsh(tmp_path, "missing.imsh")
    assert run.returncode == 1 and "cannot be read: No such file or directory." in run.stderr


def test_a_closed_output_stops_the_run_quietly(tmp_path: Path) -> None:
    env = {**os.environ, "IMSH_HOME": str(tmp_path / "state")}
    with subprocess.Popen(["imsh", "-c", "foreach ($i in 1..200000) { Write-Host $i }"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == b"1\n"
        proc.stdout.close()  # as `| head -1` does
        errors = proc.stderr.read()
        assert proc.wait(timeout=60) == 1
    assert errors == b""
