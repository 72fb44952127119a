"""How to log in to the SOURCE for one migration user, from the CSV's UserName, Password and
UserRoot: the administrator ("super-user") formats of reference/ms-cmdlets.md §B3.

Exchange passes the UserName to the IMAP server as written; the *server* gives the form its
meaning. imsh does the same for every documented form, so a CSV that works with Exchange works
with imsh. Only imsh's own proxy form is turned into a different command on the wire.

=======================================  ============================  ==========================
UserName written as                      sent to the source            who understands it
=======================================  ============================  ==========================
``user``, ``domain\\user``,              ``LOGIN`` as written          any server (user's own
``domain/user``                                                        password)
``user*admin``                           ``LOGIN "user*admin" pw``     Dovecot master user
                                                                       (``auth_master_user_
                                                                       separator = *``)
``domain/admin/user``                    ``LOGIN`` as written          Exchange IMAP4 service
``#user@domain#admin#``                  ``LOGIN`` as written          Mirapoint
``admin`` plus a UserRoot column         ``LOGIN admin``; folders      Courier / Oracle virtual
                                         under UserRoot                shared folders
``authzid=user;authcid=admin``           ``AUTHENTICATE PLAIN``        Cyrus (``admins:``),
(imsh's form)                            authzid=user, authcid=admin   Dovecot master users,
                                                                       any RFC 4616 proxy login
=======================================  ============================  ==========================

Why the imsh form is explicit rather than guessed from ``user*admin``: Cyrus does not know the
``*`` separator, and Courier *ignores* a PLAIN authorization identity and logs in as the admin
(reference/servers-cyrus-courier-pymap.md), which would migrate the admin's own mailbox into
every user's target. So imsh sends an authzid only when the CSV asks for one. Exchange documents
no Cyrus form (§C); this one uses RFC 4616's own words.

When a server refuses ``LOGIN`` (``LOGINDISABLED``), the same authcid can be sent with
``AUTHENTICATE PLAIN`` and no authzid; Dovecot applies its master-user separator there too.
That choice belongs to the connection, which sees the capabilities.

Descriptions name the users involved, never the password. The plan holds the password as a
:class:`~engine.secrets.Secret`; it is revealed only where the login is sent
(engine/imap/connection.py, :func:`plain_initial_response`) and where its characters are
checked here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from engine.errors import ValidationError
from engine.secrets import Secret

LoginMethod = Literal["login", "authenticate-plain"]


@dataclass(frozen=True)
class LoginPlan:
    """How to authenticate one session. ``password`` is sealed in a :class:`Secret`."""

    method: LoginMethod
    authcid: str
    authzid: str | None
    password: Secret = field(repr=False)
    user_root: str | None
    description: str


_PROXY_KEY = re.compile(r"\s*(authzid|authcid)\s*=", re.IGNORECASE)
_MIRAPOINT = re.compile(r"#([^#]+)#([^#]+)#")
_EXCHANGE_ADMIN = re.compile(r"([^/]+)/([^/]+)/([^/]+)")
_DOVECOT_MASTER = re.compile(r"([^*]+)\*([^*]+)")


def plan_login(user_name: str, password: Secret | str,
               user_root: str | None = None) -> LoginPlan:
    """The login for a CSV row's UserName, Password and (optional) UserRoot."""
    password = _sealed(password)
    _check_credential("UserName", user_name)
    _check_credential("Password", password.reveal())
    root = user_root.strip() if user_root and user_root.strip() else None
    if _PROXY_KEY.match(user_name):
        authzid, authcid = _parse_proxy(user_name)
        return proxy_login(authzid, authcid, password, user_root=root)
    described = _describe(user_name)
    if root is not None:
        described = f"{described}, mailbox at UserRoot {root}"
    return LoginPlan("login", user_name, None, password, root, described)


def proxy_login(
    user: str, admin: str, password: Secret | str, *, user_root: str | None = None
) -> LoginPlan:
    """SASL PLAIN proxy authorization: ``admin`` (with ``password``) acting as ``user``. Also
    what an IMAP *target* endpoint uses with its administrator credentials."""
    password = _sealed(password)
    for what, value in (("authorization identity", user), ("administrator name", admin)):
        _check_credential(what, value)
    _check_credential("Password", password.reveal())
    described = f"SASL PLAIN proxy login: {admin} acting as {user}"
    if user_root is not None:
        described = f"{described}, mailbox at UserRoot {user_root}"
    return LoginPlan("authenticate-plain", admin, user, password, user_root, described)


def plain_initial_response(plan: LoginPlan) -> bytes:
    """The RFC 4616 PLAIN message for ``plan``: authzid NUL authcid NUL password (UTF-8)."""
    return "\0".join((plan.authzid or "", plan.authcid, plan.password.reveal())).encode("utf-8")


def _sealed(password: Secret | str) -> Secret:
    """A plaintext given by a caller (a CSV cell) is sealed before it goes into a plan."""
    return password if isinstance(password, Secret) else Secret(password)


def _describe(user_name: str) -> str:
    if match := _MIRAPOINT.fullmatch(user_name):
        return f"Mirapoint administrator login: {match[2]} acting as {match[1]}"
    if match := _EXCHANGE_ADMIN.fullmatch(user_name):
        return f"Exchange administrator login: {match[1]}/{match[2]} acting as {match[3]}"
    if match := _DOVECOT_MASTER.fullmatch(user_name):
        return f"Dovecot master user login: {match[2]} acting as {match[1]}"
    return f"user credentials of {user_name}"


def _parse_proxy(user_name: str) -> tuple[str, str]:
    """``authzid=USER;authcid=ADMIN`` (keys in any order and case) -> (USER, ADMIN)."""
    fields: dict[str, str] = {}
    for part in user_name.split(";"):
        key, sep, value = part.partition("=")
        key = key.strip().casefold()
        if not sep or key not in ("authzid", "authcid") or key in fields or not value.strip():
            raise _proxy_syntax(user_name)
        fields[key] = value.strip()
    if set(fields) != {"authzid", "authcid"}:
        raise _proxy_syntax(user_name)
    return fields["authzid"], fields["authcid"]


def _proxy_syntax(user_name: str) -> ValidationError:
    # imsh's wording: the form is imsh's own.
    return ValidationError(
        f'The UserName "{user_name}" isn\'t a valid proxy login. Write it as '
        '"authzid=USER;authcid=ADMIN": USER is the mailbox to migrate, ADMIN the administrator '
        "whose password is in the Password column.",
        error_id="InvalidProxyLogin",
    )


def _check_credential(what: str, value: str) -> None:
    """IMAP cannot carry NUL, CR or LF in a LOGIN string or a PLAIN message."""
    if not value:
        raise ValidationError(f"The {what} can't be empty.", error_id="InvalidCredential")
    if any(ch in value for ch in "\0\r\n"):
        raise ValidationError(
            f"The {what} contains a line break or NUL character, which IMAP can't send.",
            error_id="InvalidCredential",
        )
