"""The ``imsh`` command line: which of the contract's forms was asked for, and run it.

::

    imsh                          interactive shell (a terminal), or lines from stdin (a pipe)
    imsh FILE.imsh [ARGS...]      run a script
    imsh -c "LINE"                run one line
    imsh service [--until-idle [--keep-alive]]   the runner
    imsh service install|uninstall|status [--user] [--name N] [--run-as U] [--unit-dir D]
                                  keep the runner running under systemd (shell/systemd.py)
    imsh dashboard [--listen H:P] [--database URL] [--tls-cert F --tls-key F [--client-ca F]]
                                  the read-only migration dashboard (shell/dashboard/)
    imsh --state DIR ...          state directory (default $IMSH_HOME, else ~/.local/share/imsh)
    imsh --database URL ...       the state database in PostgreSQL (default $IMSH_DATABASE, else
                                  state.db in the state directory); runners it starts inherit it
    imsh --version

Exit status: 0 when no terminating error occurred and no command reported an error.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DATABASE_ENV = "IMSH_DATABASE"  # engine.paths.DATABASE_ENV; not imported: keep --help light

USAGE = """usage: imsh [--config FILE] [--state DIR] [--database URL]
            [-c LINE | FILE.imsh [ARGS...] | service [--until-idle [--keep-alive]]]
       imsh [--config FILE] [--state DIR] [--database URL] service install|uninstall|status
            [--user] [--name N] [--run-as U] [--unit-dir DIR] [--no-enable]
       imsh [--config FILE] [--state DIR] [--database URL] dashboard [--listen HOST:PORT]
            [--database URL] [--tls-cert FILE --tls-key FILE [--client-ca FILE]]
       imsh --version"""

HELP = USAGE + """

imsh moves mailboxes off IMAP servers with Exchange's migration cmdlets.

  imsh                      the interactive console (Get-Help, Get-Command to explore)
  imsh FILE.imsh [ARGS]     run a script; ARGS bind to its param() block
  imsh -c "LINE"            run one line, e.g. imsh -c "Get-MigrationBatch"
  ... | imsh                run the lines read from standard input
  imsh service              the runner in the foreground (SIGTERM stops it cleanly);
                            --until-idle: exit once no work is due
                            --keep-alive (with --until-idle): wait for the next
                            incremental pass too; exit once no batch has one due
  imsh service install      write and enable a systemd unit that keeps the runner running,
                            so incremental passes happen by themselves and after a reboot
                            (--user: a user unit; --name: one unit per state directory;
                            --run-as: the system unit's user; --unit-dir: only write it)
  imsh service uninstall    stop, disable and remove that unit
  imsh service status       whether the unit is installed, enabled and running
  imsh dashboard            the read-only migration dashboard in a browser; prints the
                            address with its access token once (--listen HOST:PORT,
                            default 127.0.0.1:8470). Beyond loopback it needs HTTPS:
                            --tls-cert and --tls-key (PEM); --client-ca FILE: only
                            browsers with a client certificate that CA signed get in

  --state DIR               the state directory (default $IMSH_HOME, else
                            ~/.local/share/imsh): state.db, the key file secret.key and
                            logs/ (imsh-service.log, imsh-runner.out)
  --config FILE             the configuration file (YAML); else $IMSH_CONFIG, else
                            imsh.yaml in the state directory, else /etc/imsh/imsh.yaml
  --database URL            keep the state database in PostgreSQL, e.g.
                            postgresql://imsh@db.example.org/imsh (default $IMSH_DATABASE;
                            without either: state.db in the state directory). Put the
                            password in ~/.pgpass, not in the URL (docs/scale-out.md)

Environment: IMSH_HOME (state directory), IMSH_CONFIG (configuration file), IMSH_DATABASE
(the PostgreSQL URL), IMSH_KEY_FILE (the key file elsewhere), IMSH_RUNNER_KEEP_ALIVE=0
(on-demand runners exit when idle instead of waiting for the next pass), NO_COLOR (no colour
on a terminal).

Exit status: 0 when no command reported an error; 1 otherwise; 2 for a bad command line.
Documentation: README.md and docs/ in the source tree."""

SERVICE_ACTIONS = ("install", "uninstall", "status")


@dataclass
class Invocation:
    """What the command line asked for."""

    state: str | None = None
    config: str | None = None  # --config FILE (shell/config.py)
    database: str | None = None  # a postgresql:// URL (engine/store/pg.py)
    command: str | None = None
    script: str | None = None
    script_args: list[str] = field(default_factory=list)
    service: bool = False
    until_idle: bool = False
    keep_alive: bool = False  # service --keep-alive: idle = no pass due at all
    service_action: str | None = None  # install | uninstall | status (None: run it)
    service_options: dict[str, str | bool] = field(default_factory=dict)
    dashboard: bool = False
    listen: str | None = None  # dashboard's HOST:PORT (None: 127.0.0.1:8470)
    tls_cert: str | None = None  # dashboard: serve HTTPS with this certificate (PEM) ...
    tls_key: str | None = None  # ... and its private key
    client_ca: str | None = None  # dashboard: require client certificates this CA signed
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
        elif arg == "--config" or arg.startswith("--config="):
            inv.config = _option_value(arg, args, "--config")
        elif arg == "--database" or arg.startswith("--database="):
            inv.database = _database_url(_option_value(arg, args, "--database"))
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
                inv.until_idle, inv.keep_alive = _service_options(args)
            args = []
        elif arg == "dashboard":
            inv.dashboard = True
            _dashboard_options(args, inv)
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


def _service_options(args: list[str]) -> tuple[bool, bool]:
    until_idle = keep_alive = False
    for arg in args:
        if arg == "--until-idle":
            until_idle = True
        elif arg == "--keep-alive":
            keep_alive = True
        else:
            raise UsageError(f"unknown service option {arg}")
    if keep_alive and not until_idle:
        raise UsageError("--keep-alive goes with --until-idle")
    return until_idle, keep_alive


def _database_url(url: str) -> str:
    if not url.lower().startswith(("postgresql://", "postgres://")):
        raise UsageError("--database needs a PostgreSQL URL (postgresql://user@host/db)")
    try:
        urlsplit(url)
    except ValueError as err:  # an unclosed IPv6 bracket: postgresql://u:p@[::1/db
        raise UsageError(f"--database: not a valid URL ({err})") from None
    return url


_DASHBOARD_FILES = {"--tls-cert": "tls_cert", "--tls-key": "tls_key", "--client-ca": "client_ca"}


def _dashboard_options(args: list[str], inv: Invocation) -> None:
    """``dashboard [--listen H:P] [--database URL] [--tls-cert F --tls-key F [--client-ca F]]``
    (``--database`` here is the same as before the word ``dashboard``)."""
    while args:
        arg = args.pop(0)
        name = arg.split("=", 1)[0]
        if name == "--listen":
            inv.listen = _option_value(arg, args, "--listen")
        elif name == "--database":
            inv.database = _database_url(_option_value(arg, args, "--database"))
        elif name in _DASHBOARD_FILES:
            setattr(inv, _DASHBOARD_FILES[name], _option_value(arg, args, name))
        else:
            raise UsageError(f"unknown dashboard option {arg}")
    if (inv.tls_cert is None) != (inv.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if inv.client_ca is not None and inv.tls_cert is None:
        raise UsageError("--client-ca needs --tls-cert and --tls-key (client certificates "
                         "are part of TLS)")


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
    from importlib import metadata  # not at the top: 20 ms that only --version needs

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
    if inv.database is not None:
        # through the environment, so that every Store.open of this process and the runners
        # it launches (shell/launch.py) use the same database
        os.environ[DATABASE_ENV] = inv.database
    from shell.wiring import run_invocation  # heavy imports only when work is asked for

    return run_invocation(inv)


if __name__ == "__main__":
    sys.exit(main())
