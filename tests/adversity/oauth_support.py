"""OAuth 2.0 test servers: the local token service and a Dovecot that validates its tokens.

:func:`start_oauth_dovecot` starts Dovecot through scripts/servers/dovecot-test-server.sh with
its opt-in ``OAUTH2_INTROSPECTION_URL`` mode: besides the usual passwords it offers
``AUTH=XOAUTH2``/``OAUTHBEARER`` and asks the token service whether a bearer token is active.
Its users live in the tenant's domain (``alice@contoso.test``) because an application token
serves the mailboxes of its tenant's domain (tests/support/token_service.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.support.servers import LOOPBACK, PASSWORD, ImapServer, _launch, _register
from tests.support.token_service import TokenService

TENANT = "0b7e1c52-tenant-contoso"
DOMAIN = "contoso.test"
_counter = itertools.count(1)


def start_oauth_dovecot(tokens: TokenService, nusers: int = 3) -> ImapServer:
    """Dovecot (plain port) that accepts the token service's tokens for users in DOMAIN."""
    env = {"SEP": "/", "MAIL_FSYNC": "never", "MAIL_FORMAT": "maildir",
           "OAUTH2_INTROSPECTION_URL": tokens.introspection_url,
           "OAUTH2_CA_FILE": str(tokens.ca_file)}
    directory, port, tls_port, seconds = _launch("dovecot", 1, env, tls=False)
    server = _register(ImapServer(
        kind="dovecot", host=LOOPBACK, port=port, tls_port=tls_port, dir=directory, users=[],
        password=PASSWORD, admin_user="admin", admin_password="adminpw", separator="/",
        cafile=None, start_seconds=seconds))
    add_domain_users(server, nusers)
    return server


def add_domain_users(server: ImapServer, count: int) -> list[str]:
    """``count`` new users named ``mN@contoso.test`` (password "pw" too)."""
    names = [f"m{next(_counter)}@{DOMAIN}" for _ in range(count)]
    server._run_script("add-users", *names)
    server.users.extend(names)
    return names


def oauth_log(server: ImapServer) -> str:
    log = Path(server.dir) / "log" / "dovecot.log"
    return log.read_text(errors="replace") if log.exists() else ""
