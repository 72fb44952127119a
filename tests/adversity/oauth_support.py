"""OAuth 2.0 test servers: the local token service and a Dovecot that validates its tokens.

:func:`start_oauth_dovecot` starts Dovecot through scripts/servers/dovecot-test-server.sh with
its opt-in ``OAUTH2_INTROSPECTION_URL`` mode: besides the usual passwords it offers
``AUTH=XOAUTH2``/``OAUTHBEARER`` and asks the token service whether a bearer token is active.
Its users live in the tenant's domain (``alice@contoso.test``) because an application token
serves the mailboxes of its tenant's domain (tests/support/token_service.py).

:func:`start_oauth_smtp` is the smtp.office365.com stand-in: aiosmtpd with STARTTLS that
offers only ``AUTH XOAUTH2`` and checks each token with the token service.
"""

from __future__ import annotations

import base64
import collections
import itertools
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from tests.support.ports import free_port
from tests.support.servers import LOOPBACK, PASSWORD, ImapServer, _launch, _register
from tests.support.smtp import SmtpSink
from tests.support.token_service import TokenService

TENANT = "0b7e1c52-tenant-contoso"
DOMAIN = "contoso.test"
_counter = itertools.count(1)


def start_oauth_dovecot(tokens: TokenService, nusers: int = 3,
                        extra_env: dict[str, str] | None = None) -> ImapServer:
    """Dovecot (plain port) that accepts the token service's tokens for users in DOMAIN;
    ``extra_env`` adds settings of scripts/servers/dovecot-test-server.sh (SPECIAL_USE=...)."""
    env = {"SEP": "/", "MAIL_FSYNC": "never", "MAIL_FORMAT": "maildir",
           "OAUTH2_INTROSPECTION_URL": tokens.introspection_url,
           "OAUTH2_CA_FILE": str(tokens.ca_file), **(extra_env or {})}
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


@dataclass(eq=False)
class OAuthSmtpSink(SmtpSink):
    """An SMTP sink that takes ``AUTH XOAUTH2`` only, checking each token with the token
    service (as Exchange Online checks SMTP.SendAsApp tokens); logins are kept in order."""

    tokens: TokenService | None = None
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted)

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        blob = args[1] if len(args) > 1 else ""
        if not blob:
            blob = (await server.challenge_auth("", encode_to_b64=False)).decode()
        text = base64.b64decode(blob).decode("utf-8", "replace")
        fields = dict(part.split("=", 1) for part in text.split("\1") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        assert self.tokens is not None
        answer = self.tokens.introspect(token)
        email = str(answer.get("email", ""))
        accepted = answer.get("active") == "true" and \
            email.split("@")[-1].lower() == user.split("@")[-1].lower()
        self.logins.append((user, accepted))
        return AuthResult(success=accepted, handled=False)


class _LongLineController(Controller):
    def factory(self) -> SMTP:
        server = SMTP(self.handler, **self.SMTP_kwargs)
        # an AUTH XOAUTH2 line with its token is longer than aiosmtpd's 512 (a class-wide
        # dict: this server gets its own)
        server.command_size_limits = collections.defaultdict(lambda: 8192)
        return server


def start_oauth_smtp(tokens: TokenService) -> OAuthSmtpSink:
    """STARTTLS on a free port with the token service's certificate (its CA signs it)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tokens.dir / "cert.pem", tokens.dir / "key.pem")
    sink = OAuthSmtpSink(LOOPBACK, free_port(), tokens=tokens)
    controller = _LongLineController(sink, hostname=LOOPBACK, port=sink.port, ready_timeout=5.0,
                            tls_context=context, auth_require_tls=True,
                            auth_exclude_mechanism=["LOGIN", "PLAIN"])
    controller.start()
    sink._controller = controller
    return sink
