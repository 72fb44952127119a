"""The ``imsh`` command line: version, usage errors and argument routing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shell.main import Invocation, UsageError, parse_command_line


def test_version_from_the_installed_console_script() -> None:
    result = subprocess.run(["imsh", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip().startswith("imsh 0.")


def test_unknown_option_is_a_usage_error_with_status_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shell.main", "--bogus"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "unknown option --bogus" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-c", "Get-Date"], Invocation(command="Get-Date")),
        (["--state", "/s", "x.imsh", "-a", "b"],
         Invocation(state="/s", script="x.imsh", script_args=["-a", "b"])),
        (["--state=/s", "service", "--until-idle"],
         Invocation(state="/s", service=True, until_idle=True)),
        ([], Invocation()),
    ],
)
def test_parse_command_line(argv: list[str], expected: Invocation) -> None:
    assert parse_command_line(argv) == expected


@pytest.mark.parametrize("argv", [["-c"], ["--state"], ["service", "--forever"]])
def test_parse_command_line_rejects(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_command_line(argv)
