"""What it takes to reach and log in to one IMAP server: plain values, no I/O.

Kept apart from :mod:`engine.imap.connection` (which opens sessions with imapclient) so that
reading endpoints, as every cmdlet that shows a batch or a user does, does not load imapclient,
imaplib, ssl and the email package (about 50 ms of an ``imsh`` command's start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from engine.model import IMAPSecurityMechanism


class Password(Protocol):
    """A :class:`engine.secrets.Secret` (or anything that reveals a password)."""

    def reveal(self) -> str: ...


class LoginPlanLike(Protocol):
    """What :mod:`engine.adminlogin` decides: how to log in for one migration user."""

    @property
    def method(self) -> str: ...  # "login" | "authenticate-plain" | "xoauth2"

    @property
    def authcid(self) -> str: ...

    @property
    def authzid(self) -> str | None: ...

    @property
    def password(self) -> Password | str: ...

    @property
    def user_root(self) -> str | None: ...


@dataclass(frozen=True)
class SimpleLogin:
    """A login plan for plain per-user credentials (tests, targets with CSV credentials)."""

    authcid: str
    password: Password | str = field(repr=False)  # a plain str would show in tracebacks
    authzid: str | None = None
    method: str = "login"
    user_root: str | None = None


@dataclass(frozen=True)
class ImapSettings:
    """Where and how to reach one IMAP server."""

    host: str
    port: int
    security: IMAPSecurityMechanism = IMAPSecurityMechanism.Ssl
    accept_untrusted: bool = False
    cafile: str | None = None
    timeout: float = 60.0


def reveal(password: Password | str) -> str:
    return password if isinstance(password, str) else password.reveal()
