"""The ``imsh`` command line: which of the contract's forms was asked for, and run it.

::

    imsh                          interactive shell (a terminal), or lines from stdin (a pipe)
    imsh FILE.imsh [ARGS...]      run a script
    imsh -c "LINE"                run one line
    imsh service [--until-idle]   the runner
    imsh --state DIR ...          state directory (default $IMSH_HOME, else ~/.local/share/imsh)
    imsh --version

Exit status: 0 when no terminating error occurred and no command reported an error.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib import metadata

USAGE = """usage: imsh [--state DIR] [-c LINE | FILE.imsh [ARGS...] | service [--until-idle]]
       imsh --version"""


@dataclass
class Invocation:
    """What the command line asked for."""

    state: str | None = None
    command: str | None = None
    script: str | None = None
    script_args: list[str] = field(default_factory=list)
    service: bool = False
    until_idle: bool = False
    version: bool = False
    help: bool = False


class UsageError(Exception):
    """The command line itself is wrong."""


def parse_command_line(argv: list[str]) -> Invocation:
    """Parse argv by hand: script arguments after FILE belong to the script, untouched."""
    inv = Invocation()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("--version", "-V"):
            inv.version = True
        elif arg in ("-h", "--help"):
            inv.help = True
        elif arg == "--state" or arg.startswith("--state="):
            inv.state = _option_value(arg, args, "--state")
        elif arg in ("-c", "--command"):
            if not args:
                raise UsageError("-c needs a line to run")
            inv.command = args.pop(0)
        elif arg == "service":
            inv.service = True
            inv.until_idle = _service_options(args)
            args = []
        elif arg.startswith("-") and arg != "-":
            raise UsageError(f"unknown option {arg}")
        else:
            inv.script, inv.script_args, args = arg, args, []
    return inv


def _option_value(arg: str, rest: list[str], name: str) -> str:
    if "=" in arg:
        return arg.split("=", 1)[1]
    if not rest:
        raise UsageError(f"{name} needs a value")
    return rest.pop(0)


def _service_options(args: list[str]) -> bool:
    until_idle = False
    for arg in args:
        if arg == "--until-idle":
            until_idle = True
        else:
            raise UsageError(f"unknown service option {arg}")
    return until_idle


def version_text() -> str:
    try:
        return f"imsh {metadata.version('imsh')}"
    except metadata.PackageNotFoundError:
        return "imsh (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``imsh`` console script."""
    try:
        inv = parse_command_line(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        print(f"imsh: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    if inv.help:
        print(USAGE)
        return 0
    if inv.version:
        print(version_text())
        return 0
    from shell.wiring import run_invocation  # heavy imports only when work is asked for

    return run_invocation(inv)


if __name__ == "__main__":
    sys.exit(main())
