"""The ``imsh`` command line: which of the contract's forms was asked for, and run it.

::

    imsh                          interactive shell (a terminal), or lines from stdin (a pipe)
    imsh FILE.imsh [ARGS...]      run a script
    imsh -c "LINE"                run one line
    imsh service [--until-idle]   the runner
    imsh service install|uninstall|status [--user] [--name N] [--run-as U] [--unit-dir D]
                                  keep the runner running under systemd (shell/systemd.py)
    imsh dashboard [--listen H:P] the read-only migration dashboard (shell/dashboard/)
    imsh --state DIR ...          state directory (default $IMSH_HOME, else ~/.local/share/imsh)
    imsh --version

Exit status: 0 when no terminating error occurred and no command reported an error.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib import metadata

USAGE = """usage: imsh [--state DIR] [-c LINE | FILE.imsh [ARGS...] | service [--until-idle]]
       imsh [--state DIR] service install|uninstall|status [--user] [--name N] [--run-as U]
            [--unit-dir DIR] [--no-enable]
       imsh [--state DIR] dashboard [--listen HOST:PORT]
       imsh --version"""

HELP = USAGE + """

imsh moves mailboxes off IMAP servers with Exchange's migration cmdlets.

  imsh                      the interactive console (Get-Help, Get-Command to explore)
  imsh FILE.imsh [ARGS]     run a script; ARGS bind to its param() block
  imsh -c "LINE"            run one line, e.g. imsh -c "Get-MigrationBatch"
  ... | imsh                run the lines read from standard input
  imsh service              the runner in the foreground (SIGTERM stops it cleanly);
                            --until-idle: exit once no work is due
  imsh service install      write and enable a systemd unit that keeps the runner running,
                            so incremental passes happen by themselves and after a reboot
                            (--user: a user unit; --name: one unit per state directory;
                            --run-as: the system unit's user; --unit-dir: only write it)
  imsh service uninstall    stop, disable and remove that unit
  imsh service status       whether the unit is installed, enabled and running
  imsh dashboard            the read-only migration dashboard in a browser; prints the
                            address with its access token once (--listen HOST:PORT,
                            default 127.0.0.1:8470)

  --state DIR               the state directory (default $IMSH_HOME, else
                            ~/.local/share/imsh): state.db, the key file secret.key and
                            logs/ (imsh-service.log, imsh-runner.out)

Exit status: 0 when no command reported an error; 1 otherwise; 2 for a bad command line.
Documentation: README.md and docs/ in the source tree."""

SERVICE_ACTIONS = ("install", "uninstall", "status")


@dataclass
class Invocation:
    """What the command line asked for."""

    state: str | None = None
    command: str | None = None
    script: str | None = None
    script_args: list[str] = field(default_factory=list)
    service: bool = False
    until_idle: bool = False
    service_action: str | None = None  # install | uninstall | status (None: run it)
    service_options: dict[str, str | bool] = field(default_factory=dict)
    dashboard: bool = False
    listen: str | None = None  # dashboard's HOST:PORT (None: 127.0.0.1:8470)
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
            if args and args[0] in SERVICE_ACTIONS:
                inv.service_action = args.pop(0)
                inv.service_options = _unit_options(args)
            else:
                inv.until_idle = _service_options(args)
            args = []
        elif arg == "dashboard":
            inv.dashboard = True
            inv.listen = _dashboard_options(args)
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


def _dashboard_options(args: list[str]) -> str | None:
    listen = None
    while args:
        arg = args.pop(0)
        if arg == "--listen" or arg.startswith("--listen="):
            listen = _option_value(arg, args, "--listen")
        else:
            raise UsageError(f"unknown dashboard option {arg}")
    return listen


def _unit_options(args: list[str]) -> dict[str, str | bool]:
    options: dict[str, str | bool] = {}
    while args:
        arg = args.pop(0)
        if arg in ("--user", "--no-enable"):
            options[arg[2:]] = True
        elif arg.split("=", 1)[0] in ("--name", "--run-as", "--unit-dir"):
            name = arg.split("=", 1)[0]
            options[name[2:]] = _option_value(arg, args, name)
        else:
            raise UsageError(f"unknown service option {arg}")
    return options


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
        print(HELP)
        return 0
    if inv.version:
        print(version_text())
        return 0
    from shell.wiring import run_invocation  # heavy imports only when work is asked for

    return run_invocation(inv)


if __name__ == "__main__":
    sys.exit(main())
