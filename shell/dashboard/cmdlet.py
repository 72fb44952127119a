"""``Start-MigrationDashboard``: start ``imsh dashboard`` in the background from the shell.

The shell makes the token and hands it to the detached dashboard in its environment
(``IMSH_DASHBOARD_TOKEN``; a process's environment is readable only by its own user), never on
the command line (``ps`` shows that to everyone) and never through the dashboard's output, which
goes to ``logs/imsh-dashboard.out``: the token is shown once, here, in the record's ``Url``.
The cmdlet waits until the dashboard answers on its address, or reports that it did not start;
an address something already listens on is refused before anything starts.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import time
from collections.abc import Iterable
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from engine.paths import ensure_private_dir
from engine.runner.launcher import launch_detached
from shell.dashboard.server import DEFAULT_LISTEN, TOKEN_ENV, ListenError, parse_listen

OUTPUT_NAME = "imsh-dashboard.out"
START_SECONDS = 20.0


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


_TLS_FILES = (("TlsCertificateFile", "--tls-cert"), ("TlsKeyFile", "--tls-key"),
              ("ClientCaFile", "--client-ca"))


def _tls_arguments(ctx: Context, args: BoundArguments) -> list[str]:
    """``imsh dashboard``'s TLS options for the files given, relative to the session's current
    location, each checked to exist (the dashboard itself checks that they fit together and
    refuses plain HTTP beyond loopback)."""
    given = {name: str(args[name]) for name, _ in _TLS_FILES if args.get(name)}
    if ("TlsCertificateFile" in given) != ("TlsKeyFile" in given):
        raise CmdletError("-TlsCertificateFile and -TlsKeyFile go together.", "InvalidArgument",
                          "TlsFilesIncomplete")
    if "ClientCaFile" in given and "TlsCertificateFile" not in given:
        raise CmdletError("-ClientCaFile needs -TlsCertificateFile and -TlsKeyFile: client "
                          "certificates are asked for in the TLS handshake.", "InvalidArgument",
                          "TlsFilesIncomplete")
    options: list[str] = []
    for name, option in _TLS_FILES:
        if name in given:
            path = str(ctx.resolve_path(given[name]))
            if not os.path.isfile(path):
                raise CmdletError(f"Cannot find path '{path}' because it does not exist.",
                                  "ObjectNotFound", "PathNotFound", target=given[name])
            options += [option, path]
    return options


class StartMigrationDashboard(Cmdlet):
    name = "Start-MigrationDashboard"
    synopsis = "Starts the read-only migration dashboard in the background."
    description = (
        "Starts 'imsh dashboard' on this state directory, detached, and outputs the address to "
        "open with its access token (shown only this once). It listens on 127.0.0.1:8470 "
        "unless -Listen says otherwise; beyond loopback it needs HTTPS (-TlsCertificateFile "
        "and -TlsKeyFile, PEM), and -ClientCaFile admits only browsers with a client "
        "certificate that CA signed (no token then). Stop it with Stop-Process -Id "
        "<ProcessId> or kill.")
    examples = (
        Example("Start-MigrationDashboard", "The dashboard on http://127.0.0.1:8470/."),
        Example("(Start-MigrationDashboard -Listen 127.0.0.1:9000).Url",
                "Only the address to open."),
        Example("Start-MigrationDashboard -Listen 0.0.0.0:8470 -TlsCertificateFile "
                "dashboard.crt -TlsKeyFile dashboard.key -ClientCaFile admins-ca.crt",
                "HTTPS for the admins' browsers holding a certificate of admins-ca.crt."),
    )
    parameters = (
        Parameter("Listen", T.STRING, position=0,
                  help="HOST:PORT to listen on (default 127.0.0.1:8470)."),
        Parameter("TlsCertificateFile", T.STRING,
                  help="The dashboard's certificate (PEM): serve HTTPS."),
        Parameter("TlsKeyFile", T.STRING, help="The certificate's private key (PEM)."),
        Parameter("ClientCaFile", T.STRING,
                  help="Admit only browsers with a client certificate this CA signed."),
    )
    output_type = "imsh.MigrationDashboard"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        listen = args.get("Listen") or DEFAULT_LISTEN
        try:
            host, port = parse_listen(str(listen))
        except ListenError as exc:
            raise CmdletError(f"-Listen needs {exc}", "InvalidArgument", "InvalidListenAddress",
                              target=listen) from exc
        if _answers(host, port):
            raise CmdletError(f"Something already listens on {host}:{port} (an earlier "
                              "dashboard?). Choose another address with -Listen.",
                              "ResourceExists", "AddressInUse", target=listen)
        tls = _tls_arguments(ctx, args)
        paths = ctx.engine.store.paths
        token = secrets.token_urlsafe(32)
        ensure_private_dir(paths.log_dir)
        pid = launch_detached(
            [sys.executable, "-m", "shell.main", "--state", str(paths.root), "dashboard",
             "--listen", str(listen), *tls],
            paths.log_dir / OUTPUT_NAME, env={**os.environ, TOKEN_ENV: token})
        deadline = time.monotonic() + START_SECONDS
        while not _answers(host, port):
            if not _alive(pid) or time.monotonic() > deadline:
                raise CmdletError(
                    f"The dashboard did not start on {host}:{port}; see "
                    f"{paths.log_dir / OUTPUT_NAME}.", "OperationStopped", "DashboardNotStarted",
                    target=listen)
            time.sleep(0.1)
        shown = f"[{host}]" if ":" in host else host
        scheme = "https" if tls else "http"
        query = "" if "--client-ca" in tls else f"?token={token}"  # the certificate admits
        return [PSObject({"Url": f"{scheme}://{shown}:{port}/{query}", "Listen":
                          f"{host}:{port}", "ProcessId": pid, "StateDirectory": str(paths.root)},
                         ("imsh.MigrationDashboard", "System.Object"),
                         ("Url", "ProcessId"), "list")]


DASHBOARD_CMDLETS: tuple[type[Cmdlet], ...] = (StartMigrationDashboard,)
