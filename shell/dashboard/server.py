"""``imsh dashboard --state DIR [--database URL] [--listen HOST:PORT] [TLS]``: the dashboard in
the foreground.

The token is made here (``secrets.token_urlsafe``, 256 bits), lives only in this process and is
printed once, inside the address to open; a restart makes a new one. uvicorn runs without its
access log, because the first request's URL carries the token.

The state is the state directory's ``state.db``, or with ``--database URL`` (or
``IMSH_DATABASE``) the PostgreSQL database the runners use; the state directory still holds the
key file. Either must already hold migration state: the dashboard never creates one.

Beyond loopback (``--listen 0.0.0.0:8470``) the dashboard needs HTTPS (``--tls-cert`` and
``--tls-key``, PEM files): over plain HTTP anyone who sees the traffic would see the token, so
that is refused (exit 2). With ``--client-ca FILE`` the TLS handshake requires a client
certificate that CA signed (``ssl.CERT_REQUIRED``): such a browser is known before it sends a
request, so no token is made or printed. Without it, the token guards HTTPS as it guards HTTP.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_LISTEN = "127.0.0.1:8470"
TOKEN_ENV = "IMSH_DASHBOARD_TOKEN"  # Start-MigrationDashboard's token (shell/dashboard/cmdlet.py)


@dataclass(frozen=True)
class TlsFiles:
    """``--tls-cert``, ``--tls-key`` and (optional) ``--client-ca``: PEM file names."""

    cert: str
    key: str
    client_ca: str | None = None


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


def tls_problem(tls: TlsFiles) -> str | None:
    """Why these files cannot serve TLS (a missing file, a key that does not fit), or None."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls.cert, tls.key)
        if tls.client_ca is not None:
            context.load_verify_locations(tls.client_ca)
    except (OSError, ssl.SSLError) as exc:
        return f"cannot use the TLS files: {exc}"
    return None


def _tls_options(tls: TlsFiles | None) -> dict[str, Any]:
    if tls is None:
        return {}
    options: dict[str, Any] = {"ssl_certfile": tls.cert, "ssl_keyfile": tls.key}
    if tls.client_ca is not None:
        options |= {"ssl_ca_certs": tls.client_ca, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def _masked(url: str) -> str:
    from engine.store.pg import masked_url

    return masked_url(url)


def run_dashboard(state: str | None, listen: str, tls: TlsFiles | None = None) -> int:
    import uvicorn

    from engine.errors import ImshError
    from engine.paths import resolve_state_paths
    from engine.service import Engine
    from shell.dashboard.app import create_app

    try:
        host, port = parse_listen(listen)
    except ListenError as exc:
        print(f"imsh: --listen needs {exc}", file=sys.stderr)
        return 2
    if not is_loopback(host) and tls is None:
        print(f"imsh: the dashboard listens on {host}, beyond this machine, only over HTTPS: "
              "give --tls-cert and --tls-key (and --client-ca to require client "
              "certificates), or listen on 127.0.0.1 and use an SSH tunnel.", file=sys.stderr)
        return 2
    if tls is not None and (problem := tls_problem(tls)) is not None:
        print(f"imsh: {problem}", file=sys.stderr)
        return 2
    paths = resolve_state_paths(state)
    source = _masked(paths.database) if paths.database else str(paths.root)
    try:
        if not Engine.state_exists(paths):
            where = (f"the database {source}" if paths.database
                     else f"{paths.root} (no {paths.db.name})")
            print(f"imsh: no migration state in {where}; give the --state directory (and "
                  "--database) the migration cmdlets use.", file=sys.stderr)
            return 1
        with Engine.open(paths):  # the key file fits and the database answers: say so now
            pass
    except ImshError as exc:
        print(f"imsh: {exc.message}", file=sys.stderr)
        return 1
    given = os.environ.pop(TOKEN_ENV, None)  # Start-MigrationDashboard showed it already
    ca = tls.client_ca if tls is not None else None
    token = None if ca is not None else (given or secrets.token_urlsafe(32))
    shown = (f"{'https' if tls is not None else 'http'}://"
             f"{f'[{host}]' if ':' in host else host}:{port}/")
    if ca is not None:
        print(f"imsh dashboard for {source} on {shown} (browsers need a client certificate "
              f"signed by {Path(ca).name}; read-only; Ctrl+C stops it)", flush=True)
    elif given:
        print(f"imsh dashboard for {source} on {shown} (the token is the one "
              "Start-MigrationDashboard showed)", flush=True)
    else:
        print(f"imsh dashboard for {source}: open {shown}?token={token}\n"
              "(read-only; Ctrl+C stops it; the token is shown only this once)", flush=True)
    config = uvicorn.Config(create_app(paths, token), host=host, port=port, access_log=False,
                            log_level="warning", server_header=False, **_tls_options(tls))
    uvicorn.Server(config).run()
    return 0
