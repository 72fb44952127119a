"""``imsh dashboard --state DIR [--listen HOST:PORT]``: start the dashboard in the foreground.

The token is made here (``secrets.token_urlsafe``, 256 bits), lives only in this process and is
printed once, inside the address to open; a restart makes a new one. uvicorn runs without its
access log, because the first request's URL carries the token. Listening anywhere but loopback
is allowed (``--listen 0.0.0.0:8470``) with a warning: the traffic is plain HTTP.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys

DEFAULT_LISTEN = "127.0.0.1:8470"
TOKEN_ENV = "IMSH_DASHBOARD_TOKEN"  # Start-MigrationDashboard's token (shell/dashboard/cmdlet.py)


class ListenError(ValueError):
    """``--listen`` is not HOST:PORT."""


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:8470``, ``[::1]:8470`` or ``:8470`` (loopback) -> (host, port)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ListenError(f"HOST:PORT with a port from 1 to 65535, not {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_dashboard(state: str | None, listen: str) -> int:
    import uvicorn

    from engine.paths import resolve_state_paths
    from shell.dashboard.app import create_app

    try:
        host, port = parse_listen(listen)
    except ListenError as exc:
        print(f"imsh: --listen needs {exc}", file=sys.stderr)
        return 2
    paths = resolve_state_paths(state)
    if not paths.db.is_file():
        print(f"imsh: no migration state in {paths.root} (no {paths.db.name}); give the "
              "--state directory the migration cmdlets use.", file=sys.stderr)
        return 1
    given = os.environ.pop(TOKEN_ENV, None)  # Start-MigrationDashboard showed it already
    token = given or secrets.token_urlsafe(32)
    shown = f"[{host}]" if ":" in host else host
    if not is_loopback(host):
        print(f"WARNING: the dashboard listens on {host}, beyond this machine, over plain "
              "HTTP: anyone who sees the traffic sees the token.", file=sys.stderr)
    if given:
        print(f"imsh dashboard for {paths.root} on http://{shown}:{port}/ (the token is the "
              "one Start-MigrationDashboard showed)", flush=True)
    else:
        print(f"imsh dashboard for {paths.root}: open http://{shown}:{port}/?token={token}\n"
              "(read-only; Ctrl+C stops it; the token is shown only this once)", flush=True)
    config = uvicorn.Config(create_app(paths, token), host=host, port=port, access_log=False,
                            log_level="warning", server_header=False)
    uvicorn.Server(config).run()
    return 0
